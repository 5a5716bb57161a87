import { exitBlockers } from '../pipeline/exit-blockers.ts';

/** How long to wait at exit for threads blocked in the kernel (e.g. statfs on a hung mount) to return by themselves. */
const BLOCKED_THREAD_GRACE_MS = 5_000;

/**
 * Ends the process with `code`. Node joins worker threads at exit, and a thread blocked in the
 * kernel (statfs on a stale NFS or dead FUSE mount; see pipeline/exit-blockers.ts) cannot be
 * joined until its call returns. Give such calls a short grace to return; past it, the only way
 * out is SIGKILL to ourselves (exit status 137), after saying why on stderr.
 */
export async function exitProcess(code: number, graceMs = BLOCKED_THREAD_GRACE_MS): Promise<void> {
  const until = Date.now() + graceMs;
  while (exitBlockers() > 0 && Date.now() < until) {
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  const blocked = exitBlockers();
  if (blocked === 0) {
    process.exitCode = code;
    return;
  }
  process.stderr.write(
    `nodemeter: ${blocked} thread(s) still blocked in the kernel (e.g. statfs on a hung mount) after ${graceMs} ms; ` +
      'Node cannot join those threads, so the process ends with SIGKILL\n',
  );
  process.kill(process.pid, 'SIGKILL');
}
