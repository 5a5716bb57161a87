import { ValueType, type Attributes, type HrTime } from '@opentelemetry/api';
import { millisToHrTime, type InstrumentationScope } from '@opentelemetry/core';
import {
  AggregationTemporality,
  DataPointType,
  type GaugeMetricData,
  type HistogramMetricData,
  type MetricData,
  type ScopeMetrics,
  type SumMetricData,
} from '@opentelemetry/sdk-metrics';

/** One sample: its attributes (Prometheus labels) and value. */
export interface Sample {
  readonly attributes: Attributes;
  readonly value: number;
}

export interface FamilyInfo {
  readonly name: string;
  readonly description: string;
  /** UCUM unit for OTLP consumers; Prometheus names already carry their unit suffix. */
  readonly unit?: string;
}

/** A gauge family built from samples taken at `time`. */
export function gauge(info: FamilyInfo, samples: readonly Sample[], time: HrTime = nowHr()): GaugeMetricData {
  return {
    descriptor: { name: info.name, description: info.description, unit: info.unit ?? '', valueType: ValueType.DOUBLE },
    aggregationTemporality: AggregationTemporality.CUMULATIVE,
    dataPointType: DataPointType.GAUGE,
    dataPoints: samples.map((s) => ({ startTime: time, endTime: time, attributes: s.attributes, value: s.value })),
  };
}

/** A monotonic cumulative counter family; `startTime` is when counting began. */
export function counter(
  info: FamilyInfo,
  samples: readonly Sample[],
  startTime: HrTime,
  time: HrTime = nowHr(),
): SumMetricData {
  return {
    descriptor: { name: info.name, description: info.description, unit: info.unit ?? '', valueType: ValueType.DOUBLE },
    aggregationTemporality: AggregationTemporality.CUMULATIVE,
    dataPointType: DataPointType.SUM,
    isMonotonic: true,
    dataPoints: samples.map((s) => ({ startTime, endTime: time, attributes: s.attributes, value: s.value })),
  };
}

/** One histogram series: explicit bucket boundaries (upper bounds, `le`) and per-bucket counts. */
export interface HistogramSample {
  readonly attributes: Attributes;
  /** Increasing finite upper bounds; the last bucket (+Inf) has no boundary. */
  readonly boundaries: readonly number[];
  /** Observations per bucket, not cumulative: one more entry than `boundaries`. */
  readonly counts: readonly number[];
  readonly sum: number;
  readonly count: number;
}

/** A cumulative histogram family with explicit buckets; `startTime` is when counting began. */
export function histogram(info: FamilyInfo, samples: readonly HistogramSample[], startTime: HrTime, time: HrTime = nowHr()): HistogramMetricData {
  return {
    descriptor: { name: info.name, description: info.description, unit: info.unit ?? '', valueType: ValueType.DOUBLE },
    aggregationTemporality: AggregationTemporality.CUMULATIVE,
    dataPointType: DataPointType.HISTOGRAM,
    dataPoints: samples.map((s) => ({
      startTime,
      endTime: time,
      attributes: s.attributes,
      value: { buckets: { boundaries: [...s.boundaries], counts: [...s.counts] }, sum: s.sum, count: s.count },
    })),
  };
}

export function scopeMetrics(scope: InstrumentationScope, metrics: MetricData[]): ScopeMetrics {
  return { scope, metrics };
}

export function nowHr(): HrTime {
  return millisToHrTime(Date.now());
}
