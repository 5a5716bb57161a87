import { Worker } from 'node:worker_threads';
import type { StatfsReply, StatfsRequest, StatfsStats } from './worker-protocol.ts';

/**
 * Result of one probe. Failure reasons: `stuck` (an earlier probe of this path is still
 * blocked; not probed again), `timeout` (this probe passed the timeout; the path is now stuck),
 * `stuck_limit` (every thread is blocked; not probed), `aborted` (the caller gave up before it
 * started), `shutdown`, `worker_exit`, or the errno code statfs failed with (`ENOENT`, `EACCES`, …).
 */
export type ProbeOutcome =
  | { readonly ok: true; readonly stats: StatfsStats }
  | { readonly ok: false; readonly reason: string; readonly message: string };

export interface StatfsPoolOptions {
  /** Threads probing at once. */
  readonly concurrency: number;
  /** Threads that may sit blocked beyond `concurrency`; the total never exceeds the sum. */
  readonly maxStuck: number;
  readonly timeoutMs: number;
  /** Worker module; tests pass one whose statfs can be made to hang. */
  readonly workerUrl?: URL;
  readonly workerData?: unknown;
  readonly onStuck?: (path: string) => void;
  readonly onRecovered?: (path: string, stuckMs: number) => void;
}

interface Waiter {
  readonly resolve: (outcome: ProbeOutcome) => void;
  readonly cleanup: () => void;
}

interface Job {
  readonly path: string;
  readonly waiters: Set<Waiter>;
  started: boolean;
}

interface Slot {
  readonly worker: Worker;
  ready: boolean;
  exited: boolean;
  job: Job | undefined;
  requestId: number;
  timer: NodeJS.Timeout | undefined;
}

const DEFAULT_WORKER_URL = new URL('./statfs-worker.js', import.meta.url);
const SHUTDOWN_WAIT_MS = 1000;

// Threads blocked in a syscall, across all pools, until they exit. Node joins worker threads
// on exit, even on process.exit(), so while this is non-zero only a signal ends the process.
const lingering = new Set<Worker>();

/** Worker threads still blocked in a statfs (set aside, or terminated but not yet returned). */
export function blockedStatfsThreads(): number {
  return lingering.size;
}

/**
 * statfs in worker threads with a per-call timeout. A call that passes the timeout leaves its
 * thread blocked in the kernel (it cannot be interrupted): the thread is set aside, its path is
 * marked stuck and not probed again, and a replacement thread takes its place while the
 * total stays within `concurrency + maxStuck`. When the blocked call returns, the path is
 * recovered and the thread rejoins the pool (or exits when the pool is full).
 */
export class StatfsPool {
  readonly #opts: StatfsPoolOptions;
  readonly #workerUrl: URL;
  readonly #active = new Set<Slot>();
  readonly #aside = new Map<Slot, string>();
  readonly #stuck = new Map<string, number>();
  readonly #jobs = new Map<string, Job>();
  readonly #queue: Job[] = [];
  #nextRequestId = 1;
  #closed = false;

  constructor(opts: StatfsPoolOptions) {
    this.#opts = opts;
    this.#workerUrl = opts.workerUrl ?? DEFAULT_WORKER_URL;
  }

  /** Stuck paths and since when (epoch ms). */
  get stuck(): ReadonlyMap<string, number> {
    return this.#stuck;
  }

  get threads(): { active: number; setAside: number } {
    return { active: this.#active.size, setAside: this.#aside.size };
  }

  /** Starts the threads ahead of the first probe. */
  warm(): void {
    while (!this.#closed && this.#active.size < this.#opts.concurrency && this.#canSpawn()) this.#spawn();
  }

  /** Never rejects. Concurrent probes of one path share one call, so a hang costs one thread. */
  probe(path: string, signal?: AbortSignal): Promise<ProbeOutcome> {
    if (this.#closed) return Promise.resolve({ ok: false, reason: 'shutdown', message: 'statfs pool is shut down' });
    if (this.#stuck.has(path)) {
      return Promise.resolve({ ok: false, reason: 'stuck', message: `an earlier statfs of ${path} has not returned` });
    }
    if (signal?.aborted) return Promise.resolve(aborted());
    let job = this.#jobs.get(path);
    if (!job) {
      job = { path, waiters: new Set(), started: false };
      this.#jobs.set(path, job);
      this.#queue.push(job);
    }
    const theJob = job;
    const promise = new Promise<ProbeOutcome>((resolve) => {
      const onAbort = (): void => {
        if (!theJob.waiters.delete(waiter)) return;
        resolve(aborted());
        // Nobody wants it any more: drop it unless a thread already has it.
        if (theJob.waiters.size === 0 && !theJob.started) this.#dequeue(theJob);
      };
      const waiter: Waiter = { resolve, cleanup: () => signal?.removeEventListener('abort', onAbort) };
      theJob.waiters.add(waiter);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
    this.#pump();
    return promise;
  }

  /**
   * Terminates every thread. Blocked ones cannot stop until their syscall returns, so they
   * are not awaited (see blockedStatfsThreads); idle ones are, briefly.
   */
  async shutdown(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const job of [...this.#jobs.values()]) this.#finish(job, { ok: false, reason: 'shutdown', message: 'statfs pool is shut down' });
    this.#queue.length = 0;
    const stopping: Array<Promise<unknown>> = [];
    for (const slot of [...this.#active, ...this.#aside.keys()]) {
      clearTimeout(slot.timer);
      if (slot.exited) continue;
      lingering.add(slot.worker);
      const done = slot.worker.terminate().catch(() => undefined);
      if (!this.#aside.has(slot)) stopping.push(done);
    }
    let timer: NodeJS.Timeout | undefined;
    const limit = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, SHUTDOWN_WAIT_MS);
      timer.unref();
    });
    await Promise.race([Promise.allSettled(stopping), limit]);
    clearTimeout(timer);
  }

  #canSpawn(): boolean {
    return this.#active.size + this.#aside.size < this.#opts.concurrency + this.#opts.maxStuck;
  }

  #spawn(): void {
    const worker = new Worker(this.#workerUrl, { workerData: this.#opts.workerData, stdout: false, stderr: false });
    // Never let a statfs thread keep the process alive.
    worker.unref();
    const slot: Slot = { worker, ready: false, exited: false, job: undefined, requestId: 0, timer: undefined };
    worker.on('message', (msg: StatfsReply) => this.#onMessage(slot, msg));
    worker.on('error', (err: Error) => this.#onExit(slot, err.message));
    worker.on('exit', (code: number) => this.#onExit(slot, `worker exited with code ${code}`));
    this.#active.add(slot);
  }

  #pump(): void {
    if (this.#closed) return;
    for (const slot of this.#active) {
      if (this.#queue.length === 0) return;
      if (slot.ready && !slot.job) this.#assign(slot, this.#queue.shift() as Job);
    }
    let booting = [...this.#active].filter((s) => !s.ready).length;
    while (this.#queue.length > booting && this.#active.size < this.#opts.concurrency && this.#canSpawn()) {
      this.#spawn();
      booting++;
    }
    if (this.#active.size === 0) {
      // Every thread is blocked in a hung mount and no more may be started.
      for (const job of this.#queue.splice(0)) {
        this.#finish(job, { ok: false, reason: 'stuck_limit', message: `all ${this.#aside.size} statfs threads are blocked in hung mounts` });
      }
    }
  }

  #assign(slot: Slot, job: Job): void {
    job.started = true;
    slot.job = job;
    slot.requestId = this.#nextRequestId++;
    const request: StatfsRequest = { id: slot.requestId, path: job.path };
    slot.worker.postMessage(request);
    slot.timer = setTimeout(() => this.#onTimeout(slot), this.#opts.timeoutMs);
  }

  #onTimeout(slot: Slot): void {
    const job = slot.job;
    if (!job) return;
    slot.job = undefined;
    slot.timer = undefined;
    this.#active.delete(slot);
    this.#aside.set(slot, job.path);
    lingering.add(slot.worker);
    this.#stuck.set(job.path, Date.now());
    this.#finish(job, { ok: false, reason: 'timeout', message: `statfs of ${job.path} did not return within ${this.#opts.timeoutMs} ms` });
    this.#opts.onStuck?.(job.path);
    this.#pump();
  }

  #onMessage(slot: Slot, msg: StatfsReply): void {
    if (msg.type === 'ready') {
      slot.ready = true;
      this.#pump();
      return;
    }
    const stuckPath = this.#aside.get(slot);
    if (stuckPath !== undefined) {
      this.#recover(slot, stuckPath);
      return;
    }
    const job = slot.job;
    if (!job || msg.id !== slot.requestId) return;
    clearTimeout(slot.timer);
    slot.timer = undefined;
    slot.job = undefined;
    this.#finish(job, msg.ok ? { ok: true, stats: msg.stats } : { ok: false, reason: msg.code, message: msg.message });
    this.#pump();
  }

  // A blocked call came back: the mount answers again.
  #recover(slot: Slot, path: string): void {
    this.#aside.delete(slot);
    const since = this.#stuck.get(path) ?? Date.now();
    this.#stuck.delete(path);
    if (this.#closed) return;
    lingering.delete(slot.worker);
    if (this.#active.size < this.#opts.concurrency) this.#active.add(slot);
    else void slot.worker.terminate().catch(() => undefined);
    this.#opts.onRecovered?.(path, Date.now() - since);
    this.#pump();
  }

  #onExit(slot: Slot, message: string): void {
    if (slot.exited) return;
    slot.exited = true;
    lingering.delete(slot.worker);
    clearTimeout(slot.timer);
    this.#active.delete(slot);
    const stuckPath = this.#aside.get(slot);
    if (stuckPath !== undefined) {
      // Its probe is lost; let the next collect try the path again.
      this.#aside.delete(slot);
      this.#stuck.delete(stuckPath);
    }
    if (slot.job) this.#finish(slot.job, { ok: false, reason: 'worker_exit', message });
    slot.job = undefined;
    if (!slot.ready && !this.#closed) {
      // It died while loading: respawning now would only loop. Fail what waits; the next probe retries.
      for (const job of this.#queue.splice(0)) this.#finish(job, { ok: false, reason: 'worker_exit', message });
      return;
    }
    this.#pump();
  }

  #dequeue(job: Job): void {
    const i = this.#queue.indexOf(job);
    if (i >= 0) this.#queue.splice(i, 1);
    this.#jobs.delete(job.path);
  }

  #finish(job: Job, outcome: ProbeOutcome): void {
    this.#jobs.delete(job.path);
    for (const waiter of job.waiters) {
      waiter.cleanup();
      waiter.resolve(outcome);
    }
    job.waiters.clear();
  }
}

function aborted(): ProbeOutcome {
  return { ok: false, reason: 'aborted', message: 'the collection gave up before this statfs started' };
}
