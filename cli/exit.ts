import { blockedStatfsThreads } from '../receivers/filesystem/statfs-pool.ts';

/**
 * Ends the process with `code`. Node joins worker threads at exit, and a thread blocked in a
 * hung statfs (stale NFS, dead FUSE daemon) can never be joined: then the only way out is
 * SIGKILL to ourselves (exit status 137), after saying why on stderr.
 */
export function exitProcess(code: number): void {
  const blocked = blockedStatfsThreads();
  if (blocked === 0) {
    process.exitCode = code;
    return;
  }
  process.stderr.write(
    `nodemeter: ${blocked} statfs call(s) still blocked in the kernel on hung mounts; ` +
      'Node cannot join those threads, so the process ends with SIGKILL\n',
  );
  process.kill(process.pid, 'SIGKILL');
}
