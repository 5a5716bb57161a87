// The cgroup source of the Docker receiver: one container's usage read straight from its cgroup
// files and /proc, mapped as cAdvisor does. Reads are synchronous on purpose: cgroup and proc
// pseudo files are generated in memory and never wait on a disk, and readFileSync costs a few
// syscalls where the async path costs thread-pool round trips (100 containers in a few ms).
import { existsSync, readFileSync } from 'node:fs';
import type { ContainerSample, SampleProblem } from './container-sample.ts';
import type { CgroupV1Dirs, ContainerCgroup } from './cgroup-paths.ts';
import { isWord, parseBlkioServiceBytes, parseFlatKeyed, parseIoStat, parseSingleValue, splitFields } from './cgroup-files.ts';
import { parseNetDev } from './proc-net-dev.ts';

export { detectCgroupVersion, locateContainerCgroup } from './cgroup-paths.ts';
export type { CgroupLocation, CgroupV1Dirs, CgroupVersion, ContainerCgroup, V1Controller } from './cgroup-paths.ts';

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

const NS_PER_SECOND = 1e9;
const USEC_PER_SECOND = 1e6;
/** cpuacct.stat counts USER_HZ ticks, which the kernel fixes at 100 per second for user space. */
const USER_HZ = 100;
/** v1 reports "no limit" as a page-rounded LLONG_MAX (9223372036854771712); anything this big is no limit. */
const V1_UNLIMITED = 2 ** 62;

export interface SampleResult {
  readonly sample: ContainerSample;
  readonly problems: SampleProblem[];
}

/**
 * Reads one container's sample. Never throws for file problems: a field whose file is missing or
 * malformed is left undefined, with a problem naming the file, unless its controller is simply not
 * there (a v1 controller not found by the locator, a v2 controller not enabled for the cgroup).
 * Network counters need the container's pid (its network namespace).
 */
export function readContainerSample(cg: ContainerCgroup, options: { readonly procRoot: string }, pid?: number): SampleResult {
  const files = new Files();
  const sample: Mutable<ContainerSample> = {};
  if (cg.version === 1) readV1(cg.dirs, files, sample);
  else readV2(cg.dir, files, sample);
  if (pid !== undefined) {
    const dir = `${options.procRoot}/${pid}/net`;
    const text = files.read(dir, 'dev');
    if (text !== undefined) sample.networks = parseNetDev(text, `${dir}/dev`, files.problems);
  }
  return { sample, problems: files.problems };
}

/** Reads files for one sample, recording why one could not be read. */
class Files {
  readonly problems: SampleProblem[] = [];
  readonly #goneDirs = new Set<string>();

  /**
   * The file's text, or undefined after recording a problem. A missing file is not a problem when
   * `absent` says its controller is not there; when its whole directory is gone (the container
   * exited since it was located) that is reported once, not per file.
   */
  read(dir: string, name: string, absent?: () => boolean): string | undefined {
    const path = `${dir}/${name}`;
    try {
      return readFileSync(path, 'utf8');
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT') {
        this.problems.push({ source: path, message: `cannot read: ${(error as Error).message}` });
      } else if (this.#goneDirs.has(dir)) {
        // Already reported.
      } else if (!existsSync(dir)) {
        this.#goneDirs.add(dir);
        this.problems.push({ source: dir, message: 'directory no longer exists (container or process gone?)' });
      } else if (!absent?.()) {
        this.problems.push({ source: path, message: 'file is missing' });
      }
      return undefined;
    }
  }

  single(dir: string, name: string, absent?: () => boolean): number | undefined {
    const text = this.read(dir, name, absent);
    return text === undefined ? undefined : parseSingleValue(text, `${dir}/${name}`, this.problems);
  }

  /** Values aligned with `keys`, all undefined when the file could not be read. */
  keyed(dir: string, name: string, keys: readonly string[], absent?: () => boolean, optional?: (key: string) => boolean): Array<number | undefined> {
    const text = this.read(dir, name, absent);
    if (text === undefined) return new Array<undefined>(keys.length);
    return parseFlatKeyed(text, `${dir}/${name}`, keys, this.problems, optional);
  }
}

const V1_CPUACCT_STAT = ['user', 'system'] as const;
const V1_CPU_STAT = ['nr_throttled', 'throttled_time'] as const;
const V1_MEMORY_STAT = ['total_inactive_file', 'total_rss', 'total_cache'] as const;
/** In cAdvisor's order of preference: the throttle layer sees every I/O; CFQ's files are gone with CFQ (5.0). */
const V1_BLKIO_FILES = ['blkio.throttle.io_service_bytes_recursive', 'blkio.throttle.io_service_bytes', 'blkio.io_service_bytes_recursive'] as const;

function readV1(dirs: CgroupV1Dirs, files: Files, sample: Mutable<ContainerSample>): void {
  if (dirs.cpuacct !== undefined) {
    const usage = files.single(dirs.cpuacct, 'cpuacct.usage');
    if (usage !== undefined) sample.cpuUsageSeconds = usage / NS_PER_SECOND;
    const [user, system] = files.keyed(dirs.cpuacct, 'cpuacct.stat', V1_CPUACCT_STAT);
    if (user !== undefined) sample.cpuUserSeconds = user / USER_HZ;
    if (system !== undefined) sample.cpuSystemSeconds = system / USER_HZ;
  }
  if (dirs.cpu !== undefined) {
    const [periods, time] = files.keyed(dirs.cpu, 'cpu.stat', V1_CPU_STAT);
    if (periods !== undefined) sample.cpuThrottledPeriods = periods;
    if (time !== undefined) sample.cpuThrottledSeconds = time / NS_PER_SECOND;
  }
  if (dirs.memory !== undefined) {
    const usage = files.single(dirs.memory, 'memory.usage_in_bytes');
    const [inactiveFile, rss, cache] = files.keyed(dirs.memory, 'memory.stat', V1_MEMORY_STAT);
    setMemory(sample, usage, inactiveFile, rss, cache);
    const limit = files.single(dirs.memory, 'memory.limit_in_bytes');
    if (limit !== undefined) sample.memoryLimitBytes = limit >= V1_UNLIMITED ? 0 : limit;
  }
  if (dirs.pids !== undefined) {
    const pids = files.single(dirs.pids, 'pids.current');
    if (pids !== undefined) sample.pids = pids;
  }
  if (dirs.blkio !== undefined) readV1Blkio(dirs.blkio, files, sample);
}

/** The first blkio file that exists; only when none does is that a problem. */
function readV1Blkio(dir: string, files: Files, sample: Mutable<ContainerSample>): void {
  for (const name of V1_BLKIO_FILES) {
    let text: string;
    try {
      text = readFileSync(`${dir}/${name}`, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') continue;
      files.problems.push({ source: `${dir}/${name}`, message: `cannot read: ${(error as Error).message}` });
      return;
    }
    sample.blockIo = parseBlkioServiceBytes(text, `${dir}/${name}`, files.problems);
    return;
  }
  // Reports the gone directory, or the first file as missing.
  files.read(dir, V1_BLKIO_FILES[0]);
}

const V2_CPU_STAT = ['usage_usec', 'user_usec', 'system_usec', 'nr_throttled', 'throttled_usec'] as const;
const V2_MEMORY_STAT = ['inactive_file', 'anon', 'file'] as const;

function readV2(dir: string, files: Files, sample: Mutable<ContainerSample>): void {
  // Which controllers are enabled for this cgroup, read only when a controller's file is missing.
  let enabled: readonly string[] | null | undefined;
  const absent = (controller: string) => (): boolean => {
    if (enabled === undefined) {
      try {
        enabled = splitFields(readFileSync(`${dir}/cgroup.controllers`, 'utf8').trim());
      } catch {
        enabled = null;
      }
    }
    return enabled !== null && !enabled.includes(controller);
  };

  // cpu.stat is a core file; only its throttling lines need the cpu controller.
  const cpuAbsent = absent('cpu');
  const [usage, user, system, periods, throttled] = files.keyed(dir, 'cpu.stat', V2_CPU_STAT, undefined, (key) => key.includes('throttled') && cpuAbsent());
  if (usage !== undefined) sample.cpuUsageSeconds = usage / USEC_PER_SECOND;
  if (user !== undefined) sample.cpuUserSeconds = user / USEC_PER_SECOND;
  if (system !== undefined) sample.cpuSystemSeconds = system / USEC_PER_SECOND;
  if (periods !== undefined) sample.cpuThrottledPeriods = periods;
  if (throttled !== undefined) sample.cpuThrottledSeconds = throttled / USEC_PER_SECOND;

  const memoryAbsent = absent('memory');
  const current = files.single(dir, 'memory.current', memoryAbsent);
  const [inactiveFile, anon, file] = files.keyed(dir, 'memory.stat', V2_MEMORY_STAT, memoryAbsent);
  setMemory(sample, current, inactiveFile, anon, file);
  const max = files.read(dir, 'memory.max', memoryAbsent);
  if (max !== undefined) {
    const limit = isWord(max, 'max') ? 0 : parseSingleValue(max, `${dir}/memory.max`, files.problems);
    if (limit !== undefined) sample.memoryLimitBytes = limit;
  }

  const pids = files.single(dir, 'pids.current', absent('pids'));
  if (pids !== undefined) sample.pids = pids;

  const io = files.read(dir, 'io.stat', absent('io'));
  if (io !== undefined) sample.blockIo = parseIoStat(io, `${dir}/io.stat`, files.problems);
}

/** Working set as cAdvisor computes it: usage less inactive file pages, floored at 0. */
function setMemory(sample: Mutable<ContainerSample>, usage?: number, inactiveFile?: number, rss?: number, cache?: number): void {
  if (usage !== undefined) sample.memoryUsageBytes = usage;
  if (usage !== undefined && inactiveFile !== undefined) sample.memoryWorkingSetBytes = Math.max(0, usage - inactiveFile);
  if (rss !== undefined) sample.memoryRssBytes = rss;
  if (cache !== undefined) sample.memoryCacheBytes = cache;
}
