import { execFileSync } from 'node:child_process';
import { closeSync, constants, lstatSync, mkdirSync, openSync, unlinkSync } from 'node:fs';

/** workerData for the statfs pool: the real worker, with a statfs that blocks on FIFOs until released. */
export const FIFO_WORKER_DATA = { statfsModule: new URL('./fifo-statfs.ts', import.meta.url).href };

/** Makes `path` a FIFO: a statfs "mount" that hangs in the FIFO worker. */
export function makeHang(path: string): void {
  execFileSync('mkfifo', [path]);
}

/**
 * Unblocks a worker waiting in open(2) on the FIFO and puts a directory in its place, so a
 * later probe answers at once, like a mount that recovered. Returns whether a reader was waiting.
 */
export function releaseHang(path: string): boolean {
  if (!lstatSync(path, { throwIfNoEntry: false })?.isFIFO()) return false;
  let fd: number | undefined;
  try {
    fd = openSync(path, constants.O_WRONLY | constants.O_NONBLOCK);
  } catch (err) {
    // ENXIO: nobody is blocked on it.
    if ((err as NodeJS.ErrnoException).code !== 'ENXIO') throw err;
  }
  unlinkSync(path);
  mkdirSync(path);
  if (fd !== undefined) closeSync(fd);
  return fd !== undefined;
}
