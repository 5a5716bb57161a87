import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { KubeChange } from './lookup.ts';
import { event, FakeKube, pv, storageClass, T0 } from './testing.ts';

const show = (c: KubeChange<'persistentvolumes'> | KubeChange<'persistentvolumeclaimevents'>) =>
  `${c.type} ${c.object.name}@${c.object.resourceVersion}${c.type === 'update' ? ` (was @${c.old.resourceVersion})` : ''} ${c.origin ?? '?'}`;

test('FakeKube.on: only required kinds; add/update/remove change the arrays, then tell listeners in order', () => {
  const kube = new FakeKube();
  assert.throws(() => kube.on('persistentvolumes', () => undefined), /not required/);
  const lookup = kube.require(['persistentvolumes']);
  const seen: string[] = [];
  const off = lookup.on?.('persistentvolumes', (c) => {
    // The arrays have changed before listeners run, as in the cache.
    seen.push(`${show(c)} listed=${kube.persistentVolume(c.object.name) === c.object}`);
  });
  lookup.on?.('persistentvolumes', (c) => seen.push(`second ${c.type}`));
  assert.equal(kube.listenerCount('persistentvolumes'), 2);

  kube.add('persistentvolumes', pv('pv-1'));
  kube.update('persistentvolumes', pv('pv-1', { phase: 'Released', resourceVersion: '2' }));
  kube.remove('persistentvolumes', '', 'pv-1', { at: T0 });
  assert.deepEqual(seen, [
    'add pv-1@1 watch listed=true',
    'second add',
    'update pv-1@2 (was @1) watch listed=true',
    'second update',
    'delete pv-1@2 watch listed=true',
    'second delete',
  ]);
  assert.equal(kube.persistentVolume('pv-1')?.deletedAt, T0, 'deleted objects stay listed until purge()');
  kube.purge();
  assert.deepEqual(kube.list('persistentvolumes'), []);

  off?.();
  assert.equal(kube.listenerCount('persistentvolumes'), 1);
  assert.throws(() => kube.update('persistentvolumes', pv('nope')), /no persistentvolumes nope/);
  assert.throws(() => kube.remove('persistentvolumes', '', 'nope'), /no live/);
});

test('FakeKube.add: same UID live → update; a name reused under a new UID → delete of the old, then add', () => {
  const kube = new FakeKube();
  kube.require(['persistentvolumes']);
  const seen: string[] = [];
  kube.on('persistentvolumes', (c) => seen.push(show(c)));
  kube.add('persistentvolumes', pv('pv-1'));
  kube.add('persistentvolumes', pv('pv-1', { resourceVersion: '2' }));
  kube.add('persistentvolumes', pv('pv-1', { uid: 'other', resourceVersion: '3' }), { at: T0 });
  assert.deepEqual(seen, ['add pv-1@1 watch', 'update pv-1@2 (was @1) watch', 'delete pv-1@2 watch', 'add pv-1@3 watch']);
  assert.deepEqual(kube.pvs.map((p) => p.uid), ['other']);
});

test('FakeKube.relist: the store\'s replace() rules — initial adds, then only differences, deletes with the relist time', () => {
  const kube = new FakeKube();
  kube.require(['persistentvolumeclaimevents']);
  const seen: string[] = [];
  kube.on('persistentvolumeclaimevents', (c) => seen.push(show(c)));
  const claim = { kind: 'PersistentVolumeClaim', namespace: 'shop', name: 'data' };
  const a = event(claim, 'Provisioning');
  const b = event(claim, 'ProvisioningFailed', { type: 'Warning', count: 2 });
  const c = event(claim, 'ExternalProvisioning');
  kube.relist('persistentvolumeclaimevents', [a, b, c], { origin: 'list' });
  assert.deepEqual(seen.splice(0), ['add shop/data.provisioning@1 list', 'add shop/data.provisioningfailed@1 list', 'add shop/data.externalprovisioning@1 list'].map((s) => s.replace('shop/', '')));

  const d = event(claim, 'ProvisioningSucceeded');
  kube.relist('persistentvolumeclaimevents', [a, { ...b, count: 5, resourceVersion: '7' }, d], { at: T0 + 1000 });
  assert.deepEqual(seen, ['update data.provisioningfailed@7 (was @1) relist', 'add data.provisioningsucceeded@1 relist', 'delete data.externalprovisioning@1 relist']);
  const gone = kube.pvcEvents.find((e) => e.reason === 'ExternalProvisioning');
  assert.equal(gone?.deletedAt, T0 + 1000);
  assert.equal(kube.list('persistentvolumeclaimevents').length, 4);
});

test('FakeKube: a listener that throws is not caught; emit delivers as given; builders', () => {
  const kube = new FakeKube();
  kube.require(['persistentvolumes']);
  kube.on('persistentvolumes', () => {
    throw new Error('listener bug');
  });
  assert.throws(() => kube.add('persistentvolumes', pv('pv-1')), /listener bug/);

  const quiet = new FakeKube();
  quiet.require(['persistentvolumes']);
  const got: string[] = [];
  quiet.on('persistentvolumes', (c) => got.push(show(c)));
  quiet.emit('persistentvolumes', { type: 'add', object: pv('ghost') });
  assert.deepEqual(got, ['add ghost@1 ?']);
  assert.deepEqual(quiet.pvs, [], 'emit touches no array');

  const e = event({ kind: 'PersistentVolume', name: 'local-pv-1' }, 'VolumeFailedDelete', { type: 'Warning' });
  assert.deepEqual([e.namespace, e.involvedObject.namespace, e.involvedObject.kind, e.count, e.firstTimestampMs], ['default', '', 'PersistentVolume', 1, T0]);
  const sc = storageClass('local-path', 'rancher.io/local-path', { volumeBindingMode: 'WaitForFirstConsumer' });
  quiet.storageClasses.push(sc);
  assert.equal(quiet.storageClass('local-path')?.volumeBindingMode, 'WaitForFirstConsumer');
  assert.equal(sc.reclaimPolicy, 'Delete');
});
