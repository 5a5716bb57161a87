import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { event, FakeKube, pv, pvc, T0 } from '../../kube/testing.ts';
import type { PersistentVolumeClaimInfo, PersistentVolumeInfo } from '../../kube/types.ts';
import { Clock, expected, GI, newReceiver, NODE, series } from './testing.ts';

const HOST = 'kubernetes.io/hostname';

function bump<T extends { resourceVersion: string }>(object: T, overrides: Partial<T>): T {
  return { ...object, ...overrides, resourceVersion: String(Number(object.resourceVersion) + 1) };
}

describe('provisioner receiver: only this node', () => {
  it('ignores other nodes\' volumes and claims, unpinned volumes, and their events', async () => {
    const clock = new Clock(T0);
    const kube = new FakeKube();
    const receiver = newReceiver(kube, clock);
    await receiver.start();
    clock.advance(1);
    const foreign: PersistentVolumeInfo[] = [
      pv('local-b', { sourceType: 'local', phase: 'Failed', capacityBytes: '10Gi', nodeAffinity: { [HOST]: ['node-b'] }, creationTimestampMs: clock.ms }),
      // local-path's annotation names node-b; the PVC's selected-node too.
      pv('lp-b', { sourceType: 'hostPath', capacityBytes: '1Gi', annotations: { 'local.path.provisioner/selected-node': 'node-b' }, claimRef: { namespace: 'x', name: 'claim-b' }, creationTimestampMs: clock.ms }),
      // Nothing names a node (the hostpath receiver would look for a pod using the claim; this receiver does not).
      pv('unpinned', { sourceType: 'hostPath', capacityBytes: '1Gi', claimRef: { namespace: 'x', name: 'unpinned' }, creationTimestampMs: clock.ms }),
      // Affinity on another key than node_affinity_key only.
      pv('zonal', { sourceType: 'csi', capacityBytes: '1Gi', nodeAffinity: { 'topology.kubernetes.io/zone': ['z1'] }, creationTimestampMs: clock.ms }),
    ];
    for (const v of foreign) kube.add('persistentvolumes', v);
    const claimB = pvc('x', 'claim-b', { volumeName: 'lp-b', phase: 'Pending', creationTimestampMs: T0, annotations: { 'volume.kubernetes.io/selected-node': 'node-b' } });
    kube.add('persistentvolumeclaims', claimB);
    kube.update('persistentvolumeclaims', bump(claimB, { phase: 'Bound' }));
    kube.add('persistentvolumeclaims', pvc('x', 'unpinned', { volumeName: 'unpinned', creationTimestampMs: T0 }));
    kube.add('persistentvolumeevents', event({ kind: 'PersistentVolume', name: 'local-b' }, 'VolumeFailedDelete', { type: 'Warning', count: 3 }));
    kube.add('persistentvolumeevents', event({ kind: 'PersistentVolume', name: 'unpinned' }, 'VolumeFailedDelete', { type: 'Warning' }));
    kube.add('persistentvolumeclaimevents', event({ kind: 'PersistentVolumeClaim', namespace: 'x', name: 'claim-b' }, 'ProvisioningFailed', { type: 'Warning' }));
    // An event about a PV named like one of ours but with another UID (an older PV of that name).
    kube.add('persistentvolumes', pv('mine', { sourceType: 'local', phase: 'Available', capacityBytes: '1Gi', nodeAffinity: { [HOST]: [NODE] }, creationTimestampMs: clock.ms }));
    kube.add('persistentvolumeevents', event({ kind: 'PersistentVolume', name: 'mine', uid: 'an-older-pv' }, 'VolumeFailedDelete', { type: 'Warning' }));
    clock.advance(3600);
    const mine = { discovered: { Filesystem: 1 }, capacity: { Filesystem: GI }, phases: { 'Available/standard': 1 } };
    assert.deepEqual(await series(receiver), expected(mine));
    for (const v of foreign) kube.remove('persistentvolumes', '', v.name, { at: clock.ms });
    assert.deepEqual(await series(receiver), expected(mine));
    await receiver.shutdown();
  });

  it('counts only Warning VolumeFailedDelete as a failed deletion; every event of ours in events_total', async () => {
    const clock = new Clock(T0);
    const kube = new FakeKube();
    kube.pvs = [pv('mine', { uid: 'uid-mine', sourceType: 'local', phase: 'Released', capacityBytes: '1Gi', nodeAffinity: { [HOST]: [NODE] } })];
    const receiver = newReceiver(kube, clock);
    await receiver.start();
    const about = { kind: 'PersistentVolume', name: 'mine', uid: 'uid-mine' };
    kube.add('persistentvolumeevents', event(about, 'VolumeFailedDelete', { type: 'Normal', reportingComponent: 'odd' }));
    kube.add('persistentvolumeevents', event(about, 'VolumeFailedRecycle', { type: 'Warning' }));
    // Another object than the Normal one (recorders name events <object>.<random suffix>).
    kube.add('persistentvolumeevents', event(about, 'VolumeFailedDelete', { type: 'Warning', reportingComponent: 'csi-provisioner', name: 'mine.17f3a', uid: 'ev-warning' }));
    assert.deepEqual(
      await series(receiver),
      expected({
        capacity: { Filesystem: GI },
        phases: { 'Released/standard': 1 },
        deleteFailed: { Filesystem: 1 },
        events: [
          ['VolumeFailedDelete', 'Normal', 'odd', 'PersistentVolume', 1],
          ['VolumeFailedRecycle', 'Warning', 'persistentvolume-controller', 'PersistentVolume', 1],
          ['VolumeFailedDelete', 'Warning', 'csi-provisioner', 'PersistentVolume', 1],
        ],
      }),
    );
    await receiver.shutdown();
  });

  it('observes a claim once, even when it is Lost and bound again', async () => {
    const clock = new Clock(T0);
    const kube = new FakeKube();
    const receiver = newReceiver(kube, clock);
    await receiver.start();
    const volume = pv('v', { uid: 'uid-v', sourceType: 'local', phase: 'Available', nodeAffinity: { [HOST]: [NODE] }, creationTimestampMs: T0 });
    kube.add('persistentvolumes', volume);
    const claim: PersistentVolumeClaimInfo = pvc('ns', 'c', { uid: 'uid-c', phase: 'Pending', volumeName: '', creationTimestampMs: T0 });
    kube.add('persistentvolumeclaims', claim);
    clock.advance(2);
    const bound = bump(claim, { phase: 'Bound', volumeName: 'v' });
    kube.update('persistentvolumeclaims', bound);
    const lost = bump(bound, { phase: 'Lost' });
    kube.update('persistentvolumeclaims', lost);
    clock.advance(2);
    kube.update('persistentvolumeclaims', bump(lost, { phase: 'Bound' }));
    assert.deepEqual(
      await series(receiver),
      expected({ discovered: { Filesystem: 1 }, phases: { 'Available/standard': 1 }, latencies: [{ storageclass: 'standard', provisioner: 'none', seconds: [2] }] }),
    );
    await receiver.shutdown();
  });
});
