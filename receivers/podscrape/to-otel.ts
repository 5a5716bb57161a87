import { ValueType, type HrTime } from '@opentelemetry/api';
import { AggregationTemporality, DataPointType, type Histogram, type MetricData } from '@opentelemetry/sdk-metrics';

import type { PrometheusFamily, PrometheusType, ScrapedDescriptor } from '../../pipeline/prometheus-family.ts';
import { createLabels, type FamilyType, type Labels, type ParsedFamily, type ParsedSample } from './parser/model.ts';

export interface ConvertOptions {
  /** Added to every sample (job, instance, namespace, pod, …), after its own labels. */
  readonly targetLabels: Readonly<Record<string, string>>;
  /**
   * false (the default, as in Prometheus): a scraped label that has a target label's name is
   * kept as `exported_<name>`. true: the scraped value wins and the target label is left out.
   */
  readonly honorLabels: boolean;
  /** Start of the counters' cumulative period: when the receiver first saw the target. */
  readonly startTime: HrTime;
  readonly time: HrTime;
}

/** The 0.0.4 type each scraped type is written back as. */
const WRITTEN_AS: Record<FamilyType, PrometheusType> = {
  counter: 'counter',
  gauge: 'gauge',
  histogram: 'histogram',
  summary: 'summary',
  untyped: 'untyped',
  unknown: 'untyped',
  info: 'gauge',
  stateset: 'gauge',
  gaugehistogram: 'histogram',
};

/** Sample-name suffixes that are cumulative counts in their family. */
const CUMULATIVE_SUFFIXES: Partial<Record<FamilyType, readonly string[]>> = {
  counter: ['_total', ''],
  histogram: ['_bucket', '_count', '_sum'],
  summary: ['_count', '_sum'],
};

/** V8 copies substrings shorter than this instead of pointing into their parent. */
const SLICE_MIN_LENGTH = 13;

/**
 * A copy of `text` that references no other string. The parser's strings are slices of the
 * scrape body; anything kept past the scrape (label values, names, HELP, `le` texts) is detached
 * so that the body (hundreds of KiB per target) is not kept alive by a few bytes of it.
 */
function detach(text: string): string {
  // Concatenating and slicing again flattens into a fresh string.
  return text.length < SLICE_MIN_LENGTH ? text : `\u0000${text}`.slice(1);
}

/**
 * Merges a sample's labels with the target's; allocation per sample only. Label values are
 * interned per scrape as copies of their own: the parser's values are slices of the whole body,
 * and a point that kept one would keep the body in memory for as long as the point lives.
 */
class LabelMerger {
  readonly #target: ReadonlyArray<readonly [string, string]>;
  readonly #targetNames: ReadonlySet<string>;
  readonly #honor: boolean;
  readonly #values = new Map<string, string>();

  constructor(targetLabels: Readonly<Record<string, string>>, honor: boolean) {
    this.#target = Object.entries(targetLabels);
    this.#targetNames = new Set(Object.keys(targetLabels));
    this.#honor = honor;
  }

  /** One copy per distinct value, detached from the body it was sliced from. */
  #detached(value: string): string {
    let copy = this.#values.get(value);
    if (copy === undefined) {
      copy = detach(value);
      this.#values.set(copy, copy);
    }
    return copy;
  }

  /** `skip`: a label left out (a histogram's `le`, which becomes the bucket). */
  merge(own: Labels, skip?: string): Labels {
    const out = createLabels();
    for (const name in own) {
      if (name === skip) continue;
      const value = this.#detached(own[name] as string);
      if (!this.#targetNames.has(name) || this.#honor) {
        out[name] = value;
        continue;
      }
      let renamed = `exported_${name}`;
      while (renamed in own || this.#targetNames.has(renamed)) renamed = `exported_${renamed}`;
      out[renamed] = value;
    }
    for (const [name, value] of this.#target) if (!(name in out)) out[name] = value;
    return out;
  }
}

function descriptor(name: string, help: string | undefined, prometheus: PrometheusFamily): ScrapedDescriptor {
  return { name: detach(name), description: help === undefined ? '' : detach(help), unit: '', valueType: ValueType.DOUBLE, prometheus };
}

/** One metric per sample name, in first-seen order: every family type can be written so. */
function rawParts(family: ParsedFamily, merger: LabelMerger, opts: ConvertOptions): MetricData[] {
  const byName = new Map<string, ParsedSample[]>();
  const createdName = `${family.name}_created`;
  for (const sample of family.samples) {
    // OpenMetrics `_created` is when a counter started, not a sample of its own.
    if (sample.name === createdName && family.type !== 'gauge' && family.type !== 'untyped' && family.type !== 'unknown') continue;
    let list = byName.get(sample.name);
    if (list === undefined) byName.set(sample.name, (list = []));
    list.push(sample);
  }
  const type = WRITTEN_AS[family.type];
  const cumulative = CUMULATIVE_SUFFIXES[family.type] ?? [];
  const metrics: MetricData[] = [];
  for (const [name, samples] of byName) {
    // 0.0.4 has no `foo` family for `foo_total` or `foo_info`: the sample name is the family there.
    const familyName = family.type === 'counter' || family.type === 'info' || family.type === 'stateset' ? name : family.name;
    const hint: PrometheusFamily = { family: detach(familyName), type };
    const isCumulative = cumulative.some((suffix) => name === family.name + suffix);
    const dataPoints = samples.map((s) => ({
      startTime: isCumulative ? opts.startTime : opts.time,
      endTime: opts.time,
      attributes: merger.merge(s.labels),
      value: s.value,
    }));
    metrics.push(
      isCumulative
        ? { descriptor: descriptor(name, family.help, hint), aggregationTemporality: AggregationTemporality.CUMULATIVE, dataPointType: DataPointType.SUM, isMonotonic: true, dataPoints }
        : { descriptor: descriptor(name, family.help, hint), aggregationTemporality: AggregationTemporality.CUMULATIVE, dataPointType: DataPointType.GAUGE, dataPoints },
    );
  }
  return metrics;
}

// The two classes below are made with `new`, not as literals, for the reason given at the
// parser's SampleRecord: they die when their family is converted, and literals would let V8 start
// allocating them in the old generation during a large pull.

/** One `_bucket` sample: its upper bound and its cumulative count. */
class BucketSample {
  readonly le: number;
  readonly cumulative: number;
  constructor(le: number, cumulative: number) {
    this.le = le;
    this.cumulative = cumulative;
  }
}

/** One histogram series being gathered from its samples. */
class HistogramSeries {
  readonly labels: Labels;
  readonly buckets: BucketSample[] = [];
  count: number | undefined;
  sum: number | undefined;
  constructor(labels: Labels) {
    this.labels = labels;
  }
}

/** `le` as a number, or undefined when it is not one. */
function bound(le: string | undefined): number | undefined {
  if (le === undefined || le === '') return undefined;
  const n = le === '+Inf' || le === 'Inf' ? Infinity : Number(le);
  return Number.isNaN(n) ? undefined : n;
}

/**
 * A histogram family as OpenTelemetry histograms, or undefined when it is not well formed
 * (no `+Inf` bucket, an `le` that is not a number, counts that go down, a `_count` that differs
 * from the `+Inf` bucket): such a family is passed on sample by sample instead.
 */
function histograms(family: ParsedFamily, merger: LabelMerger, opts: ConvertOptions): MetricData | undefined {
  const series = new Map<string, HistogramSeries>();
  /** Each boundary's `le` as first written, so the exposition gives it back unchanged. */
  const leText = new Map<number, string>();
  const bucketName = `${family.name}_bucket`;
  const countName = `${family.name}_count`;
  const sumName = `${family.name}_sum`;
  for (const sample of family.samples) {
    const isBucket = sample.name === bucketName;
    let key = '';
    for (const name in sample.labels) if (!(isBucket && name === 'le')) key += `${name}\u0000${sample.labels[name]}\u0000`;
    let s = series.get(key);
    if (s === undefined) series.set(key, (s = new HistogramSeries(merger.merge(sample.labels, isBucket ? 'le' : undefined))));
    if (isBucket) {
      const le = bound(sample.labels.le);
      if (le === undefined) return undefined;
      // Two spellings of one boundary (`1` and `1.0`) in one family cannot both be kept.
      const text = leText.get(le);
      if (text === undefined) leText.set(le, detach(sample.labels.le as string));
      else if (text !== sample.labels.le) return undefined;
      s.buckets.push(new BucketSample(le, sample.value));
    } else if (sample.name === countName) s.count = sample.value;
    else if (sample.name === sumName) s.sum = sample.value;
    else if (sample.name !== `${family.name}_created`) return undefined;
  }
  const dataPoints = [];
  /** The boundaries of the previous series: most series of a family share them, and one array. */
  let shared: number[] | undefined;
  for (const s of series.values()) {
    const buckets = s.buckets.sort((a, b) => a.le - b.le);
    const last = buckets[buckets.length - 1];
    if (last === undefined || last.le !== Infinity) return undefined;
    const total = s.count ?? last.cumulative;
    if (total !== last.cumulative) return undefined;
    const boundaries: number[] = [];
    const counts: number[] = [];
    let previous = 0;
    for (const { le, cumulative } of buckets) {
      if (cumulative < previous) return undefined;
      if (le !== Infinity) boundaries.push(le);
      counts.push(cumulative - previous);
      previous = cumulative;
    }
    const bounds = shared !== undefined && shared.length === boundaries.length && shared.every((b, i) => b === boundaries[i]) ? shared : boundaries;
    shared = bounds;
    const value: Histogram = { buckets: { boundaries: bounds, counts }, count: total };
    if (s.sum !== undefined) value.sum = s.sum;
    dataPoints.push({ startTime: opts.startTime, endTime: opts.time, attributes: s.labels, value });
  }
  return {
    descriptor: descriptor(family.name, family.help, { family: detach(family.name), type: 'histogram', le: leText }),
    aggregationTemporality: AggregationTemporality.CUMULATIVE,
    dataPointType: DataPointType.HISTOGRAM,
    dataPoints,
  };
}

/**
 * Scraped families as OpenTelemetry metrics that the Prometheus exporter writes back as they came:
 * counters as monotonic sums, gauges, untyped and OpenMetrics info/stateset as gauges, histograms
 * as histograms (sample by sample when malformed), summaries as a gauge of quantiles plus `_sum`
 * and `_count` sums (the SDK has no summary point). Target labels are added to every point.
 * Timestamps and exemplars are not carried: the SDK's points have no place for them.
 */
export function familiesToMetrics(families: readonly ParsedFamily[], opts: ConvertOptions): MetricData[] {
  const merger = new LabelMerger(opts.targetLabels, opts.honorLabels);
  const metrics: MetricData[] = [];
  for (const family of families) {
    if (family.samples.length === 0) continue;
    if (family.type === 'histogram') {
      const h = histograms(family, merger, opts);
      if (h !== undefined) {
        metrics.push(h);
        continue;
      }
    }
    metrics.push(...rawParts(family, merger, opts));
  }
  return metrics;
}
