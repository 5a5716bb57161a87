import type { Counter, Meter, ObservableGauge, ObservableResult } from '@opentelemetry/api';

/** How one push round ended: the `outcome` label of `nodemeter_exporter_pushes_total`. */
export type PushOutcome = 'success' | 'rejected' | 'failed';

/**
 * The self-telemetry every push exporter keeps (pushgateway, otlphttp): push rounds by outcome,
 * points sent and failed, and the time of the last success, each labelled with the exporter's
 * ID. Instruments are made in {@link start}, which exporters call from their own `start()`: the
 * meter exists only once the MeterProvider over the exporters' readers does.
 */
export class PushTelemetry {
  readonly #exporter: string;
  #lastSuccessMs = 0;
  #pushes: Counter | undefined;
  #pointsSent: Counter | undefined;
  #pointsFailed: Counter | undefined;
  #lastSuccessGauge: ObservableGauge | undefined;
  readonly #observeLastSuccess = (result: ObservableResult): void => {
    if (this.#lastSuccessMs > 0) result.observe(this.#lastSuccessMs / 1000, { exporter: this.#exporter });
  };

  constructor(exporterId: string) {
    this.#exporter = exporterId;
  }

  /** When the last successful round ended (epoch ms), 0 before the first. */
  get lastSuccessMs(): number {
    return this.#lastSuccessMs;
  }

  start(meter: Meter): void {
    if (this.#pushes !== undefined) return;
    this.#pushes = meter.createCounter('nodemeter_exporter_pushes_total', {
      description: 'Push rounds of a push exporter, by exporter and outcome (success, rejected, failed).',
    });
    this.#pointsSent = meter.createCounter('nodemeter_exporter_points_sent_total', {
      description: 'Data points a push exporter delivered, by exporter.',
    });
    this.#pointsFailed = meter.createCounter('nodemeter_exporter_points_failed_total', {
      description: 'Data points of push rounds that were rejected or failed, by exporter.',
    });
    this.#lastSuccessGauge = meter.createObservableGauge('nodemeter_exporter_last_success_timestamp_seconds', {
      description: 'When a push exporter last delivered a push (Unix time), by exporter.',
      unit: 's',
    });
    this.#lastSuccessGauge.addCallback(this.#observeLastSuccess);
  }

  /** Counts one finished round of `points` data points. */
  record(outcome: PushOutcome, points: number): void {
    const exporter = this.#exporter;
    this.#pushes?.add(1, { exporter, outcome });
    if (outcome === 'success') {
      this.#lastSuccessMs = Date.now();
      this.#pointsSent?.add(points, { exporter });
    } else {
      this.#pointsFailed?.add(points, { exporter });
    }
  }

  /** Stops observing the last-success gauge. */
  shutdown(): void {
    this.#lastSuccessGauge?.removeCallback(this.#observeLastSuccess);
  }
}

/** Data points in a batch, as pushed: a histogram's point is one point. */
export function countPoints(batch: { readonly scopeMetrics: ReadonlyArray<{ readonly metrics: ReadonlyArray<{ readonly dataPoints: readonly unknown[] }> }> }): number {
  let n = 0;
  for (const scope of batch.scopeMetrics) for (const metric of scope.metrics) n += metric.dataPoints.length;
  return n;
}
