import type { Counter, Meter, ObservableGauge, ObservableResult, UpDownCounter } from '@opentelemetry/api';
import { AggregationTemporality, InstrumentType } from '@opentelemetry/sdk-metrics';

/**
 * The temporality every exporter's reader asks the MeterProvider for: cumulative, except for
 * observable gauges. A cumulative reader keeps every attribute set an observable gauge ever
 * reported and repeats its last value forever, so when the last error's `reason` changed, the old
 * reason's series stayed beside the new one. An observable gauge is observed afresh at each
 * collection: delta gives the same values and drops a series no longer observed. (A synchronous
 * gauge would vanish between recordings under delta, so it keeps cumulative.)
 */
export function exporterTemporality(instrumentType: InstrumentType): AggregationTemporality {
  return instrumentType === InstrumentType.OBSERVABLE_GAUGE ? AggregationTemporality.DELTA : AggregationTemporality.CUMULATIVE;
}

/** How one push round ended: the `outcome` label of `nodemeter_exporter_pushes_total`. */
export type PushOutcome = 'success' | 'rejected' | 'failed';

/**
 * The self-telemetry every exporter keeps, each series labelled with the exporter's ID: data
 * points sent and failed, deliveries in flight, when the last one succeeded, and the last error
 * (its time, with a stable `reason`: never a message, which could carry a URL or an answer).
 * For the push exporters a delivery is a push round; for the Prometheus endpoint it is a pull.
 * Push exporters also count their rounds by outcome. Instruments are made in {@link start},
 * which exporters call from their own `start()`: the meter exists only once the MeterProvider
 * over the exporters' readers does.
 */
export class ExporterTelemetry {
  readonly #exporter: string;
  readonly #push: boolean;
  #lastSuccessMs = 0;
  #lastError: { atMs: number; reason: string } | undefined;
  #inFlightCount = 0;
  #pushes: Counter | undefined;
  #pointsSent: Counter | undefined;
  #pointsFailed: Counter | undefined;
  #inFlight: UpDownCounter | undefined;
  #lastSuccessGauge: ObservableGauge | undefined;
  #lastErrorGauge: ObservableGauge | undefined;
  readonly #observeLastSuccess = (result: ObservableResult): void => {
    if (this.#lastSuccessMs > 0) result.observe(this.#lastSuccessMs / 1000, { exporter: this.#exporter });
  };
  readonly #observeLastError = (result: ObservableResult): void => {
    const last = this.#lastError;
    if (last !== undefined) result.observe(last.atMs / 1000, { exporter: this.#exporter, reason: last.reason });
  };

  /** `push`: the exporter pushes in rounds (counted in `nodemeter_exporter_pushes_total`). */
  constructor(exporterId: string, options: { push: boolean }) {
    this.#exporter = exporterId;
    this.#push = options.push;
  }

  /** When the last successful delivery ended (epoch ms), 0 before the first. */
  get lastSuccessMs(): number {
    return this.#lastSuccessMs;
  }

  /** Deliveries under way now (begun and not yet ended). */
  get inFlight(): number {
    return this.#inFlightCount;
  }

  /** The last failure's time (epoch ms) and reason, undefined before the first. */
  get lastError(): { readonly atMs: number; readonly reason: string } | undefined {
    return this.#lastError;
  }

  start(meter: Meter): void {
    if (this.#pointsSent !== undefined) return;
    if (this.#push) {
      this.#pushes = meter.createCounter('nodemeter_exporter_pushes_total', {
        description: 'Push rounds of a push exporter, by exporter and outcome (success, rejected, failed).',
      });
    }
    this.#pointsSent = meter.createCounter('nodemeter_exporter_points_sent_total', {
      description: 'Data points an exporter delivered (pushed, or served in a complete pull), by exporter.',
    });
    this.#pointsFailed = meter.createCounter('nodemeter_exporter_points_failed_total', {
      description: 'Data points of pushes that were rejected or failed, or of pulls cut short, by exporter.',
    });
    this.#inFlight = meter.createUpDownCounter('nodemeter_exporter_in_flight', {
      description: 'Pushes (push exporters) or pulls (Prometheus exporter) under way, by exporter.',
    });
    // Present from the start at 0, so an alert on it needs no absent().
    this.#inFlight.add(0, { exporter: this.#exporter });
    this.#lastSuccessGauge = meter.createObservableGauge('nodemeter_exporter_last_success_timestamp_seconds', {
      description: 'When an exporter last delivered (Unix time), by exporter.',
      unit: 's',
    });
    this.#lastSuccessGauge.addCallback(this.#observeLastSuccess);
    this.#lastErrorGauge = meter.createObservableGauge('nodemeter_exporter_last_error_timestamp_seconds', {
      description: 'When an exporter last failed (Unix time), by exporter and the reason of that failure.',
      unit: 's',
    });
    this.#lastErrorGauge.addCallback(this.#observeLastError);
  }

  /** Marks a delivery under way; call the returned function once when it ends. */
  begin(): () => void {
    const exporter = this.#exporter;
    this.#inFlightCount++;
    this.#inFlight?.add(1, { exporter });
    let ended = false;
    return () => {
      if (ended) return;
      ended = true;
      this.#inFlightCount--;
      this.#inFlight?.add(-1, { exporter });
    };
  }

  /** A delivery of `points` data points that succeeded. */
  succeeded(points: number): void {
    this.#lastSuccessMs = Date.now();
    this.#pointsSent?.add(points, { exporter: this.#exporter });
  }

  /** A delivery that failed, for `reason` (a short fixed word: `timeout`, `http_503`, …). */
  failed(points: number, reason: string): void {
    this.#lastError = { atMs: Date.now(), reason };
    if (points > 0) this.#pointsFailed?.add(points, { exporter: this.#exporter });
  }

  /** A problem that did not stop the delivery (a receiver failing during a pull). */
  erred(reason: string): void {
    this.#lastError = { atMs: Date.now(), reason };
  }

  /** Counts one finished push round of `points` data points. */
  recordPush(outcome: PushOutcome, points: number, reason: string): void {
    this.#pushes?.add(1, { exporter: this.#exporter, outcome });
    if (outcome === 'success') this.succeeded(points);
    else this.failed(points, reason);
  }

  /** Stops observing the gauges. */
  shutdown(): void {
    this.#lastSuccessGauge?.removeCallback(this.#observeLastSuccess);
    this.#lastErrorGauge?.removeCallback(this.#observeLastError);
  }
}

/** Data points in a batch, as pushed: a histogram's point is one point. */
export function countPoints(batch: { readonly scopeMetrics: ReadonlyArray<{ readonly metrics: ReadonlyArray<{ readonly dataPoints: readonly unknown[] }> }> }): number {
  let n = 0;
  for (const scope of batch.scopeMetrics) for (const metric of scope.metrics) n += metric.dataPoints.length;
  return n;
}
