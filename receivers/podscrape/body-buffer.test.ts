import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { BodyBuffer } from './body-buffer.ts';

const bytes = (length: number, seed: number): Buffer => Buffer.from(Array.from({ length }, (_, i) => (i * 31 + seed) & 0xff));

describe('BodyBuffer', () => {
  it('joins chunks in order past its first capacity, into a buffer that owns its whole ArrayBuffer', () => {
    const chunks = [bytes(1, 1), bytes(70_000, 2), bytes(16_384, 3), bytes(200_001, 4)];
    const body = new BodyBuffer();
    for (const c of chunks) body.append(c);
    assert.equal(body.length, 286_386);
    const taken = body.take();
    assert.deepEqual(taken, Buffer.concat(chunks));
    assert.equal(taken.byteOffset, 0);
    assert.equal(taken.buffer.byteLength, taken.byteLength, 'no spare capacity, no shared pool');
    assert.equal(body.length, 0, 'empty once taken');
  });

  it('takes a body of exactly the declared size as it is, and one shorter than declared trimmed', () => {
    const exact = new BodyBuffer(5);
    exact.append(Buffer.from('ab'));
    exact.append(Buffer.from('cde'));
    assert.equal(exact.take().toString(), 'abcde');

    const short = new BodyBuffer(1_000);
    short.append(Buffer.from('up 1\n'));
    const taken = short.take();
    assert.equal(taken.toString(), 'up 1\n');
    assert.equal(taken.buffer.byteLength, 5);
  });

  it('grows past a declared size that was too small, and an empty body is an empty buffer', () => {
    const body = new BodyBuffer(3);
    body.append(Buffer.from('0123456789'));
    assert.equal(body.take().toString(), '0123456789');
    assert.equal(new BodyBuffer().take().length, 0);
  });

  it('does not trust a declared size beyond 8 MiB up front', () => {
    const body = new BodyBuffer(2 ** 40);
    body.append(Buffer.from('x'));
    assert.equal(body.take().toString(), 'x');
  });

  it('a chunk appended is copied: changing it afterwards changes nothing', () => {
    const chunk = Buffer.from('abc');
    const body = new BodyBuffer();
    body.append(chunk);
    chunk.fill(0);
    assert.equal(body.take().toString(), 'abc');
  });
});
