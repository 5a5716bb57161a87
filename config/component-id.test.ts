import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseComponentId, parsePipelineId } from './component-id.ts';

void test('type and type/name parse as the Collector parses them', () => {
  assert.deepEqual(parseComponentId('filesystem'), { ok: true, id: { type: 'filesystem' } });
  assert.deepEqual(parseComponentId('filesystem/kubelet'), { ok: true, id: { type: 'filesystem', name: 'kubelet' } });
  // The name is everything after the first "/", so it may hold more slashes.
  assert.deepEqual(parseComponentId('a/b/c'), { ok: true, id: { type: 'a', name: 'b/c' } });
  assert.equal(parseComponentId(`a${'b'.repeat(62)}`).ok, true);
});

void test('bad IDs are refused with a reason', () => {
  for (const [id, why] of [
    ['1bad', /must start with a letter/],
    ['', /type is empty/],
    ['/x', /type is empty/],
    ['a/', /name after "\/" is empty/],
    ['a-b', /only letters, digits and _/],
    [`a${'b'.repeat(63)}`, /at most 63/],
    ['a/has space', /may not contain spaces/],
    ['a/x$', /symbols/],
  ] as const) {
    const r = parseComponentId(id);
    assert.equal(r.ok, false, id);
    if (!r.ok) assert.match(r.message, why, id);
  }
});

void test('pipelines are metrics or metrics/<name>', () => {
  assert.equal(parsePipelineId('metrics').ok, true);
  assert.equal(parsePipelineId('metrics/volumes').ok, true);
  const traces = parsePipelineId('traces/x');
  assert.equal(traces.ok, false);
  if (!traces.ok) assert.match(traces.message, /unsupported pipeline type "traces"/);
  const other = parsePipelineId('metric');
  assert.equal(other.ok, false);
  if (!other.ok) assert.match(other.message, /unknown pipeline type "metric"/);
});
