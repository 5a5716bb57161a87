import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CounterTable, HistogramTable } from './series-tables.ts';

describe('series tables', () => {
  it('counts per attribute set, whatever the label order', () => {
    const t = new CounterTable();
    t.ensure({ mode: 'Block', type: 'process' });
    t.add({ type: 'process', mode: 'Block' }, 2);
    t.add({ mode: 'Filesystem', type: 'process' });
    assert.equal(t.value({ mode: 'Block', type: 'process' }), 2);
    assert.equal(t.samples().length, 2);
  });

  it('puts a value equal to a bound in that bucket, and larger ones in +Inf', () => {
    const h = new HistogramTable([1, 5]);
    for (const v of [0.5, 1, 3, 5, 9]) h.observe({ a: 'x' }, v);
    assert.deepEqual(h.samples(), [{ attributes: { a: 'x' }, boundaries: [1, 5], counts: [2, 2, 1], sum: 18.5, count: 5 }]);
  });
});
