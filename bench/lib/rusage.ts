// One command's own cost, measured by a small Python wrapper: posix_spawn, then wait4(2), whose
// rusage is that child's alone (user and system time in µs, max RSS). Node cannot reap a child
// with wait4, and `/usr/bin/time -f` prints CPU times to 10 ms. The wrapper's own start-up is
// outside the measurement: the clock starts just before posix_spawn and stops when wait4 returns.
import { python3 } from './file-tree.ts';
import { run } from '../../test/support/proc.ts';

const WRAPPER = String.raw`
import json, os, resource, sys, time
argv = sys.argv[1:]
r, w = os.pipe()
started = time.perf_counter_ns()
pid = os.posix_spawnp(argv[0], argv, os.environ, file_actions=[(os.POSIX_SPAWN_DUP2, w, 1), (os.POSIX_SPAWN_CLOSE, r)])
os.close(w)
out = []
while True:
    chunk = os.read(r, 65536)
    if not chunk:
        break
    out.append(chunk)
_, status, ru = os.wait4(pid, 0)
wall = time.perf_counter_ns() - started
own = resource.getrusage(resource.RUSAGE_SELF)
print(json.dumps({
    'wrapperCpuUs': round((own.ru_utime + own.ru_stime) * 1e6),
    'wallNs': wall,
    'userUs': round(ru.ru_utime * 1e6),
    'systemUs': round(ru.ru_stime * 1e6),
    'maxRssKiB': ru.ru_maxrss,
    'exitCode': os.waitstatus_to_exitcode(status),
    'stdout': b''.join(out).decode('utf-8', 'surrogateescape'),
}))
`;

export interface Rusage {
  /** From just before posix_spawn to wait4's return, ms. */
  wallMs: number;
  /** ru_utime + ru_stime of the child, ms. */
  cpuMs: number;
  userMs: number;
  systemMs: number;
  /** ru_maxrss: the child's peak resident set, bytes. */
  maxRssBytes: number;
  stdout: string;
  /** The wrapper's own CPU (Python start-up included), ms: not the command's, but load on the machine. */
  wrapperCpuMs: number;
}

/** Runs `argv` (stdout captured, stderr inherited by the wrapper and collected) and reports its rusage. */
export async function runWithRusage(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): Promise<Rusage> {
  const res = await run(python3(), ['-c', WRAPPER, ...argv], { env, timeoutMs: 600_000 });
  const r = JSON.parse(res.stdout) as { wrapperCpuUs: number; wallNs: number; userUs: number; systemUs: number; maxRssKiB: number; exitCode: number; stdout: string };
  if (r.exitCode !== 0) throw new Error(`${argv.join(' ')} exited ${r.exitCode}\nstdout: ${r.stdout}\nstderr: ${res.stderr}`);
  return {
    wallMs: r.wallNs / 1e6,
    cpuMs: (r.userUs + r.systemUs) / 1000,
    userMs: r.userUs / 1000,
    systemMs: r.systemUs / 1000,
    maxRssBytes: r.maxRssKiB * 1024,
    stdout: r.stdout,
    wrapperCpuMs: r.wrapperCpuUs / 1000,
  };
}
