// Enrichment cost of the k8sattributes processor: time to process 10,000 volume data points
// against a cache of 10,000 PVs, 10,000 PVCs and 110 pods (Map-indexed, as kube/ indexes them).
// Run: node_modules/.bin/node bench/k8sattributes.bench.ts
import type { Attributes } from '@opentelemetry/api';
import { resourceFromAttributes } from '@opentelemetry/resources';
import type { ResourceMetrics } from '@opentelemetry/sdk-metrics';
import type { KubeLookup, KubeProvider } from '../kube/lookup.ts';
import type { PersistentVolumeClaimInfo, PersistentVolumeInfo, PodInfo } from '../kube/types.ts';
import { gauge } from '../pipeline/datapoints.ts';
import { testSettings } from '../pipeline/testing.ts';
import { createDefaultConfig } from '../processors/k8sattributes/config.ts';
import { K8sAttributesProcessor } from '../processors/k8sattributes/processor.ts';

const POINTS = 10_000;
const PODS = 110;
const RUNS = 30;

const meta = (name: string, namespace: string) => ({ uid: `uid-${namespace}-${name}`, name, namespace, labels: { app: name, tier: 'gold' }, annotations: {}, resourceVersion: '1' });
const pods = new Map<string, PodInfo>();
const pvs = new Map<string, PersistentVolumeInfo>();
const pvcs = new Map<string, PersistentVolumeClaimInfo>();
for (let p = 0; p < PODS; p++) pods.set(`pod-uid-${p}`, { ...meta(`pod-${p}`, 'ns'), uid: `pod-uid-${p}`, nodeName: 'node-a', podIPs: [], containers: [], claims: {}, phase: 'Running', ports: [] });
for (let i = 0; i < POINTS; i++) {
  pvs.set(`pv-${i}`, { ...meta(`pv-${i}`, ''), storageClass: 'fast', claimRef: { namespace: 'ns', name: `claim-${i}` }, sourceType: 'csi', volumeMode: 'Filesystem', phase: 'Bound', nodeAffinity: {} });
  pvcs.set(`ns/claim-${i}`, { ...meta(`claim-${i}`, 'ns'), volumeName: `pv-${i}`, storageClass: 'fast', phase: 'Bound' });
}
const lookup: KubeLookup & KubeProvider = {
  require: () => lookup,
  podByUid: (uid) => pods.get(uid),
  podByIp: () => undefined,
  podByContainerId: () => undefined,
  pod: () => undefined,
  persistentVolume: (name) => pvs.get(name),
  persistentVolumeClaim: (ns, name) => pvcs.get(`${ns}/${name}`),
  namespace: () => undefined,
  node: () => undefined,
  storageClass: () => undefined,
  list: () => [],
  synced: true,
};

function batch(families: number): ResourceMetrics {
  const series: Attributes[] = [];
  for (let i = 0; i < POINTS / families; i++) {
    series.push({ node: 'node-a', mountpoint: `/var/lib/kubelet/pods/pod-uid-${i % PODS}/volumes/kubernetes.io~csi/pv-${i}/mount`, volume_plugin: 'csi', pod_uid: `pod-uid-${i % PODS}`, volume: `pv-${i}`, persistentvolume: `pv-${i}` });
  }
  const metrics = Array.from({ length: families }, (_, f) => gauge({ name: `family_${f}`, description: 'x' }, series.map((attributes) => ({ attributes, value: 1 }))));
  return { resource: resourceFromAttributes({}), scopeMetrics: [{ scope: { name: 'bench' }, metrics }] };
}

async function measure(label: string, families: number, config = createDefaultConfig()): Promise<void> {
  const processor = new K8sAttributesProcessor(testSettings('k8sattributes', 'processor', { kube: lookup }), config);
  await processor.start();
  const input = batch(families);
  const times: number[] = [];
  for (let run = 0; run < RUNS + 3; run++) {
    const started = performance.now();
    processor.process(input);
    if (run >= 3) times.push(performance.now() - started);
  }
  times.sort((a, b) => a - b);
  const median = times[Math.floor(times.length / 2)] ?? 0;
  process.stdout.write(`${label.padEnd(58)} median ${median.toFixed(2)} ms per ${POINTS} points (${((median * 1000) / POINTS).toFixed(2)} µs/point)\n`);
}

await measure('10,000 distinct series, 1 family', 1);
await measure('1,667 series x 6 families (as the filesystem receiver)', 6);
await measure('10,000 distinct series, pv_disk_usage preset + extract', 1, {
  ...createDefaultConfig(),
  preset: 'pv_disk_usage',
  extract: { labels: [{ from: 'pvc', key: 'tier' }], annotations: [] },
});
