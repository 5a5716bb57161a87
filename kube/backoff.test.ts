import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Backoff, sleep } from './backoff.ts';

test('ceiling doubles from 200 ms and caps at 30 s', () => {
  const b = new Backoff({ random: () => 0.999999 });
  const delays = Array.from({ length: 12 }, () => b.next());
  assert.deepEqual(delays.slice(0, 8), [200, 400, 800, 1600, 3200, 6400, 12800, 25600]);
  assert.ok(delays.slice(8).every((d) => d === 30_000));
});

test('full jitter: every delay within [0, ceiling], and spread over it', () => {
  const b = new Backoff();
  const seen: number[] = [];
  for (let i = 0; i < 2000; i++) {
    const ceiling = b.ceilingMs;
    const d = b.next();
    assert.ok(d >= 0 && d <= ceiling && d <= 30_000, `delay ${d} ceiling ${ceiling}`);
    if (ceiling === 30_000) seen.push(d);
  }
  assert.ok(Math.min(...seen) < 3000 && Math.max(...seen) > 27_000, 'jitter spans the range');
});

test('zero randomness gives zero delay; reset starts over; no overflow after many failures', () => {
  const b = new Backoff({ random: () => 0, initialMs: 100, maxMs: 1000 });
  for (let i = 0; i < 5000; i++) assert.equal(b.next(), 0);
  assert.equal(b.ceilingMs, 1000);
  b.reset();
  assert.equal(b.ceilingMs, 100);
  assert.equal(b.failures, 0);
});

test('sleep ends early on abort and never rejects', async () => {
  const ac = new AbortController();
  const t = Date.now();
  const p = sleep(10_000, ac.signal);
  ac.abort();
  await p;
  assert.ok(Date.now() - t < 1000);
  await sleep(5, ac.signal);
});
