import type { Logger } from 'pino';
import type { ContainerInfo } from './container-info.ts';
import type { ContainerSample, SampleProblem } from './container-sample.ts';
import { EngineError } from './engine-client.ts';

/** Reads one running container's usage. */
export interface SampleSource {
  readonly name: string;
  read(info: ContainerInfo, signal: AbortSignal): Promise<{ sample: ContainerSample; problems: readonly SampleProblem[] }>;
  /** Drops what the source keeps about containers that are gone. */
  retain?(ids: ReadonlySet<string>): void;
}

export interface TimedSample {
  readonly sample: ContainerSample;
  /** When it was read, ms since the epoch. */
  readonly atMs: number;
}

export interface RoundSummary {
  readonly finishedAtMs: number;
  readonly durationMs: number;
  readonly containers: number;
  readonly failed: number;
}

export interface StatsRoundsOptions {
  readonly source: SampleSource;
  /** The containers to read at the start of each round. */
  readonly running: () => ContainerInfo[];
  readonly intervalMs: number;
  /** Containers read at once; 0 for all of them. */
  readonly concurrency: number;
  /** A round that takes longer is cut short; containers not read by then keep no sample. */
  readonly roundTimeoutMs: number;
  readonly logger: Logger;
  readonly onError: (operation: string, err: unknown) => void;
}

/**
 * Reads every running container's usage once per interval, `concurrency` at a time (0: all), and
 * keeps the last complete round for collect() to serve at once. Never throws from its loop.
 */
export class StatsRounds {
  readonly #opts: StatsRoundsOptions;
  #samples: ReadonlyMap<string, TimedSample> = new Map();
  #last: RoundSummary | undefined;
  #timer: NodeJS.Timeout | undefined;
  #started = false;
  /** stop() was called: a round cut short by it is not a slow round. */
  #stopped = false;
  #round: Promise<void> | undefined;
  #abort: AbortController | undefined;
  /** Problems already logged, so a container with a missing file does not log every round. */
  readonly #reported = new Set<string>();
  #firstRound: { promise: Promise<void>; resolve: () => void };

  constructor(options: StatsRoundsOptions) {
    this.#opts = options;
    let resolve!: () => void;
    const promise = new Promise<void>((r) => (resolve = r));
    this.#firstRound = { promise, resolve };
  }

  get samples(): ReadonlyMap<string, TimedSample> {
    return this.#samples;
  }

  get lastRound(): RoundSummary | undefined {
    return this.#last;
  }

  /** Resolves once one round has finished (or the rounds were stopped). */
  firstRound(): Promise<void> {
    return this.#firstRound.promise;
  }

  /** Starts the rounds: the first one now. */
  start(): void {
    if (this.#started || this.#stopped) return;
    this.#started = true;
    this.#tick();
  }

  /** Runs a round now unless one is running; resolves when it ends. */
  runNow(): Promise<void> {
    this.#round ??= this.#runRound().finally(() => {
      this.#round = undefined;
    });
    return this.#round;
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    this.#abort?.abort();
    await this.#round;
    this.#firstRound.resolve();
  }

  #tick(): void {
    if (this.#stopped) return;
    void this.runNow().finally(() => {
      if (this.#stopped) return;
      this.#timer = setTimeout(() => this.#tick(), this.#opts.intervalMs);
      this.#timer.unref();
    });
  }

  async #runRound(): Promise<void> {
    const started = performance.now();
    const containers = this.#opts.running();
    const abort = new AbortController();
    this.#abort = abort;
    const timeout = setTimeout(() => abort.abort(), this.#opts.roundTimeoutMs);
    timeout.unref();
    const next = new Map<string, TimedSample>();
    let failed = 0;
    let index = 0;
    const worker = async (): Promise<void> => {
      while (index < containers.length && !abort.signal.aborted) {
        const info = containers[index++] as ContainerInfo;
        try {
          const { sample, problems } = await this.#opts.source.read(info, abort.signal);
          next.set(info.id, { sample, atMs: Date.now() });
          for (const p of problems) this.#reportProblem(info, p);
        } catch (err) {
          // Stopped or removed between the list and the read: nothing to report.
          if (err instanceof EngineError && err.status === 404) continue;
          if (abort.signal.aborted) break;
          failed++;
          this.#opts.onError('stats', err);
          this.#opts.logger.warn({ err, id: info.id, name: info.name }, `docker ${this.#opts.source.name} read failed`);
        }
      }
    };
    try {
      const workers = this.#opts.concurrency > 0 ? Math.min(this.#opts.concurrency, containers.length) : containers.length;
      await Promise.all(Array.from({ length: Math.max(1, workers) }, worker));
    } catch (err) {
      this.#opts.logger.error({ err }, 'docker stats round failed');
    } finally {
      clearTimeout(timeout);
      this.#abort = undefined;
    }
    if (abort.signal.aborted && !this.#stopped) {
      this.#opts.onError('stats', new Error(`round cut short after ${this.#opts.roundTimeoutMs} ms`));
      this.#opts.logger.warn({ read: next.size, of: containers.length }, 'docker stats round took too long; cut short');
    }
    this.#samples = next;
    this.#opts.source.retain?.(new Set(containers.map((c) => c.id)));
    this.#last = { finishedAtMs: Date.now(), durationMs: performance.now() - started, containers: next.size, failed };
    this.#firstRound.resolve();
  }

  #reportProblem(info: ContainerInfo, problem: SampleProblem): void {
    const key = `${info.id}\u0000${problem.source}`;
    if (this.#reported.has(key)) return;
    if (this.#reported.size > 10_000) this.#reported.clear();
    this.#reported.add(key);
    this.#opts.logger.warn({ id: info.id, name: info.name, source: problem.source }, `docker sample incomplete: ${problem.message}`);
  }
}
