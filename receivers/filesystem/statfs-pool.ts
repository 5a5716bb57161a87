import { getSystemErrorMessage, getSystemErrorName } from 'node:util';
import { Worker } from 'node:worker_threads';
import { blockExit, unblockExit } from '../../pipeline/exit-blockers.ts';
import {
  ABANDONED,
  COMPLETED,
  ERRNO,
  FAILED,
  NEXT,
  OK,
  STARTED,
  STATS_FIELDS,
  roundLayout,
  sharedClock,
  type RoundLayout,
  type RoundMessage,
  type StatfsStats,
  type WorkerReply,
} from './worker-protocol.ts';

/**
 * Result of one probe. Failure reasons: `stuck` (an earlier probe of this path is still
 * blocked; not probed again), `timeout` (this probe passed the timeout; the path is now stuck),
 * `stuck_limit` (every thread is blocked; not probed), `aborted` (the caller gave up before it
 * answered), `shutdown`, `worker_exit`, or the errno code statfs failed with (`ENOENT`, `EACCES`, …).
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
  /** Worker module; tests pass one that fails to load. */
  readonly workerUrl?: URL;
  /** Passed to each worker; `{ statfsModule }` swaps its statfs (testdata/hang.ts). */
  readonly workerData?: unknown;
  readonly onStuck?: (path: string) => void;
  readonly onRecovered?: (path: string, stuckMs: number) => void;
}

/** One probeMany() call: its answers, index for index. */
interface Request {
  readonly paths: readonly string[];
  readonly outcomes: Array<ProbeOutcome | undefined>;
  /** Answers still awaited; 0 once settled. */
  pending: number;
  resolve: (outcomes: ProbeOutcome[]) => void;
  cleanup: (() => void) | undefined;
}

/** One path being probed; every request that asked for it while in flight shares it. */
interface Job {
  readonly path: string;
  readonly requests: Request[];
  readonly indexes: number[];
}

/** Paths probed together through one shared buffer (see worker-protocol.ts). */
interface Round {
  readonly id: number;
  readonly paths: string[];
  /** `paths` as sent to workers, built when the first thread joins. */
  joined: string | undefined;
  /** Undefined once answered (or given up on). */
  readonly jobs: Array<Job | undefined>;
  readonly buffer: SharedArrayBuffer;
  readonly layout: RoundLayout;
  readonly control: Int32Array;
  readonly status: Int32Array;
  readonly owner: Int32Array;
  readonly errno: Int32Array;
  readonly started: Float64Array;
  readonly stats: Float64Array;
  /** Threads that joined, by member number. */
  readonly members: Slot[];
  /** Members still claiming. */
  working: number;
  open: number;
  /** COMPLETED when last harvested: unchanged means nothing new to read. */
  harvested: number;
  timer: NodeJS.Timeout | undefined;
}

interface Slot {
  readonly worker: Worker;
  ready: boolean;
  exited: boolean;
  round: Round | undefined;
  member: number;
}

const DEFAULT_WORKER_URL = new URL('./statfs-worker.js', import.meta.url);
const SHUTDOWN_WAIT_MS = 1000;
const SHUTDOWN: ProbeOutcome = { ok: false, reason: 'shutdown', message: 'statfs pool is shut down' };
const ABORTED: ProbeOutcome = { ok: false, reason: 'aborted', message: 'the collection gave up before this statfs answered' };

/**
 * statfs in worker threads with a per-call timeout. The paths of one probeMany() go to the
 * threads as one round: one message per thread, results in shared memory, one timer per round
 * watching each call's start time. A call past the timeout leaves its thread blocked in the
 * kernel (it cannot be interrupted): the thread is set aside, its path is marked stuck and not
 * probed again, the other threads (or a replacement) claim the round's remaining paths, and
 * the total stays within `concurrency + maxStuck`. When the blocked call returns, the path is
 * recovered and the thread rejoins the pool (or exits when the pool is full). Until a blocked
 * thread has exited it is registered in pipeline/exit-blockers.ts: Node cannot join it at exit.
 */
export class StatfsPool {
  readonly #opts: StatfsPoolOptions;
  readonly #workerUrl: URL;
  readonly #active = new Set<Slot>();
  readonly #aside = new Map<Slot, string>();
  readonly #stuck = new Map<string, number>();
  readonly #jobs = new Map<string, Job>();
  readonly #rounds = new Set<Round>();
  #nextRoundId = 1;
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

  /**
   * Outcomes index for index; never rejects. Paths already in flight (another caller's) are
   * shared, so a hang costs one thread. On abort, answers already in shared memory are kept
   * and the rest resolve `aborted`; paths nobody waits for any more are not started.
   */
  probeMany(paths: readonly string[], signal?: AbortSignal): Promise<ProbeOutcome[]> {
    const outcomes = new Array<ProbeOutcome | undefined>(paths.length);
    if (this.#closed) return Promise.resolve(outcomes.fill(SHUTDOWN) as ProbeOutcome[]);
    const request: Request = { paths, outcomes, pending: 0, resolve: () => undefined, cleanup: undefined };
    const promise = new Promise<ProbeOutcome[]>((resolve) => {
      request.resolve = resolve;
    });
    const aborted = signal?.aborted === true;
    const fresh: Job[] = [];
    for (let i = 0; i < paths.length; i++) {
      const path = paths[i] as string;
      if (path.includes('\0')) {
        // No kernel path holds a NUL, and the round's paths travel NUL-separated.
        outcomes[i] = { ok: false, reason: 'EINVAL', message: `statfs path contains a NUL byte: ${JSON.stringify(path)}` };
      } else if (this.#stuck.has(path)) {
        outcomes[i] = { ok: false, reason: 'stuck', message: `an earlier statfs of ${path} has not returned` };
      } else if (aborted) {
        outcomes[i] = ABORTED;
      } else {
        let job = this.#jobs.get(path);
        if (!job) {
          job = { path, requests: [], indexes: [] };
          this.#jobs.set(path, job);
          fresh.push(job);
        }
        job.requests.push(request);
        job.indexes.push(i);
        request.pending++;
      }
    }
    if (request.pending === 0) return Promise.resolve(outcomes as ProbeOutcome[]);
    if (signal) {
      const onAbort = (): void => this.#abort(request);
      signal.addEventListener('abort', onAbort, { once: true });
      request.cleanup = () => signal.removeEventListener('abort', onAbort);
    }
    if (fresh.length > 0) this.#rounds.add(this.#newRound(fresh));
    this.#pump();
    return promise;
  }

  /**
   * Terminates every thread. Blocked ones cannot stop until their syscall returns, so they
   * are not awaited (they stay registered as exit blockers until they exit); idle ones are, briefly.
   */
  async shutdown(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const round of this.#rounds) {
      clearTimeout(round.timer);
      round.jobs.forEach((job, i) => {
        if (job) this.#answer(round, i, SHUTDOWN);
      });
    }
    this.#rounds.clear();
    const stopping: Array<Promise<unknown>> = [];
    for (const slot of [...this.#active, ...this.#aside.keys()]) {
      if (slot.exited) continue;
      blockExit(slot.worker);
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

  #newRound(jobs: Job[]): Round {
    const n = jobs.length;
    const layout = roundLayout(n);
    const buffer = new SharedArrayBuffer(layout.bytes);
    return {
      id: this.#nextRoundId++,
      paths: jobs.map((j) => j.path),
      joined: undefined,
      jobs,
      buffer,
      layout,
      control: new Int32Array(buffer, 0, 2),
      status: new Int32Array(buffer, layout.status, n),
      owner: new Int32Array(buffer, layout.owner, n),
      errno: new Int32Array(buffer, layout.errno, n),
      started: new Float64Array(buffer, layout.started, n),
      stats: new Float64Array(buffer, layout.stats, n * STATS_FIELDS),
      members: [],
      working: 0,
      open: n,
      harvested: 0,
      timer: undefined,
    };
  }

  #canSpawn(): boolean {
    return this.#active.size + this.#aside.size < this.#opts.concurrency + this.#opts.maxStuck;
  }

  #spawn(): void {
    const worker = new Worker(this.#workerUrl, { workerData: this.#opts.workerData, stdout: false, stderr: false });
    // Never let a statfs thread keep the process alive.
    worker.unref();
    const slot: Slot = { worker, ready: false, exited: false, round: undefined, member: -1 };
    worker.on('message', (msg: WorkerReply) => this.#onMessage(slot, msg));
    worker.on('error', (err: Error) => this.#onExit(slot, err.message));
    worker.on('exit', (code: number) => this.#onExit(slot, `worker exited with code ${code}`));
    this.#active.add(slot);
  }

  /** Gives idle threads rounds with unclaimed paths; starts threads while some are missing. */
  #pump(): void {
    if (this.#closed) return;
    let unclaimed = 0;
    for (const round of this.#rounds) {
      let left = unclaimedIn(round);
      if (left === 0) continue;
      // A thread per unclaimed path at most: joining costs a message.
      for (const slot of this.#active) {
        if (left <= round.working) break;
        if (slot.ready && !slot.round) this.#assign(slot, round);
      }
      left -= round.working;
      if (left > 0) unclaimed += left;
    }
    if (unclaimed === 0) return;
    let booting = 0;
    for (const slot of this.#active) if (!slot.ready) booting++;
    while (unclaimed > booting && this.#active.size < this.#opts.concurrency && this.#canSpawn()) {
      this.#spawn();
      booting++;
    }
    if (this.#active.size === 0) {
      // Every thread is blocked in a hung mount and no more may be started.
      const message = `all ${this.#aside.size} statfs threads are blocked in hung mounts`;
      for (const round of this.#rounds) this.#claimRest(round, { ok: false, reason: 'stuck_limit', message });
    }
  }

  #assign(slot: Slot, round: Round): void {
    slot.round = round;
    slot.member = round.members.push(slot) - 1;
    round.working++;
    round.joined ??= round.paths.join('\0');
    const msg: RoundMessage = { round: round.id, member: slot.member, buffer: round.buffer, layout: round.layout, paths: round.joined };
    slot.worker.postMessage(msg);
    // One timer per round; calls start no earlier than now, so none can be late before then.
    round.timer ??= setTimeout(() => this.#check(round), this.#opts.timeoutMs);
  }

  /** The round's timer: abandons calls running past the timeout, re-arms for the next due. */
  #check(round: Round): void {
    round.timer = undefined;
    if (!this.#rounds.has(round)) return;
    const timeout = this.#opts.timeoutMs;
    const now = sharedClock();
    let nextDue = Infinity;
    const claimed = Math.min(Atomics.load(round.control, NEXT), round.layout.n);
    for (let i = 0; i < claimed; i++) {
      if (!round.jobs[i]) continue;
      const state = Atomics.load(round.status, i);
      if (state === 0) {
        // Claimed, start not yet published: it is starting now.
        nextDue = Math.min(nextDue, now + timeout);
      } else if (state === STARTED) {
        const due = (round.started[i] as number) + timeout;
        if (due > now) nextDue = Math.min(nextDue, due);
        else if (Atomics.compareExchange(round.status, i, STARTED, ABANDONED) === STARTED) this.#hung(round, i);
        // else the call returned just now; the harvest below picks it up.
      }
    }
    this.#harvest(round, true);
    if (this.#rounds.has(round)) {
      const wait = nextDue === Infinity ? timeout : Math.max(1, Math.ceil(nextDue - now));
      round.timer = setTimeout(() => this.#check(round), wait);
    }
    // A thread set aside may leave paths unclaimed: a replacement (or stuck_limit) takes them.
    this.#pump();
  }

  // The call at `i` passed the timeout: its thread stays blocked in the kernel.
  #hung(round: Round, i: number): void {
    const path = round.paths[i] as string;
    const slot = round.members[round.owner[i] as number] as Slot;
    if (slot.round === round) {
      slot.round = undefined;
      round.working--;
    }
    if (this.#active.delete(slot)) {
      this.#aside.set(slot, path);
      blockExit(slot.worker);
    }
    this.#stuck.set(path, Date.now());
    this.#answer(round, i, { ok: false, reason: 'timeout', message: `statfs of ${path} did not return within ${this.#opts.timeoutMs} ms` });
    this.#opts.onStuck?.(path);
  }

  #onMessage(slot: Slot, msg: WorkerReply): void {
    if (msg.type === 'ready') {
      slot.ready = true;
      this.#pump();
      return;
    }
    if (msg.type === 'recovered') {
      const path = this.#aside.get(slot);
      if (path !== undefined) this.#recover(slot, path);
      return;
    }
    const round = slot.round;
    if (!round || round.id !== msg.round) return;
    slot.round = undefined;
    round.working--;
    this.#harvest(round, false);
    this.#pump();
  }

  /** Answers every index whose result is in shared memory; closes the round when none is left. */
  #harvest(round: Round, force: boolean): void {
    const completed = Atomics.load(round.control, COMPLETED);
    if (completed !== round.harvested || force) {
      round.harvested = completed;
      const claimed = Math.min(Atomics.load(round.control, NEXT), round.layout.n);
      for (let i = 0; i < claimed && round.open > 0; i++) {
        if (!round.jobs[i]) continue;
        const outcome = this.#resultAt(round, i);
        if (outcome) this.#answer(round, i, outcome);
      }
    }
    if (round.open === 0) this.#closeRound(round);
  }

  #resultAt(round: Round, i: number): ProbeOutcome | undefined {
    const state = Atomics.load(round.status, i);
    if (state === OK) {
      const s = round.stats;
      const o = i * STATS_FIELDS;
      return {
        ok: true,
        stats: { type: s[o] as number, bsize: s[o + 1] as number, blocks: s[o + 2] as number, bfree: s[o + 3] as number, bavail: s[o + 4] as number, files: s[o + 5] as number, ffree: s[o + 6] as number },
      };
    }
    if (state === ERRNO) {
      const errno = round.errno[i] as number;
      const code = getSystemErrorName(errno);
      return { ok: false, reason: code, message: `${code}: ${getSystemErrorMessage(errno)}, statfs '${round.paths[i]}'` };
    }
    if (state === FAILED) return { ok: false, reason: 'EIO', message: `statfs of ${round.paths[i]} failed` };
    return undefined;
  }

  /** Settles index `i` of the round for every request waiting on it. */
  #answer(round: Round, i: number, outcome: ProbeOutcome): void {
    const job = round.jobs[i];
    if (!job) return;
    round.jobs[i] = undefined;
    round.open--;
    if (this.#jobs.get(job.path) === job) this.#jobs.delete(job.path);
    for (let k = 0; k < job.requests.length; k++) {
      const request = job.requests[k] as Request;
      request.outcomes[job.indexes[k] as number] = outcome;
      if (--request.pending === 0) this.#settle(request);
    }
  }

  #settle(request: Request): void {
    request.pending = 0;
    request.cleanup?.();
    request.resolve(request.outcomes as ProbeOutcome[]);
  }

  // The caller gave up: keep what has answered, and stop work nobody waits for.
  #abort(request: Request): void {
    for (const round of this.#rounds) this.#harvest(round, false);
    if (request.pending === 0) return;
    for (let i = 0; i < request.paths.length; i++) {
      if (request.outcomes[i] !== undefined) continue;
      request.outcomes[i] = ABORTED;
      const job = this.#jobs.get(request.paths[i] as string);
      const k = job ? job.requests.indexOf(request) : -1;
      if (job && k >= 0) {
        job.requests.splice(k, 1);
        job.indexes.splice(k, 1);
      }
    }
    this.#settle(request);
    for (const round of this.#rounds) {
      if (round.jobs.every((job) => !job || job.requests.length === 0)) this.#claimRest(round, ABORTED);
    }
  }

  /** Claims every index no thread has claimed yet, so none will, and answers them with `outcome`. */
  #claimRest(round: Round, outcome: ProbeOutcome): void {
    const n = round.layout.n;
    const from = Atomics.exchange(round.control, NEXT, n);
    for (let i = from; i < n; i++) this.#answer(round, i, outcome);
    if (round.open === 0) this.#closeRound(round);
  }

  #closeRound(round: Round): void {
    clearTimeout(round.timer);
    round.timer = undefined;
    this.#rounds.delete(round);
  }

  // A blocked call came back: the mount answers again.
  #recover(slot: Slot, path: string): void {
    this.#aside.delete(slot);
    const since = this.#stuck.get(path) ?? Date.now();
    this.#stuck.delete(path);
    if (this.#closed) return;
    unblockExit(slot.worker);
    if (this.#active.size < this.#opts.concurrency) this.#active.add(slot);
    else void slot.worker.terminate().catch(() => undefined);
    this.#opts.onRecovered?.(path, Date.now() - since);
    this.#pump();
  }

  #onExit(slot: Slot, message: string): void {
    if (slot.exited) return;
    slot.exited = true;
    unblockExit(slot.worker);
    this.#active.delete(slot);
    const stuckPath = this.#aside.get(slot);
    if (stuckPath !== undefined) {
      // Its probe is lost; let the next collect try the path again.
      this.#aside.delete(slot);
      this.#stuck.delete(stuckPath);
    }
    const round = slot.round;
    slot.round = undefined;
    if (round && this.#rounds.has(round)) {
      round.working--;
      // The call it was in will never report.
      const claimed = Math.min(Atomics.load(round.control, NEXT), round.layout.n);
      for (let i = 0; i < claimed; i++) {
        if (round.jobs[i] && round.owner[i] === slot.member && Atomics.compareExchange(round.status, i, STARTED, ABANDONED) === STARTED) {
          this.#answer(round, i, { ok: false, reason: 'worker_exit', message });
        }
      }
      this.#harvest(round, true);
    }
    if (!slot.ready && !this.#closed) {
      // It died while loading: respawning now would only loop. Fail what waits; the next probe retries.
      for (const r of this.#rounds) this.#claimRest(r, { ok: false, reason: 'worker_exit', message });
      return;
    }
    this.#pump();
  }
}

function unclaimedIn(round: Round): number {
  return Math.max(0, round.layout.n - Atomics.load(round.control, NEXT));
}
