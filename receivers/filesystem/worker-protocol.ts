/**
 * How StatfsPool and its worker threads (statfs-worker.js) share a round of statfs calls.
 *
 * A round is a list of paths plus one SharedArrayBuffer. Every worker given the round claims
 * the next unclaimed index with `Atomics.add(control[NEXT], 1)`, so the paths spread over the
 * threads by themselves and a thread blocked in one path holds up only that path. Per index
 * the worker writes its member number and start time, publishes `STARTED`, calls statfs,
 * writes the fields, then publishes the final status with a compare-exchange from `STARTED`.
 * The pool abandons a hung index with the opposite compare-exchange (`STARTED` → `ABANDONED`),
 * so exactly one side wins: either the result counts, or the thread knows it was set aside.
 * Messages: one `round` to each worker joining, one `done` back when it finds nothing left
 * to claim, one `recovered` when a call the pool had abandoned finally returns.
 *
 * statfs-worker.js is plain JavaScript and cannot import this file: the status codes and
 * control slots below are repeated there; the byte offsets travel in every `round` message.
 */

/** The statfs(2) fields used, as numbers (Node's `fs.StatFs`). */
export interface StatfsStats {
  readonly type: number;
  readonly bsize: number;
  readonly blocks: number;
  readonly bfree: number;
  readonly bavail: number;
  readonly files: number;
  readonly ffree: number;
}

/** Float64s per index in the `stats` area, in this order. */
export const STATS_FIELDS = 7; // type, bsize, blocks, bfree, bavail, files, ffree

/** Int32 slots at the start of the buffer. */
export const NEXT = 0; // next index to claim (grows past the path count once all are claimed)
export const COMPLETED = 1; // indices with a final status, so the pool can skip unchanged rounds
const CONTROL_BYTES = 8;

/** Per-index status (Int32). 0: not started. */
export const STARTED = 1;
export const OK = 2;
/** statfs threw a system error; its (negative, libuv) errno is in `errno`. */
export const ERRNO = 3;
/** statfs threw something without an errno. */
export const FAILED = 4;
/** The pool gave up on this call (timeout or exit); set by the pool only. */
export const ABANDONED = 5;

/** Byte offsets of the per-index areas for a round of `n` paths. */
export interface RoundLayout {
  readonly n: number;
  readonly status: number; // Int32 × n
  readonly owner: number; // Int32 × n: member number of the thread that claimed it
  readonly errno: number; // Int32 × n
  readonly started: number; // Float64 × n: performance.timeOrigin + performance.now() at claim
  readonly stats: number; // Float64 × n × STATS_FIELDS
  readonly bytes: number;
}

export function roundLayout(n: number): RoundLayout {
  const status = CONTROL_BYTES;
  const owner = status + 4 * n;
  const errno = owner + 4 * n;
  // Float64Array views need 8-byte alignment.
  const started = Math.ceil((errno + 4 * n) / 8) * 8;
  const stats = started + 8 * n;
  return { n, status, owner, errno, started, stats, bytes: stats + 8 * STATS_FIELDS * n };
}

/** Pool → worker: join this round as `member` and claim indices until none are left. */
export interface RoundMessage {
  readonly round: number;
  readonly member: number;
  readonly buffer: SharedArrayBuffer;
  readonly layout: RoundLayout;
  /** The round's paths joined by NUL (no path contains one): one string clones far cheaper than n. */
  readonly paths: string;
}

/** Worker → pool. `ready` once after loading, so boot time never delays a round. */
export type WorkerReply =
  | { readonly type: 'ready' }
  | { readonly type: 'done'; readonly round: number }
  | { readonly type: 'recovered' };

/** A clock both sides agree on: wall time at thread start plus monotonic time since. */
export function sharedClock(): number {
  return performance.timeOrigin + performance.now();
}
