import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Attributes } from '@opentelemetry/api';
import { resourceFromAttributes } from '@opentelemetry/resources';
import type { ResourceMetrics } from '@opentelemetry/sdk-metrics';
import { gauge } from '../../pipeline/datapoints.ts';
import { testSettings } from '../../pipeline/testing.ts';
import { createDefaultConfig, type K8sAttributesConfig } from './config.ts';
import { K8sAttributesProcessor } from './processor.ts';
import { FakeKube, namespace, pod, pv, pvc } from '../../kube/testing.ts';

function batchOf(...series: Attributes[]): ResourceMetrics {
  const families = ['kubelet_volume_stats_capacity_bytes', 'kubelet_volume_stats_used_bytes'];
  return {
    resource: resourceFromAttributes({}),
    scopeMetrics: [
      {
        scope: { name: 'test' },
        metrics: families.map((name) => gauge({ name, description: name }, series.map((attributes, i) => ({ attributes, value: i + 1 })))),
      },
    ],
  };
}

async function run(kube: FakeKube | undefined, config: Partial<K8sAttributesConfig>, ...series: Attributes[]): Promise<Attributes[]> {
  const processor = new K8sAttributesProcessor(testSettings('k8sattributes', 'processor', kube ? { kube } : {}), { ...createDefaultConfig(), ...config });
  await processor.start();
  const out = processor.process(batchOf(...series));
  await processor.shutdown();
  const [capacity, used] = out.scopeMetrics[0]?.metrics ?? [];
  assert.deepEqual(
    capacity?.dataPoints.map((p) => p.attributes),
    used?.dataPoints.map((p) => p.attributes),
    'every family of a series gets the same labels',
  );
  return capacity?.dataPoints.map((p) => p.attributes) ?? [];
}

const CSI_SERIES = { node: 'node-a', mountpoint: '/var/lib/kubelet/pods/u1/volumes/kubernetes.io~csi/pv-data/mount', volume_plugin: 'csi', pod_uid: 'u1', volume: 'pv-data', persistentvolume: 'pv-data' };

function cluster(): FakeKube {
  const kube = new FakeKube();
  kube.pods.push(
    pod({
      name: 'web-7d4b9c-x2x',
      namespace: 'shop',
      uid: 'u1',
      podIPs: ['10.1.2.3'],
      labels: { app: 'web', 'pod-template-hash': '7d4b9c', 'app.kubernetes.io/part-of': 'store' },
      annotations: { 'team.example.com/owner': 'payments' },
      owner: { kind: 'ReplicaSet', name: 'web-7d4b9c' },
      containers: [{ name: 'web', id: 'abc123' }],
      claims: { data: 'data-web', cache: 'cache-web' },
    }),
  );
  kube.pvs.push(
    pv('pv-data', { claimRef: { namespace: 'shop', name: 'data-web' }, storageClass: 'fast', labels: { 'topology.kubernetes.io/zone': 'z1' } }),
    pv('pv-cache', { claimRef: { namespace: 'shop', name: 'cache-web' }, sourceType: 'gcePersistentDisk', storageClass: 'ssd' }),
  );
  kube.pvcs.push(pvc('shop', 'data-web', { volumeName: 'pv-data', storageClass: 'fast', labels: { tier: 'gold' } }), pvc('shop', 'cache-web', { volumeName: 'pv-cache', storageClass: '' }));
  kube.namespaces.push(namespace('shop', { team: 'retail' }));
  return kube;
}

describe('k8sattributes processor', () => {
  it('labels a CSI volume by its PV, the PV claim, storage class and source, as the kubelet would', async () => {
    const [out] = await run(cluster(), {}, CSI_SERIES);
    assert.deepEqual(out, {
      ...CSI_SERIES,
      namespace: 'shop',
      persistentvolumeclaim: 'data-web',
      persistentvolume: 'pv-data',
      storageclass: 'fast',
      volume_source: 'csi',
    });
  });

  it('finds the claim of an in-tree volume through the pod spec, and the storage class through the PV', async () => {
    const series = { node: 'node-a', mountpoint: '/m', volume_plugin: 'gce-pd', pod_uid: 'u1', volume: 'cache' };
    const [out] = await run(cluster(), {}, series);
    assert.equal(out?.['persistentvolumeclaim'], 'cache-web');
    assert.equal(out?.['persistentvolume'], 'pv-cache');
    assert.equal(out?.['storageclass'], 'ssd');
    assert.equal(out?.['volume_source'], 'gcePersistentDisk');
  });

  it('adds pod, pod UID and owning deployment to volumes only when asked', async () => {
    const [plain] = await run(cluster(), {}, CSI_SERIES);
    assert.equal(plain?.['pod'], undefined);
    const [asked] = await run(cluster(), { volume_pod_labels: true }, CSI_SERIES);
    assert.equal(asked?.['pod'], 'web-7d4b9c-x2x');
    assert.equal(asked?.['deployment'], 'web');
  });

  it('drops emptyDir/configmap/secret volume series by default, keeps them with pod labels when configured', async () => {
    const emptyDir = { node: 'node-a', mountpoint: '/e', volume_plugin: 'empty-dir', pod_uid: 'u1', volume: 'scratch' };
    const nodeFs = { device: '/dev/vda', mountpoint: '/', fstype: 'ext4' };
    const dropped = await run(cluster(), {}, emptyDir, nodeFs);
    assert.deepEqual(dropped, [nodeFs], 'node filesystem series are not volume series and pass untouched');
    const [kept] = await run(cluster(), { keep_non_pvc_volumes: true }, emptyDir);
    assert.equal(kept?.['namespace'], 'shop');
    assert.equal(kept?.['pod'], 'web-7d4b9c-x2x');
    assert.equal(kept?.['persistentvolumeclaim'], undefined);
  });

  it('without an API server passes PV-backed series through with their path labels and still drops emptyDir', async () => {
    const emptyDir = { node: 'node-a', mountpoint: '/e', volume_plugin: 'empty-dir', pod_uid: 'u1', volume: 'scratch' };
    const out = await run(undefined, {}, CSI_SERIES, emptyDir);
    assert.deepEqual(out, [CSI_SERIES]);
  });

  it('removes the PV name of an inline CSI volume once the cache is synced and no PV has that name', async () => {
    const inline = { ...CSI_SERIES, volume: 'ephemeral', persistentvolume: 'ephemeral', mountpoint: '/i' };
    const [out] = await run(cluster(), {}, inline);
    assert.equal(out?.['persistentvolume'], undefined);
    const unsynced = cluster();
    unsynced.synced = false;
    const [kept] = await run(unsynced, {}, inline);
    assert.equal(kept?.['persistentvolume'], 'ephemeral', 'not synced yet: the path label stays');
  });

  it('associates pods by the first rule that matches: UID, IP, container ID (runtime prefix stripped), namespace+name', async () => {
    const kube = cluster();
    const byIp = await run(kube, {}, { pod_ip: '10.1.2.3', value_kind: 'x' });
    assert.equal(byIp[0]?.['pod'], 'web-7d4b9c-x2x');
    const byContainer = await run(kube, {}, { container_id: 'docker://abc123' });
    assert.equal(byContainer[0]?.['namespace'], 'shop');
    const byName = await run(kube, {}, { pod: 'web-7d4b9c-x2x', namespace: 'shop' });
    assert.equal(byName[0]?.['pod_uid'], 'u1');
    const ipOnly = await run(kube, { pod_association: [{ from: 'pod_ip', attribute: 'ip' }] }, { pod_uid: 'u1' });
    assert.equal(ipOnly[0]?.['pod'], undefined, 'only the configured rules apply');
  });

  it('names owner workloads from controller references', async () => {
    const kube = new FakeKube();
    kube.pods.push(
      pod({ name: 'db-0', namespace: 'a', uid: 's', owner: { kind: 'StatefulSet', name: 'db' } }),
      pod({ name: 'agent-x', namespace: 'a', uid: 'd', owner: { kind: 'DaemonSet', name: 'agent' } }),
      pod({ name: 'backup-29384756-abc', namespace: 'a', uid: 'c', owner: { kind: 'Job', name: 'backup-29384756' } }),
      pod({ name: 'rs-x', namespace: 'a', uid: 'r', owner: { kind: 'ReplicaSet', name: 'plain-rs' } }),
    );
    const out = await run(kube, {}, { pod_uid: 's' }, { pod_uid: 'd' }, { pod_uid: 'c' }, { pod_uid: 'r' });
    assert.equal(out[0]?.['statefulset'], 'db');
    assert.equal(out[1]?.['daemonset'], 'agent');
    assert.equal(out[2]?.['job'], 'backup-29384756');
    assert.equal(out[2]?.['cronjob'], 'backup');
    assert.equal(out[3]?.['replicaset'], 'plain-rs');
  });

  it('extracts labels and annotations by key and by regex with $1, sanitising names', async () => {
    const [out] = await run(
      cluster(),
      {
        volume_pod_labels: true,
        extract: {
          labels: [
            { from: 'pod', key: 'app' },
            { from: 'pod', key_regex: 'app\\.kubernetes\\.io/(.*)', tag_name: 'app_$1' },
            { from: 'namespace', key: 'team' },
            { from: 'pvc', key: 'tier', tag_name: 'claim_tier' },
            { from: 'pv', key: 'topology.kubernetes.io/zone', tag_name: 'zone' },
          ],
          annotations: [{ from: 'pod', key: 'team.example.com/owner', tag_name: 'owner' }],
        },
      },
      CSI_SERIES,
    );
    assert.equal(out?.['label_app'], 'web');
    assert.equal(out?.['app_part_of'], 'store');
    assert.equal(out?.['namespace_label_team'], 'retail');
    assert.equal(out?.['claim_tier'], 'gold');
    assert.equal(out?.['zone'], 'z1');
    assert.equal(out?.['owner'], 'payments');
  });

  it('reproduces the disk-usage exporter labels with the pv_disk_usage preset', async () => {
    const [out] = await run(cluster(), { preset: 'pv_disk_usage' }, CSI_SERIES);
    assert.equal(out?.['pv_name'], 'pv-data');
    assert.equal(out?.['pvc_name'], 'data-web');
    assert.equal(out?.['pv_topology_kubernetes_io_zone'], 'z1');
    assert.equal(out?.['pvc_tier'], 'gold');
  });

  it('asks the cache only for the kinds it needs', () => {
    const kube = new FakeKube();
    new K8sAttributesProcessor(testSettings('k8sattributes', 'processor', { kube }), createDefaultConfig());
    assert.deepEqual([...kube.required].sort(), ['persistentvolumeclaims', 'persistentvolumes', 'pods']);
    const withNs = new FakeKube();
    new K8sAttributesProcessor(testSettings('k8sattributes', 'processor', { kube: withNs }), {
      ...createDefaultConfig(),
      extract: { labels: [{ from: 'namespace', key: 'team' }], annotations: [] },
    });
    assert.ok(withNs.required.has('namespaces'));
  });
});
