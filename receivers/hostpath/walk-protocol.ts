/**
 * Messages between walk-pool.ts and walk-worker.js (which repeats the constants: a .js worker
 * cannot import .ts). A job is one volume's walk; it is split into tasks that threads take from
 * the pool's queue, and a thread shares part of its task while another thread is idle.
 */

/** Index in a job's control Int32Array: non-zero once the job is aborted (the value says why). */
export const ABORT = 0;
/** Index in a job's control Int32Array: directory entries read so far, for the entry budget. */
export const ENTRIES = 1;
export const CONTROL_SLOTS = 2;

export const ABORT_STOPPED = 1;
export const ABORT_ENTRY_LIMIT = 2;

/** Index in the pool's Int32Array: threads waiting for a task while the queue is empty. */
export const POOL_IDLE = 0;

/** A path as a string, or as bytes when it is not valid UTF-8 (Uint8Array after cloning). */
export type WirePath = string | Uint8Array;

export type WalkTask =
  | { readonly kind: 'root'; readonly path: string }
  | { readonly kind: 'dirs'; readonly dirs: readonly WirePath[] }
  | { readonly kind: 'entries'; readonly dir: WirePath; readonly names: readonly WirePath[] };

/** statfs of the filesystem holding a volume root. */
export interface FilesystemTotals {
  readonly bsize: number;
  readonly blocks: number;
  readonly bavail: number;
  readonly files: number;
  readonly ffree: number;
}

/** Coordinator → worker: one task of one job. */
export interface WalkMessage {
  readonly jobId: number;
  readonly task: WalkTask;
  /** st_dev of the volume root: entries on another device are mount points, not crossed. */
  readonly dev: number;
  /** 0: unlimited. */
  readonly maxEntries: number;
  readonly control: SharedArrayBuffer;
}

/** Worker → coordinator. */
export type WorkerReply =
  | { readonly type: 'share'; readonly jobId: number; readonly dev: number; readonly task: WalkTask }
  | {
      readonly type: 'done';
      readonly jobId: number;
      /** The root task's lstat failed or found a symlink; nothing was walked. */
      readonly rootError?: { readonly code: string; readonly message: string };
      /** Set by the root task. */
      readonly root?: { readonly dev: number; readonly isDirectory: boolean; readonly fs?: FilesystemTotals };
      readonly aborted?: boolean;
      readonly blocks?: number;
      readonly bytes?: number;
      readonly inodes?: number;
      readonly mounts?: number;
      readonly skipped?: Readonly<Record<string, number>>;
      /** (ino, blocks, bytes) triples of inodes with several links counted by this task. */
      readonly links?: readonly number[];
    };
