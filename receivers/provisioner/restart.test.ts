import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { event, FakeKube, pv, pvc, storageClass, T0 } from '../../kube/testing.ts';
import type { EventInfo, PersistentVolumeClaimInfo, PersistentVolumeInfo } from '../../kube/types.ts';
import { Clock, expected, GI, newReceiver, NODE, series } from './testing.ts';

const HOST = 'kubernetes.io/hostname';
const LP = 'rancher.io/local-path';

function bump<T extends { resourceVersion: string }>(object: T, overrides: Partial<T>): T {
  return { ...object, ...overrides, resourceVersion: String(Number(object.resourceVersion) + 1) };
}

function lpVolume(name: string, overrides: Partial<PersistentVolumeInfo> = {}): PersistentVolumeInfo {
  return pv(name, {
    uid: `uid-${name}`,
    sourceType: 'hostPath',
    path: `/opt/local-path-provisioner/${name}`,
    storageClass: 'local-path',
    capacityBytes: '1Gi',
    claimRef: { namespace: 'app', name: `claim-${name}`, uid: `uid-claim-${name}` },
    annotations: { 'local.path.provisioner/selected-node': NODE, 'pv.kubernetes.io/provisioned-by': LP },
    nodeAffinity: { [HOST]: [NODE] },
    ...overrides,
  });
}

function lpClaim(name: string, overrides: Partial<PersistentVolumeClaimInfo> = {}): PersistentVolumeClaimInfo {
  return pvc('app', `claim-${name}`, {
    uid: `uid-claim-${name}`,
    storageClass: 'local-path',
    annotations: { 'volume.kubernetes.io/selected-node': NODE },
    ...overrides,
  });
}

function onPv(name: string, reason: string, overrides: Partial<EventInfo> = {}): EventInfo {
  return event({ kind: 'PersistentVolume', name, uid: `uid-${name}` }, reason, { type: 'Warning', reportingComponent: LP, ...overrides });
}

/** The kinds a second agent lists after a restart, in the order its cache happens to load them. */
function listAll(from: FakeKube, into: FakeKube): void {
  into.relist('persistentvolumes', from.pvs, { origin: 'list' });
  into.relist('persistentvolumeclaims', from.pvcs, { origin: 'list' });
  into.relist('persistentvolumeevents', from.pvEvents, { origin: 'list' });
  into.relist('persistentvolumeclaimevents', from.pvcEvents, { origin: 'list' });
}

describe('provisioner receiver: agent restart and relists', () => {
  it('an agent restarted mid-lifecycle double-counts nothing', async () => {
    const clock = new Clock(T0);
    const kube = new FakeKube();
    kube.storageClasses = [storageClass('local-path', LP)];
    const first = newReceiver(kube, clock);
    await first.start();

    // First agent: a claim is made, its PV provisioned and bound, its deletion fails once.
    clock.advance(1);
    const claim = lpClaim('a', { phase: 'Pending', creationTimestampMs: clock.ms });
    kube.add('persistentvolumeclaims', claim);
    clock.advance(4);
    const volume = lpVolume('a', { phase: 'Bound', creationTimestampMs: clock.ms, lastPhaseTransitionTimeMs: clock.ms });
    kube.add('persistentvolumes', volume);
    kube.update('persistentvolumeclaims', bump(claim, { phase: 'Bound', volumeName: 'a' }));
    clock.advance(60);
    kube.remove('persistentvolumeclaims', 'app', 'claim-a', { at: clock.ms });
    const released = bump(volume, { phase: 'Released', lastPhaseTransitionTimeMs: clock.ms });
    const releasedAt = clock.ms;
    kube.update('persistentvolumes', released);
    clock.advance(5);
    const failed = onPv('a', 'VolumeFailedDelete', { firstTimestampMs: clock.ms, lastTimestampMs: clock.ms });
    kube.add('persistentvolumeevents', failed);
    const warning = (n: number): [string, string, string, string, number] => ['VolumeFailedDelete', 'Warning', LP, 'PersistentVolume', n];
    assert.deepEqual(
      await series(first),
      expected({
        discovered: { Filesystem: 1 },
        deleteFailed: { Filesystem: 1 },
        capacity: { Filesystem: GI },
        phases: { 'Released/local-path': 1 },
        events: [warning(1)],
        latencies: [{ storageclass: 'local-path', provisioner: LP, seconds: [4] }],
      }),
    );
    await first.shutdown();
    assert.equal(kube.listenerCount('persistentvolumes'), 0, 'shutdown unsubscribed');
    kube.purge();

    // The agent restarts: a new cache lists everything as it is now, after the receiver started.
    clock.advance(30);
    const fresh = new FakeKube();
    fresh.storageClasses = kube.storageClasses;
    fresh.synced = false;
    const second = newReceiver(fresh, clock);
    await second.start();
    listAll(kube, fresh);
    const baseline = { capacity: { Filesystem: GI }, phases: { 'Released/local-path': 1 } };
    assert.deepEqual(await series(second), expected(baseline), 'the PV, its bound claim and its Warning are baseline');

    // Life goes on: the Warning repeats once, then the PV is deleted.
    clock.advance(10);
    fresh.update('persistentvolumeevents', bump(failed, { count: 2, lastTimestampMs: clock.ms }));
    assert.deepEqual(await series(second), expected({ ...baseline, deleteFailed: { Filesystem: 1 }, events: [warning(1)] }));
    clock.advance(20);
    fresh.remove('persistentvolumes', '', 'a', { at: clock.ms });
    assert.deepEqual(
      await series(second),
      expected({
        deleted: { Filesystem: 1 },
        deleteFailed: { Filesystem: 1 },
        events: [warning(1)],
        // The Released time survives the restart in status.lastPhaseTransitionTime.
        deleteDurations: [{ mode: 'Filesystem', capacity: '500G', seconds: [(clock.ms - releasedAt) / 1000] }],
      }),
    );
    await second.shutdown();
  });

  it('a receiver started after the cache synced takes its content as baseline', async () => {
    const clock = new Clock(T0);
    const kube = new FakeKube();
    kube.pvs = [
      lpVolume('old', { phase: 'Bound', creationTimestampMs: T0 - 3_600_000 }),
      // Failed before the start, on an API server without lastPhaseTransitionTime: Failed since at least the start.
      lpVolume('broken', { phase: 'Failed', creationTimestampMs: T0 - 3_600_000 }),
    ];
    kube.pvcs = [lpClaim('old', { phase: 'Bound', volumeName: 'old', creationTimestampMs: T0 - 3_600_000 })];
    kube.pvEvents = [onPv('old', 'VolumeFailedDelete', { count: 9 })];
    const receiver = newReceiver(kube, clock);
    await receiver.start();
    clock.advance(601);
    const state = { capacity: { Filesystem: 2 * GI }, phases: { 'Bound/local-path': 1, 'Failed/local-path': 1 }, stuck: { Failed: 1 } };
    assert.deepEqual(await series(receiver), expected(state));
    // The bound claim changes: it was bound before the start, so no latency; the event repeats once.
    kube.update('persistentvolumeclaims', bump(kube.pvcs[0] as PersistentVolumeClaimInfo, { labels: { tier: 'gold' } }));
    kube.update('persistentvolumeevents', bump(kube.pvEvents[0] as EventInfo, { count: 10 }));
    assert.deepEqual(await series(receiver), expected({ ...state, deleteFailed: { Filesystem: 1 }, events: [['VolumeFailedDelete', 'Warning', LP, 'PersistentVolume', 1]] }));
    await receiver.shutdown();
  });

  it('after 410 Gone: a relisted PV made after the start is discovered, one made before is baseline; a relisted deletion counts without a duration', async () => {
    const clock = new Clock(T0);
    const kube = new FakeKube();
    kube.pvs = [lpVolume('gone', { phase: 'Released', creationTimestampMs: T0 - 60_000, lastPhaseTransitionTimeMs: T0 - 1_000 })];
    const receiver = newReceiver(kube, clock);
    await receiver.start();
    assert.deepEqual(await series(receiver), expected({ capacity: { Filesystem: GI }, phases: { 'Released/local-path': 1 } }));

    // The watch was down for a while; the relist finds two PVs the cache did not hold, and one gone.
    clock.advance(300);
    const madeBefore = lpVolume('before', { phase: 'Bound', creationTimestampMs: T0 - 1_000 });
    const madeAfter = lpVolume('after', { phase: 'Bound', volumeMode: 'Block', capacityBytes: '3Gi', creationTimestampMs: T0 + 100_000 });
    const elsewhere = lpVolume('elsewhere', { phase: 'Bound', creationTimestampMs: T0 + 100_000, nodeAffinity: { [HOST]: ['node-b'] } });
    kube.relist('persistentvolumes', [madeBefore, madeAfter, elsewhere], { at: clock.ms });
    assert.deepEqual(
      await series(receiver),
      expected({ discovered: { Block: 1 }, deleted: { Filesystem: 1 }, capacity: { Filesystem: GI, Block: 3 * GI }, phases: { 'Bound/local-path': 2 } }),
      'no duration: the deletion time is unknown',
    );
    await receiver.shutdown();
  });

  it('after 410 Gone: relisted events count whole when first seen after the start, else from their next repeat', async () => {
    const clock = new Clock(T0);
    const kube = new FakeKube();
    kube.pvs = [lpVolume('v', { phase: 'Released', creationTimestampMs: T0 - 60_000 })];
    const receiver = newReceiver(kube, clock);
    await receiver.start();
    clock.advance(300);
    const old = onPv('v', 'VolumeFailedDelete', { count: 5, firstTimestampMs: T0 - 5_000, lastTimestampMs: T0 + 200_000 });
    const fresh = onPv('v', 'VolumeFailedDelete', { count: 2, name: 'v.new', uid: 'ev-new', firstTimestampMs: T0 + 100_000, lastTimestampMs: T0 + 200_000 });
    kube.relist('persistentvolumeevents', [old, fresh], { at: clock.ms });
    const state = { capacity: { Filesystem: GI }, phases: { 'Released/local-path': 1 } };
    assert.deepEqual(await series(receiver), expected({ ...state, deleteFailed: { Filesystem: 2 }, events: [['VolumeFailedDelete', 'Warning', LP, 'PersistentVolume', 2]] }));
    kube.update('persistentvolumeevents', bump(old, { count: 6 }));
    assert.deepEqual(await series(receiver), expected({ ...state, deleteFailed: { Filesystem: 3 }, events: [['VolumeFailedDelete', 'Warning', LP, 'PersistentVolume', 3]] }));
    await receiver.shutdown();
  });

  it('a PV that becomes this node\'s by an update is discovered only when made after the start', async () => {
    const clock = new Clock(T0);
    const kube = new FakeKube();
    const unpinned = (name: string, created: number) => lpVolume(name, { phase: 'Bound', annotations: {}, nodeAffinity: {}, claimRef: undefined, creationTimestampMs: created });
    kube.pvs = [unpinned('early', T0 - 1_000)];
    const receiver = newReceiver(kube, clock);
    await receiver.start();
    clock.advance(10);
    kube.add('persistentvolumes', unpinned('late', clock.ms));
    assert.deepEqual(await series(receiver), expected(), 'neither names a node yet');
    const annotations = { 'local.path.provisioner/selected-node': NODE };
    kube.update('persistentvolumes', bump(kube.pvs[0] as PersistentVolumeInfo, { annotations }));
    kube.update('persistentvolumes', bump(kube.pvs[1] as PersistentVolumeInfo, { annotations }));
    assert.deepEqual(await series(receiver), expected({ discovered: { Filesystem: 1 }, capacity: { Filesystem: 2 * GI }, phases: { 'Bound/local-path': 2 } }));
    await receiver.shutdown();
  });

  it('a claim bound before its PV reaches the cache is observed once the PV arrives', async () => {
    const clock = new Clock(T0);
    const kube = new FakeKube();
    const receiver = newReceiver(kube, clock);
    await receiver.start();
    clock.advance(1);
    const claim = lpClaim('late', { phase: 'Pending', creationTimestampMs: clock.ms, annotations: { 'volume.kubernetes.io/storage-provisioner': LP } });
    kube.add('persistentvolumeclaims', claim);
    clock.advance(6);
    kube.update('persistentvolumeclaims', bump(claim, { phase: 'Bound', volumeName: 'late' }));
    assert.deepEqual(await series(receiver), expected(), 'the PV is not known yet: nothing observed');
    clock.advance(1);
    // No provisioned-by annotation on this PV: the claim's storage-provisioner names the provisioner.
    kube.add('persistentvolumes', lpVolume('late', { phase: 'Bound', creationTimestampMs: clock.ms, annotations: { 'local.path.provisioner/selected-node': NODE } }));
    assert.deepEqual(
      await series(receiver),
      expected({ discovered: { Filesystem: 1 }, capacity: { Filesystem: GI }, phases: { 'Bound/local-path': 1 }, latencies: [{ storageclass: 'local-path', provisioner: LP, seconds: [6] }] }),
    );
    // A relist redelivering the claim as changed observes nothing again.
    kube.relist('persistentvolumeclaims', [bump(kube.pvcs[0] as PersistentVolumeClaimInfo, { labels: { x: 'y' } })]);
    assert.deepEqual(
      await series(receiver),
      expected({ discovered: { Filesystem: 1 }, capacity: { Filesystem: GI }, phases: { 'Bound/local-path': 1 }, latencies: [{ storageclass: 'local-path', provisioner: LP, seconds: [6] }] }),
    );
    await receiver.shutdown();
  });
});
