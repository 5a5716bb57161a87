import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ObjectStore } from './store.ts';
import type { PodInfo } from './types.ts';

const pod = (name: string, uid: string, rv: string, ip: string): PodInfo => ({
  uid,
  name,
  namespace: 'ns',
  labels: {},
  annotations: {},
  resourceVersion: rv,
  nodeName: 'n',
  podIPs: [ip],
  containers: [],
  claims: {},
  phase: 'Running',
  ports: [],
});

const byIp = { name: 'ip', keys: (p: PodInfo) => p.podIPs };

test('add, update, no-op on same resourceVersion', () => {
  const s = new ObjectStore<PodInfo>([byIp]);
  assert.deepEqual(s.upsert(pod('a', 'u1', '1', '10.0.0.1')).map((c) => c.type), ['add']);
  assert.deepEqual(s.upsert(pod('a', 'u1', '1', '10.0.0.1')), []);
  const [change] = s.upsert(pod('a', 'u1', '2', '10.0.0.2'));
  assert.equal(change?.type, 'update');
  assert.equal(s.byIndex('ip', '10.0.0.1'), undefined);
  assert.equal(s.byIndex('ip', '10.0.0.2')?.resourceVersion, '2');
});

test('a deleted object stays resolvable, flagged, until purged after the grace period', () => {
  const s = new ObjectStore<PodInfo>([byIp]);
  s.upsert(pod('a', 'u1', '1', '10.0.0.1'));
  const change = s.markDeleted('ns', 'a', 1000, 500);
  assert.equal(change?.type, 'delete');
  assert.equal(s.get('ns', 'a')?.deletedAt, 1000);
  assert.equal(s.byUid('u1')?.deletedAt, 1000);
  assert.equal(s.byIndex('ip', '10.0.0.1')?.uid, 'u1');
  assert.equal(s.markDeleted('ns', 'a', 1001, 500), undefined, 'second delete is a no-op');
  assert.equal(s.purge(1499), 0);
  assert.equal(s.purge(1500), 1);
  assert.equal(s.get('ns', 'a'), undefined);
  assert.equal(s.byUid('u1'), undefined);
  assert.equal(s.byIndex('ip', '10.0.0.1'), undefined);
  assert.equal(s.size, 0);
});

test('a new pod reusing a name and an IP wins over the deleted one; purge leaves it alone', () => {
  const s = new ObjectStore<PodInfo>([byIp]);
  s.upsert(pod('web-0', 'old', '1', '10.0.0.1'));
  s.markDeleted('ns', 'web-0', 1000, 500);
  s.upsert(pod('web-0', 'new', '3', '10.0.0.1'));
  assert.equal(s.get('ns', 'web-0')?.uid, 'new');
  assert.equal(s.byIndex('ip', '10.0.0.1')?.uid, 'new');
  assert.equal(s.byUid('old')?.deletedAt, 1000, 'late points by the old UID still resolve');
  s.purge(2000);
  assert.equal(s.get('ns', 'web-0')?.uid, 'new');
  assert.equal(s.byIndex('ip', '10.0.0.1')?.uid, 'new');
  assert.equal(s.byUid('old'), undefined);
});

test('same name with a new UID and no delete seen: the old one is deleted, the new one added', () => {
  const s = new ObjectStore<PodInfo>([byIp]);
  s.upsert(pod('web-0', 'old', '1', '10.0.0.1'));
  const changes = s.upsert(pod('web-0', 'new', '5', '10.0.0.9'), 1000, 500);
  assert.deepEqual(changes.map((c) => [c.type, c.object.uid]), [['delete', 'old'], ['add', 'new']]);
  assert.equal(s.byIndex('ip', '10.0.0.1')?.uid, 'old');
  s.purge(1500);
  assert.equal(s.byIndex('ip', '10.0.0.1'), undefined);
});

test('replace: adds, updates, deletes what the list no longer has', () => {
  const s = new ObjectStore<PodInfo>();
  s.upsert(pod('a', 'ua', '1', '1'));
  s.upsert(pod('b', 'ub', '1', '2'));
  assert.equal(s.synced, false, 'upserts alone do not make a store synced');
  const changes = s.replace([pod('a', 'ua', '2', '1'), pod('c', 'uc', '1', '3')], 100, 50);
  assert.deepEqual(changes.map((c) => `${c.type}:${c.object.name}`).sort(), ['add:c', 'delete:b', 'update:a']);
  assert.equal(s.get('ns', 'b')?.deletedAt, 100);
  assert.equal(s.deletedSize, 1);
  assert.equal(s.synced, true, 'a full list does');
});
