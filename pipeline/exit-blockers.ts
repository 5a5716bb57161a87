/**
 * Threads the process cannot join at exit, across all components. Node joins worker threads at
 * exit, even in `process.exit()`, and a thread blocked in an uninterruptible syscall (statfs on a
 * hung mount) cannot be joined until the call returns. A component registers such a thread while
 * it is blocked and unregisters it once it has exited; the CLI reads the count before exiting.
 */
const blockers = new Set<object>();

/** `thread` may block the exit until unblockExit; registering it again is a no-op. */
export function blockExit(thread: object): void {
  blockers.add(thread);
}

export function unblockExit(thread: object): void {
  blockers.delete(thread);
}

/** Threads currently registered as blocking the exit. */
export function exitBlockers(): number {
  return blockers.size;
}
