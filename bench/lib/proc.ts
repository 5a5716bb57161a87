// Reading a process's cost from /proc: CPU ticks and resident memory.
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';

let cachedClockTicks: number | undefined;

/** Clock ticks per second (USER_HZ), as `getconf CLK_TCK` reports it. */
export function clockTicksPerSecond(): number {
  if (cachedClockTicks === undefined) {
    const out = execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim();
    const ticks = Number(out);
    if (!Number.isInteger(ticks) || ticks <= 0) throw new Error(`getconf CLK_TCK printed ${JSON.stringify(out)}`);
    cachedClockTicks = ticks;
  }
  return cachedClockTicks;
}

export interface CpuTicks {
  utime: number;
  stime: number;
}

/** Fields 3… of a /proc stat line: the command name (field 2) is in parentheses and may hold spaces. */
function statFields(stat: string): string[] {
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
}

/**
 * utime and stime of a whole process. /proc/<pid>/stat of the thread-group leader sums every
 * thread of the process, those still running and those that have exited, so Go's and Node's
 * worker threads (libuv pool, GC helpers) are included. Children are not (neither server has any).
 */
export function readCpuTicks(pid: number): CpuTicks {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const rest = statFields(stat);
  // rest[0] is field 3 (state); utime is field 14, stime field 15.
  const utime = Number(rest[11]);
  const stime = Number(rest[12]);
  if (!Number.isFinite(utime) || !Number.isFinite(stime)) throw new Error(`cannot parse /proc/${pid}/stat: ${stat}`);
  return { utime, stime };
}

/** utime + stime, in clock ticks. */
export function totalTicks(t: CpuTicks): number {
  return t.utime + t.stime;
}

/** VmRSS of a process in bytes, or undefined once it has gone. */
export function readRssBytes(pid: number): number | undefined {
  let status: string;
  try {
    status = readFileSync(`/proc/${pid}/status`, 'utf8');
  } catch {
    return undefined;
  }
  const match = /^VmRSS:\s+(\d+)\s+kB$/m.exec(status);
  return match?.[1] === undefined ? undefined : Number(match[1]) * 1024;
}

/** Number of threads of a process (informational). */
export function readThreadCount(pid: number): number | undefined {
  try {
    const match = /^Threads:\s+(\d+)$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match?.[1] === undefined ? undefined : Number(match[1]);
  } catch {
    return undefined;
  }
}

/** utime+stime ticks of every live thread of a process, keyed by thread id, with its name. */
export function readThreadTicks(pid: number): Map<number, { comm: string; ticks: number }> {
  const threads = new Map<number, { comm: string; ticks: number }>();
  let tids: string[];
  try {
    tids = readdirSync(`/proc/${pid}/task`);
  } catch {
    return threads;
  }
  for (const tid of tids) {
    try {
      const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
      const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      const rest = statFields(stat);
      threads.set(Number(tid), { comm, ticks: Number(rest[11]) + Number(rest[12]) });
    } catch {
      // thread exited meanwhile
    }
  }
  return threads;
}

/**
 * CPU ticks spent between two thread snapshots, summed per thread name; ticks of threads that
 * ended in between are only in the process total, so pass it to report them as "(exited)".
 */
export function threadTicksByName(
  before: Map<number, { comm: string; ticks: number }>,
  after: Map<number, { comm: string; ticks: number }>,
  processDelta: number,
): Record<string, number> {
  const byName: Record<string, number> = {};
  let sum = 0;
  for (const [tid, t] of after) {
    const delta = t.ticks - (before.get(tid)?.ticks ?? 0);
    if (delta === 0) continue;
    byName[t.comm] = (byName[t.comm] ?? 0) + delta;
    sum += delta;
  }
  if (processDelta - sum > 0) byName['(exited threads)'] = processDelta - sum;
  return byName;
}

export interface Memory {
  rssBytes: number;
  /** VmHWM: peak RSS since start, or since the last `5` written to clear_refs. */
  hwmBytes: number;
  threads: number;
}

/** VmRSS, VmHWM and the thread count of a live process; throws when a field is missing. */
export function readMemory(pid: number): Memory {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const field = (name: string): number => {
    const m = new RegExp(`^${name}:\\s+(\\d+)`, 'm').exec(status);
    if (m?.[1] === undefined) throw new Error(`no ${name} in /proc/${pid}/status`);
    return Number(m[1]);
  };
  return { rssBytes: field('VmRSS') * 1024, hwmBytes: field('VmHWM') * 1024, threads: field('Threads') };
}

/** Resets VmHWM to the current RSS (Linux ≥ 4.0); false where the kernel does not allow it. */
export function resetPeakRss(pid: number): boolean {
  try {
    writeFileSync(`/proc/${pid}/clear_refs`, '5');
    return true;
  } catch {
    return false;
  }
}
