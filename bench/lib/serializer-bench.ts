// In-process micro-benchmark: the SDK's PrometheusSerializer against nodemeter's text writer on
// one batch of gauge points shaped like the filesystem receiver's (6 families, 6 labels each), in
// this process, one after the other. The outputs must be byte-identical before anything is timed.
import { ValueType } from '@opentelemetry/api';
import { PrometheusSerializer } from '@opentelemetry/exporter-prometheus';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { AggregationTemporality, DataPointType, type MetricData, type ResourceMetrics } from '@opentelemetry/sdk-metrics';
import { performance } from 'node:perf_hooks';

import { writeExposition } from '../../exporters/prometheus/text-writer.ts';
import { round, summarize } from './stats.ts';

const FAMILIES = ['capacity_bytes', 'available_bytes', 'used_bytes', 'inodes', 'inodes_free', 'inodes_used'];

export interface SerializerBenchOptions {
  /** Data points in the batch (rounded up to a multiple of the 6 families). */
  points: number;
  runs: number;
  warmup: number;
  log: (line: string) => void;
}

export interface SerializerBenchResult {
  points: number;
  bytes: number;
  runs: number;
  warmup: number;
  /** Median and p90 ms of one serialisation. */
  sdkMs: { median: number; p90: number };
  writerMs: { median: number; p90: number };
}

function buildBatch(mounts: number): ResourceMetrics {
  const time: [number, number] = [1_700_000_000, 0];
  const metrics: MetricData[] = FAMILIES.map((family, f) => ({
    descriptor: { name: `kubelet_volume_stats_${family}`, description: `Volume ${family.replace(/_/g, ' ')}.`, unit: '', valueType: ValueType.DOUBLE },
    aggregationTemporality: AggregationTemporality.CUMULATIVE,
    dataPointType: DataPointType.GAUGE,
    dataPoints: Array.from({ length: mounts }, (_, i) => ({
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

function time(fn: () => unknown, runs: number, warmup: number): { median: number; p90: number } {
  for (let i = 0; i < warmup; i++) fn();
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const start = performance.now();
    fn();
    times.push(performance.now() - start);
  }
  const s = summarize(times);
  return { median: round(s.median, 2), p90: round(s.p90, 2) };
}

export function runSerializerBench(opts: SerializerBenchOptions): SerializerBenchResult {
  const mounts = Math.ceil(opts.points / FAMILIES.length);
  const batch = buildBatch(mounts);
  const options = { prefix: '', targetInfo: true, scopeInfo: false };
  // A new serializer per scrape, as the SDK's exporter makes one per request.
  const sdk = (): string => new PrometheusSerializer('', false, undefined, false, true).serialize(batch);
  const ours = (): string => writeExposition(batch, options);
  const ourText = ours();
  if (sdk() !== ourText) throw new Error('serializer bench: writeExposition is not byte-identical to the SDK serializer on this batch');
  const points = mounts * FAMILIES.length;
  opts.log(`serializer: ${points} points, ${Buffer.byteLength(ourText)} bytes; ${opts.runs} timed runs each after ${opts.warmup} warm-up runs`);
  const sdkMs = time(sdk, opts.runs, opts.warmup);
  const writerMs = time(ours, opts.runs, opts.warmup);
  opts.log(`  SDK PrometheusSerializer.serialize  median ${sdkMs.median} ms, p90 ${sdkMs.p90} ms`);
  opts.log(`  writeExposition                     median ${writerMs.median} ms, p90 ${writerMs.p90} ms`);
  return { points, bytes: Buffer.byteLength(ourText), runs: opts.runs, warmup: opts.warmup, sdkMs, writerMs };
}
