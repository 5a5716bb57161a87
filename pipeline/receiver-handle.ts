import type { CollectContext, Receiver, ReceiverResult } from './component.ts';
import { DeadlineError, NodemeterError } from './errors.ts';
import type { PipelineTelemetry } from './self-telemetry.ts';

/**
 * Wraps one configured receiver for every pipeline that names it: concurrent collections
 * with the same selectors share one call (a receiver shared by two pipelines scraped at once
 * is asked once), durations and failures are recorded, and the first completed collection
 * marks the receiver ready.
 */
export class ReceiverHandle {
  readonly id: string;
  readonly receiver: Receiver;
  readonly #telemetry: PipelineTelemetry;
  readonly #inFlight = new Map<string, Promise<ReceiverResult>>();
  #completedOnce = false;

  constructor(id: string, receiver: Receiver, telemetry: PipelineTelemetry) {
    this.id = id;
    this.receiver = receiver;
    this.#telemetry = telemetry;
  }

  /** True once a collection has completed (possibly with partial errors). */
  get ready(): boolean {
    return this.#completedOnce;
  }

  collect(ctx: CollectContext): Promise<ReceiverResult> {
    // A pull narrowed by a selector (`?job=`) is only for receivers that filter by it.
    for (const selector of Object.keys(ctx.selectors)) {
      if (this.receiver.selectorValues?.(selector) === undefined) return Promise.resolve({ scopeMetrics: { scope: { name: `nodemeter/receiver/${this.id}` }, metrics: [] } });
    }
    const key = JSON.stringify(ctx.selectors);
    const existing = this.#inFlight.get(key);
    if (existing) return existing;
    const call = this.#collectOnce(ctx).finally(() => this.#inFlight.delete(key));
    this.#inFlight.set(key, call);
    return call;
  }

  async #collectOnce(ctx: CollectContext): Promise<ReceiverResult> {
    const started = performance.now();
    let outcome = 'success';
    try {
      const result = await this.receiver.collect(ctx);
      this.#completedOnce = true;
      if (result.errors && result.errors.length > 0) {
        outcome = 'partial';
        for (const err of result.errors) this.#telemetry.collectFailures.add(1, { receiver: this.id, reason: reasonOf(err) });
      }
      return result;
    } catch (err) {
      outcome = 'failure';
      this.#telemetry.collectFailures.add(1, { receiver: this.id, reason: reasonOf(err) });
      throw err;
    } finally {
      this.#telemetry.collectDuration.record((performance.now() - started) / 1000, { receiver: this.id, outcome });
    }
  }
}

function reasonOf(err: unknown): string {
  if (err instanceof DeadlineError) return 'deadline';
  if (err instanceof NodemeterError) return err.code.toLowerCase().replace(/^nm_/, '');
  if (err instanceof Error && 'code' in err && typeof err.code === 'string') return err.code;
  return 'error';
}
