import type { Logger } from 'pino';
import type { VolumeTarget } from './discovery.ts';
import type { WalkOutcome, WalkPool, WalkResult } from './walk-pool.ts';

/** What is known of one volume: its last good walk, and how its walks have gone. */
export interface VolumeState {
  target: VolumeTarget;
  /** Last complete walk, served until a newer one completes. */
  result: WalkResult | undefined;
  /** Epoch ms the last good walk finished. */
  succeededAt: number | undefined;
  /** Reason of the latest walk when it failed; cleared by a success. */
  failure: { readonly reason: string; readonly message: string } | undefined;
  /** Failed walks by reason since the volume was found. */
  readonly failures: Record<string, number>;
  /** Epoch ms the next walk is due. */
  dueAt: number;
  running: boolean;
  /** Walks finished (either way): `collect --once` waits for the first. */
  attempts: number;
  /** The volume went away while its walk ran: drop the result. */
  gone: boolean;
}

export interface SchedulerOptions {
  readonly pool: WalkPool;
  readonly logger: Logger;
  readonly intervalMs: number;
  /** Fraction of the interval each walk is moved by at random. */
  readonly jitter: number;
  readonly walkTimeoutMs: number;
  readonly maxEntries: number;
  /** Volumes walked at once. */
  readonly concurrency: number;
  /** Test seam for the jitter. */
  readonly random?: () => number;
}

/**
 * Walks each volume on its own interval with jitter, at most `concurrency` at once, and keeps
 * the last good result of each. `reconcile()` hands it the current volumes: new ones are walked
 * soon (spread by the jitter, at most 5 s), gone ones are forgotten at once (a walk in
 * flight is aborted and its result dropped). Never throws; walk failures are kept per volume.
 */
export class VolumeScheduler {
  readonly #opts: SchedulerOptions;
  readonly #random: () => number;
  readonly #volumes = new Map<string, VolumeState>();
  readonly #aborts = new Map<VolumeState, AbortController>();
  readonly #waiters = new Set<() => void>();
  #running = 0;
  #timer: NodeJS.Timeout | undefined;
  #stopped = false;

  constructor(options: SchedulerOptions) {
    this.#opts = options;
    this.#random = options.random ?? Math.random;
  }

  get volumes(): ReadonlyMap<string, VolumeState> {
    return this.#volumes;
  }

  /** Replaces the set of volumes; a volume whose target changed keeps its results unless its path changed. */
  reconcile(targets: readonly VolumeTarget[], now = Date.now()): void {
    if (this.#stopped) return;
    const seen = new Set<string>();
    for (const target of targets) {
      seen.add(target.key);
      const state = this.#volumes.get(target.key);
      if (state && state.target.walkPath === target.walkPath) {
        state.target = target;
        continue;
      }
      if (state) this.#forget(state);
      this.#volumes.set(target.key, {
        target,
        result: undefined,
        succeededAt: undefined,
        failure: undefined,
        failures: {},
        // New volumes are walked soon, spread by the jitter (at most 5 s) so they do not all start at once.
        dueAt: now + Math.floor(this.#random() * Math.min(this.#opts.jitter * this.#opts.intervalMs, 5000)),
        running: false,
        attempts: 0,
        gone: false,
      });
    }
    for (const [key, state] of this.#volumes) {
      if (!seen.has(key)) this.#forget(state);
    }
    this.#pump(now);
  }

  /** Resolves once every current volume has finished at least one walk (or the scheduler stopped). */
  async firstRound(): Promise<void> {
    const now = Date.now();
    for (const state of this.#volumes.values()) if (state.attempts === 0 && !state.running) state.dueAt = Math.min(state.dueAt, now);
    this.#pump(now);
    while (!this.#stopped && [...this.#volumes.values()].some((s) => s.attempts === 0)) {
      await new Promise<void>((resolve) => this.#waiters.add(resolve));
    }
  }

  stop(): void {
    if (this.#stopped) return;
    this.#stopped = true;
    clearTimeout(this.#timer);
    for (const state of this.#volumes.values()) this.#forget(state);
    this.#wake();
  }

  #forget(state: VolumeState): void {
    state.gone = true;
    this.#volumes.delete(state.target.key);
    this.#aborts.get(state)?.abort();
  }

  #wake(): void {
    const waiters = [...this.#waiters];
    this.#waiters.clear();
    for (const resolve of waiters) resolve();
  }

  /** Starts due walks up to the limit (most overdue first) and sets the timer for the next one. */
  #pump(now = Date.now()): void {
    if (this.#stopped) return;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    const due = [...this.#volumes.values()].filter((s) => !s.running && s.dueAt <= now).sort((a, b) => a.dueAt - b.dueAt);
    for (const state of due) {
      if (this.#running >= this.#opts.concurrency) break;
      this.#start(state);
    }
    let next = Infinity;
    for (const state of this.#volumes.values()) if (!state.running) next = Math.min(next, state.dueAt);
    if (next !== Infinity && this.#running < this.#opts.concurrency) {
      this.#timer = setTimeout(() => this.#pump(), Math.max(0, next - Date.now()));
      this.#timer.unref();
    }
  }

  #start(state: VolumeState): void {
    state.running = true;
    this.#running++;
    const abort = new AbortController();
    this.#aborts.set(state, abort);
    const { pool, walkTimeoutMs, maxEntries } = this.#opts;
    void pool
      .walk(state.target.walkPath, { timeoutMs: walkTimeoutMs, maxEntries, signal: abort.signal })
      .then(
        (outcome) => this.#finish(state, outcome),
        // walk() never rejects; this keeps a bug there from stopping the schedule.
        (err: unknown) => this.#finish(state, { ok: false, reason: 'error', message: String(err) }),
      );
  }

  #finish(state: VolumeState, outcome: WalkOutcome): void {
    this.#aborts.delete(state);
    state.running = false;
    this.#running--;
    state.attempts++;
    const now = Date.now();
    const { intervalMs, jitter } = this.#opts;
    state.dueAt = now + intervalMs + Math.round((this.#random() * 2 - 1) * jitter * intervalMs);
    if (!state.gone) {
      if (outcome.ok) {
        state.result = outcome.result;
        state.succeededAt = now;
        if (state.failure) this.#opts.logger.info({ path: state.target.path, volume: state.target.key }, 'volume walk succeeded again');
        state.failure = undefined;
      } else {
        state.failures[outcome.reason] = (state.failures[outcome.reason] ?? 0) + 1;
        if (state.failure?.reason !== outcome.reason) {
          this.#opts.logger.warn({ path: state.target.path, volume: state.target.key, reason: outcome.reason, err: outcome.message }, 'volume walk failed; serving the last good result');
        }
        state.failure = { reason: outcome.reason, message: outcome.message };
      }
    }
    this.#wake();
    this.#pump(now);
  }
}
