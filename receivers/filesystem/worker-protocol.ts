/** Messages between StatfsPool and a statfs worker thread (statfs-worker.js implements them). */

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

/** Pool → worker: statfs this path. One request at a time per worker. */
export interface StatfsRequest {
  readonly id: number;
  readonly path: string;
}

/** Worker → pool. `ready` once after loading, so boot time never counts against a timeout. */
export type StatfsReply =
  | { readonly type: 'ready' }
  | { readonly type: 'result'; readonly id: number; readonly ok: true; readonly stats: StatfsStats }
  | { readonly type: 'result'; readonly id: number; readonly ok: false; readonly code: string; readonly message: string };
