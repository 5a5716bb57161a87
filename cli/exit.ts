import { blockedStatfsThreads } from '../receivers/filesystem/statfs-pool.ts';

/** How long to wait at exit for statfs calls blocked on hung mounts to return by themselves. */
const BLOCKED_THREAD_GRACE_MS = 5_000;

/**
 * Ends the process with `code`. Node joins worker threads at exit, and a thread blocked in a
 * hung statfs (stale NFS, dead FUSE daemon) cannot be joined until its call returns. Give such
 * calls a short grace to return; past it, the only way out is SIGKILL to ourselves (exit status
 * 137), after saying why on stderr.
 */
export async function exitProcess(code: number, graceMs = BLOCKED_THREAD_GRACE_MS): Promise<void> {
  const until = Date.now() + graceMs;
  while (blockedStatfsThreads() > 0 && Date.now() < until) {
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  const blocked = blockedStatfsThreads();
  if (blocked === 0) {
    process.exitCode = code;
    return;
  }
  process.stderr.write(
    `nodemeter: ${blocked} statfs call(s) still blocked in the kernel on hung mounts after ${graceMs} ms; ` +
      'Node cannot join those threads, so the process ends with SIGKILL\n',
  );
  process.kill(process.pid, 'SIGKILL');
}
