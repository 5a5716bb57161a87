import type { MetricData, MetricDescriptor } from '@opentelemetry/sdk-metrics';

/** The Prometheus text 0.0.4 types a scraped family is written back as. */
export type PrometheusType = 'counter' | 'gauge' | 'histogram' | 'summary' | 'untyped';

/**
 * Where a metric came from when it was scraped from a Prometheus endpoint: its family's name and
 * type. The Prometheus exporter then writes it back as it came (the sample name as scraped, no
 * `_total` appended, no name sanitising, the family's own TYPE, HELP only when there was one)
 * instead of applying the OpenTelemetry-to-Prometheus naming rules. A summary, which the SDK's
 * data model lacks, travels as a gauge of its quantiles plus `_sum` and `_count` sums, joined again
 * under one `# TYPE … summary` by this. OTLP exporters ignore it.
 */
export interface PrometheusFamily {
  readonly family: string;
  readonly type: PrometheusType;
  /**
   * A histogram's `le` values as the target wrote them, by boundary: `1e+06` must come back as
   * `1e+06`, not JavaScript's `1000000`, or Prometheus 2.x sees another series.
   */
  readonly le?: ReadonlyMap<number, string>;
}

/** A descriptor carrying its scraped family. Spreading a descriptor keeps it. */
export interface ScrapedDescriptor extends MetricDescriptor {
  readonly prometheus: PrometheusFamily;
}

export function prometheusFamilyOf(metric: MetricData): PrometheusFamily | undefined {
  return (metric.descriptor as Partial<ScrapedDescriptor>).prometheus;
}
