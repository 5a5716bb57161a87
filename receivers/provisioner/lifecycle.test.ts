import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { event, FakeKube, meta, pv, pvc, storageClass, T0 } from '../../kube/testing.ts';
import type { EventInfo, PersistentVolumeClaimInfo, PersistentVolumeInfo } from '../../kube/types.ts';
import { Clock, expected, GI, newReceiver, NODE, series } from './testing.ts';

const HOST = 'kubernetes.io/hostname';
const LP = 'rancher.io/local-path';
const LP_COMPONENT = 'rancher.io/local-path_local-path-provisioner-7f9b';
const STATIC_COMPONENT = 'local-volume-provisioner-node-a-5f1c';

/** A watch MODIFIED of an object: the overrides applied and the resourceVersion moved on. */
function bump<T extends { resourceVersion: string }>(object: T, overrides: Partial<T>): T {
  return { ...object, ...overrides, resourceVersion: String(Number(object.resourceVersion) + 1) };
}

/** The scenario's local-path objects, step by step as the scheduler, local-path-provisioner and the PV controller write them. */
function localPath(clock: Clock) {
  const claimCreated = clock.ms;
  const claim: PersistentVolumeClaimInfo = pvc('shop', 'uploads', { phase: 'Pending', storageClass: 'local-path', requestStorage: '2Gi', creationTimestampMs: claimCreated, uid: 'claim-uploads' });
  const volume = (overrides: Partial<PersistentVolumeInfo>): PersistentVolumeInfo =>
    pv('pvc-uploads', {
      uid: 'pv-uploads',
      sourceType: 'hostPath',
      path: '/opt/local-path-provisioner/pvc-uploads_shop_uploads',
      storageClass: 'local-path',
      capacityBytes: '2Gi',
      claimRef: { namespace: 'shop', name: 'uploads', uid: 'claim-uploads' },
      nodeAffinity: { [HOST]: [NODE] },
      annotations: { 'local.path.provisioner/selected-node': NODE, 'pv.kubernetes.io/provisioned-by': LP },
      reclaimPolicy: 'Delete',
      ...overrides,
    });
  const onClaim = (reason: string, overrides: Partial<EventInfo> = {}) => event({ kind: 'PersistentVolumeClaim', namespace: 'shop', name: 'uploads', uid: 'claim-uploads' }, reason, overrides);
  return { claim, volume, onClaim };
}

describe('provisioner receiver: a local-path-provisioner volume', () => {
  it('counts every step from WaitForFirstConsumer claim to deletion', async () => {
    const clock = new Clock(T0);
    const kube = new FakeKube();
    kube.storageClasses = [storageClass('local-path', LP, { volumeBindingMode: 'WaitForFirstConsumer' })];
    const receiver = newReceiver(kube, clock);
    await receiver.start();
    assert.deepEqual(await series(receiver), expected(), 'nothing yet: counters at 0, fixed gauges at 0');

    // The claim waits for its first consumer; its event names no node yet, so it is nobody's.
    clock.advance(1);
    const { claim, volume, onClaim } = localPath(clock);
    kube.add('persistentvolumeclaims', claim);
    kube.add('persistentvolumeclaimevents', onClaim('WaitForFirstConsumer'));
    assert.deepEqual(await series(receiver), expected());

    // The scheduler picks this node; the provisioner is asked and starts.
    clock.advance(2);
    const selected = bump(claim, { annotations: { 'volume.kubernetes.io/selected-node': NODE, 'volume.kubernetes.io/storage-provisioner': LP } });
    kube.update('persistentvolumeclaims', selected);
    kube.add('persistentvolumeclaimevents', onClaim('ExternalProvisioning'));
    kube.add('persistentvolumeclaimevents', onClaim('Provisioning', { reportingComponent: LP_COMPONENT }));
    const provisioningEvents: Array<[string, string, string, string, number]> = [
      ['ExternalProvisioning', 'Normal', 'persistentvolume-controller', 'PersistentVolumeClaim', 1],
      ['Provisioning', 'Normal', LP_COMPONENT, 'PersistentVolumeClaim', 1],
    ];
    assert.deepEqual(await series(receiver), expected({ events: provisioningEvents }));

    // The hostPath PV is created for this node.
    clock.advance(5);
    const created = volume({ phase: 'Pending', creationTimestampMs: clock.ms, lastPhaseTransitionTimeMs: clock.ms });
    kube.add('persistentvolumes', created);
    kube.add('persistentvolumeclaimevents', onClaim('ProvisioningSucceeded', { reportingComponent: LP_COMPONENT }));
    const events = [...provisioningEvents, ['ProvisioningSucceeded', 'Normal', LP_COMPONENT, 'PersistentVolumeClaim', 1] as [string, string, string, string, number]];
    assert.deepEqual(await series(receiver), expected({ discovered: { Filesystem: 1 }, capacity: { Filesystem: 2 * GI }, phases: { 'Pending/local-path': 1 }, events }));

    // Bound: the PV at +9 s (its transition time), the claim a second later; created at +1 s → 8 s.
    clock.advance(1);
    const bound = bump(created, { phase: 'Bound', lastPhaseTransitionTimeMs: clock.ms });
    kube.update('persistentvolumes', bound);
    clock.advance(1);
    kube.update('persistentvolumeclaims', bump(selected, { phase: 'Bound', volumeName: 'pvc-uploads' }));
    const latencies = [{ storageclass: 'local-path', provisioner: LP, seconds: [8] }];
    const boundState = { discovered: { Filesystem: 1 }, capacity: { Filesystem: 2 * GI }, phases: { 'Bound/local-path': 1 }, events, latencies };
    assert.deepEqual(await series(receiver), expected(boundState));

    // A later update of the bound claim (a label, say) observes nothing again.
    clock.advance(30);
    kube.update('persistentvolumeclaims', bump(kube.pvcs[0] as PersistentVolumeClaimInfo, { labels: { app: 'shop' } }));
    assert.deepEqual(await series(receiver), expected(boundState));

    // The claim is deleted: the PV is Released.
    clock.advance(60);
    kube.remove('persistentvolumeclaims', 'shop', 'uploads', { at: clock.ms });
    const released = bump(bound, { phase: 'Released', lastPhaseTransitionTimeMs: clock.ms });
    kube.update('persistentvolumes', released);
    assert.deepEqual(await series(receiver), expected({ ...boundState, phases: { 'Released/local-path': 1 } }));

    // local-path cleans the directory up and deletes the PV 30 s later.
    clock.advance(30);
    kube.remove('persistentvolumes', '', 'pvc-uploads', { at: clock.ms });
    assert.deepEqual(
      await series(receiver),
      expected({ discovered: { Filesystem: 1 }, deleted: { Filesystem: 1 }, events, latencies, deleteDurations: [{ mode: 'Filesystem', capacity: '500G', seconds: [30] }] }),
    );
    await receiver.shutdown();
  });
});

/** Static local PVs as the local volume provisioner makes them: `local` source, affinity on the hostname label. */
function staticPv(name: string, overrides: Partial<PersistentVolumeInfo> = {}): PersistentVolumeInfo {
  return pv(name, {
    uid: `uid-${name}`,
    sourceType: 'local',
    path: `/mnt/disks/${name}`,
    storageClass: 'local-storage',
    phase: 'Available',
    reclaimPolicy: 'Delete',
    nodeAffinity: { [HOST]: [NODE] },
    annotations: { 'pv.kubernetes.io/provisioned-by': STATIC_COMPONENT },
    ...overrides,
  });
}

function onPv(name: string, reason: string, overrides: Partial<EventInfo> = {}): EventInfo {
  return event({ kind: 'PersistentVolume', name, uid: `uid-${name}` }, reason, { type: 'Warning', reportingComponent: STATIC_COMPONENT, ...overrides });
}

describe('provisioner receiver: static local PVs', () => {
  it('Block and Filesystem PVs, a failed deletion whose Warning repeats, events and PVs of another node ignored', async () => {
    const clock = new Clock(T0);
    const kube = new FakeKube();
    // This node's hostname label differs from its name: affinity may use either.
    kube.nodes = [{ ...meta(NODE, '', { [HOST]: 'host-a' }) }];
    kube.storageClasses = [storageClass('local-storage', 'kubernetes.io/no-provisioner', { volumeBindingMode: 'WaitForFirstConsumer' })];
    // Already there at start: a Bound PV of ours whose earlier failed deletion was reported 3 times, and another node's.
    kube.pvs = [
      staticPv('local-pv-old', { phase: 'Bound', capacityBytes: '100Gi', creationTimestampMs: T0 - 86_400_000 }),
      staticPv('local-pv-b0', { capacityBytes: '100Gi', nodeAffinity: { [HOST]: ['node-b'] } }),
    ];
    kube.pvEvents = [onPv('local-pv-old', 'VolumeFailedDelete', { count: 3 })];
    const receiver = newReceiver(kube, clock);
    await receiver.start();
    const base = { capacity: { Filesystem: 100 * GI }, phases: { 'Bound/local-storage': 1 } };
    assert.deepEqual(await series(receiver), expected(base), 'what was there at start is baseline');

    // Discovery: a Block disk (affinity by the hostname label), a Filesystem mount, and one of node-b.
    clock.advance(10);
    kube.add('persistentvolumes', staticPv('local-pv-blk', { volumeMode: 'Block', capacityBytes: '600Gi', nodeAffinity: { [HOST]: ['host-a'] }, creationTimestampMs: clock.ms }));
    kube.add('persistentvolumes', staticPv('local-pv-fs', { capacityBytes: '375Gi', creationTimestampMs: clock.ms }));
    kube.add('persistentvolumes', staticPv('local-pv-b1', { volumeMode: 'Block', capacityBytes: '1Ti', nodeAffinity: { [HOST]: ['node-b'] }, creationTimestampMs: clock.ms }));
    const discovered = { discovered: { Filesystem: 1, Block: 1 }, capacity: { Filesystem: 475 * GI, Block: 600 * GI } };
    assert.deepEqual(await series(receiver), expected({ ...discovered, phases: { 'Bound/local-storage': 1, 'Available/local-storage': 2 } }));

    // A claim binds to the Block PV; the claim's Bound arrives before the PV's (separate watches).
    clock.advance(5);
    const claim = pvc('db', 'data-0', { uid: 'claim-data-0', phase: 'Pending', storageClass: 'local-storage', creationTimestampMs: clock.ms });
    kube.add('persistentvolumeclaims', claim);
    clock.advance(3);
    kube.update('persistentvolumeclaims', bump(claim, { phase: 'Bound', volumeName: 'local-pv-blk' }));
    clock.advance(1);
    const blk = kube.pvs.find((p) => p.name === 'local-pv-blk') as PersistentVolumeInfo;
    // An API server older than 1.28: no lastPhaseTransitionTime, so the watch's time counts (3 s after creation).
    const blkBound = bump(blk, { phase: 'Bound', claimRef: { namespace: 'db', name: 'data-0', uid: 'claim-data-0' } });
    kube.update('persistentvolumes', blkBound);
    const latencies = [{ storageclass: 'local-storage', provisioner: 'local-volume-provisioner', seconds: [3] }];
    const bound = { ...discovered, latencies, phases: { 'Bound/local-storage': 2, 'Available/local-storage': 1 } };
    assert.deepEqual(await series(receiver), expected(bound));

    // The claim goes; the PV is Released (seen by the watch at this time) …
    clock.advance(100);
    kube.remove('persistentvolumeclaims', 'db', 'data-0', { at: clock.ms });
    const releasedAt = clock.ms;
    const blkReleased = bump(blkBound, { phase: 'Released' });
    kube.update('persistentvolumes', blkReleased);
    const released = { ...bound, phases: { 'Bound/local-storage': 1, 'Available/local-storage': 1, 'Released/local-storage': 1 } };
    assert.deepEqual(await series(receiver), expected(released));

    // … and its cleanup fails: the Warning event, the PV Failed.
    clock.advance(2);
    const failed = onPv('local-pv-blk', 'VolumeFailedDelete', { firstTimestampMs: clock.ms, lastTimestampMs: clock.ms });
    kube.add('persistentvolumeevents', failed);
    const blkFailed = bump(blkReleased, { phase: 'Failed' });
    kube.update('persistentvolumes', blkFailed);
    // node-b's provisioner fails too, and the old PV's baseline event repeats once.
    kube.add('persistentvolumeevents', onPv('local-pv-b1', 'VolumeFailedDelete', { count: 7 }));
    kube.update('persistentvolumeevents', bump(kube.pvEvents[0] as EventInfo, { count: 4 }));
    const failedPhases = { 'Bound/local-storage': 1, 'Available/local-storage': 1, 'Failed/local-storage': 1 };
    const warning = (n: number): [string, string, string, string, number] => ['VolumeFailedDelete', 'Warning', STATIC_COMPONENT, 'PersistentVolume', n];
    assert.deepEqual(await series(receiver), expected({ ...bound, phases: failedPhases, deleteFailed: { Block: 1, Filesystem: 1 }, events: [warning(2)] }));

    // The recorder repeats the Warning: count 2, then 4 (two repeats folded into one update), then only the message changes.
    clock.advance(10);
    const again = bump(failed, { count: 2, lastTimestampMs: clock.ms });
    kube.update('persistentvolumeevents', again);
    const twice = bump(again, { count: 4, lastTimestampMs: clock.advance(20) });
    kube.update('persistentvolumeevents', twice);
    kube.update('persistentvolumeevents', bump(twice, { message: 'rm: cannot remove: busy' }));
    const failing = { ...bound, phases: failedPhases, deleteFailed: { Block: 4, Filesystem: 1 }, events: [warning(5)] };
    assert.deepEqual(await series(receiver), expected(failing));

    // Failed for longer than stuck_threshold (10m): stuck.
    clock.advance(600);
    assert.deepEqual(await series(receiver), expected({ ...failing, stuck: { Failed: 1 } }));

    // An operator fixes the disk and the PV is deleted: Released (not Failed) time to deletion.
    clock.advance(60);
    kube.remove('persistentvolumes', '', 'local-pv-blk', { at: clock.ms });
    const duration = (clock.ms - releasedAt) / 1000;
    assert.equal(duration, 2 + 30 + 600 + 60);
    const afterDelete = {
      ...failing,
      deleted: { Block: 1 },
      capacity: { Filesystem: 475 * GI },
      phases: { 'Bound/local-storage': 1, 'Available/local-storage': 1 },
      deleteDurations: [{ mode: 'Block', capacity: '1000G', seconds: [duration] }],
    };
    assert.deepEqual(await series(receiver), expected(afterDelete));

    // node-b's PV deleted: nothing here.
    kube.remove('persistentvolumes', '', 'local-pv-b1', { at: clock.ms });
    assert.deepEqual(await series(receiver), expected(afterDelete));
    await receiver.shutdown();
  });
});
