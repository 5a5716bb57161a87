import { statfsSync } from 'node:fs';
import { enableCompileCache } from 'node:module';
import { tmpdir } from 'node:os';

/** Room the compile cache needs: it holds a few MiB for the agent's modules; keep a margin. */
const MIN_FREE_BYTES = 32 * 1024 * 1024;
const MIN_FREE_INODES = 4096;

/** Why the compile cache was left off at start, for the log once there is a logger. */
export interface CompileCacheSkipped {
  readonly directory: string;
  readonly reason: string;
}

let skipped: CompileCacheSkipped | undefined;

/**
 * Turns on Node's module compile cache (restarts of a DaemonSet pod start faster) in the temp
 * dir, unless that dir lacks room for it. On a full disk Node still creates a temp file for each
 * module it caches, fails to write it, and leaves it behind empty: hundreds of files per start,
 * so an agent restarting on a full disk would use up its inodes too. With NODE_COMPILE_CACHE set,
 * Node has already turned it on by itself and this changes nothing.
 */
export function enableCompileCacheWithRoom(): void {
  if (process.env['NODE_COMPILE_CACHE']) {
    enableCompileCache();
    return;
  }
  const directory = tmpdir();
  let reason: string | undefined;
  try {
    const fs = statfsSync(directory);
    const freeBytes = fs.bavail * fs.bsize;
    // Some filesystems (btrfs) report no inode counts at all: only a real count is a limit.
    if (freeBytes < MIN_FREE_BYTES) reason = `${freeBytes} bytes free, less than ${MIN_FREE_BYTES}`;
    else if (fs.files > 0 && fs.ffree < MIN_FREE_INODES) reason = `${fs.ffree} inodes free, less than ${MIN_FREE_INODES}`;
  } catch (err) {
    reason = `statfs failed: ${(err as Error).message}`;
  }
  if (reason === undefined) enableCompileCache();
  else skipped = { directory, reason };
}

/** Why the compile cache is off, if {@link enableCompileCacheWithRoom} left it off. */
export function compileCacheSkipped(): CompileCacheSkipped | undefined {
  return skipped;
}
