import { Worker } from 'node:worker_threads';
import { blockExit, unblockExit } from '../../pipeline/exit-blockers.ts';
import { chooseScanner, type ScannerChoice, type ScannerKind } from './native-scanner.ts';
import {
  ABORT,
  ABORT_ENTRY_LIMIT,
  ABORT_STOPPED,
  CONTROL_SLOTS,
  POOL_IDLE,
  type FilesystemTotals,
  type WalkMessage,
  type WalkTask,
  type WorkerReply,
} from './walk-protocol.ts';

/** Totals of one complete walk of one volume. */
export interface WalkResult {
  /** Allocated blocks × 512, each inode once (`du -s -B1 -x`). */
  readonly blockBytes: number;
  /** Sum of st_size, each inode once (`du -sb -x`). */
  readonly apparentBytes: number;
  /** Inodes, the root included, each once (`du --inodes -s -x`). */
  readonly inodes: number;
  /** Entries that vanished or could not be read, by errno code; they are not in the totals. */
  readonly skipped: Readonly<Record<string, number>>;
  readonly skippedTotal: number;
  /** Mount points of other filesystems met inside the volume; not entered, as with `du -x`. */
  readonly mountPoints: number;
  readonly isDirectory: boolean;
  /** statfs of the root's filesystem, when it answered. */
  readonly filesystem: FilesystemTotals | undefined;
  readonly durationMs: number;
}

/**
 * Failure reasons: `timeout` (the time budget ran out), `entry_limit` (the entry budget ran
 * out), `aborted` (the caller's signal), `shutdown`, `worker_exit`, or the errno code of the
 * volume root's lstat (`ENOENT`, `EACCES`, `ELOOP` for a root that is a symlink, …).
 */
export type WalkOutcome =
  | { readonly ok: true; readonly result: WalkResult }
  | { readonly ok: false; readonly reason: string; readonly message: string };

export interface WalkOptions {
  /** Time budget of the whole walk in ms; 0: none. */
  readonly timeoutMs: number;
  /** Entry budget (directory entries read); 0: none. */
  readonly maxEntries: number;
  readonly signal?: AbortSignal;
}

export interface WalkPoolOptions {
  /** Threads walking at once; one volume's walk is spread over all idle ones. */
  readonly threads: number;
  /** Threads still busy in an abandoned walk (a hung filesystem) that may be replaced. */
  readonly maxStuck?: number;
  /** How long a thread may stay in an abandoned walk before it is set aside as stuck. */
  readonly stuckAfterMs?: number;
  /** Worker module; tests pass one that fails to load. */
  readonly workerUrl?: URL;
  /**
   * `native` (the default when it is built, see native-scanner.ts) or `node-fs`. Tests and the
   * benchmark choose one to compare them.
   */
  readonly scanner?: ScannerKind;
  /** Test seam for `node-fs`: stat through the public lstatSync only, not Node's fs binding (walk-worker.js). */
  readonly portableStat?: boolean;
}

interface Job {
  readonly id: number;
  readonly root: string;
  readonly control: Int32Array;
  readonly maxEntries: number;
  readonly startedAt: number;
  /** Tasks queued or running. */
  outstanding: number;
  blocks: number;
  bytes: number;
  inodes: number;
  mounts: number;
  readonly skipped: Record<string, number>;
  readonly links: Set<number>;
  isDirectory: boolean;
  filesystem: FilesystemTotals | undefined;
  failure: WalkOutcome | undefined;
  settled: boolean;
  resolve: (outcome: WalkOutcome) => void;
  timer: NodeJS.Timeout | undefined;
  cleanup: (() => void) | undefined;
}

interface Slot {
  readonly worker: Worker;
  job: Job | undefined;
  since: number;
}

interface Queued {
  readonly job: Job;
  readonly dev: number;
  readonly task: WalkTask;
}

const DEFAULT_WORKER_URL = new URL('./walk-worker.js', import.meta.url);
const DEFAULT_STUCK_AFTER_MS = 5000;

/**
 * Directory walks in worker threads. Each walk is a job: its root goes to one thread, and while
 * another thread is idle the busy one hands over half of its pending directories (or of a huge
 * directory's entries) through this coordinator, so one volume uses every thread and several
 * volumes share them. Hard-linked inodes are deduplicated per thread and again here across
 * threads. Budgets stop a job at the next directory (or 1,024 entries); a thread that stays in
 * an abandoned job (blocked in the kernel on a hung filesystem) is set aside, registered as an
 * exit blocker, and replaced while fewer than `maxStuck` are aside.
 */
export class WalkPool {
  readonly #opts: Required<Omit<WalkPoolOptions, 'workerUrl' | 'portableStat' | 'scanner'>>;
  readonly #portableStat: boolean;
  /** The scanner every thread of this pool uses, and why it is not the native one if not. */
  readonly scanner: ScannerChoice;
  readonly #workerUrl: URL;
  readonly #pool = new Int32Array(new SharedArrayBuffer(4));
  readonly #slots = new Set<Slot>();
  readonly #aside = new Set<Slot>();
  readonly #queue: Queued[] = [];
  readonly #jobs = new Map<number, Job>();
  #nextJobId = 1;
  #closed = false;

  constructor(options: WalkPoolOptions) {
    this.#opts = {
      threads: Math.max(1, options.threads),
      maxStuck: options.maxStuck ?? 4,
      stuckAfterMs: options.stuckAfterMs ?? DEFAULT_STUCK_AFTER_MS,
    };
    this.#workerUrl = options.workerUrl ?? DEFAULT_WORKER_URL;
    this.#portableStat = options.portableStat === true;
    const available = chooseScanner();
    if (options.scanner === 'native' && available.kind !== 'native') {
      throw new Error(`the native hostpath scanner was asked for but ${available.reason ?? 'is not available'}`);
    }
    this.scanner = options.scanner === 'node-fs' ? { kind: 'node-fs', reason: 'chosen by configuration' } : available;
  }

  /** Threads by state; `stuck` are set aside in an abandoned walk. */
  get threads(): { readonly busy: number; readonly idle: number; readonly stuck: number } {
    let busy = 0;
    for (const slot of this.#slots) if (slot.job) busy++;
    return { busy, idle: this.#slots.size - busy, stuck: this.#aside.size };
  }

  /** Walks `root` (never following it if it is a symlink); never rejects. */
  walk(root: string, options: WalkOptions): Promise<WalkOutcome> {
    if (this.#closed) return Promise.resolve({ ok: false, reason: 'shutdown', message: 'the walk pool is shut down' });
    if (options.signal?.aborted) return Promise.resolve({ ok: false, reason: 'aborted', message: `walk of ${root} aborted before it started` });
    const job: Job = {
      id: this.#nextJobId++,
      root,
      control: new Int32Array(new SharedArrayBuffer(CONTROL_SLOTS * 4)),
      maxEntries: options.maxEntries,
      startedAt: performance.now(),
      outstanding: 1,
      blocks: 0,
      bytes: 0,
      inodes: 0,
      mounts: 0,
      skipped: {},
      links: new Set(),
      isDirectory: false,
      filesystem: undefined,
      failure: undefined,
      settled: false,
      resolve: () => undefined,
      timer: undefined,
      cleanup: undefined,
    };
    const promise = new Promise<WalkOutcome>((resolve) => {
      job.resolve = resolve;
    });
    this.#jobs.set(job.id, job);
    if (options.timeoutMs > 0) {
      job.timer = setTimeout(() => this.#stop(job, { ok: false, reason: 'timeout', message: `walk of ${root} passed its ${options.timeoutMs} ms budget` }), options.timeoutMs);
    }
    const signal = options.signal;
    if (signal) {
      const onAbort = (): void => this.#stop(job, { ok: false, reason: 'aborted', message: `walk of ${root} aborted` });
      signal.addEventListener('abort', onAbort, { once: true });
      job.cleanup = () => signal.removeEventListener('abort', onAbort);
    }
    this.#queue.push({ job, dev: 0, task: { kind: 'root', path: root } });
    this.#pump();
    return promise;
  }

  /** Ends every walk (`shutdown`) and terminates the threads; blocked ones are not awaited. */
  async shutdown(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const job of this.#jobs.values()) this.#stop(job, { ok: false, reason: 'shutdown', message: `walk of ${job.root} stopped: the walk pool is shut down` });
    this.#queue.length = 0;
    const idle: Array<Promise<number>> = [];
    for (const slot of this.#slots) {
      if (slot.job) this.#setAside(slot);
      else idle.push(slot.worker.terminate());
    }
    this.#slots.clear();
    for (const slot of this.#aside) void slot.worker.terminate().catch(() => undefined);
    await Promise.allSettled(idle);
  }

  /** Settles `job` with `failure` at once and tells its threads to stop. */
  #stop(job: Job, failure: WalkOutcome): void {
    if (job.settled) return;
    Atomics.store(job.control, ABORT, ABORT_STOPPED);
    this.#settle(job, failure);
    // Its queued tasks are dropped; running ones notice the flag within one directory.
    for (let i = this.#queue.length - 1; i >= 0; i--) {
      if (this.#queue[i]?.job === job) {
        this.#queue.splice(i, 1);
        job.outstanding--;
      }
    }
    if (job.outstanding === 0) this.#jobs.delete(job.id);
    else setTimeout(() => this.#reapStuck(job), this.#opts.stuckAfterMs).unref();
    this.#pump();
  }

  #settle(job: Job, outcome: WalkOutcome): void {
    if (job.settled) return;
    job.settled = true;
    clearTimeout(job.timer);
    job.cleanup?.();
    job.resolve(outcome);
  }

  /** Threads still inside a job abandoned `stuckAfterMs` ago are blocked: replace them. */
  #reapStuck(job: Job): void {
    for (const slot of this.#slots) if (slot.job === job) this.#setAside(slot);
    this.#pump();
  }

  #setAside(slot: Slot): void {
    this.#slots.delete(slot);
    this.#aside.add(slot);
    blockExit(slot.worker);
  }

  #spawn(): void {
    const worker = new Worker(this.#workerUrl, {
      workerData: { pool: this.#pool.buffer, portableStat: this.#portableStat, nativePath: this.scanner.nativePath },
    });
    worker.unref();
    const slot: Slot = { worker, job: undefined, since: 0 };
    this.#slots.add(slot);
    worker.on('message', (reply: WorkerReply) => this.#onReply(slot, reply));
    worker.on('error', (err: Error) => this.#onExit(slot, `walk thread failed: ${err.message}`));
    worker.on('exit', (code) => this.#onExit(slot, `walk thread exited with code ${code}`));
  }

  #onExit(slot: Slot, message: string): void {
    unblockExit(slot.worker);
    const active = this.#slots.delete(slot);
    const aside = this.#aside.delete(slot);
    // A thread that already replied (or was never handed out) leaves nothing to settle.
    if (!active && !aside) return;
    const job = slot.job;
    slot.job = undefined;
    if (job) {
      job.outstanding--;
      this.#stop(job, { ok: false, reason: 'worker_exit', message: `walk of ${job.root}: ${message}` });
      if (job.outstanding === 0) this.#jobs.delete(job.id);
    }
    this.#pump();
  }

  #onReply(slot: Slot, reply: WorkerReply): void {
    const job = this.#jobs.get(reply.jobId);
    if (reply.type === 'share') {
      if (job && !job.settled) {
        job.outstanding++;
        this.#queue.push({ job, dev: reply.dev, task: reply.task });
      }
      this.#pump();
      return;
    }
    if (this.#aside.has(slot)) {
      // A stuck thread came back: the pool has already replaced it.
      this.#aside.delete(slot);
      slot.job = undefined;
      void slot.worker.terminate().then(() => unblockExit(slot.worker), () => unblockExit(slot.worker));
    } else {
      slot.job = undefined;
    }
    if (job) {
      job.outstanding--;
      this.#merge(job, reply);
      if (job.outstanding === 0) {
        this.#jobs.delete(job.id);
        this.#finish(job);
      }
    }
    this.#pump();
  }

  #merge(job: Job, reply: Extract<WorkerReply, { type: 'done' }>): void {
    if (reply.rootError) {
      job.failure = { ok: false, reason: reply.rootError.code, message: `cannot walk ${job.root}: ${reply.rootError.message}` };
      return;
    }
    if (reply.root) {
      job.isDirectory = reply.root.isDirectory;
      job.filesystem = reply.root.fs;
    }
    job.blocks += reply.blocks ?? 0;
    job.bytes += reply.bytes ?? 0;
    job.inodes += reply.inodes ?? 0;
    job.mounts += reply.mounts ?? 0;
    for (const [reason, n] of Object.entries(reply.skipped ?? {})) job.skipped[reason] = (job.skipped[reason] ?? 0) + n;
    // Each thread counted its first link to an inode; a second thread's count is taken back.
    const links = reply.links ?? [];
    for (let i = 0; i + 2 < links.length; i += 3) {
      const ino = links[i] as number;
      if (job.links.has(ino)) {
        job.blocks -= links[i + 1] as number;
        job.bytes -= links[i + 2] as number;
        job.inodes--;
      } else {
        job.links.add(ino);
      }
    }
  }

  #finish(job: Job): void {
    if (job.settled) return;
    if (job.failure) return this.#settle(job, job.failure);
    if (Atomics.load(job.control, ABORT) === ABORT_ENTRY_LIMIT) {
      return this.#settle(job, { ok: false, reason: 'entry_limit', message: `walk of ${job.root} passed its budget of ${job.maxEntries} entries` });
    }
    let skippedTotal = 0;
    for (const n of Object.values(job.skipped)) skippedTotal += n;
    this.#settle(job, {
      ok: true,
      result: {
        blockBytes: job.blocks * 512,
        apparentBytes: job.bytes,
        inodes: job.inodes,
        skipped: job.skipped,
        skippedTotal,
        mountPoints: job.mounts,
        isDirectory: job.isDirectory,
        filesystem: job.filesystem,
        durationMs: performance.now() - job.startedAt,
      },
    });
  }

  /** Hands queued tasks to idle threads (spawning up to `threads`) and publishes the idle count. */
  #pump(): void {
    if (this.#closed) return;
    while (this.#queue.length > 0) {
      let slot: Slot | undefined;
      for (const s of this.#slots) {
        if (!s.job) {
          slot = s;
          break;
        }
      }
      if (!slot) {
        if (this.#slots.size >= this.#opts.threads || this.#slots.size + this.#aside.size >= this.#opts.threads + this.#opts.maxStuck) break;
        this.#spawn();
        continue;
      }
      const next = this.#queue.shift() as Queued;
      slot.job = next.job;
      slot.since = performance.now();
      const message: WalkMessage = { jobId: next.job.id, task: next.task, dev: next.dev, maxEntries: next.job.maxEntries, control: next.job.control.buffer as SharedArrayBuffer };
      slot.worker.postMessage(message);
    }
    let busy = 0;
    for (const s of this.#slots) if (s.job) busy++;
    const idle = this.#queue.length > 0 ? 0 : Math.max(0, this.#opts.threads - busy);
    Atomics.store(this.#pool, POOL_IDLE, this.#jobs.size > 0 ? idle : 0);
  }
}
