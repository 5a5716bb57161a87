// Docker collection, side by side: one collection of N running containers by nodemeter's docker
// receiver, through the Engine API and through the cgroup files, against `docker stats
// --no-stream` on the same private dockerd in the same run. See bench/README.md.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

import { BUSYBOX, DOCKER, DOCKERD, Dockerd, parseStatsLine, type DockerStatsRow } from '../test/support/dockerd.ts';
import { BenchChild } from './lib/bench-child.ts';
import { Cleanup } from './lib/cleanup.ts';
import type { ContainerFigures, DockerChildReply, DockerChildRequest } from './lib/docker-child.ts';
import { gitDescribe } from './lib/git.ts';
import { ensureInstalled } from './lib/install.ts';
import { otherLoad, readMachineCpu, waitForQuiet } from './lib/machine-load.ts';
import { clockTicksPerSecond, readCpuTicks, readRssBytes, totalTicks } from './lib/proc.ts';
import { cell, checkAtMost, hostDescription, verdict, type TargetCheck } from './lib/report.ts';
import { runWithRusage } from './lib/rusage.ts';
import { mib, ratio, round, summarize } from './lib/stats.ts';

export const DOCKER_TARGETS = {
  /** nodemeter's API-mode wall time per collection / docker stats --no-stream's. */
  apiWallRatio: 0.5,
  /** nodemeter's cgroup-mode wall time per collection, ms. */
  cgroupWallMs: 50,
};

/** Containers started at once while setting up. */
const START_CONCURRENCY = 4;
/** Pause between runs, longer than dockerd's 1 s stats interval. */
const IDLE_GAP_MS = 1500;
/** Other processes' CPU above which a run counts as disturbed (reported, not discarded). */
const DISTURBED_CPUS = 0.5;

export interface DockerBenchOptions {
  repoRoot: string;
  containers: number;
  repetitions: number;
  warmup: number;
  /** The receiver's `concurrency` (0, its default: every container at once). */
  concurrency: number;
  resultsFile: string | undefined;
  /** Longest wait for a quiet machine before measuring; default 60 s. */
  quietWaitMs?: number;
  log: (line: string) => void;
}

type Tool = 'docker stats' | 'nodemeter api' | 'nodemeter cgroup';
const TOOLS: readonly Tool[] = ['docker stats', 'nodemeter api', 'nodemeter cgroup'];

interface Run {
  wallMs: number;
  /** The tool's own CPU: the docker CLI's rusage, or the nodemeter child's cpuUsage() delta. */
  cpuMs: number;
  /** dockerd + containerd + shims over the same run, ms (10 ms ticks). */
  daemonCpuMs: number;
  /** Containers the tool reported. */
  containers: number;
  /** CPUs' worth of other processes' work during the run. */
  otherCpus: number;
  /** nodemeter only: the stats round and the collect() that followed, ms. */
  roundMs?: number;
  collectMs?: number;
}

type Collected = Extract<DockerChildReply, { type: 'collected' }>;
type DockerChild = BenchChild<DockerChildRequest, DockerChildReply>;

let nextCollectId = 1;

async function collect(child: DockerChild): Promise<Collected> {
  const id = nextCollectId++;
  const reply = await child.request({ type: 'collect', id }, 'collected');
  if (reply.id !== id) throw new Error(`docker child: expected collection ${id}, got ${reply.id}`);
  return reply;
}

async function dockerStats(d: Dockerd): Promise<{ rows: DockerStatsRow[]; wallMs: number; cpuMs: number }> {
  // The CLI as a user runs it, with the same private config Dockerd.docker() uses.
  const env: NodeJS.ProcessEnv = { ...process.env, DOCKER_CONFIG: join(d.dir, 'client') };
  delete env.DOCKER_HOST;
  delete env.DOCKER_CONTEXT;
  const r = await runWithRusage([DOCKER, '-H', d.endpoint, 'stats', '--no-stream', '--no-trunc', '--format', '{{json .}}'], env);
  const rows = r.stdout
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map(parseStatsLine);
  return { rows, wallMs: r.wallMs, cpuMs: r.cpuMs };
}

async function startContainers(d: Dockerd, count: number, log: (l: string) => void): Promise<void> {
  const started = performance.now();
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < count) {
      const i = next++;
      // Labelled as the kubelet labels a pod's container, so the receiver does its Kubernetes work too.
      await d.runContainer({
        name: `bench-${String(i).padStart(3, '0')}`,
        command: 'exec sleep 2147483647',
        labels: { 'io.kubernetes.pod.namespace': 'bench', 'io.kubernetes.pod.name': `pod-${i}`, 'io.kubernetes.container.name': 'main' },
      });
      if ((i + 1) % 25 === 0) log(`  ${i + 1} containers started`);
    }
  };
  await Promise.all(Array.from({ length: START_CONCURRENCY }, worker));
  log(`  ${count} containers running after ${((performance.now() - started) / 1000).toFixed(1)} s`);
}

/** Where nodemeter and docker stats disagree on the containers or their figures. */
function compareWork(rows: readonly DockerStatsRow[], figures: Record<string, ContainerFigures>, source: string, mismatches: string[]): void {
  const byName = new Map(rows.map((r) => [r.name, r]));
  const names = Object.keys(figures).filter((n) => figures[n]?.workingSetBytes !== undefined);
  if (names.length !== rows.length) mismatches.push(`${source}: ${names.length} containers, docker stats ${rows.length}`);
  for (const name of names) {
    const row = byName.get(name);
    const f = figures[name] as ContainerFigures;
    if (row === undefined) {
      mismatches.push(`${source}: ${name} not in docker stats`);
      continue;
    }
    if (f.pids !== row.pids) mismatches.push(`${source}: ${name} pids ${f.pids}, docker stats ${row.pids}`);
    // docker stats prints sizes to 4 significant digits; an idle container's memory moves by pages.
    const ws = f.workingSetBytes ?? NaN;
    if (!(Math.abs(ws - row.memUsageBytes) <= Math.max(0.05 * row.memUsageBytes, 1048576))) {
      mismatches.push(`${source}: ${name} working set ${ws} B, docker stats ${row.memUsageBytes} B`);
    }
  }
}

function runSummary(runs: readonly Run[]): Record<string, unknown> {
  const pick = (f: (r: Run) => number | undefined): ReturnType<typeof summarize> | null => {
    const values = runs.map(f).filter((v): v is number => v !== undefined);
    return values.length === 0 ? null : summarize(values);
  };
  const rounded = (s: ReturnType<typeof summarize> | null): Record<string, number> | null =>
    s === null ? null : { median: round(s.median, 2), p90: round(s.p90, 2), min: round(s.min, 2), max: round(s.max, 2) };
  return {
    wallMs: rounded(pick((r) => r.wallMs)),
    cpuMs: rounded(pick((r) => r.cpuMs)),
    daemonCpuMs: rounded(pick((r) => r.daemonCpuMs)),
    roundMs: rounded(pick((r) => r.roundMs)),
    collectMs: rounded(pick((r) => r.collectMs)),
    containers: runs.map((r) => r.containers),
    otherCpus: runs.map((r) => round(r.otherCpus, 2)),
  };
}

export async function runDockerBench(opts: DockerBenchOptions): Promise<Record<string, unknown>> {
  const { log } = opts;
  if (process.getuid?.() !== 0) throw new Error('the docker benchmark needs root (it runs a private dockerd)');
  ensureInstalled(opts.repoRoot, DOCKERD, 'docker.io', log);
  ensureInstalled(opts.repoRoot, BUSYBOX, 'busybox-static', log);
  const ticksPerSecond = clockTicksPerSecond();
  const cleanup = new Cleanup();
  const runs: Record<Tool, Run[]> = { 'docker stats': [], 'nodemeter api': [], 'nodemeter cgroup': [] };
  const mismatches: string[] = [];
  const rss: Record<string, { beforeBytes: number | undefined; afterBytes: number | undefined }> = {};
  let daemonVersion: string | undefined;
  let storageDriver: string | undefined;
  let daemonProcesses: number | undefined;
  try {
    log(`starting a private dockerd and ${opts.containers} busybox containers…`);
    const d = await Dockerd.start({ name: 'bench' });
    cleanup.add('stop dockerd and its containers', () => d.close());
    storageDriver = d.storageDriver;
    daemonVersion = (await d.docker(['version', '--format', '{{.Server.Version}} (API {{.Server.APIVersion}})'])).stdout.trim();
    await d.ensureImage();
    await startContainers(d, opts.containers, log);

    const script = join(opts.repoRoot, 'bench', 'lib', 'docker-child.ts');
    const children = {} as Record<'api' | 'cgroup', DockerChild>;
    for (const source of ['api', 'cgroup'] as const) {
      const { child, ready } = await BenchChild.start<DockerChildRequest, DockerChildReply>(script, [d.endpoint, source, String(opts.concurrency)], `docker child (${source})`, opts.repoRoot);
      cleanup.add(`stop the ${source} child`, () => child.stop({ type: 'shutdown' }), () => child.kill());
      if (ready.type === 'ready' && ready.containers !== opts.containers) log(`  WARNING: the ${source} child saw ${ready.containers} containers at start`);
      children[source] = child;
      rss[source] = { beforeBytes: readRssBytes(child.pid), afterBytes: undefined };
    }
    const daemonPids = d.daemonPids();
    daemonProcesses = daemonPids.length;
    const daemonCpuMs = (): number => {
      let ticks = 0;
      for (const pid of daemonPids) {
        try {
          ticks += totalTicks(readCpuTicks(pid));
        } catch {
          // a shim that went away
        }
      }
      return (ticks * 1000) / ticksPerSecond;
    };

    const measure = async (tool: Tool): Promise<{ run: Run; rows?: DockerStatsRow[]; figures?: Record<string, ContainerFigures> }> => {
      const machine = readMachineCpu();
      const daemonBefore = daemonCpuMs();
      if (tool === 'docker stats') {
        const s = await dockerStats(d);
        const daemon = daemonCpuMs() - daemonBefore;
        const load = otherLoad(machine, readMachineCpu(), s.cpuMs + daemon);
        return { run: { wallMs: s.wallMs, cpuMs: s.cpuMs, daemonCpuMs: daemon, containers: s.rows.length, otherCpus: load.otherCpus }, rows: s.rows };
      }
      const child = tool === 'nodemeter api' ? children.api : children.cgroup;
      const c = await collect(child);
      const daemon = daemonCpuMs() - daemonBefore;
      const cpuMs = c.userMs + c.systemMs;
      const load = otherLoad(machine, readMachineCpu(), cpuMs + daemon);
      const run: Run = { wallMs: c.roundMs + c.collectMs, cpuMs, daemonCpuMs: daemon, containers: c.read, otherCpus: load.otherCpus, roundMs: c.roundMs, collectMs: c.collectMs };
      return { run, figures: c.figures };
    };

    log(`warm-up: ${opts.warmup} collection(s) per tool`);
    for (let i = 0; i < opts.warmup; i++) for (const tool of TOOLS) await measure(tool);
    const quiet = await waitForQuiet(DISTURBED_CPUS, opts.quietWaitMs ?? 60_000, () => 0, log);
    if (!quiet.quiet) log(`  WARNING: other processes still use ${quiet.load.otherCpus.toFixed(2)} CPUs; measuring anyway`);
    const errorsBefore = { api: (await collect(children.api)).errorsTotal, cgroup: (await collect(children.cgroup)).errorsTotal };

    log(`measuring: ${opts.repetitions} collections per tool, interleaved, the order rotating`);
    let lastRows: DockerStatsRow[] = [];
    const lastFigures: Partial<Record<Tool, Record<string, ContainerFigures>>> = {};
    for (let i = 0; i < opts.repetitions; i++) {
      const order = TOOLS.map((_, k) => TOOLS[(i + k) % TOOLS.length] as Tool);
      for (const tool of order) {
        const m = await measure(tool);
        runs[tool].push(m.run);
        if (m.rows !== undefined) lastRows = m.rows;
        if (m.figures !== undefined) lastFigures[tool] = m.figures;
        // dockerd's stats collector stops once no request is pending and, while it has any,
        // reads them once a second: after 1.5 s each tool finds it idle, as the agent does
        // between rounds every collection_interval. (200 ms apart, a request landed mid-sleep
        // and the API round looked twice as fast.)
        await sleep(IDLE_GAP_MS);
      }
    }
    for (const tool of ['nodemeter api', 'nodemeter cgroup'] as const) compareWork(lastRows, lastFigures[tool] ?? {}, tool, mismatches);
    const errorsAfter = { api: (await collect(children.api)).errorsTotal, cgroup: (await collect(children.cgroup)).errorsTotal };
    for (const source of ['api', 'cgroup'] as const) {
      if (errorsAfter[source] !== errorsBefore[source]) mismatches.push(`nodemeter ${source}: ${errorsAfter[source] - errorsBefore[source]} errors counted while measuring`);
      (rss[source] as { afterBytes: number | undefined }).afterBytes = readRssBytes(children[source].pid);
    }
    for (const tool of TOOLS) {
      const short = runs[tool].filter((r) => r.containers !== opts.containers);
      if (short.length > 0) mismatches.push(`${tool}: ${short.length} collection(s) with fewer than ${opts.containers} containers`);
    }
  } finally {
    await cleanup.run();
  }

  const median = (tool: Tool, f: (r: Run) => number): number => summarize(runs[tool].map(f)).median;
  const apiWallRatio = ratio(median('nodemeter api', (r) => r.wallMs), median('docker stats', (r) => r.wallMs));
  const cgroupWall = round(median('nodemeter cgroup', (r) => r.wallMs), 2);
  const targets: Record<string, TargetCheck> = {
    apiWallRatio: checkAtMost(apiWallRatio, DOCKER_TARGETS.apiWallRatio),
    cgroupWallMs: checkAtMost(cgroupWall, DOCKER_TARGETS.cgroupWallMs),
  };
  const disturbed = TOOLS.flatMap((t) => runs[t]).filter((r) => r.otherCpus > DISTURBED_CPUS).length;
  const result: Record<string, unknown> = {
    benchmark: 'docker',
    date: new Date().toISOString(),
    host: { ...hostDescription(), clockTicksPerSecond: ticksPerSecond },
    versions: { node: process.version, dockerd: daemonVersion, nodemeter: gitDescribe(opts.repoRoot) },
    parameters: {
      containers: opts.containers,
      repetitions: opts.repetitions,
      warmup: opts.warmup,
      concurrency: opts.concurrency,
      storageDriver,
      daemonProcesses,
      containerSpec: 'busybox `sleep`, default bridge network, io.kubernetes.* labels, no limits',
      order: `warm-up, then per repetition docker stats, api, cgroup in an order rotating by one each time, ${IDLE_GAP_MS} ms apart (dockerd's stats collector idle at each start)`,
      dockerStats: `${DOCKER} -H <private socket> stats --no-stream --no-trunc --format '{{json .}}', under a Python posix_spawn + wait4 wrapper`,
      nodemeter:
        'the docker receiver from its factory (collection and refresh intervals 24 h, so rounds run only on request) in one long-lived child per source (bench/lib/docker-child.ts); ' +
        'a collection is await receiver.refresh() (one stats round over every running container) then await receiver.collect()',
      wall: 'docker stats: posix_spawn to wait4 return; nodemeter: around refresh() + collect() in the child',
      cpu: "docker stats: the CLI's ru_utime + ru_stime; nodemeter: the child's process.cpuUsage() delta (all its threads)",
      daemonCpu: 'utime + stime of dockerd, its containerd and every containerd-shim of the daemon, before and after each run (10 ms ticks)',
      sameWork: 'the last run of each: same containers, pids equal, working set within 5 % or 1 MiB of docker stats MEM USAGE; no errors counted by the receiver while measuring',
    },
    runs: Object.fromEntries(TOOLS.map((t) => [t, runSummary(runs[t])])),
    rssMiB: Object.fromEntries(Object.entries(rss).map(([k, v]) => [k, { before: mib(v.beforeBytes), after: mib(v.afterBytes) }])),
    ratios: {
      apiWallMedian: apiWallRatio,
      cgroupWallMedian: ratio(cgroupWall, median('docker stats', (r) => r.wallMs)),
      apiCpuMedian: ratio(median('nodemeter api', (r) => r.cpuMs), median('docker stats', (r) => r.cpuMs)),
      apiCpuWithDaemonMedian: ratio(
        median('nodemeter api', (r) => r.cpuMs + r.daemonCpuMs),
        median('docker stats', (r) => r.cpuMs + r.daemonCpuMs),
      ),
    },
    targets,
    disturbedRuns: disturbed,
    mismatches,
  };
  printReport(result, runs, opts, log);
  if (mismatches.length > 0) throw new Error(`nodemeter and docker stats did not measure the same containers (${mismatches.length} problems, listed above); results not written`);
  if (opts.resultsFile !== undefined) {
    mkdirSync(join(opts.resultsFile, '..'), { recursive: true });
    writeFileSync(opts.resultsFile, `${JSON.stringify(result, null, 2)}\n`);
    log(`results written to ${opts.resultsFile}`);
  }
  return result;
}

function printReport(result: Record<string, unknown>, runs: Record<Tool, Run[]>, opts: DockerBenchOptions, log: (l: string) => void): void {
  const pad = (s: string, n: number): string => s.padEnd(n);
  const row = (label: string, ...cells: string[]): string => `${pad(label, 34)}${cells.map((c) => pad(c, 18)).join('')}`;
  const med = (tool: Tool, f: (r: Run) => number | undefined): number | undefined => {
    const values = runs[tool].map(f).filter((v): v is number => v !== undefined);
    return values.length === 0 ? undefined : summarize(values).median;
  };
  const p90 = (tool: Tool, f: (r: Run) => number): number => summarize(runs[tool].map(f)).p90;
  const targets = result.targets as Record<string, TargetCheck>;
  const ratios = result.ratios as Record<string, number | null>;
  log('');
  log(`${opts.containers} running containers, ${opts.repetitions} collections per tool (medians unless said), ${result.versions ? (result.versions as { dockerd: string }).dockerd : ''}`);
  log(row('', 'docker stats', 'nodemeter api', 'nodemeter cgroup'));
  log(row('wall ms', ...TOOLS.map((t) => cell(med(t, (r) => r.wallMs)))));
  log(row('wall ms, p90', ...TOOLS.map((t) => cell(p90(t, (r) => r.wallMs)))));
  log(row('  stats round / collect() ms', '', ...(['nodemeter api', 'nodemeter cgroup'] as const).map((t) => `${cell(med(t, (r) => r.roundMs))} / ${cell(med(t, (r) => r.collectMs), 2)}`)));
  log(row('own CPU ms per collection', ...TOOLS.map((t) => cell(med(t, (r) => r.cpuMs)))));
  log(row('daemon CPU ms per collection', ...TOOLS.map((t) => cell(med(t, (r) => r.daemonCpuMs)))));
  log(`  ratios: api wall / docker stats ${cell(ratios.apiWallMedian, 3)} ${verdict(targets.apiWallRatio as TargetCheck)}; cgroup wall ${cell((targets.cgroupWallMs as TargetCheck).value)} ms ${verdict(targets.cgroupWallMs as TargetCheck, ' ms')}`);
  log(`          api CPU / docker CLI CPU ${cell(ratios.apiCpuMedian, 3)}; with the daemon's CPU on both sides ${cell(ratios.apiCpuWithDaemonMedian, 3)}`);
  const rss = result.rssMiB as Record<string, { before: number | null; after: number | null }>;
  log(`  nodemeter child RSS MiB before / after: api ${cell(rss.api?.before)} / ${cell(rss.api?.after)}, cgroup ${cell(rss.cgroup?.before)} / ${cell(rss.cgroup?.after)}`);
  const mismatches = result.mismatches as string[];
  log(`  same work: ${mismatches.length === 0 ? 'both sources report every container docker stats reports, pids and working set agree, no errors' : `${mismatches.length} PROBLEMS`}`);
  for (const m of mismatches) log(`    ${m}`);
  const disturbed = result.disturbedRuns as number;
  if (disturbed > 0) log(`  WARNING: ${disturbed} of ${3 * opts.repetitions} runs shared the machine with more than ${DISTURBED_CPUS} CPUs of other work`);
  log('Targets are reported, not asserted: a miss does not fail the benchmark; different work does.');
}
