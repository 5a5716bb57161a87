import { setTimeout as sleep } from 'node:timers/promises';
import { MetricReader, type MetricProducer, type ResourceMetrics } from '@opentelemetry/sdk-metrics';
import type { Logger } from 'pino';

import { collectContext, withDeadline } from '../pipeline/deadline.ts';
import type { ChangeLogger } from '../pipeline/error-log.ts';
import type { PipelineFanIn } from '../pipeline/fan-in.ts';
import type { ExporterTelemetry, PushOutcome } from './exporter-telemetry.ts';

/** The SDK reader behind a push exporter: collects the MeterProvider (self-telemetry) plus the pipelines. */
export class PushReader extends MetricReader {
  bound = false;
  override setMetricProducer(producer: MetricProducer): void {
    super.setMetricProducer(producer);
    this.bound = true;
  }
  protected override onForceFlush(): Promise<void> {
    return Promise.resolve();
  }
  protected override onShutdown(): Promise<void> {
    return Promise.resolve();
  }
}

/**
 * One collection for a push: the self-telemetry and the pipelines once the reader is registered
 * on the MeterProvider, the pipelines alone before; bounded by `timeoutMs`. Collection errors
 * are reported through `log`; a collection past its deadline throws.
 */
export async function collectForPush(fanIn: PipelineFanIn, reader: PushReader, timeoutMs: number, signal: AbortSignal, log: ChangeLogger, what: string): Promise<ResourceMetrics> {
  const ctx = collectContext(timeoutMs, {}, signal);
  const work = fanIn.withContext(ctx, () => (reader.bound ? reader.collect({ timeoutMillis: timeoutMs }) : fanIn.collect({ timeoutMillis: timeoutMs })));
  const { resourceMetrics, errors } = await withDeadline(work, ctx.deadline, what);
  log.report(errors, 'collection');
  return resourceMetrics;
}

/** What every push round reports; exporters add their own fields. */
export interface RoundResult {
  readonly outcome: PushOutcome;
  readonly points: number;
  readonly error?: Error;
  /** Why it was not a success, as a short fixed word (`collection`, `timeout`, `http_400`, …). */
  readonly reason?: string;
}

export interface PushLoopOptions<R extends RoundResult> {
  readonly intervalMs: number;
  /** Shortest pause between two rounds, so a round that fails at once cannot spin. */
  readonly minPauseMs: number;
  /** One round ending by `roundEndMs`; undefined when `signal` stopped it. Must not reject. */
  readonly round: (signal: AbortSignal, roundEndMs: number) => Promise<R | undefined>;
  readonly telemetry: ExporterTelemetry;
  readonly logger: Logger;
  /** Fields logged with every failure and recovery (never secrets), plus the round's own. */
  readonly logFields: (result: R | undefined) => Record<string, unknown>;
  readonly messages: { readonly failed: string; readonly rejected: string; readonly again: string; readonly recovered: string };
}

/**
 * The interval loop of a push exporter: one round at a time, started `intervalMs` after the last
 * one started (or `minPauseMs` after it ended, whichever is later), so nothing queues while the
 * destination is away. Each round is counted in the push self-telemetry; a failure is logged when
 * it differs from the last one (at debug while it repeats), and the recovery once.
 */
export class PushLoop<R extends RoundResult> {
  readonly #opts: PushLoopOptions<R>;
  readonly #stop = new AbortController();
  #loop: Promise<void> | undefined;
  #lastFailure = '';
  #waiters: Array<(result: R) => void> = [];
  /** The last round's result. */
  lastResult: R | undefined;

  constructor(options: PushLoopOptions<R>) {
    this.#opts = options;
  }

  get signal(): AbortSignal {
    return this.#stop.signal;
  }

  start(): void {
    this.#loop ??= this.#run();
  }

  /** Stops the loop and waits for the round under way; later `next()` callers get `fallback`. */
  async stop(fallback: R): Promise<void> {
    this.#stop.abort();
    await this.#loop;
    for (const waiter of this.#waiters.splice(0)) waiter(this.lastResult ?? fallback);
  }

  /** Resolves with the result of the next round to end (for tests and one-shot callers). */
  next(): Promise<R> {
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  async #run(): Promise<void> {
    const signal = this.#stop.signal;
    while (!signal.aborted) {
      const began = Date.now();
      const ended = this.#opts.telemetry.begin();
      const result = await this.#opts.round(signal, began + this.#opts.intervalMs).finally(ended);
      if (result !== undefined) {
        this.#finish(result);
        this.lastResult = result;
        for (const waiter of this.#waiters.splice(0)) waiter(result);
      }
      const wait = Math.max(this.#opts.minPauseMs, began + this.#opts.intervalMs - Date.now());
      if (wait > 0) await sleep(wait, undefined, { signal, ref: false }).catch(() => undefined);
    }
  }

  #finish(result: R): void {
    const { telemetry, logger, messages } = this.#opts;
    telemetry.recordPush(result.outcome, result.points, result.reason ?? result.outcome);
    if (result.outcome === 'success') {
      if (this.#lastFailure !== '') logger.info(this.#opts.logFields(undefined), messages.recovered);
      this.#lastFailure = '';
      return;
    }
    const message = result.error?.message ?? 'unknown error';
    const fields = { ...this.#opts.logFields(result), outcome: result.outcome, error: message };
    // A destination down for an hour would otherwise write the same warning every interval.
    if (message === this.#lastFailure) logger.debug(fields, messages.again);
    else if (result.outcome === 'rejected') logger.error(fields, messages.rejected);
    else logger.warn(fields, messages.failed);
    this.#lastFailure = message;
  }
}
