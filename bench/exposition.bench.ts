// Micro-benchmark: the SDK's PrometheusSerializer against our text writer on one scrape's worth
// of data (6,000 gauge points, 6 labels each: 1,000 mounts × 6 families, as the filesystem
// receiver produces). Not a test. Run: node_modules/.bin/node bench/exposition.bench.ts
import { ValueType } from '@opentelemetry/api';
import { PrometheusSerializer } from '@opentelemetry/exporter-prometheus';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { AggregationTemporality, DataPointType, type MetricData, type ResourceMetrics } from '@opentelemetry/sdk-metrics';
import { performance } from 'node:perf_hooks';
import { writeExposition } from '../exporters/prometheus/text-writer.ts';

const MOUNTS = 1000;
const FAMILIES = ['capacity_bytes', 'available_bytes', 'used_bytes', 'inodes', 'inodes_free', 'inodes_used'];
const RUNS = 50;
const WARMUP = 10;

function buildBatch(): ResourceMetrics {
  const time: [number, number] = [1_700_000_000, 0];
  const metrics: MetricData[] = FAMILIES.map((family, f) => ({
    descriptor: { name: `kubelet_volume_stats_${family}`, description: `Volume ${family.replace(/_/g, ' ')}.`, unit: '', valueType: ValueType.DOUBLE },
    aggregationTemporality: AggregationTemporality.CUMULATIVE,
    dataPointType: DataPointType.GAUGE,
    dataPoints: Array.from({ length: MOUNTS }, (_, i) => ({
      startTime: time,
      endTime: time,
      attributes: {
        namespace: `ns-${i % 20}`,
        persistentvolumeclaim: `data-statefulset-${i}`,
        persistentvolume: `pvc-${(0x1000_0000 + i * 7919).toString(16)}-4a1b-9c2d-${i.toString(16).padStart(12, '0')}`,
        pod: `app-${i % 250}-5d8f9c7b6-x${i}`,
        mountpoint: `/var/lib/kubelet/pods/${i.toString(16).padStart(8, '0')}-1111-2222-3333-444455556666/volumes/kubernetes.io~csi/pvc-${i}/mount`,
        node: 'worker-node-01.example.internal',
      },
      value: 1_073_741_824 * (f + 1) - i * 4096,
    })),
  }));
  return {
    resource: resourceFromAttributes({ 'service.name': 'nodemeter', 'k8s.node.name': 'worker-node-01' }),
    scopeMetrics: [{ scope: { name: 'filesystem', version: '0.1.0' }, metrics }],
  };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
}

function measure(label: string, fn: () => unknown): number {
  for (let i = 0; i < WARMUP; i++) fn();
  const times: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const start = performance.now();
    fn();
    times.push(performance.now() - start);
  }
  const ms = median(times);
  console.log(`${label.padEnd(48)} ${ms.toFixed(2).padStart(7)} ms  (min ${Math.min(...times).toFixed(2)}, max ${Math.max(...times).toFixed(2)})`);
  return ms;
}

const batch = buildBatch();
const options = { prefix: '', targetInfo: true, scopeInfo: false };
const sdkText = new PrometheusSerializer('', false, undefined, false, true).serialize(batch);
const ourText = writeExposition(batch, options);
if (sdkText !== ourText) throw new Error('outputs differ: the writer is not byte-identical to the SDK on this batch');
console.log(`${FAMILIES.length * MOUNTS} series, ${Buffer.byteLength(ourText)} bytes per scrape; median of ${RUNS} runs after ${WARMUP} warm-up runs`);

// A new serializer per scrape, as exposition.ts used to do.
const sdk = measure('SDK PrometheusSerializer.serialize', () => new PrometheusSerializer('', false, undefined, false, true).serialize(batch));
const ours = measure('writeExposition', () => writeExposition(batch, options));
measure('writeExposition, const labels + dedupe', () => writeExposition(batch, { ...options, constLabels: { cluster: 'prod-eu-1' }, dedupe: true }));
// What res.end(string) adds: Content-Length via Buffer.byteLength, then the UTF-8 encode.
measure('SDK serialize + Buffer.byteLength + Buffer.from', () => {
  const text = new PrometheusSerializer('', false, undefined, false, true).serialize(batch);
  return Buffer.byteLength(text) + Buffer.from(text).length;
});
measure('writeExposition + Buffer.byteLength + Buffer.from', () => {
  const text = writeExposition(batch, options);
  return Buffer.byteLength(text) + Buffer.from(text).length;
});
measure('writeExposition + Buffer.from only', () => Buffer.from(writeExposition(batch, options)).length);
console.log(`speed-up: ${(sdk / ours).toFixed(1)}×`);
