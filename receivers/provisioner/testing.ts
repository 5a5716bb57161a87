import { DataPointType } from '@opentelemetry/sdk-metrics';
import type { FakeKube } from '../../kube/testing.ts';
import { collectContext } from '../../pipeline/deadline.ts';
import { testSettings } from '../../pipeline/testing.ts';
import { defaultConfig, type ProvisionerReceiverConfig } from './config.ts';
import { ProvisionerReceiver } from './provisioner-receiver.ts';

/** Test support: a receiver on a hand-driven clock, its output as flat series, and the expected series built from a few facts. */

export const GI = 2 ** 30;
export const NODE = 'node-a';

/** A clock tests move by hand. */
export class Clock {
  ms: number;
  constructor(ms: number) {
    this.ms = ms;
  }
  readonly now = (): number => this.ms;
  advance(seconds: number): number {
    this.ms += seconds * 1000;
    return this.ms;
  }
}

export function newReceiver(kube: FakeKube | undefined, clock: Clock, config: Partial<ProvisionerReceiverConfig> = {}): ProvisionerReceiver {
  const settings = testSettings('provisioner', 'receiver', { agent: { nodeName: NODE, version: '0.0.0-test' }, ...(kube ? { kube } : {}) });
  return new ProvisionerReceiver(settings, { ...defaultConfig(), ...config }, { now: clock.now });
}

function seriesName(name: string, attributes: Record<string, unknown>): string {
  const labels = Object.keys(attributes)
    .sort()
    .map((k) => `${k}="${String(attributes[k])}"`);
  return `${name}{${labels.join(',')}}`;
}

/** One collection as `name{label="v",…}` → value; histograms as cumulative `_bucket` (with `le`), `_count` and `_sum`. */
export async function series(receiver: ProvisionerReceiver): Promise<Record<string, number>> {
  const { scopeMetrics } = await receiver.collect(collectContext(5_000, {}));
  const out: Record<string, number> = {};
  for (const metric of scopeMetrics.metrics) {
    const name = metric.descriptor.name;
    if (metric.dataPointType === DataPointType.HISTOGRAM) {
      for (const point of metric.dataPoints) {
        const { boundaries, counts } = point.value.buckets;
        let cumulative = 0;
        counts.forEach((n, i) => {
          cumulative += n;
          out[seriesName(`${name}_bucket`, { ...point.attributes, le: i < boundaries.length ? String(boundaries[i]) : '+Inf' })] = cumulative;
        });
        out[seriesName(`${name}_count`, point.attributes)] = point.value.count;
        out[seriesName(`${name}_sum`, point.attributes)] = point.value.sum ?? NaN;
      }
    } else {
      for (const point of metric.dataPoints) out[seriesName(name, point.attributes)] = point.value as number;
    }
  }
  return out;
}

type Modes = { Filesystem?: number; Block?: number };

/** What a step should show; everything left out is at its zero (counters and fixed gauges) or absent. */
export interface Expected {
  discovered?: Modes;
  deleted?: Modes;
  deleteFailed?: Modes;
  capacity?: Modes;
  /** `phase/storageclass` → PVs. */
  phases?: Record<string, number>;
  stuck?: { Failed?: number; Pending?: number };
  /** [reason, type, reporting component, kind, occurrences] */
  events?: Array<[string, string, string, string, number]>;
  deleteDurations?: Array<{ mode: string; capacity: string; seconds: number[] }>;
  latencies?: Array<{ storageclass: string; provisioner: string; seconds: number[] }>;
}

/** Bucket boundaries of the default configuration. */
const DEFAULTS = defaultConfig();

function histogramSeries(out: Record<string, number>, name: string, attributes: Record<string, string>, boundaries: readonly number[], observations: number[]): void {
  for (const le of boundaries) out[seriesName(`${name}_bucket`, { ...attributes, le: String(le) })] = observations.filter((v) => v <= le).length;
  out[seriesName(`${name}_bucket`, { ...attributes, le: '+Inf' })] = observations.length;
  out[seriesName(`${name}_count`, attributes)] = observations.length;
  out[seriesName(`${name}_sum`, attributes)] = observations.reduce((a, b) => a + b, 0);
}

/** Every series one collection should hold, with the default configuration (`type` = process). */
export function expected(e: Expected = {}): Record<string, number> {
  const out: Record<string, number> = {};
  const P = 'local_volume_provisioner_persistentvolume_';
  for (const mode of ['Filesystem', 'Block'] as const) {
    out[seriesName(`${P}discovery_total`, { mode })] = e.discovered?.[mode] ?? 0;
    out[seriesName(`${P}delete_total`, { mode, type: 'process' })] = e.deleted?.[mode] ?? 0;
    out[seriesName(`${P}delete_failed_total`, { mode, type: 'process' })] = e.deleteFailed?.[mode] ?? 0;
    out[seriesName(`${P}capacity_bytes`, { mode })] = e.capacity?.[mode] ?? 0;
  }
  for (const phase of ['Failed', 'Pending'] as const) out[seriesName('nodemeter_provisioner_stuck_persistentvolumes', { phase })] = e.stuck?.[phase] ?? 0;
  for (const [key, n] of Object.entries(e.phases ?? {})) {
    const [phase, storageclass] = key.split('/') as [string, string];
    out[seriesName('nodemeter_provisioner_persistentvolumes', { phase, storageclass })] = n;
  }
  for (const [reason, type, component, kind, n] of e.events ?? []) {
    out[seriesName('nodemeter_provisioner_events_total', { reason, type, reporting_component: component, kind })] = n;
  }
  for (const d of e.deleteDurations ?? []) histogramSeries(out, `${P}delete_duration_seconds`, { mode: d.mode, type: 'process', capacity: d.capacity }, DEFAULTS.delete_duration_buckets, d.seconds);
  for (const l of e.latencies ?? []) histogramSeries(out, 'nodemeter_provisioner_provisioning_latency_seconds', { storageclass: l.storageclass, provisioner: l.provisioner }, DEFAULTS.latency_buckets, l.seconds);
  return out;
}
