import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fixtures } from '../test/support/kube-api/index.ts';
import { Interner } from './intern.ts';
import {
  bareContainerId,
  EVENT_MESSAGE_MAX,
  objectKey,
  stripEvent,
  stripMeta,
  stripPersistentVolume,
  stripPersistentVolumeClaim,
  stripPod,
  stripStorageClass,
  type ApiObject,
} from './strip.ts';

const opts = () => ({ interner: new Interner() });
const api = (o: object) => o as ApiObject;

test('pod: names, IPs, owner, bare container IDs, claims by volume', () => {
  const raw = fixtures.pod('web-0', {
    namespace: 'shop',
    node: 'node-a',
    podIP: '10.4.1.7',
    labels: { app: 'web' },
    annotations: { 'prometheus.io/scrape': 'true' },
    owner: { kind: 'StatefulSet', name: 'web' },
    pvcs: { data: 'data-web-0' },
    emptyDirs: ['scratch'],
    containerIds: ['containerd://abc123', 'docker://def456'],
    ports: [{ name: 'metrics', containerPort: 9100 }, { containerPort: 53, protocol: 'UDP' }, { containerPort: 70000 }],
  });
  const pod = stripPod(api(raw), opts());
  assert.equal(pod.phase, 'Running');
  assert.deepEqual(pod.ports, [
    { container: 'main', name: 'metrics', port: 9100, protocol: 'TCP' },
    { container: 'main', name: '', port: 53, protocol: 'UDP' },
  ]);
  assert.equal(pod.name, 'web-0');
  assert.equal(pod.namespace, 'shop');
  assert.equal(pod.nodeName, 'node-a');
  assert.equal(pod.uid, fixtures.uidFor('pod/shop/web-0'));
  assert.deepEqual(pod.podIPs, ['10.4.1.7']);
  assert.deepEqual(pod.owner, { kind: 'StatefulSet', name: 'web' });
  assert.deepEqual(pod.containers, [
    { name: 'main', id: 'abc123' },
    { name: 'sidecar-1', id: 'def456' },
  ]);
  assert.deepEqual(pod.claims, { data: 'data-web-0' });
  assert.equal(pod.labels['app'], 'web');
  assert.equal(pod.labels['statefulset.kubernetes.io/pod-name'], 'web-0');
  assert.equal(pod.annotations['prometheus.io/scrape'], 'true');
  assert.equal(pod.hostNetwork, undefined);
  assert.match(pod.resourceVersion, /^$|^\d+$/);
});

test('pod: Deployment pods are owned by their ReplicaSet (the controller reference)', () => {
  const raw = fixtures.pod('api-7c9d8f5b6d-x2x9k', { node: 'node-a', owner: { kind: 'Deployment', name: 'api' } }) as unknown as ApiObject & {
    metadata: { ownerReferences: object[] };
  };
  // A non-controller reference first must not win.
  raw.metadata.ownerReferences.unshift({ apiVersion: 'v1', kind: 'ConfigMap', name: 'x', uid: 'u', controller: false });
  assert.deepEqual(stripPod(raw, opts()).owner, { kind: 'ReplicaSet', name: 'api-7c9d8f5b6d' });
});

test('pod: dual-stack IPs, hostNetwork, generic ephemeral volume, init containers, pending containers', () => {
  const pod = stripPod(
    api({
      metadata: { name: 'p', namespace: 'ns', uid: 'u1', resourceVersion: '9' },
      spec: {
        nodeName: 'n1',
        hostNetwork: true,
        volumes: [
          { name: 'scratch', ephemeral: { volumeClaimTemplate: { spec: {} } } },
          { name: 'cfg', configMap: { name: 'c' } },
          { name: 'd', persistentVolumeClaim: { claimName: 'claim-d', readOnly: true } },
        ],
      },
      status: {
        podIP: '10.0.0.1',
        podIPs: [{ ip: '10.0.0.1' }, { ip: 'fd00::1' }],
        initContainerStatuses: [{ name: 'init', containerID: 'cri-o://111' }],
        containerStatuses: [{ name: 'app', containerID: 'containerd://222' }, { name: 'waiting' }],
      },
    }),
    opts(),
  );
  assert.deepEqual(pod.podIPs, ['10.0.0.1', 'fd00::1']);
  assert.equal(pod.hostNetwork, true);
  assert.deepEqual(pod.claims, { scratch: 'p-scratch', d: 'claim-d' });
  assert.deepEqual(pod.containers, [
    { name: 'init', id: '111' },
    { name: 'app', id: '222' },
  ]);
  assert.equal(pod.owner, undefined);
});

test('pod: a minimal or malformed object strips without throwing', () => {
  const pod = stripPod(api({ metadata: { name: 'x', labels: { a: 1, b: 'ok' } }, spec: { volumes: 'nope' }, status: null }), opts());
  assert.equal(pod.name, 'x');
  assert.equal(pod.namespace, '');
  assert.deepEqual(pod.labels, { b: 'ok' });
  assert.deepEqual(pod.podIPs, []);
  assert.deepEqual(pod.containers, []);
  assert.deepEqual(pod.claims, {});
});

test('PV: local static provisioner with hostname affinity', () => {
  const raw = fixtures.persistentVolume('local-pv-1a2b3c4d', { type: 'local', path: '/mnt/disks/ssd0', node: 'node-a' }, {
    storageClassName: 'local-storage',
    capacity: '375Gi',
    claim: { namespace: 'db', name: 'data-pg-0' },
  });
  const pv = stripPersistentVolume(api(raw), opts());
  assert.equal(pv.sourceType, 'local');
  assert.equal(pv.path, '/mnt/disks/ssd0');
  assert.deepEqual(pv.nodeAffinity, { 'kubernetes.io/hostname': ['node-a'] });
  assert.equal(pv.storageClass, 'local-storage');
  assert.equal(pv.capacityBytes, '375Gi');
  assert.equal(pv.phase, 'Bound');
  assert.equal(pv.volumeMode, 'Filesystem');
  assert.deepEqual(pv.claimRef, { namespace: 'db', name: 'data-pg-0', uid: fixtures.uidFor('pvc/db/data-pg-0') });
  assert.equal(pv.csiDriver, undefined);
});

test('PV: CSI driver and handle; GCE PD; local-path hostPath; unbound', () => {
  const csi = stripPersistentVolume(
    api(fixtures.persistentVolume('pvc-1', { type: 'csi', driver: 'pd.csi.storage.gke.io', volumeHandle: 'projects/p/zones/z/disks/pvc-1' }, { storageClassName: 'standard-rwo' })),
    opts(),
  );
  assert.equal(csi.sourceType, 'csi');
  assert.equal(csi.csiDriver, 'pd.csi.storage.gke.io');
  assert.equal(csi.volumeHandle, 'projects/p/zones/z/disks/pvc-1');
  assert.equal(csi.path, undefined);
  assert.equal(csi.claimRef, undefined);
  assert.equal(csi.phase, 'Available');

  const pd = stripPersistentVolume(api(fixtures.persistentVolume('pvc-2', { type: 'gcePD', pdName: 'gke-disk' }, { volumeMode: 'Block' })), opts());
  assert.equal(pd.sourceType, 'gcePersistentDisk');
  assert.equal(pd.volumeMode, 'Block');
  assert.equal(pd.storageClass, '');

  const lp = stripPersistentVolume(
    api(fixtures.persistentVolume('pvc-3', { type: 'localPath', node: 'node-b', claimNamespace: 'ci', claimName: 'cache' }, { storageClassName: 'local-path' })),
    opts(),
  );
  assert.equal(lp.sourceType, 'hostPath');
  assert.equal(lp.path, '/opt/local-path-provisioner/pvc-3_ci_cache');
  assert.deepEqual(lp.nodeAffinity, { 'kubernetes.io/hostname': ['node-b'] });
});

test('PV: storage class from the beta annotation, affinity keys kept apart, NotIn ignored, values merged across terms', () => {
  const raw = api({
    metadata: { name: 'old', uid: 'u', annotations: { 'volume.beta.kubernetes.io/storage-class': 'slow' } },
    spec: {
      nfs: { server: 'nfs.example', path: '/exports/a' },
      nodeAffinity: {
        required: {
          nodeSelectorTerms: [
            { matchExpressions: [{ key: 'topology.kubernetes.io/zone', operator: 'In', values: ['z1'] }] },
            { matchExpressions: [{ key: 'kubernetes.io/hostname', operator: 'NotIn', values: ['n9'] }] },
            { matchExpressions: [{ key: 'kubernetes.io/hostname', operator: 'In', values: ['n1', 'n2'] }] },
            { matchExpressions: [{ key: 'kubernetes.io/hostname', operator: 'In', values: ['n2', 'n3'] }] },
          ],
        },
      },
    },
  });
  const pv = stripPersistentVolume(raw, opts());
  assert.equal(pv.storageClass, 'slow');
  assert.equal(pv.sourceType, 'nfs');
  assert.equal(pv.path, undefined);
  assert.deepEqual(pv.nodeAffinity, { 'topology.kubernetes.io/zone': ['z1'], 'kubernetes.io/hostname': ['n1', 'n2', 'n3'] });
});

test('PVC: volume, class, request as written, phase; last-applied annotation dropped', () => {
  const raw = fixtures.persistentVolumeClaim('shop', 'data-web-0', {
    storageClassName: 'standard-rwo',
    request: '10G',
    volumeName: 'pvc-abc',
    labels: { app: 'web' },
  }) as ApiObject & { metadata: { annotations: Record<string, string> } };
  raw.metadata.annotations['kubectl.kubernetes.io/last-applied-configuration'] = JSON.stringify(raw);
  const pvc = stripPersistentVolumeClaim(raw, opts());
  assert.equal(pvc.namespace, 'shop');
  assert.equal(pvc.volumeName, 'pvc-abc');
  assert.equal(pvc.storageClass, 'standard-rwo');
  assert.equal(pvc.requestStorage, '10G');
  assert.equal(pvc.phase, 'Bound');
  assert.equal(pvc.labels['app'], 'web');
  assert.equal(pvc.annotations['pv.kubernetes.io/bind-completed'], 'yes');
  assert.equal('kubectl.kubernetes.io/last-applied-configuration' in pvc.annotations, false);
});

test('namespace, node, storage class', () => {
  const ns = stripMeta(api(fixtures.namespace('shop', { team: 'payments' })), opts());
  assert.equal(ns.name, 'shop');
  assert.equal(ns.namespace, '');
  assert.equal(ns.labels['team'], 'payments');
  const node = stripMeta(api(fixtures.node('node-a')), opts());
  assert.equal(node.labels['kubernetes.io/hostname'], 'node-a');
  const sc = stripStorageClass(api(fixtures.storageClass('gp3', 'ebs.csi.aws.com', { default: true })), opts());
  assert.equal(sc.provisioner, 'ebs.csi.aws.com');
  assert.equal(sc.annotations['storageclass.kubernetes.io/is-default-class'], 'true');
});

test('interning: identical label sets and repeated values are shared, maps are frozen', () => {
  const o = opts();
  const a = stripPersistentVolumeClaim(api(fixtures.persistentVolumeClaim('ns1', 'a', { labels: { app: 'db', tier: 'data' }, storageClassName: 'gp3' })), o);
  const b = stripPersistentVolumeClaim(api(fixtures.persistentVolumeClaim('ns1', 'b', { labels: { tier: 'data', app: 'db' }, storageClassName: 'gp3' })), o);
  assert.equal(a.labels, b.labels, 'same label set → same object');
  assert.ok(Object.isFrozen(a.labels));
  const empty1 = stripMeta(api({ metadata: { name: 'x' } }), o);
  const empty2 = stripMeta(api({ metadata: { name: 'y', labels: {} } }), o);
  assert.equal(empty1.labels, empty2.labels);
  assert.throws(() => {
    (a.labels as Record<string, string>)['x'] = 'y';
  }, TypeError);
});

test('interner is bounded', () => {
  const i = new Interner({ maxEntries: 10 });
  for (let n = 0; n < 100; n++) i.string(`value-${n}`);
  assert.ok(i.size <= 10);
  assert.equal(i.string('value-99'), 'value-99');
});

test('bareContainerId and objectKey', () => {
  assert.equal(bareContainerId('containerd://abc'), 'abc');
  assert.equal(bareContainerId('docker://abc'), 'abc');
  assert.equal(bareContainerId('abc'), 'abc');
  assert.equal(objectKey('', 'pv-1'), 'pv-1');
  assert.equal(objectKey('ns', 'p'), 'ns/p');
});

test('PV: creation and phase transition times, reclaim policy; provisioner annotations kept', () => {
  const raw = fixtures.persistentVolume('pvc-9f1e', { type: 'localPath', node: 'node-a', claimNamespace: 'shop', claimName: 'uploads' }, {
    storageClassName: 'local-path',
    claim: { namespace: 'shop', name: 'uploads' },
    phase: 'Released',
    created: '2025-01-15T10:00:05Z',
    lastPhaseTransitionTime: '2025-01-15T11:30:00Z',
    reclaimPolicy: 'Delete',
    volumeMode: 'Block',
  });
  const pv = stripPersistentVolume(api(raw), opts());
  assert.equal(pv.creationTimestampMs, Date.UTC(2025, 0, 15, 10, 0, 5));
  assert.equal(pv.lastPhaseTransitionTimeMs, Date.UTC(2025, 0, 15, 11, 30));
  assert.equal(pv.reclaimPolicy, 'Delete');
  assert.equal(pv.phase, 'Released');
  assert.equal(pv.volumeMode, 'Block');
  assert.equal(pv.annotations['pv.kubernetes.io/provisioned-by'], 'rancher.io/local-path');
  assert.equal(pv.annotations['local.path.provisioner/selected-node'], 'node-a');

  // An API server before 1.28 sends no lastPhaseTransitionTime; a bad time reads as absent.
  const old = stripPersistentVolume(api(fixtures.persistentVolume('old', { type: 'hostPath', path: '/x' }, { lastPhaseTransitionTime: null, reclaimPolicy: 'Retain' })), opts());
  assert.equal(old.lastPhaseTransitionTimeMs, undefined);
  assert.equal(old.reclaimPolicy, 'Retain');
  assert.equal(old.creationTimestampMs, Date.UTC(2025, 0, 15, 10));
  const bare = stripPersistentVolume(api({ metadata: { name: 'b', creationTimestamp: 'yesterday' }, spec: {}, status: { lastPhaseTransitionTime: 42 } }), opts());
  assert.deepEqual([bare.creationTimestampMs, bare.lastPhaseTransitionTimeMs, bare.reclaimPolicy], [undefined, undefined, undefined]);
});

test('PVC: creation time; selected-node and storage-provisioner annotations kept', () => {
  const raw = fixtures.persistentVolumeClaim('shop', 'uploads', { storageClassName: 'local-path', selectedNode: 'node-a', provisioner: 'rancher.io/local-path', created: '2025-01-15T09:59:58Z' });
  const pvc = stripPersistentVolumeClaim(api(raw), opts());
  assert.equal(pvc.creationTimestampMs, Date.UTC(2025, 0, 15, 9, 59, 58));
  assert.equal(pvc.phase, 'Pending');
  assert.equal(pvc.annotations['volume.kubernetes.io/selected-node'], 'node-a');
  assert.equal(pvc.annotations['volume.kubernetes.io/storage-provisioner'], 'rancher.io/local-path');
  assert.equal(stripPersistentVolumeClaim(api({ metadata: { name: 'x' } }), opts()).creationTimestampMs, undefined);
});

test('storage class: binding mode and reclaim policy', () => {
  const wffc = stripStorageClass(api(fixtures.storageClass('local-path', 'rancher.io/local-path', { bindingMode: 'WaitForFirstConsumer', reclaimPolicy: 'Retain' })), opts());
  assert.equal(wffc.volumeBindingMode, 'WaitForFirstConsumer');
  assert.equal(wffc.reclaimPolicy, 'Retain');
  const bare = stripStorageClass(api({ metadata: { name: 'x' }, provisioner: 'p' }), opts());
  assert.deepEqual([bare.volumeBindingMode, bare.reclaimPolicy], [undefined, undefined]);
});

test('event: old recorder (core/v1 source, count, first/last timestamps) about a PV', () => {
  const raw = fixtures.coreEvent({ kind: 'PersistentVolume', name: 'local-pv-1a2b3c4d' }, 'VolumeFailedDelete', 'Error cleaning PV: device or resource busy', {
    type: 'Warning',
    component: 'local-volume-provisioner-node-a-abc',
    host: 'node-a',
    count: 3,
    firstTimestamp: '2025-01-15T10:05:00Z',
    lastTimestamp: '2025-01-15T10:07:30Z',
  });
  const e = stripEvent(api(raw), opts());
  assert.equal(e.namespace, 'default', 'events about cluster-scoped objects live in default');
  assert.match(e.name, /^local-pv-1a2b3c4d\./);
  assert.equal(e.uid, raw.metadata.uid);
  assert.match(e.resourceVersion, /^$|^\d+$/);
  assert.deepEqual(e.involvedObject, { kind: 'PersistentVolume', namespace: '', name: 'local-pv-1a2b3c4d', uid: fixtures.uidFor('pv/local-pv-1a2b3c4d') });
  assert.equal(e.reason, 'VolumeFailedDelete');
  assert.equal(e.type, 'Warning');
  assert.equal(e.reportingComponent, 'local-volume-provisioner-node-a-abc', 'source.component when reportingComponent is empty');
  assert.equal(e.reportingInstance, 'node-a', 'source.host when reportingInstance is empty');
  assert.equal(e.count, 3);
  assert.equal(e.firstTimestampMs, Date.UTC(2025, 0, 15, 10, 5));
  assert.equal(e.lastTimestampMs, Date.UTC(2025, 0, 15, 10, 7, 30));
  assert.equal(e.message, 'Error cleaning PV: device or resource busy');
});

test('event: written through events.k8s.io, read through core/v1 (reportingComponent, eventTime, series)', () => {
  const regarding = { kind: 'PersistentVolumeClaim', namespace: 'batch', name: 'scratch' };
  const written = fixtures.eventsV1Event(regarding, 'ProvisioningFailed', 'volume limit reached', {
    type: 'Warning',
    controller: 'ebs.csi.aws.com',
    instance: 'ebs-csi-controller-0',
    eventTime: '2025-01-15T10:01:00.250000Z',
    series: { count: 4, lastObservedTime: '2025-01-15T10:03:30.500000Z' },
  });
  const core = fixtures.coreViewOf(written);
  assert.equal(core['source'] !== undefined && core['firstTimestamp'] === null && core['count'] === undefined, true, 'the core view has empty deprecated fields');
  const e = stripEvent(api(core), opts());
  assert.equal(e.namespace, 'batch');
  assert.deepEqual(e.involvedObject, { kind: 'PersistentVolumeClaim', namespace: 'batch', name: 'scratch', uid: fixtures.uidFor('pvc/batch/scratch') });
  assert.equal(e.reportingComponent, 'ebs.csi.aws.com');
  assert.equal(e.reportingInstance, 'ebs-csi-controller-0');
  assert.equal(e.count, 4, 'series.count is the running total');
  assert.equal(e.firstTimestampMs, Date.UTC(2025, 0, 15, 10, 1, 0, 250), 'eventTime (MicroTime) when firstTimestamp is null');
  assert.equal(e.lastTimestampMs, Date.UTC(2025, 0, 15, 10, 3, 30, 500), 'series.lastObservedTime');
  assert.equal(e.message, 'volume limit reached');
  assert.equal(e.type, 'Warning');
  // The events.k8s.io object itself strips to the same thing.
  assert.deepEqual(stripEvent(api(written), opts()), e);

  const single = stripEvent(api(fixtures.coreViewOf(fixtures.eventsV1Event(regarding, 'Provisioning', 'provisioning', { eventTime: '2025-01-15T10:00:00.000001Z' }))), opts());
  assert.equal(single.count, 1, 'no series: one occurrence');
  assert.equal(single.firstTimestampMs, Date.UTC(2025, 0, 15, 10));
  assert.equal(single.lastTimestampMs, single.firstTimestampMs);
});

test('event: reporting fields win over source; count takes the larger total; missing fields have defaults', () => {
  const both = stripEvent(
    api({
      metadata: { name: 'e', namespace: 'ns', creationTimestamp: '2025-01-15T10:00:00Z' },
      involvedObject: { kind: 'PersistentVolumeClaim', namespace: 'ns', name: 'c' },
      reportingComponent: 'new-name',
      reportingInstance: 'pod-1',
      source: { component: 'old-name', host: 'node-z' },
      count: 2,
      series: { count: 7, lastObservedTime: '2025-01-15T10:00:09Z' },
      firstTimestamp: '2025-01-15T10:00:01Z',
      lastTimestamp: '2025-01-15T10:00:05Z',
    }),
    opts(),
  );
  assert.equal(both.reportingComponent, 'new-name');
  assert.equal(both.reportingInstance, 'pod-1');
  assert.equal(both.count, 7);
  assert.equal(both.firstTimestampMs, Date.UTC(2025, 0, 15, 10, 0, 1));
  assert.equal(both.lastTimestampMs, Date.UTC(2025, 0, 15, 10, 0, 9), 'the latest of lastTimestamp and series.lastObservedTime');

  const created = stripEvent(api({ metadata: { name: 'e', namespace: 'ns', creationTimestamp: '2025-01-15T10:00:00Z' }, count: -3 }), opts());
  assert.deepEqual(
    [created.count, created.firstTimestampMs, created.lastTimestampMs, created.reason, created.type, created.reportingComponent, created.message],
    [1, Date.UTC(2025, 0, 15, 10), Date.UTC(2025, 0, 15, 10), '', '', '', ''],
  );
  assert.deepEqual(created.involvedObject, { kind: '', namespace: '', name: '', uid: '' });
  const nothing = stripEvent(api({ metadata: { name: 'e' }, involvedObject: 'x', series: [], message: 7 }), opts());
  assert.deepEqual([nothing.firstTimestampMs, nothing.lastTimestampMs, nothing.count, nothing.message], [0, 0, 1, '']);
});

test('event: the message is bounded, a cut is marked and never splits a surrogate pair', () => {
  const strip = (message: string) => stripEvent(api({ metadata: { name: 'e', namespace: 'ns' }, message }), opts()).message;
  const exact = 'x'.repeat(EVENT_MESSAGE_MAX);
  assert.equal(strip(exact), exact, 'up to the bound: kept whole');
  const long = strip('y'.repeat(70_000));
  assert.equal(long.length, EVENT_MESSAGE_MAX);
  assert.ok(long.endsWith('…'));
  assert.equal(long.slice(0, -1), 'y'.repeat(EVENT_MESSAGE_MAX - 1));
  // A pair straddling the cut is dropped whole, not halved.
  const emoji = strip(`${'z'.repeat(EVENT_MESSAGE_MAX - 2)}😀${'z'.repeat(100)}`);
  assert.equal(emoji, `${'z'.repeat(EVENT_MESSAGE_MAX - 2)}…`);
  assert.ok(!/[\ud800-\udbff](?![\udc00-\udfff])/.test(emoji), 'no lone high surrogate');
  const intact = strip(`${'z'.repeat(EVENT_MESSAGE_MAX - 3)}😀${'z'.repeat(100)}`);
  assert.equal(intact, `${'z'.repeat(EVENT_MESSAGE_MAX - 3)}😀…`);
  // events.k8s.io calls it note.
  assert.equal(stripEvent(api({ metadata: { name: 'e' }, note: 'from note' }), opts()).message, 'from note');
});
