import type { Logger } from 'pino';
import type { Component } from './component.ts';
import { errorMessage } from './errors.ts';
import type { Graph } from './graph.ts';

interface Named {
  readonly label: string;
  readonly component: Component;
}

/**
 * Runs a built graph: starts exporters first, then processors, then receivers (so nothing
 * produces data before there is somewhere to send it), and shuts down in the reverse order.
 * Starting kicks off one warm-up collection of every pipeline so readiness does not wait
 * for the first scrape.
 */
export class Service {
  readonly graph: Graph;
  readonly #logger: Logger;
  #started: Named[] = [];
  #state: 'new' | 'starting' | 'running' | 'stopping' | 'stopped' = 'new';
  #warmUp: Promise<void> | undefined;

  constructor(graph: Graph, logger: Logger) {
    this.graph = graph;
    this.#logger = logger;
  }

  /** True once every receiver has completed one collection. */
  get ready(): boolean {
    return this.#state === 'running' && [...this.graph.receivers.values()].every((r) => r.ready);
  }

  /** Receivers that have not yet completed a collection. */
  pendingReceivers(): string[] {
    return [...this.graph.receivers.values()].filter((r) => !r.ready).map((r) => r.id);
  }

  async start(options: { warmUp?: boolean } = {}): Promise<void> {
    if (this.#state !== 'new') throw new Error(`service cannot start from state "${this.#state}"`);
    this.#state = 'starting';
    const order: Named[] = [
      ...[...this.graph.exporters].map(([id, component]) => ({ label: `exporter/${id}`, component })),
      // The shared cache starts syncing before anything that reads it, and stops after them.
      ...(this.graph.kube ? [{ label: 'kubernetes cache', component: this.graph.kube }] : []),
      ...this.graph.processors.map((p) => ({ label: `processor/${p.id} (pipeline ${p.pipeline})`, component: p.processor })),
      ...[...this.graph.receivers].map(([id, handle]) => ({ label: `receiver/${id}`, component: handle.receiver })),
    ];
    for (const named of order) {
      try {
        await named.component.start();
        this.#started.push(named);
      } catch (err) {
        this.#logger.error({ err, component: named.label }, 'component failed to start; stopping what started');
        await this.shutdown();
        throw new Error(`${named.label} failed to start: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
      }
    }
    this.#state = 'running';
    if (options.warmUp ?? true) this.#warmUp = this.#collectAllOnce();
  }

  /** Waits for every background receiver's first round (see Receiver.settled); never rejects. */
  async settled(): Promise<void> {
    const rounds: Array<Promise<void>> = [];
    for (const r of this.graph.receivers.values()) {
      const round = r.receiver.settled?.();
      if (round) rounds.push(round.catch((err: unknown) => this.#logger.warn({ err, receiver: r.id }, 'receiver failed to settle')));
    }
    await Promise.all(rounds);
  }

  async shutdown(): Promise<void> {
    if (this.#state === 'stopping' || this.#state === 'stopped') return;
    this.#state = 'stopping';
    for (const named of this.#started.reverse()) {
      try {
        await named.component.shutdown();
      } catch (err) {
        // One component failing to stop must not keep the others running.
        this.#logger.warn({ err, component: named.label }, 'component failed to shut down cleanly');
      }
    }
    this.#started = [];
    await this.#warmUp;
    this.#state = 'stopped';
  }

  /** Background warm-up: never throws, only logs. */
  async #collectAllOnce(): Promise<void> {
    await Promise.all(
      [...this.graph.pipelines.values()].map(async (pipeline) => {
        try {
          const { errors } = await pipeline.collect();
          if (errors.length > 0) this.#logger.warn({ pipeline: pipeline.id, errors: errors.map(errorMessage) }, 'warm-up collection errors');
        } catch (err) {
          this.#logger.warn({ err, pipeline: pipeline.id }, 'warm-up collection failed');
        }
      }),
    );
  }
}
