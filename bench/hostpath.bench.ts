// hostPath volume walks, side by side: nodemeter's WalkPool (receivers/hostpath/walk-pool.ts)
// against GNU `du -s -x` on the same synthetic trees (200 000 and 1 000 000 files by default),
// in the same run, caches warmed alike, runs interleaved. No root needed. See bench/README.md.
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

import type { ScannerKind } from '../receivers/hostpath/native-scanner.ts';
import { Cleanup } from './lib/cleanup.ts';
import { ensureTree, type TreeInfo } from './lib/file-tree.ts';
import { clockTicksPerSecond, readCpuTicks, readMemory, readThreadTicks, resetPeakRss, threadTicksByName, totalTicks } from './lib/proc.ts';
import { otherLoad, ownCpuMs, readMachineCpu, waitForQuiet, type OtherLoad } from './lib/machine-load.ts';
import { runWithRusage, type Rusage } from './lib/rusage.ts';
import { mib, ratio, round, summarize, type Summary } from './lib/stats.ts';
import { BenchChild } from './lib/bench-child.ts';
import { gitDescribe } from './lib/git.ts';
import { checkAtMost, hostDescription, verdict, type TargetCheck } from './lib/report.ts';
import type { ChildReply, ChildRequest, DelayStats } from './lib/walk-child.ts';

export const DEFAULT_SIZES = [200_000, 1_000_000];

/** What the report holds nodemeter to; a miss is printed, never a failure of the process. */
export const TARGETS = {
  /** nodemeter / du, median wall time per walk. */
  wallRatio: 0.8,
  /** nodemeter / du, median CPU time (user + system) per walk. */
  cpuRatio: 1.5,
  /** Peak RSS during the walks minus RSS before the first walk, nodemeter's process. */
  rssGrowthMiB: 50,
};

/** monitorEventLoopDelay resolution in nodemeter's process. */
const DELAY_RESOLUTION_MS = 10;

/** Before timing a size, wait (up to QUIET_TIMEOUT_MS) until other processes use less than this many CPUs. */
const QUIET_MAX_CPUS = 0.15;
const QUIET_TIMEOUT_MS = 120_000;
/** A timed pair during which other processes used more than this many CPUs is discarded and run again. */
const DISTURBED_CPUS = 0.2;

/** Timed repetitions per tool when --repetitions is not given. */
export function defaultRepetitions(files: number): number {
  return files >= 1_000_000 ? 7 : 11;
}

export interface HostpathBenchOptions {
  repoRoot: string;
  /** Tree sizes, in files (non-directory entries). */
  sizes: number[];
  /** WalkPool threads. */
  threads: number;
  /** The walk threads' directory scanner. */
  scanner: ScannerKind;
  /** Timed repetitions per tool and size; undefined: defaultRepetitions(size). */
  repetitions: number | undefined;
  /** Where the trees are built and kept between runs. */
  cacheDir: string;
  /** Build the trees again even when a complete one is cached. */
  rebuild: boolean;
  /** Root only: drop the kernel's dentry and inode caches before each size's warm-up. */
  dropCaches: boolean;
  /** Where to write the results JSON; undefined = do not write. */
  resultsFile: string | undefined;
  /** Longest wait for a quiet machine before timing (and after a discarded pair); default QUIET_TIMEOUT_MS. */
  quietWaitMs?: number;
  log: (line: string) => void;
}




// ---------------------------------------------------------------------------------------------
// nodemeter: one long-lived child per tree size (bench/lib/walk-child.ts)

type Walked = Extract<ChildReply, { type: 'walked' }>;

type WalkChild = BenchChild<ChildRequest, ChildReply>;

/** Node without the benchmark's own flags, one WalkPool of `threads`; resolves once it is ready. */
async function startWalkChild(repoRoot: string, threads: number, scanner: ScannerKind): Promise<WalkChild> {
  const script = join(repoRoot, 'bench', 'lib', 'walk-child.ts');
  const { child } = await BenchChild.start<ChildRequest, ChildReply>(script, [String(threads), String(DELAY_RESOLUTION_MS), scanner], 'walk child', repoRoot);
  return child;
}

let nextWalkId = 1;

async function walk(child: WalkChild, root: string): Promise<Walked> {
  const id = nextWalkId++;
  const reply = await child.request({ type: 'walk', id, root }, 'walked');
  if (reply.id !== id) throw new Error(`walk child: expected the result of walk ${id}, got that of walk ${reply.id}`);
  return reply;
}

// ---------------------------------------------------------------------------------------------
// du

const DU_ENV = { ...process.env, LC_ALL: 'C' };

interface DuRun extends Rusage {
  bytes: number;
}

/** `du -s -x <flags> root` under the rusage wrapper; its one number. */
async function du(flags: readonly string[], root: string): Promise<DuRun> {
  const r = await runWithRusage(['du', '-s', '-x', ...flags, root], DU_ENV);
  const m = /^(\d+)\t/.exec(r.stdout);
  if (m?.[1] === undefined) throw new Error(`cannot parse du's output: ${JSON.stringify(r.stdout)}`);
  return { ...r, bytes: Number(m[1]) };
}

function duVersion(): string {
  return execFileSync('du', ['--version'], { encoding: 'utf8', env: DU_ENV }).split('\n')[0] ?? 'unknown';
}

interface Dcache {
  /** nr_dentry of /proc/sys/fs/dentry-state: dentries the kernel holds, every filesystem's. */
  dentries: number;
  /** Buckets of the dentry hash table, when the boot log or command line tells. */
  hashBuckets: number | undefined;
}

let cachedBuckets: number | null | undefined;

/**
 * Per-entry lookup cost grows with the dentries cached per hash bucket; VMs booted with a small
 * `dhash_entries` (this one: 131 072) slow every name lookup once millions of dentries are cached,
 * so the state is recorded with the figures.
 */
function readDcache(): Dcache {
  const dentries = Number(readFileSync('/proc/sys/fs/dentry-state', 'utf8').split(/\s+/)[0]);
  if (cachedBuckets === undefined) {
    const fromCmdline = /\bdhash_entries=(\d+)/.exec(readFileSync('/proc/cmdline', 'utf8'))?.[1];
    let fromLog: string | undefined;
    if (fromCmdline === undefined) {
      try {
        fromLog = /Dentry cache hash table entries: (\d+)/.exec(execFileSync('dmesg', { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }))?.[1];
      } catch {
        // dmesg restricted
      }
    }
    const raw = fromCmdline ?? fromLog;
    cachedBuckets = raw === undefined ? null : Number(raw);
  }
  return { dentries, hashBuckets: cachedBuckets ?? undefined };
}

/** Drops clean dentries and inodes, every filesystem's (root only; the trees are already written back). */
function dropDentriesAndInodes(): void {
  writeFileSync('/proc/sys/vm/drop_caches', '2');
}


// ---------------------------------------------------------------------------------------------

interface Totals {
  blockBytes: number;
  apparentBytes: number;
  inodes: number;
}

interface SizeResult {
  tree: TreeInfo;
  repetitions: number;
  /** From du in the warm-up phase: the reference every timed run is checked against. */
  reference: Totals;
  /** Every disagreement found (empty: the totals agree throughout). */
  mismatches: string[];
  du: { wallMs: number[]; cpuMs: number[]; userMs: number[]; systemMs: number[]; maxRssBytes: number[] };
  nodemeter: {
    wallMs: number[];
    cpuMs: number[];
    userMs: number[];
    systemMs: number[];
    /** The walker's own durationMs (from walk() to the last thread's reply). */
    walkerDurationMs: number[];
    rssBeforeFirstWalkBytes: number;
    /** VmHWM after the walks (reset just before the first), or the largest VmRSS read between walks. */
    peakRssBytes: number;
    peakMethod: string;
    rssAfterWalksBytes: number;
    threadsBefore: number;
    threadsAfter: number;
    /** monitorEventLoopDelay statistics of each timed walk. */
    delayPerWalk: DelayStats[];
    /** CPU ms per timed walk by thread name (from /proc/<pid>/task, 1/CLK_TCK resolution). */
    cpuMsPerWalkByThread: Record<string, number>;
    mountPoints: number;
    skippedTotal: number;
  };
  /** The kernel's dentry cache when timing started. */
  dcache: Dcache;
  /** CPU used by processes other than the benchmark's, before and during the timed runs. */
  load: {
    beforeTiming: { quiet: boolean; otherCpus: number; waitedMs: number };
    du: OtherLoad[];
    nodemeter: OtherLoad[];
    /** Pairs thrown away because other processes used more than DISTURBED_CPUS meanwhile. */
    discarded: { duWallMs: number; nodemeterWallMs: number; otherCpus: [number, number] }[];
  };
}

function checkWalk(w: Walked, reference: Totals, what: string, mismatches: string[]): void {
  if (!w.outcome.ok) throw new Error(`${what}: the walk failed: ${w.outcome.reason}: ${w.outcome.message}`);
  const r = w.outcome.result;
  const got: Totals = { blockBytes: r.blockBytes, apparentBytes: r.apparentBytes, inodes: r.inodes };
  for (const key of Object.keys(reference) as (keyof Totals)[]) {
    if (got[key] !== reference[key]) mismatches.push(`${what}: nodemeter ${key} ${got[key]}, du ${reference[key]} (difference ${got[key] - reference[key]})`);
  }
  if (r.skippedTotal > 0) mismatches.push(`${what}: nodemeter skipped ${r.skippedTotal} entries ${JSON.stringify(r.skipped)}`);
}

async function benchSize(tree: TreeInfo, opts: HostpathBenchOptions, cleanup: Cleanup): Promise<SizeResult> {
  const { log } = opts;
  const repetitions = opts.repetitions ?? defaultRepetitions(tree.files);
  const ticksPerSecond = clockTicksPerSecond();

  const child = await startWalkChild(opts.repoRoot, opts.threads, opts.scanner);
  cleanup.add(`stop the walk child ${child.pid}`, () => child.stop({ type: 'shutdown' }), () => child.kill());
  // Let start-up settle (module loading, JIT of the first lines) before the baseline.
  await sleep(500);
  const before = readMemory(child.pid);
  const peakReset = resetPeakRss(child.pid);
  log(`  nodemeter walk child pid ${child.pid}, ${opts.threads} walk threads, ${opts.scanner} scanner: RSS ${mib(before.rssBytes)} MiB before the first walk${peakReset ? '' : ' (cannot reset VmHWM: peak from RSS read between walks)'}`);
  let sampledPeak = before.rssBytes;
  const sample = (): void => {
    sampledPeak = Math.max(sampledPeak, readMemory(child.pid).rssBytes);
  };

  if (opts.dropCaches) dropDentriesAndInodes();
  // Warm-up: each tool walks the tree once; du's figures are the reference totals.
  const warmDu = await du(['-B1'], tree.root);
  const warmNm = await walk(child, tree.root);
  sample();
  const apparent = await du(['-b'], tree.root);
  const inodes = await du(['--inodes'], tree.root);
  const reference: Totals = { blockBytes: warmDu.bytes, apparentBytes: apparent.bytes, inodes: inodes.bytes };
  const mismatches: string[] = [];
  checkWalk(warmNm, reference, 'warm-up', mismatches);
  const warmResult = warmNm.outcome.ok ? warmNm.outcome.result : undefined;
  log(
    `  warm-up: du ${warmDu.wallMs.toFixed(0)} ms, nodemeter ${warmNm.wallMs.toFixed(0)} ms; totals du ${reference.blockBytes} B / ${reference.apparentBytes} B apparent / ${reference.inodes} inodes, ` +
      `nodemeter ${warmResult?.blockBytes} / ${warmResult?.apparentBytes} / ${warmResult?.inodes}`,
  );
  if (mismatches.length > 0) {
    throw new Error(`the totals disagree, so the walks are not like for like; not timing them:\n  ${mismatches.join('\n  ')}`);
  }

  const result: SizeResult = {
    tree,
    repetitions,
    reference,
    mismatches,
    du: { wallMs: [], cpuMs: [], userMs: [], systemMs: [], maxRssBytes: [] },
    nodemeter: {
      wallMs: [],
      cpuMs: [],
      userMs: [],
      systemMs: [],
      walkerDurationMs: [],
      rssBeforeFirstWalkBytes: before.rssBytes,
      peakRssBytes: 0,
      peakMethod: peakReset ? 'VmHWM, reset (clear_refs 5) just before the first walk' : 'largest VmRSS read after each walk (VmHWM could not be reset)',
      rssAfterWalksBytes: 0,
      threadsBefore: before.threads,
      threadsAfter: 0,
      delayPerWalk: [],
      cpuMsPerWalkByThread: {},
      mountPoints: warmResult?.mountPoints ?? 0,
      skippedTotal: 0,
    },
    dcache: { dentries: 0, hashBuckets: undefined },
    load: { beforeTiming: { quiet: true, otherCpus: 0, waitedMs: 0 }, du: [], nodemeter: [], discarded: [] },
  };

  // A shared machine: wait for other jobs to calm down, then account for them on every run.
  const childCpuMs = (): number => (totalTicks(readCpuTicks(child.pid)) * 1000) / ticksPerSecond;
  const quiet = await waitForQuiet(QUIET_MAX_CPUS, opts.quietWaitMs ?? QUIET_TIMEOUT_MS, childCpuMs, log);
  result.load.beforeTiming = { quiet: quiet.quiet, otherCpus: round(quiet.load.otherCpus, 3), waitedMs: Math.round(quiet.waitedMs) };
  if (!quiet.quiet) log(`  WARNING: other processes still use ${quiet.load.otherCpus.toFixed(2)} CPUs; timing anyway, the figures are disturbed`);
  result.dcache = readDcache();
  log(`  kernel dentry cache: ${result.dcache.dentries} dentries${result.dcache.hashBuckets === undefined ? '' : ` on ${result.dcache.hashBuckets} hash buckets`}`);

  // Timed: du, nodemeter, du, nodemeter, … Nothing else of the benchmark runs during a walk:
  // memory is read between walks (VmHWM keeps the peak), per-thread CPU before and after the loop.
  // A pair during which other processes used more than DISTURBED_CPUS is discarded and run again
  // once the machine is quiet (at most `repetitions` times in all; after that they are kept).
  const threadTicksBefore = readThreadTicks(child.pid);
  const ticksBefore = totalTicks(readCpuTicks(child.pid));
  let walks = 0;
  for (let i = 0; i < repetitions; ) {
    const label = `${String(i + 1).padStart(2)}/${repetitions}`;
    let machine = readMachineCpu();
    let own = process.cpuUsage();
    const d = await du(['-B1'], tree.root);
    const duLoad = otherLoad(machine, readMachineCpu(), d.cpuMs + d.wrapperCpuMs + ownCpuMs(own));
    if (d.bytes !== reference.blockBytes) mismatches.push(`run ${label}: du ${d.bytes} B, ${reference.blockBytes} B in the warm-up`);

    machine = readMachineCpu();
    own = process.cpuUsage();
    const childBefore = childCpuMs();
    const w = await walk(child, tree.root);
    const nmLoad = otherLoad(machine, readMachineCpu(), childCpuMs() - childBefore + ownCpuMs(own));
    walks++;
    sample();
    checkWalk(w, reference, `run ${label}`, mismatches);

    const line =
      `du ${d.wallMs.toFixed(0)} ms wall, ${d.cpuMs.toFixed(0)} ms CPU; nodemeter ${w.wallMs.toFixed(0)} ms wall, ${(w.userMs + w.systemMs).toFixed(0)} ms CPU; ` +
      `other processes ${duLoad.otherCpus.toFixed(2)} / ${nmLoad.otherCpus.toFixed(2)} CPUs`;
    const disturbed = Math.max(duLoad.otherCpus, nmLoad.otherCpus) > DISTURBED_CPUS;
    if (disturbed && result.load.discarded.length < repetitions) {
      result.load.discarded.push({ duWallMs: round(d.wallMs, 1), nodemeterWallMs: round(w.wallMs, 1), otherCpus: [round(duLoad.otherCpus, 3), round(nmLoad.otherCpus, 3)] });
      log(`  ${label}: ${line}: discarded, run again`);
      const quietAgain = await waitForQuiet(QUIET_MAX_CPUS, opts.quietWaitMs ?? QUIET_TIMEOUT_MS, childCpuMs, log);
      if (!quietAgain.quiet) log(`  other processes still use ${quietAgain.load.otherCpus.toFixed(2)} CPUs; going on`);
      continue;
    }
    result.load.du.push(duLoad);
    result.load.nodemeter.push(nmLoad);
    result.du.wallMs.push(d.wallMs);
    result.du.cpuMs.push(d.cpuMs);
    result.du.userMs.push(d.userMs);
    result.du.systemMs.push(d.systemMs);
    result.du.maxRssBytes.push(d.maxRssBytes);
    if (w.outcome.ok) {
      result.nodemeter.walkerDurationMs.push(w.outcome.result.durationMs);
      result.nodemeter.skippedTotal += w.outcome.result.skippedTotal;
    }
    result.nodemeter.wallMs.push(w.wallMs);
    result.nodemeter.cpuMs.push(w.userMs + w.systemMs);
    result.nodemeter.userMs.push(w.userMs);
    result.nodemeter.systemMs.push(w.systemMs);
    result.nodemeter.delayPerWalk.push(w.delay);
    log(`  ${label}: ${line}${disturbed ? ' (disturbed, kept: no reruns left)' : ''}`);
    i++;
  }
  const byThreadTicks = threadTicksByName(threadTicksBefore, readThreadTicks(child.pid), totalTicks(readCpuTicks(child.pid)) - ticksBefore);
  for (const [name, ticks] of Object.entries(byThreadTicks)) {
    result.nodemeter.cpuMsPerWalkByThread[name] = round((ticks * 1000) / ticksPerSecond / walks, 1);
  }
  const after = readMemory(child.pid);
  result.nodemeter.peakRssBytes = peakReset ? after.hwmBytes : Math.max(sampledPeak, after.rssBytes);
  result.nodemeter.rssAfterWalksBytes = after.rssBytes;
  result.nodemeter.threadsAfter = after.threads;
  await child.stop({ type: 'shutdown' });
  return result;
}

// ---------------------------------------------------------------------------------------------

/**
 * The timed walks' event-loop delay together: the largest sample of any walk (exact), and for
 * p99 the worst walk's p99, an upper bound on the p99 of all samples pooled (a mixture's
 * quantile never exceeds its components' largest), since ELD histograms cannot be merged.
 */
function combinedDelay(perWalk: readonly DelayStats[]): { maxMs: number; p99Ms: number; medianWalkP99Ms: number; samples: number } {
  return {
    maxMs: Math.max(...perWalk.map((d) => d.maxMs)),
    p99Ms: Math.max(...perWalk.map((d) => d.p99Ms)),
    medianWalkP99Ms: summarize(perWalk.map((d) => d.p99Ms)).median,
    samples: perWalk.reduce((n, d) => n + d.count, 0),
  };
}

interface LoadSummary {
  beforeTiming: SizeResult['load']['beforeTiming'];
  /** CPUs used by other processes during the timed runs of each tool: median and max over runs. */
  otherCpus: { du: { median: number; max: number }; nodemeter: { median: number; max: number } };
  stealCpus: { du: { median: number; max: number }; nodemeter: { median: number; max: number } };
  /** Kept timed runs during which other processes used more than DISTURBED_CPUS. */
  disturbedRuns: number;
  /** Pairs discarded (and run again) for that reason. */
  discardedPairs: number;
}

function loadSummary(r: SizeResult): LoadSummary {
  const pick = (loads: OtherLoad[], key: keyof OtherLoad): { median: number; max: number } => {
    const s = summarize(loads.map((l) => l[key]));
    return { median: round(s.median, 3), max: round(s.max, 3) };
  };
  return {
    beforeTiming: r.load.beforeTiming,
    otherCpus: { du: pick(r.load.du, 'otherCpus'), nodemeter: pick(r.load.nodemeter, 'otherCpus') },
    stealCpus: { du: pick(r.load.du, 'stealCpus'), nodemeter: pick(r.load.nodemeter, 'stealCpus') },
    disturbedRuns: [...r.load.du, ...r.load.nodemeter].filter((l) => l.otherCpus > DISTURBED_CPUS).length,
    discardedPairs: r.load.discarded.length,
  };
}

function sizeReport(r: SizeResult): Record<string, unknown> {
  const dWall = summarize(r.du.wallMs);
  const nWall = summarize(r.nodemeter.wallMs);
  const dCpu = summarize(r.du.cpuMs);
  const nCpu = summarize(r.nodemeter.cpuMs);
  const brief = (s: Summary): Record<string, number> => ({ median: round(s.median, 1), p90: round(s.p90, 1), min: round(s.min, 1), max: round(s.max, 1), mean: round(s.mean, 1) });
  const growth = r.nodemeter.peakRssBytes - r.nodemeter.rssBeforeFirstWalkBytes;
  const delay = combinedDelay(r.nodemeter.delayPerWalk);
  const ratios = {
    wallMedian: ratio(nWall.median, dWall.median),
    wallP90: ratio(nWall.p90, dWall.p90),
    cpuMedian: ratio(nCpu.median, dCpu.median),
    cpuP90: ratio(nCpu.p90, dCpu.p90),
  };
  const { root: _root, ...tree } = r.tree;
  return {
    files: r.tree.files,
    tree: { ...tree, path: r.tree.root },
    repetitions: r.repetitions,
    totals: { du: r.reference, agree: r.mismatches.length === 0, mismatches: r.mismatches },
    du: {
      wallMs: brief(dWall),
      cpuMs: brief(dCpu),
      userMs: round(summarize(r.du.userMs).median, 1),
      systemMs: round(summarize(r.du.systemMs).median, 1),
      maxRssMiB: { median: mib(summarize(r.du.maxRssBytes).median), max: mib(summarize(r.du.maxRssBytes).max) },
      runs: { wallMs: r.du.wallMs.map((v) => round(v, 1)), cpuMs: r.du.cpuMs.map((v) => round(v, 1)) },
    },
    nodemeter: {
      wallMs: brief(nWall),
      cpuMs: brief(nCpu),
      userMs: round(summarize(r.nodemeter.userMs).median, 1),
      systemMs: round(summarize(r.nodemeter.systemMs).median, 1),
      walkerDurationMs: brief(summarize(r.nodemeter.walkerDurationMs)),
      cpuMsPerWalkByThread: r.nodemeter.cpuMsPerWalkByThread,
      rssMiB: {
        beforeFirstWalk: mib(r.nodemeter.rssBeforeFirstWalkBytes),
        peak: mib(r.nodemeter.peakRssBytes),
        growth: mib(growth),
        afterWalks: mib(r.nodemeter.rssAfterWalksBytes),
        peakMethod: r.nodemeter.peakMethod,
      },
      threads: { beforeFirstWalk: r.nodemeter.threadsBefore, afterWalks: r.nodemeter.threadsAfter },
      eventLoopDelayMs: {
        resolutionMs: DELAY_RESOLUTION_MS,
        max: round(delay.maxMs, 2),
        p99: round(delay.p99Ms, 2),
        p99Meaning: "the worst timed walk's p99 (an upper bound on the pooled p99)",
        medianWalkP99: round(delay.medianWalkP99Ms, 2),
        samples: delay.samples,
        perWalk: r.nodemeter.delayPerWalk.map((d) => ({ max: round(d.maxMs, 2), p99: round(d.p99Ms, 2), p50: round(d.p50Ms, 2), samples: d.count })),
      },
      mountPoints: r.nodemeter.mountPoints,
      runs: { wallMs: r.nodemeter.wallMs.map((v) => round(v, 1)), cpuMs: r.nodemeter.cpuMs.map((v) => round(v, 1)) },
    },
    dcache: r.dcache,
    machineLoad: {
      ...loadSummary(r),
      perRun: { du: r.load.du.map((l) => round(l.otherCpus, 3)), nodemeter: r.load.nodemeter.map((l) => round(l.otherCpus, 3)) },
      discarded: r.load.discarded,
    },
    ratios,
    targets: {
      wallRatio: checkAtMost(ratios.wallMedian, TARGETS.wallRatio),
      cpuRatio: checkAtMost(ratios.cpuMedian, TARGETS.cpuRatio),
      rssGrowthMiB: checkAtMost(mib(growth), TARGETS.rssGrowthMiB),
    },
  };
}

function printSize(r: SizeResult, report: Record<string, unknown>, threads: number, log: (l: string) => void): void {
  const num = (v: number | null | undefined, d = 1): string => (v === null || v === undefined ? '-' : v.toFixed(d));
  const pad = (s: string, n: number): string => s.padEnd(n);
  const row = (label: string, a: string, b: string, c = '', t = ''): string => `${pad(label, 36)}${pad(a, 14)}${pad(b, 14)}${pad(c, 12)}${t}`;
  const dWall = summarize(r.du.wallMs);
  const nWall = summarize(r.nodemeter.wallMs);
  const dCpu = summarize(r.du.cpuMs);
  const nCpu = summarize(r.nodemeter.cpuMs);
  const ratios = report.ratios as Record<string, number | null>;
  const targets = report.targets as Record<string, TargetCheck>;
  const nm = r.nodemeter;
  const t = r.tree;
  log('');
  log(
    `${t.files.toLocaleString('en-US')} files (${t.regularFiles} regular of which ${t.emptyFiles} empty and ${t.sparseFiles} sparse, ${t.symlinks} symlinks, ` +
      `${t.hardLinks} hard links; ${t.directories} directories), ${r.repetitions} timed runs each, interleaved du → nodemeter, nodemeter threads ${threads}`,
  );
  log(row('', 'nodemeter', 'du -s -x', 'nm / du', 'target'));
  log(row('wall ms, median', num(nWall.median), num(dWall.median), num(ratios.wallMedian, 3), verdict(targets.wallRatio as TargetCheck)));
  log(row('wall ms, p90', num(nWall.p90), num(dWall.p90), num(ratios.wallP90, 3)));
  log(row('CPU ms (user+sys), median', num(nCpu.median), num(dCpu.median), num(ratios.cpuMedian, 3), verdict(targets.cpuRatio as TargetCheck)));
  log(row('CPU ms (user+sys), p90', num(nCpu.p90), num(dCpu.p90), num(ratios.cpuP90, 3)));
  log(
    row(
      'RSS MiB before / peak / growth',
      `${num(mib(nm.rssBeforeFirstWalkBytes))} / ${num(mib(nm.peakRssBytes))} / ${num(mib(nm.peakRssBytes - nm.rssBeforeFirstWalkBytes))}`,
      '',
      '',
      `growth ${verdict(targets.rssGrowthMiB as TargetCheck, ' MiB')}`,
    ),
  );
  log(row('  du max RSS MiB (median)', '', num(mib(summarize(r.du.maxRssBytes).median))));
  const delay = combinedDelay(nm.delayPerWalk);
  log(row('event-loop delay ms, max / p99', `${num(delay.maxMs, 2)} / ${num(delay.p99Ms, 2)}`, '', '', `(${DELAY_RESOLUTION_MS} ms timer: an idle loop reads ${DELAY_RESOLUTION_MS}; p99 of the worst walk)`));
  const threadsLine = Object.entries(nm.cpuMsPerWalkByThread)
    .sort((a, b) => b[1] - a[1])
    .map(([name, ms]) => `${name} ${ms}`)
    .join(', ');
  log(`  nodemeter CPU ms per walk by thread: ${threadsLine}`);
  log(
    `  totals (du -s -x -B1 / -b / --inodes): ${r.reference.blockBytes} B, ${r.reference.apparentBytes} B apparent, ${r.reference.inodes} inodes: ` +
      (r.mismatches.length === 0 ? 'nodemeter agrees on every run' : `DISAGREE (${r.mismatches.length})`),
  );
  for (const m of r.mismatches) log(`    ${m}`);
  const buckets = r.dcache.hashBuckets;
  log(`  kernel dentry cache at timing: ${r.dcache.dentries} dentries${buckets === undefined ? '' : ` on ${buckets} hash buckets (${(r.dcache.dentries / buckets).toFixed(1)} per bucket)`}`);
  const load = loadSummary(r);
  log(
    `  other processes' CPU during the timed runs (median / max CPUs): du runs ${load.otherCpus.du.median.toFixed(2)} / ${load.otherCpus.du.max.toFixed(2)}, ` +
      `nodemeter runs ${load.otherCpus.nodemeter.median.toFixed(2)} / ${load.otherCpus.nodemeter.max.toFixed(2)}; steal max ${Math.max(load.stealCpus.du.max, load.stealCpus.nodemeter.max).toFixed(2)}; ` +
      `${load.discardedPairs} disturbed pair(s) discarded and run again`,
  );
  if (load.disturbedRuns > 0) log(`  WARNING: ${load.disturbedRuns} of ${2 * r.repetitions} timed runs shared the machine with more than ${DISTURBED_CPUS} CPUs of other work`);
}

export async function runHostpathBench(opts: HostpathBenchOptions): Promise<Record<string, unknown>> {
  const { log } = opts;
  if (opts.dropCaches && process.getuid?.() !== 0) throw new Error('--drop-caches needs root (it writes /proc/sys/vm/drop_caches)');
  const cleanup = new Cleanup();
  const results: SizeResult[] = [];
  const startup: Rusage[] = [];
  try {
    // Trees first, so no build's writes are still in flight while anything is timed.
    const trees: TreeInfo[] = [];
    for (const files of opts.sizes) {
      const tree = await ensureTree(opts.cacheDir, files, opts.rebuild, log);
      log(`tree ${tree.root}: ${tree.built ? `built in ${(tree.buildMs / 1000).toFixed(1)} s` : `cached (built ${tree.builtAt})`}`);
      trees.push(tree);
    }
    // du's fixed cost (exec, dynamic loading, locale) for reference: on an empty directory.
    const empty = join(opts.cacheDir, 'empty');
    mkdirSync(empty, { recursive: true });
    for (let i = 0; i < 5; i++) startup.push(await du(['-B1'], empty));
    for (const tree of trees) {
      log('');
      log(`${tree.files} files: ${tree.root}`);
      results.push(await benchSize(tree, opts, cleanup));
    }
  } finally {
    await cleanup.run();
  }

  const sizes = results.map(sizeReport);
  const result: Record<string, unknown> = {
    benchmark: 'hostpath',
    date: new Date().toISOString(),
    host: hostDescription(),
    versions: { node: process.version, du: duVersion(), nodemeter: gitDescribe(opts.repoRoot) },
    parameters: {
      sizes: opts.sizes,
      threads: opts.threads,
      scanner: opts.scanner,
      repetitions: results.map((r) => r.repetitions),
      cacheDir: opts.cacheDir,
      dropCaches: opts.dropCaches ? 'dentries and inodes dropped (drop_caches 2) before each size' : 'no',
      order: 'per size: warm-up (du once, nodemeter once), then du, nodemeter, du, nodemeter, …',
      du: 'du -s -x -B1 <tree> (LC_ALL=C), under a Python posix_spawn + wait4 wrapper',
      nodemeter: 'WalkPool.walk(tree, { timeoutMs: 0, maxEntries: 0 }) in one long-lived child per size (bench/lib/walk-child.ts)',
      wall: 'du: posix_spawn to wait4 return; nodemeter: around await pool.walk() in the child',
      cpu: "du: ru_utime + ru_stime from wait4; nodemeter: the child's process.cpuUsage() delta around the walk (all its threads)",
      rss: 'nodemeter: VmRSS before the first walk, peak from VmHWM reset just before it; du: ru_maxrss',
      eventLoopDelay: `monitorEventLoopDelay({ resolution: ${DELAY_RESOLUTION_MS} }) in the child, reset and enabled for each walk`,
      machineLoad:
        `/proc/stat busy time minus the benchmark's own processes, per timed run; timing starts once other processes use < ${QUIET_MAX_CPUS} CPUs (waits up to ${(opts.quietWaitMs ?? QUIET_TIMEOUT_MS) / 1000} s); ` +
        `a pair with > ${DISTURBED_CPUS} CPUs of other work is discarded and run again (at most as many times as there are repetitions)`,
    },
    duStartupOnEmptyDir: { wallMs: round(summarize(startup.map((s) => s.wallMs)).median, 2), cpuMs: round(summarize(startup.map((s) => s.cpuMs)).median, 2) },
    targets: TARGETS,
    sizes,
  };
  log('');
  log(`du on an empty directory (its fixed cost, median of 5): ${(result.duStartupOnEmptyDir as { wallMs: number }).wallMs} ms wall, ${(result.duStartupOnEmptyDir as { cpuMs: number }).cpuMs} ms CPU`);
  results.forEach((r, i) => printSize(r, sizes[i] as Record<string, unknown>, opts.threads, log));
  log('');
  log('Targets are reported, not asserted: a miss does not fail the benchmark; wrong totals do.');
  const wrong = results.filter((r) => r.mismatches.length > 0);
  if (wrong.length > 0) {
    throw new Error(`nodemeter's totals disagree with du for ${wrong.map((r) => `${r.tree.files} files`).join(', ')}; results not written`);
  }
  if (opts.resultsFile !== undefined) {
    mkdirSync(join(opts.resultsFile, '..'), { recursive: true });
    writeFileSync(opts.resultsFile, `${JSON.stringify(result, null, 2)}\n`);
    log(`results written to ${opts.resultsFile}`);
  }
  return result;
}
