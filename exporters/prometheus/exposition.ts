import type { Attributes } from '@opentelemetry/api';
import { PrometheusSerializer } from '@opentelemetry/exporter-prometheus';
import type { MetricData, ResourceMetrics } from '@opentelemetry/sdk-metrics';

export const EXPOSITION_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

export interface ExpositionOptions {
  readonly metricPrefix: string;
  readonly constLabels: Readonly<Record<string, string>>;
  readonly targetInfo: boolean;
  readonly scopeInfo: boolean;
  /** Drop repeated series (same name and labels): several pipelines may carry one receiver. */
  readonly dedupe: boolean;
}

/**
 * Renders a batch as Prometheus text exposition with the SDK's serializer (families grouped
 * across scopes, names sanitised, `_total` on counters), after adding constant labels.
 */
export function renderExposition(batch: ResourceMetrics, options: ExpositionOptions): string {
  const serializer = new PrometheusSerializer(options.metricPrefix, false, undefined, !options.targetInfo, !options.scopeInfo);
  const hasConstLabels = Object.keys(options.constLabels).length > 0;
  if (!hasConstLabels && !options.dedupe) return serializer.serialize(batch);
  const seen = options.dedupe ? new Set<string>() : undefined;
  const scopeMetrics = batch.scopeMetrics.map((scope) => ({
    scope: scope.scope,
    metrics: scope.metrics.map((metric) => rewriteMetric(metric, options.constLabels, seen)).filter((m) => m.dataPoints.length > 0),
  }));
  return serializer.serialize({ resource: batch.resource, scopeMetrics });
}

function rewriteMetric(metric: MetricData, constLabels: Readonly<Record<string, string>>, seen: Set<string> | undefined): MetricData {
  const points = [];
  for (const point of metric.dataPoints) {
    const attributes: Attributes = { ...constLabels, ...point.attributes };
    if (seen) {
      const key = `${metric.descriptor.name}\u0000${seriesKey(attributes)}`;
      if (seen.has(key)) continue;
      seen.add(key);
    }
    points.push({ ...point, attributes });
  }
  // The spread keeps the discriminated union intact; only the points change.
  return { ...metric, dataPoints: points } as MetricData;
}

function seriesKey(attributes: Attributes): string {
  return Object.keys(attributes)
    .sort()
    .map((k) => `${k}=${String(attributes[k])}`)
    .join('\u0001');
}
