import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import type { Attributes } from '@opentelemetry/api';
import { resourceFromAttributes } from '@opentelemetry/resources';
import type { ResourceMetrics } from '@opentelemetry/sdk-metrics';
import { gauge } from '../../pipeline/datapoints.ts';
import type { AttributeAction } from './config.ts';
import { AttributesProcessor } from './processor.ts';

const sha = (text: string) => createHash('sha256').update(text).digest('hex');

/** A batch whose metrics, points and attribute objects are all frozen: any write throws. */
function frozenBatch(...series: Attributes[]): ResourceMetrics {
  const shared = series.map((a) => Object.freeze({ ...a }));
  const metrics = ['a_bytes', 'b_bytes'].map((name) => {
    const metric = gauge({ name, description: name }, shared.map((attributes, i) => ({ attributes, value: i })));
    metric.dataPoints.forEach((p) => Object.freeze(p));
    Object.freeze(metric.dataPoints);
    return Object.freeze(metric);
  });
  return Object.freeze({ resource: resourceFromAttributes({}), scopeMetrics: Object.freeze([Object.freeze({ scope: { name: 'test' }, metrics })]) }) as ResourceMetrics;
}

function run(actions: AttributeAction[], attributes: Attributes): Attributes {
  const batch = frozenBatch(attributes);
  const out = new AttributesProcessor({ actions }).process(batch);
  const [a, b] = out.scopeMetrics[0]?.metrics ?? [];
  assert.equal(a?.dataPoints[0]?.attributes, b?.dataPoints[0]?.attributes, 'one attributes object per series, shared by its families');
  assert.deepEqual(batch.scopeMetrics[0]?.metrics[0]?.dataPoints[0]?.attributes, attributes, 'the input is unchanged');
  return a?.dataPoints[0]?.attributes ?? {};
}

const POINT = { namespace: 'shop', pod: 'web-1', email: 'a@b.c', path: '/var/lib/kubelet/pods/u1/volumes/kubernetes.io~csi/pv-9/mount', label_app: 'web', label_tier: 'gold' };

const cases: Array<{ name: string; actions: AttributeAction[]; want: Attributes }> = [
  { name: 'insert adds an absent key', actions: [{ action: 'insert', key: 'env', value: 'prod' }], want: { ...POINT, env: 'prod' } },
  { name: 'insert leaves a present key', actions: [{ action: 'insert', key: 'pod', value: 'x' }], want: POINT },
  { name: 'insert from_attribute copies a value', actions: [{ action: 'insert', key: 'ns', from_attribute: 'namespace' }], want: { ...POINT, ns: 'shop' } },
  { name: 'insert from an absent attribute does nothing', actions: [{ action: 'insert', key: 'ns', from_attribute: 'nope' }], want: POINT },
  { name: 'update changes a present key', actions: [{ action: 'update', key: 'pod', value: 'web-2' }], want: { ...POINT, pod: 'web-2' } },
  { name: 'update leaves an absent key absent', actions: [{ action: 'update', key: 'env', value: 'prod' }], want: POINT },
  { name: 'update by pattern changes every matching key', actions: [{ action: 'update', pattern: '^label_', value: 'x' }], want: { ...POINT, label_app: 'x', label_tier: 'x' } },
  { name: 'upsert adds', actions: [{ action: 'upsert', key: 'env', value: 3 }], want: { ...POINT, env: 3 } },
  { name: 'upsert changes', actions: [{ action: 'upsert', key: 'pod', from_attribute: 'namespace' }], want: { ...POINT, pod: 'shop' } },
  { name: 'delete by key', actions: [{ action: 'delete', key: 'email' }], want: { namespace: 'shop', pod: 'web-1', path: POINT.path, label_app: 'web', label_tier: 'gold' } },
  { name: 'delete by pattern', actions: [{ action: 'delete', pattern: '^label_' }], want: { namespace: 'shop', pod: 'web-1', email: 'a@b.c', path: POINT.path } },
  { name: 'delete of an absent key does nothing', actions: [{ action: 'delete', key: 'nope' }], want: POINT },
  { name: 'rename moves a value', actions: [{ action: 'rename', key: 'pod', new_key: 'pod_name' }], want: { namespace: 'shop', email: 'a@b.c', path: POINT.path, label_app: 'web', label_tier: 'gold', pod_name: 'web-1' } },
  { name: 'rename overwrites the new key', actions: [{ action: 'rename', key: 'pod', new_key: 'namespace' }], want: { namespace: 'web-1', email: 'a@b.c', path: POINT.path, label_app: 'web', label_tier: 'gold' } },
  { name: 'rename by pattern uses its groups', actions: [{ action: 'rename', pattern: '^label_(.+)$', new_key: 'app_$1' }], want: { namespace: 'shop', pod: 'web-1', email: 'a@b.c', path: POINT.path, app_app: 'web', app_tier: 'gold' } },
  { name: 'hash replaces a value by its SHA-256', actions: [{ action: 'hash', key: 'email' }], want: { ...POINT, email: sha('a@b.c') } },
  { name: 'hash by pattern', actions: [{ action: 'hash', pattern: '^label_' }], want: { ...POINT, label_app: sha('web'), label_tier: sha('gold') } },
  {
    name: 'extract sets named groups',
    actions: [{ action: 'extract', key: 'path', regex: 'pods/(?<pod_uid>[^/]+)/volumes/(?<plugin>[^/]+)/(?<volume>[^/]+)' }],
    want: { ...POINT, pod_uid: 'u1', plugin: 'kubernetes.io~csi', volume: 'pv-9' },
  },
  { name: 'extract without a match does nothing', actions: [{ action: 'extract', key: 'path', regex: '^/nope/(?<x>.*)' }], want: POINT },
  {
    name: 'actions apply in order: a later one sees what an earlier one did',
    actions: [
      { action: 'rename', key: 'pod', new_key: 'pod_name' },
      { action: 'insert', key: 'pod', from_attribute: 'pod_name' },
      { action: 'hash', key: 'pod_name' },
      { action: 'delete', pattern: '^(label_|path$|email$)' },
    ],
    want: { namespace: 'shop', pod: 'web-1', pod_name: sha('web-1') },
  },
  {
    name: 'the same actions in another order give another result',
    actions: [
      { action: 'insert', key: 'pod', from_attribute: 'pod_name' },
      { action: 'rename', key: 'pod', new_key: 'pod_name' },
    ],
    want: { namespace: 'shop', email: 'a@b.c', path: POINT.path, label_app: 'web', label_tier: 'gold', pod_name: 'web-1' },
  },
];

describe('attributes processor', () => {
  for (const c of cases) {
    it(c.name, () => assert.deepEqual(run(c.actions, POINT), c.want));
  }

  it('hashes numbers and booleans in their usual form', () => {
    assert.deepEqual(run([{ action: 'hash', pattern: '.' }], { n: 42, b: true }), { n: sha('42'), b: sha('true') });
  });

  it('keeps the attributes object (and point) when no action changes anything', () => {
    const batch = frozenBatch(POINT);
    const out = new AttributesProcessor({ actions: [{ action: 'delete', key: 'nope' }, { action: 'update', key: 'pod', value: 'web-1' }] }).process(batch);
    assert.equal(out.scopeMetrics[0]?.metrics[0]?.dataPoints[0], batch.scopeMetrics[0]?.metrics[0]?.dataPoints[0]);
  });

  it('gives every series its own result', () => {
    const batch = frozenBatch({ pod: 'a' }, { pod: 'b' });
    const out = new AttributesProcessor({ actions: [{ action: 'rename', key: 'pod', new_key: 'p' }] }).process(batch);
    assert.deepEqual(out.scopeMetrics[0]?.metrics[1]?.dataPoints.map((p) => p.attributes), [{ p: 'a' }, { p: 'b' }]);
  });

  it('passes the batch through without actions', () => {
    const batch = frozenBatch(POINT);
    assert.equal(new AttributesProcessor({ actions: [] }).process(batch), batch);
  });
});
