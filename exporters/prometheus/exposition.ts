import type { ResourceMetrics } from '@opentelemetry/sdk-metrics';
import { writeExposition } from './text-writer.ts';

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
 * Renders a batch as Prometheus text exposition, byte for byte what the SDK's
 * PrometheusSerializer writes (families grouped across scopes, names sanitised, `_total` on
 * counters), plus constant labels and dedupe. See text-writer.ts for why it is not the SDK's.
 */
export function renderExposition(batch: ResourceMetrics, options: ExpositionOptions): string {
  return writeExposition(batch, {
    prefix: options.metricPrefix,
    targetInfo: options.targetInfo,
    scopeInfo: options.scopeInfo,
    constLabels: options.constLabels,
    dedupe: options.dedupe,
  });
}
