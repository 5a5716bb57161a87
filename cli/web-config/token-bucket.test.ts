import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { TokenBucket } from './token-bucket.ts';

describe('TokenBucket', () => {
  it('lets a burst through at once, then one request per interval', () => {
    let now = 1_000;
    const bucket = new TokenBucket(500, 3, () => now);
    assert.deepEqual([bucket.take(), bucket.take(), bucket.take(), bucket.take()], [true, true, true, false]);
    assert.equal(bucket.retryAfterSeconds(), 1);
    now += 499;
    assert.equal(bucket.take(), false, 'not a whole interval yet');
    now += 1;
    assert.equal(bucket.take(), true, 'one token after one interval');
    assert.equal(bucket.take(), false);
  });

  it('never holds more than the burst, however long it was idle', () => {
    let now = 0;
    const bucket = new TokenBucket(100, 2, () => now);
    now += 3_600_000;
    assert.deepEqual([bucket.take(), bucket.take(), bucket.take()], [true, true, false]);
  });

  it('says how long until the next token, in whole seconds', () => {
    let now = 0;
    const bucket = new TokenBucket(10_000, 1, () => now);
    assert.equal(bucket.take(), true);
    assert.equal(bucket.retryAfterSeconds(), 10);
    now += 7_500;
    assert.equal(bucket.retryAfterSeconds(), 3);
  });

  it('refuses settings that would refuse everything or never refill', () => {
    assert.throws(() => new TokenBucket(0, 1), /intervalMs must be a positive number/);
    assert.throws(() => new TokenBucket(100, 0), /burst must be a positive integer/);
    assert.throws(() => new TokenBucket(100, 1.5), /burst must be a positive integer/);
  });
});
