// Filesystem collection, side by side: nodemeter's `filesystem` receiver against Debian's
// node_exporter 1.5.0 with only its filesystem collector, both scraping the same N tmpfs mounts
// laid out like a kubelet's volume tree, inside one private mount namespace. See bench/README.md.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Agent as HttpAgent } from 'node:http';

import { filesystemConfig, startAgent } from '../test/support/agent.ts';
import { parseExposition, type Sample } from '../test/support/exposition.ts';
import { createKeepAliveAgent, httpGet, type HttpResponse } from '../test/support/http.ts';
import { MountNamespace } from '../test/support/mountns.ts';
import { NodeExporter } from '../test/support/node-exporter.ts';
import { Cleanup } from './lib/cleanup.ts';
import { ensureInstalled } from './lib/install.ts';
import { summarizeCpuProfile, type ProfileSummary } from './lib/cpuprofile.ts';
import { createTreeDirectories, mountScript, planTree, type TreeLayout } from './lib/kubelet-tree.ts';
import {
  clockTicksPerSecond,
  readCpuTicks,
  readRssBytes,
  readThreadCount,
  readThreadTicks,
  threadTicksByName,
  totalTicks,
} from './lib/proc.ts';
import { mib, ratio, round, summarize, type Summary } from './lib/stats.ts';
import { gitDescribe } from './lib/git.ts';
import { hostDescription } from './lib/report.ts';

export const NODE_EXPORTER = '/usr/bin/prometheus-node-exporter';

/** The plain-text exposition format, so neither server switches to OpenMetrics; no Accept-Encoding, so neither compresses. */
const SCRAPE_HEADERS = { accept: 'text/plain;version=0.0.4;q=1,*/*;q=0.1' };

export interface FilesystemBenchOptions {
  repoRoot: string;
  mounts: number;
  iterations: number;
  warmup: number;
  idleMs: number;
  /** Bytes per tmpfs mount (size= option). */
  mountSizeBytes: number;
  /** Leave nodemeter out (harness check while the agent does not run yet). */
  skipNodemeter: boolean;
  /** Run nodemeter under `node --cpu-prof` and summarise where the scrape time went. */
  cpuProf: boolean;
  /** Where to write the results JSON; undefined = do not write. */
  resultsFile: string | undefined;
  log: (line: string) => void;
}

interface Target {
  name: 'nodemeter' | 'node_exporter';
  /** The server's own pid (its /proc entry is what is measured). */
  pid: number;
  /** SIGTERM (node_exporter: SIGKILL) and wait; idempotent. */
  stop: () => Promise<void>;
  metricsUrl: string;
  /** One keep-alive connection, as a Prometheus scrape loop reuses its connection. */
  httpAgent: HttpAgent;
  command: readonly string[];
  /** From spawning to the readiness criterion, ms. */
  readyMs: number;
  readyCriterion: string;
  /** nodemeter only: from spawning to its "listening" log line. */
  listeningMs?: number;
  rss: { afterReady?: number; afterIdle?: number; afterScrapes?: number };
  threads?: number;
  wallMs: number[];
  /** Body of the most recent scrape (for the server's own timings). */
  lastBody?: string;
  /** node_exporter: its `node_scrape_collector_duration_seconds{collector="filesystem"}` per scrape, ms. */
  collectorMs?: number[];
  /** nodemeter: its self-telemetry durations over the measured loop (mean ms per observation). */
  selfTimings?: Record<string, { count: number; meanMs: number }>;
  bodyBytes?: number;
  count?: SeriesCount;
  cpuTicks?: number;
  threadTicks?: Record<string, number>;
  config?: string;
  profileDir?: string;
}

interface SeriesCount {
  /** All samples in the exposition. */
  series: number;
  /** Samples of the families that describe filesystems. */
  filesystemSeries: number;
  /** Distinct benchmark tmpfs mounts the scrape reports. */
  tmpfsMounts: number;
  /** Of those, mounts whose reported capacity equals the tmpfs size (both read the same statfs). */
  capacityMatches: number;
  families: string[];
}

// ---------------------------------------------------------------------------------------------
// node_exporter


function nodeExporterVersion(): string {
  const out = execFileSync(NODE_EXPORTER, ['--version'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  return /version (\S+)/.exec(out)?.[1] ?? out.split('\n')[0] ?? 'unknown';
}

function regexLiteralChar(c: string): string {
  return /[A-Za-z0-9]/.test(c) ? c : `\\x{${c.codePointAt(0)?.toString(16)}}`;
}

/**
 * A Go (RE2) regexp matching every path that does NOT start with `prefix`. RE2 has no negative
 * look-ahead, so the complement is spelled out: shorter than the prefix, or differing at some
 * position. node_exporter excludes what the regexp matches, so only mounts under `prefix` remain.
 */
export function excludeAllBut(prefix: string): string {
  const alternatives = [`.{0,${prefix.length - 1}}$`];
  for (let i = 0; i < prefix.length; i++) {
    const head = [...prefix.slice(0, i)].map(regexLiteralChar).join('');
    alternatives.push(`${head}[^${regexLiteralChar(prefix[i] as string)}]`);
  }
  return `^(?:${alternatives.join('|')})`;
}

/**
 * node_exporter 1.5.0 reads `<procfs>/1/mounts`, PID 1's mount table, which is the host's, not
 * this namespace's. A private procfs directory whose `1` points at the namespace holder's /proc
 * entry makes it read the namespace's mount table; statfs goes to the real mount points.
 */
function procfsShim(workDir: string, holderPid: number): string {
  const dir = join(workDir, 'procfs-shim');
  mkdirSync(dir, { recursive: true });
  execFileSync('ln', ['-sfn', `/proc/${holderPid}`, join(dir, '1')]);
  return dir;
}

async function startNodeExporter(ns: MountNamespace, layout: TreeLayout, workDir: string): Promise<Target> {
  const podsPrefix = `${layout.kubeletRoot}/pods/`;
  const exporter = await NodeExporter.start(ns, {
    ownPidNamespace: false,
    extraArgs: [
      `--path.procfs=${procfsShim(workDir, ns.pid)}`,
      // Only the benchmark's mounts. The default fs-types exclude list does not exclude tmpfs, and
      // the default mount-points exclude excludes nothing under the work directory.
      `--collector.filesystem.mount-points-exclude=${excludeAllBut(podsPrefix)}`,
    ],
    readyTimeoutMs: 60_000,
    pollIntervalMs: 5,
  });
  return {
    name: 'node_exporter',
    pid: exporter.pid,
    stop: () => exporter.close(),
    metricsUrl: `${exporter.url}/metrics`,
    httpAgent: createKeepAliveAgent(),
    command: exporter.command,
    readyMs: exporter.readyMs,
    readyCriterion: 'first 200 on GET /metrics',
    rss: {},
    wallMs: [],
  };
}

function countNodeExporter(samples: Sample[], layout: TreeLayout, sizeBytes: number): SeriesCount {
  const podsPrefix = `${layout.kubeletRoot}/pods/`;
  const fs = samples.filter((s) => s.name.startsWith('node_filesystem_'));
  const size = fs.filter((s) => s.name === 'node_filesystem_size_bytes' && s.labels.fstype === 'tmpfs' && s.labels.mountpoint?.startsWith(podsPrefix));
  return {
    series: samples.length,
    filesystemSeries: fs.length,
    tmpfsMounts: new Set(size.map((s) => s.labels.mountpoint)).size,
    capacityMatches: size.filter((s) => s.value === sizeBytes).length,
    families: [...new Set(fs.map((s) => s.name))].sort(),
  };
}

// ---------------------------------------------------------------------------------------------
// nodemeter

/**
 * Only the filesystem receiver, kubelet volumes only, statfs timeout at its default. Its default
 * mount table is /proc/1/mountinfo, the host's, like node_exporter's; `mountinfo_path` points it
 * at the namespace holder's table instead, the same table node_exporter is shown through its shim.
 */
function nodemeterConfig(layout: TreeLayout, holderPid: number): string {
  const config = filesystemConfig(layout.kubeletRoot, { mountinfoPath: `/proc/${holderPid}/mountinfo`, statfsTimeout: null, nodeFilesystems: false });
  return `# Written by bench/filesystem.bench.ts: only the filesystem receiver, kubelet volumes only.\n${config}`;
}

async function startNodemeter(ns: MountNamespace, layout: TreeLayout, workDir: string, opts: FilesystemBenchOptions): Promise<Target> {
  const config = nodemeterConfig(layout, ns.pid);
  let profileDir: string | undefined;
  if (opts.cpuProf) {
    profileDir = join(workDir, 'cpuprofile');
    mkdirSync(profileDir, { recursive: true });
  }
  const agent = await startAgent({
    config,
    prefix: ns.prefix,
    nodeArgs: profileDir === undefined ? [] : ['--cpu-prof', `--cpu-prof-dir=${profileDir}`],
    extraArgs: ['--log-level', 'info'],
    readyTimeoutMs: 60_000,
    pollIntervalMs: 5,
  });
  return {
    name: 'nodemeter',
    pid: agent.child.pid!,
    stop: async () => {
      await agent.stop('SIGTERM', 15_000);
    },
    metricsUrl: `${agent.url}/metrics`,
    httpAgent: createKeepAliveAgent(),
    command: agent.command,
    readyMs: agent.readyMs!,
    readyCriterion: '200 on GET /readyz',
    ...(agent.listeningMs === undefined ? {} : { listeningMs: agent.listeningMs }),
    rss: {},
    wallMs: [],
    config,
    ...(profileDir === undefined ? {} : { profileDir }),
  };
}

function countNodemeter(samples: Sample[], layout: TreeLayout, sizeBytes: number): SeriesCount {
  const podsPrefix = `${layout.kubeletRoot}/pods/`;
  const volume = samples.filter((s) => s.name.startsWith('kubelet_volume_stats_'));
  const nodeFs = samples.filter((s) => s.name.startsWith('node_filesystem_'));
  // One capacity sample per volume. Tell the benchmark's mounts apart from anything else by the
  // mount point label when there is one, else by the pod UID / volume names of the layout.
  const podUids = new Set(layout.mounts.map((m) => m.podUid));
  const capacity = volume.filter((s) => s.name === 'kubelet_volume_stats_capacity_bytes');
  const ours = capacity.filter((s) => {
    const mp = s.labels.mountpoint ?? s.labels.mount_point ?? s.labels.path;
    if (mp !== undefined) return mp.startsWith(podsPrefix);
    const uid = s.labels.pod_uid ?? s.labels.uid;
    return uid === undefined || podUids.has(uid);
  });
  return {
    series: samples.length,
    filesystemSeries: volume.length + nodeFs.length,
    tmpfsMounts: new Set(ours.map((s) => JSON.stringify(s.labels))).size,
    capacityMatches: ours.filter((s) => s.value === sizeBytes).length,
    families: [...new Set([...volume, ...nodeFs].map((s) => s.name))].sort(),
  };
}

export function nodemeterRuns(repoRoot: string): { ok: boolean; detail: string } {
  try {
    const out = execFileSync(join(repoRoot, 'node_modules', '.bin', 'node'), [join(repoRoot, 'bin', 'nodemeter.js'), '--help'], {
      cwd: repoRoot,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: 30_000,
    });
    return { ok: true, detail: out };
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    return { ok: false, detail: (e.stderr ?? '') || e.message };
  }
}

// ---------------------------------------------------------------------------------------------
// measuring

async function scrape(t: Target): Promise<HttpResponse> {
  const res = await httpGet(t.metricsUrl, { agent: t.httpAgent, timeoutMs: 30_000, headers: SCRAPE_HEADERS });
  if (res.status !== 200) throw new Error(`${t.name}: GET /metrics returned ${res.status}: ${res.body.slice(0, 500)}`);
  return res;
}

/** node_exporter's own measure of one collector's time in the scrape that returned `body`, ms. */
function collectorDurationMs(body: string, collector: string): number | undefined {
  const key = `node_scrape_collector_duration_seconds{collector="${collector}"} `;
  const at = body.indexOf(key);
  if (at === -1) return undefined;
  const end = body.indexOf('\n', at);
  const value = Number(body.slice(at + key.length, end === -1 ? undefined : end));
  return Number.isFinite(value) ? value * 1000 : undefined;
}

/**
 * Mean duration per observation between two scrapes, for every `*_duration_seconds` histogram
 * of the server's self-telemetry: (sum₁ − sum₀) / (count₁ − count₀), keyed by name and labels.
 */
function durationDeltas(before: Sample[], after: Sample[]): Record<string, { count: number; meanMs: number }> {
  const key = (s: Sample): string => {
    const labels = Object.entries(s.labels)
      .map(([k, v]) => `${k}="${v}"`)
      .join(',');
    return `${s.name.replace(/_(sum|count)$/, '')}{${labels}}`;
  };
  const index = (samples: Sample[]): Map<string, { sum?: number; count?: number }> => {
    const m = new Map<string, { sum?: number; count?: number }>();
    for (const s of samples) {
      if (!/_duration_seconds_(sum|count)$/.test(s.name)) continue;
      const entry = m.get(key(s)) ?? {};
      if (s.name.endsWith('_sum')) entry.sum = s.value;
      else entry.count = s.value;
      m.set(key(s), entry);
    }
    return m;
  };
  const b = index(before);
  const out: Record<string, { count: number; meanMs: number }> = {};
  for (const [k, a] of index(after)) {
    const count = (a.count ?? 0) - (b.get(k)?.count ?? 0);
    const sum = (a.sum ?? 0) - (b.get(k)?.sum ?? 0);
    if (count > 0) out[k] = { count, meanMs: round((sum * 1000) / count) };
  }
  return out;
}




function targetReport(t: Target, iterations: number, ticksPerSecond: number): Record<string, unknown> {
  const wall: Summary = summarize(t.wallMs);
  return {
    command: t.command,
    ...(t.config === undefined ? {} : { config: t.config }),
    series: t.count,
    bodyBytes: t.bodyBytes,
    wallMs: { median: round(wall.median), p90: round(wall.p90), min: round(wall.min), max: round(wall.max), mean: round(wall.mean) },
    cpuMsPerScrape: t.cpuTicks === undefined ? null : round((t.cpuTicks * 1000) / ticksPerSecond / iterations),
    cpuTicksTotal: t.cpuTicks,
    cpuTicksByThread: t.threadTicks,
    threads: t.threads,
    rssMiB: { afterReady: mib(t.rss.afterReady), afterIdle: mib(t.rss.afterIdle), afterScrapes: mib(t.rss.afterScrapes) },
    ...(t.collectorMs === undefined || t.collectorMs.length === 0
      ? {}
      : { ownFilesystemCollectorMs: { median: round(summarize(t.collectorMs).median), p90: round(summarize(t.collectorMs).p90) } }),
    ...(t.selfTimings === undefined ? {} : { selfTelemetryMeanMs: t.selfTimings }),
    readyMs: round(t.readyMs, 1),
    readyCriterion: t.readyCriterion,
    ...(t.listeningMs === undefined ? {} : { listeningLogMs: round(t.listeningMs, 1) }),
  };
}

const WORK_PREFIX = '/tmp/nodemeter-bench-';

/**
 * Work directories left by a benchmark that was SIGKILLed (its processes died with it, through
 * the parent-death signal, so its namespace and mounts are gone; only directories remain).
 */
function removeStaleWorkDirs(log: (l: string) => void): void {
  for (const entry of readdirSync('/tmp')) {
    const dir = join('/tmp', entry);
    if (!dir.startsWith(WORK_PREFIX)) continue;
    let owner: number;
    try {
      owner = Number(readFileSync(join(dir, 'owner.pid'), 'utf8'));
    } catch {
      continue;
    }
    if (Number.isInteger(owner) && owner > 0 && existsSync(`/proc/${owner}`)) continue;
    log(`removing ${dir}, left by an earlier run (pid ${owner}) that was killed`);
    rmSync(dir, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------------------------------------

export async function runFilesystemBench(opts: FilesystemBenchOptions): Promise<Record<string, unknown>> {
  const { log } = opts;
  if (process.getuid?.() !== 0) throw new Error('the filesystem benchmark needs root (mount namespaces, tmpfs mounts)');
  ensureInstalled(opts.repoRoot, NODE_EXPORTER, 'prometheus-node-exporter', log);
  if (!opts.skipNodemeter) {
    const check = nodemeterRuns(opts.repoRoot);
    if (!check.ok) throw new Error(`\`node bin/nodemeter.js --help\` fails, so the agent cannot be benchmarked yet (use --skip-nodemeter to check the harness):\n${check.detail}`);
  }
  const ticksPerSecond = clockTicksPerSecond();
  const cleanup = new Cleanup();
  const targets: Target[] = [];
  let profile: ProfileSummary[] | undefined;
  let profileWindow: { startUs: number; endUs: number } | undefined;
  try {
    removeStaleWorkDirs(log);
    const workDir = mkdtempSync(`${WORK_PREFIX}`);
    writeFileSync(join(workDir, 'owner.pid'), String(process.pid));
    cleanup.add(
      `remove ${workDir}`,
      () => rmSync(workDir, { recursive: true, force: true }),
      () => rmSync(workDir, { recursive: true, force: true }),
    );
    const layout = planTree(join(workDir, 'var', 'lib', 'kubelet'), opts.mounts);
    log(`work directory ${workDir}; ${layout.mounts.length} mounts in ${layout.pods} pods (${layout.emptyDir} emptyDir, ${layout.csi} CSI)`);
    createTreeDirectories(layout);

    // Its holder, and every process spawned in it, are SIGKILLed if the benchmark exits or dies.
    const ns = await MountNamespace.create();
    cleanup.add('end the mount namespace', () => ns.close());
    const mountStarted = performance.now();
    await ns.exec('sh', ['-e'], { input: mountScript(layout, opts.mountSizeBytes), timeoutMs: 300_000 });
    const mountinfo = readFileSync(`/proc/${ns.pid}/mountinfo`, 'utf8').split('\n');
    const benchMounts = mountinfo.filter((l) => l.includes(` ${layout.kubeletRoot}/pods/`) && l.includes(' - tmpfs ')).length;
    log(`mounted ${benchMounts} tmpfs in ${Math.round(performance.now() - mountStarted)} ms (namespace holder pid ${ns.pid}, ${mountinfo.length - 1} mounts in its table)`);
    if (benchMounts !== layout.mounts.length) throw new Error(`expected ${layout.mounts.length} tmpfs mounts in the namespace, found ${benchMounts}`);

    // Start one at a time, so neither start-up competes with the other for CPU.
    const ne = await startNodeExporter(ns, layout, workDir);
    cleanup.add('stop node_exporter', async () => {
      ne.httpAgent.destroy();
      await ne.stop();
    });
    ne.rss.afterReady = readRssBytes(ne.pid);
    targets.push(ne);
    log(`node_exporter pid ${ne.pid}: first /metrics 200 after ${ne.readyMs.toFixed(1)} ms`);
    if (!opts.skipNodemeter) {
      const nm = await startNodemeter(ns, layout, workDir, opts);
      cleanup.add('stop nodemeter', async () => {
        nm.httpAgent.destroy();
        await nm.stop();
      });
      nm.rss.afterReady = readRssBytes(nm.pid);
      targets.push(nm);
      log(`nodemeter pid ${nm.pid}: listening after ${nm.listeningMs?.toFixed(1)} ms, /readyz 200 after ${nm.readyMs.toFixed(1)} ms`);
    }
    for (const t of targets) {
      if (!ns.holds(t.pid)) throw new Error(`${t.name} (pid ${t.pid}) is not in the benchmark's mount namespace`);
    }

    await sleep(opts.idleMs);
    for (const t of targets) {
      t.rss.afterIdle = readRssBytes(t.pid);
    }

    // One checked scrape each: both must report every benchmark mount.
    for (const t of targets) {
      const res = await scrape(t);
      const samples = parseExposition(res.body);
      t.count = t.name === 'node_exporter' ? countNodeExporter(samples, layout, opts.mountSizeBytes) : countNodemeter(samples, layout, opts.mountSizeBytes);
      t.bodyBytes = res.bytes;
      log(`${t.name}: ${t.count.series} series, ${t.count.filesystemSeries} filesystem series, ${t.count.tmpfsMounts} benchmark tmpfs mounts (${t.count.capacityMatches} with capacity = ${opts.mountSizeBytes}), ${res.bytes} bytes`);
      if (t.count.tmpfsMounts !== layout.mounts.length) {
        log(`WARNING: ${t.name} reports ${t.count.tmpfsMounts} of the ${layout.mounts.length} mounts; the comparison is not like for like`);
      }
    }

    for (let i = 0; i < opts.warmup; i++) {
      for (const t of targets) t.lastBody = (await scrape(t)).body;
    }
    const selfBefore = new Map(targets.map((t) => [t, t.lastBody === undefined ? [] : parseExposition(t.lastBody)]));

    // Interleaved, alternating who goes first, so drift on the machine hits both alike. CPU is
    // the whole process's utime+stime over the loop; the other tool's turn is idle time for it.
    const before = targets.map((t) => ({ cpu: readCpuTicks(t.pid), threads: readThreadTicks(t.pid) }));
    const windowStartUs = Number(process.hrtime.bigint() / 1000n);
    for (let i = 0; i < opts.iterations; i++) {
      const order = i % 2 === 0 ? targets : [...targets].reverse();
      for (const t of order) {
        const res = await scrape(t);
        t.wallMs.push(res.elapsedMs);
        t.lastBody = res.body;
        if (t.name === 'node_exporter') {
          const ms = collectorDurationMs(res.body, 'filesystem');
          if (ms !== undefined) (t.collectorMs ??= []).push(ms);
        }
      }
    }
    profileWindow = { startUs: windowStartUs, endUs: Number(process.hrtime.bigint() / 1000n) };
    targets.forEach((t, k) => {
      const b = before[k] as (typeof before)[number];
      const delta = totalTicks(readCpuTicks(t.pid)) - totalTicks(b.cpu);
      t.cpuTicks = delta;
      t.threadTicks = threadTicksByName(b.threads, readThreadTicks(t.pid), delta);
      t.rss.afterScrapes = readRssBytes(t.pid);
      t.threads = readThreadCount(t.pid);
    });
    for (const t of targets) {
      if (t.name === 'nodemeter' && t.lastBody !== undefined) t.selfTimings = durationDeltas(selfBefore.get(t) ?? [], parseExposition(t.lastBody));
      delete t.lastBody;
    }

    if (opts.cpuProf) {
      const nm = targets.find((t) => t.name === 'nodemeter');
      if (nm?.profileDir !== undefined) {
        await nm.stop();
        const files = readdirSync(nm.profileDir).filter((f) => f.endsWith('.cpuprofile'));
        if (files.length === 0) log('no .cpuprofile written (nodemeter must exit cleanly on SIGTERM for --cpu-prof to write one)');
        profile = files.map((f) => summarizeCpuProfile(join(nm.profileDir as string, f), opts.repoRoot, profileWindow));
        const keep = join(opts.repoRoot, '.tmp', 'bench-cpuprofile');
        mkdirSync(keep, { recursive: true });
        for (const f of files) writeFileSync(join(keep, f), readFileSync(join(nm.profileDir, f)));
        log(`cpu profiles copied to ${keep}`);
      }
    }
  } finally {
    await cleanup.run();
  }

  const ne = targets.find((t) => t.name === 'node_exporter');
  const nm = targets.find((t) => t.name === 'nodemeter');
  if (ne === undefined) throw new Error('node_exporter did not run');
  const neWall = summarize(ne.wallMs);
  const nmWall = nm === undefined ? undefined : summarize(nm.wallMs);
  const cpuMs = (t: Target | undefined): number | undefined => (t?.cpuTicks === undefined ? undefined : (t.cpuTicks * 1000) / ticksPerSecond / opts.iterations);
  const layoutInfo = planTree('/x', opts.mounts);
  const result: Record<string, unknown> = {
    benchmark: 'filesystem',
    date: new Date().toISOString(),
    host: { ...hostDescription(), clockTicksPerSecond: ticksPerSecond },
    versions: { node: process.version, nodeExporter: nodeExporterVersion(), nodemeter: gitDescribe(opts.repoRoot) },
    parameters: {
      mounts: opts.mounts,
      pods: layoutInfo.pods,
      emptyDirMounts: layoutInfo.emptyDir,
      csiMounts: layoutInfo.csi,
      tmpfsSizeBytes: opts.mountSizeBytes,
      iterations: opts.iterations,
      warmup: opts.warmup,
      idleMs: opts.idleMs,
      order: 'interleaved, alternating which tool goes first',
      nodemeterNodeFilesystems: 'disabled (only kubelet volume mounts are collected)',
      cpuProfiling: opts.cpuProf,
    },
    nodeExporter: targetReport(ne, opts.iterations, ticksPerSecond),
    ...(nm === undefined ? {} : { nodemeter: targetReport(nm, opts.iterations, ticksPerSecond) }),
    ...(nm === undefined || nmWall === undefined
      ? {}
      : {
          ratios: {
            wallMedian: ratio(nmWall.median, neWall.median),
            wallP90: ratio(nmWall.p90, neWall.p90),
            cpuPerScrape: ratio(cpuMs(nm), cpuMs(ne)),
            rssAfterIdle: ratio(nm.rss.afterIdle, ne.rss.afterIdle),
            rssAfterScrapes: ratio(nm.rss.afterScrapes, ne.rss.afterScrapes),
            startToReady: ratio(nm.readyMs, ne.readyMs),
          },
        }),
    ...(profile === undefined ? {} : { profile }),
  };
  printReport(result, targets, neWall, nmWall, cpuMs, log);
  if (opts.resultsFile !== undefined) {
    if (opts.cpuProf) log('--cpu-prof slows nodemeter down; these figures are for the profile, not the record');
    mkdirSync(join(opts.resultsFile, '..'), { recursive: true });
    writeFileSync(opts.resultsFile, `${JSON.stringify(result, null, 2)}\n`);
    log(`results written to ${opts.resultsFile}`);
  }
  return result;
}

function printReport(
  result: Record<string, unknown>,
  targets: Target[],
  neWall: Summary,
  nmWall: Summary | undefined,
  cpuMs: (t: Target | undefined) => number | undefined,
  log: (l: string) => void,
): void {
  const pad = (s: string, n: number): string => s.padEnd(n);
  const num = (v: number | null | undefined, d = 2): string => (v === null || v === undefined ? '-' : v.toFixed(d));
  const ne = targets.find((t) => t.name === 'node_exporter');
  const nm = targets.find((t) => t.name === 'nodemeter');
  const row = (label: string, a: string, b: string, r = ''): string => `${pad(label, 34)}${pad(a, 16)}${pad(b, 16)}${r}`;
  const ratios = result.ratios as Record<string, number | null> | undefined;
  log('');
  log(row('', 'nodemeter', 'node_exporter', 'ratio nm/ne'));
  log(row('tmpfs mounts reported', String(nm?.count?.tmpfsMounts ?? '-'), String(ne?.count?.tmpfsMounts ?? '-')));
  log(row('series (filesystem / all)', nm?.count === undefined ? '-' : `${nm.count.filesystemSeries} / ${nm.count.series}`, ne?.count === undefined ? '-' : `${ne.count.filesystemSeries} / ${ne.count.series}`));
  log(row('body bytes', String(nm?.bodyBytes ?? '-'), String(ne?.bodyBytes ?? '-')));
  log(row('wall ms/scrape, median', num(nmWall?.median), num(neWall.median), num(ratios?.wallMedian, 3)));
  log(row('wall ms/scrape, p90', num(nmWall?.p90), num(neWall.p90), num(ratios?.wallP90, 3)));
  log(row('CPU ms/scrape', num(cpuMs(nm)), num(cpuMs(ne)), num(ratios?.cpuPerScrape, 3)));
  log(row('RSS MiB after ready', num(mib(nm?.rss.afterReady), 1), num(mib(ne?.rss.afterReady), 1)));
  log(row('RSS MiB idle', num(mib(nm?.rss.afterIdle), 1), num(mib(ne?.rss.afterIdle), 1), num(ratios?.rssAfterIdle, 3)));
  log(row('RSS MiB after scrapes', num(mib(nm?.rss.afterScrapes), 1), num(mib(ne?.rss.afterScrapes), 1), num(ratios?.rssAfterScrapes, 3)));
  const neOwn = ne?.collectorMs === undefined || ne.collectorMs.length === 0 ? undefined : summarize(ne.collectorMs).median;
  const nmOwn = Object.entries(nm?.selfTimings ?? {}).find(([k]) => k.startsWith('nodemeter_receiver_collect_duration_seconds'))?.[1].meanMs;
  log(row('own collect ms (server-reported)', num(nmOwn), num(neOwn)));
  log('  (nodemeter: mean receiver collect from its self-telemetry; node_exporter: median of its filesystem collector duration)');
  log(row('start → ready ms', num(nm?.readyMs, 1), num(ne?.readyMs, 1), num(ratios?.startToReady, 3)));
  log('  (nodemeter: /readyz 200; node_exporter: first /metrics 200)');
  const profile = result.profile as ProfileSummary[] | undefined;
  for (const p of profile ?? []) {
    log('');
    log(`profile ${p.file}: ${p.busyMs} ms busy, ${p.idleMs} ms idle in the scrape window`);
    log('  by area (nearest matching frame):');
    for (const e of p.buckets) log(`    ${e.percent.toFixed(1).padStart(5)}%  ${e.ms.toFixed(1).padStart(8)} ms  ${e.name}`);
    log('  top inclusive time:');
    for (const e of p.topInclusive.slice(0, p.busyMs > 1000 ? 40 : 0)) log(`    ${e.percent.toFixed(1).padStart(5)}%  ${e.ms.toFixed(1).padStart(8)} ms  ${e.name}`);
    log('  top self time:');
    for (const e of p.topSelf.slice(0, 15)) log(`    ${e.percent.toFixed(1).padStart(5)}%  ${e.ms.toFixed(1).padStart(8)} ms  ${e.name}`);
  }
}
