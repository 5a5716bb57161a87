import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { flatness } from './flatness.ts';

describe('flatness (the soak rule for RSS and descriptors)', () => {
  it('lets a flat series with garbage-collection peaks pass', () => {
    const values = Array.from({ length: 30 }, (_, i) => (i % 7 === 3 ? 150 : 100));
    const f = flatness('RSS', values);
    assert.equal(f.baseline, 100);
    assert.equal(f.final, 100);
    assert.equal(f.max, 150, 'the peak is reported');
    assert.equal(f.growth, 0, 'but not judged');
  });

  it('catches a steady leak: the whole last third rises', () => {
    const values = Array.from({ length: 30 }, (_, i) => 100 + i); // +1 per sample
    const f = flatness('RSS', values);
    assert.equal(f.baseline, 104.5, 'median of samples 0–9');
    assert.equal(f.final, 124.5, 'median of samples 20–29');
    assert.ok(f.growth > 0.1, `growth ${f.growth}`);
  });

  it('compares the thirds of however many samples there are, and refuses fewer than three', () => {
    assert.equal(flatness('fds', [10, 50, 15]).growth, 0.5);
    assert.throws(() => flatness('open fds', [1, 2]), /open fds: 2 samples after the warm-up; at least 3/);
  });
});
