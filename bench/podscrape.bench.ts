// Pod scraping, side by side: one on-demand aggregated pull (`GET /metrics?job=bench`) of N
// targets × ~1,000 series through the real agent (podscrape receiver → prometheus exporter, pods
// from the test Kubernetes API server), against Debian's Prometheus 2.42 scraping the same
// targets in the same run (the sum of its scrape_duration_seconds over one round). The targets
// are served by one separate Node process (bench/lib/target-server-child.ts) on 127.0.0.1, one
// port each. The parser alone has its own benchmark (`npm run bench -- parser`); this one only
// quotes its latest results file. Targets are reported, not asserted. See bench/README.md.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request, type Agent as HttpAgent } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';

import { startAgent } from '../test/support/agent.ts';
import { parseExposition } from '../test/support/exposition.ts';
import { createKeepAliveAgent, httpGet } from '../test/support/http.ts';
import { namespace as namespaceObject, node as nodeObject, pod as podObject } from '../test/support/kube-api/fixtures.ts';
import { KubeApiServer } from '../test/support/kube-api/server.ts';
import { Prometheus } from '../test/support/prometheus.ts';
import { BenchChild } from './lib/bench-child.ts';
import { Cleanup } from './lib/cleanup.ts';
import { summarizeCpuProfile, type ProfileSummary } from './lib/cpuprofile.ts';
import { gitDescribe } from './lib/git.ts';
import { ensureInstalled } from './lib/install.ts';
import { otherLoad, ownCpuMs, readMachineCpu, waitForQuiet } from './lib/machine-load.ts';
import { clockTicksPerSecond, readCpuTicks, readMemory, resetPeakRss, totalTicks } from './lib/proc.ts';
import { cell, checkAtMost, hostDescription, verdict, type TargetCheck } from './lib/report.ts';
import { mib, ratio, round, summarize, type Summary } from './lib/stats.ts';
import type { Encoding, TargetInfo, TargetServerReply, TargetServerRequest } from './lib/target-server-child.ts';

export const PROMETHEUS_BIN = '/usr/bin/prometheus';

/** What the report holds nodemeter to (from the issue). */
export const PODSCRAPE_TARGETS = {
  /** Wall time of one aggregated pull of every target, median, ms (on 2 cores). */
  pullWallMs: 1500,
  /** The agent's RSS growth during a pull over the bytes of all target bodies as text. */
  rssGrowthPerPayload: 3,
};

export const ENCODINGS: readonly Encoding[] = ['identity', 'gzip'];

const AGGREGATOR = 'metrics-aggregator.apawel.me';
const JOB = 'bench';
const NODE_NAME = 'bench-node';
const NAMESPACE = 'bench';
/** The agent's own response: plain text 0.0.4, no compression asked for (as the other benchmarks pull). */
const PULL_HEADERS = { accept: 'text/plain;version=0.0.4;q=1,*/*;q=0.1' };
const PULL_TIMEOUT_MS = 60_000;
/** Pause between pulls: the agent is idle between pulls in real use (a puller asks every 15–60 s). */
const PULL_GAP_MS = 1000;
/** Other processes' CPU above which a pull or a Prometheus window counts as disturbed (reported). */
const DISTURBED_CPUS = 0.5;
/** Timing starts once other processes use less than this (waits up to QUIET_WAIT_MS). */
const QUIET_CPUS = 0.3;
const QUIET_WAIT_MS = 90_000;
/** Families the receiver adds per target; every other `job="bench"` sample came from a target. */
const TARGET_FAMILIES = new Set(['up', 'scrape_duration_seconds', 'scrape_samples_scraped']);

export interface PodscrapeBenchOptions {
  repoRoot: string;
  targets: number;
  seriesPerTarget: number;
  /** Measured pulls per encoding. */
  pulls: number;
  /** Unmeasured pulls per encoding first. */
  warmup: number;
  /** The receiver's `concurrency`. */
  concurrency: number;
  encodings: readonly Encoding[];
  /** Prometheus' scrape interval (and timeout), seconds. */
  promIntervalS: number;
  /** Prometheus rounds read per encoding, one interval apart. */
  promRounds: number;
  /** Leave Prometheus out (harness check; no results file). */
  skipPrometheus: boolean;
  /** Run the agent under node --cpu-prof and summarise the measured pulls (no results file). */
  cpuProf: boolean;
  resultsFile: string | undefined;
  /** Longest wait for a quiet machine before timing (and after a discarded pull); default QUIET_WAIT_MS. */
  quietWaitMs?: number;
  log: (line: string) => void;
}

type TargetServer = BenchChild<TargetServerRequest, TargetServerReply>;

function epochMs(): number {
  return performance.timeOrigin + performance.now();
}

interface TimedResponse {
  status: number;
  body: Buffer;
  /** From sending the request to the response headers, ms. */
  headersMs: number;
  /** From sending the request to the end of the body, ms (before the chunks are joined). */
  elapsedMs: number;
}

/** GET over one keep-alive connection; the clock stops at the body's last byte. */
function timedGet(url: string, agent: HttpAgent, timeoutMs: number): Promise<TimedResponse> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'GET', agent, headers: PULL_HEADERS }, (res) => {
      const headersMs = performance.now() - started;
      const chunks: Buffer[] = [];
      res.on('data', (d: Buffer) => chunks.push(d));
      res.on('error', reject);
      res.on('end', () => {
        const elapsedMs = performance.now() - started;
        clearTimeout(timer);
        resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks), headersMs, elapsedMs });
      });
    });
    const timer = setTimeout(() => req.destroy(new Error(`GET ${url} took longer than ${timeoutMs} ms`)), timeoutMs);
    req.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    req.end();
  });
}

// ---------------------------------------------------------------------------------------------
// What a pull returned

interface QuickCount {
  /** Sample lines. */
  samples: number;
  up: number;
  upOne: number;
  /** The agent's own scrape_duration_seconds of each target in this pull, ms. */
  targetScrapeMs: number[];
}

/** A fast pass over a pulled body: sample lines, `up` lines and their values, per-target durations. */
function quickCount(body: Buffer): QuickCount {
  const text = body.toString('utf8');
  const out: QuickCount = { samples: 0, up: 0, upOne: 0, targetScrapeMs: [] };
  let start = 0;
  while (start < text.length) {
    let end = text.indexOf('\n', start);
    if (end === -1) end = text.length;
    if (end > start && text.charCodeAt(start) !== 35 /* # */) {
      out.samples++;
      if (text.startsWith('up{', start) || text.startsWith('up ', start)) {
        out.up++;
        if (text.endsWith(' 1', end)) out.upOne++;
      } else if (text.startsWith('scrape_duration_seconds{', start)) {
        out.targetScrapeMs.push(Number(text.slice(text.lastIndexOf(' ', end) + 1, end)) * 1000);
      }
    }
    start = end + 1;
  }
  return out;
}

/**
 * The thorough check of one pulled body: every target `up` 1 under its address, and for each one
 * exactly the samples its body holds (the target's own series, whatever labels the receiver
 * added), and scrape_samples_scraped saying so too.
 */
function checkPulledBody(body: Buffer, targets: readonly TargetInfo[]): { problems: string[]; families: number; samples: number } {
  const problems: string[] = [];
  const samples = parseExposition(body.toString('utf8'));
  const want = new Map(targets.map((t) => [`127.0.0.1:${t.port}`, t.samples]));
  const up = samples.filter((s) => s.name === 'up' && s.labels.job === JOB);
  if (up.length !== targets.length) problems.push(`${up.length} up series, expected ${targets.length}`);
  const down = up.filter((s) => s.value !== 1);
  if (down.length > 0) problems.push(`${down.length} targets with up ≠ 1: ${down.slice(0, 5).map((s) => s.labels.instance).join(', ')}`);
  const byInstance = new Map<string, number>();
  const scraped = new Map<string, number>();
  for (const s of samples) {
    // The receiver's own per-job families (nodemeter_podscrape_*) carry the job but no instance.
    if (s.labels.job !== JOB || s.name.startsWith('nodemeter_')) continue;
    const instance = s.labels.instance ?? '';
    if (s.name === 'scrape_samples_scraped') scraped.set(instance, s.value);
    if (TARGET_FAMILIES.has(s.name)) continue;
    byInstance.set(instance, (byInstance.get(instance) ?? 0) + 1);
  }
  for (const [instance, n] of want) {
    const got = byInstance.get(instance) ?? 0;
    if (got !== n) problems.push(`${instance}: ${got} samples in the pull, the target serves ${n}`);
    if (scraped.get(instance) !== n) problems.push(`${instance}: scrape_samples_scraped ${scraped.get(instance)}, the target serves ${n}`);
    if (problems.length > 20) break;
  }
  for (const instance of byInstance.keys()) if (!want.has(instance)) problems.push(`samples of an unknown instance ${JSON.stringify(instance)}`);
  return { problems, families: new Set(samples.map((s) => s.name)).size, samples: samples.length };
}

// ---------------------------------------------------------------------------------------------
// nodemeter

interface Pull {
  wallMs: number;
  headersMs: number;
  bodyBytes: number;
  /** The agent's utime + stime over the pull, ms (10 ms ticks). */
  cpuMs: number;
  targetServerCpuMs: number;
  rssBeforeBytes: number;
  /** VmHWM after the pull, reset to the RSS just before it. */
  peakBytes: number;
  growthBytes: number;
  samples: number;
  up: number;
  upOne: number;
  /** Per-target scrape durations the agent reported in this pull (its scrape_duration_seconds), ms. */
  targetScrapeMs: Summary & { sum: number };
  /** From the pull's start to the first target request's arrival / the last target response's end, ms. */
  firstFetchMs: number | null;
  lastFetchEndMs: number | null;
  /** Target requests during the pull, and whether each target got exactly one. */
  requests: number;
  eachTargetOnce: boolean;
  gzipResponses: number;
  otherCpus: number;
  stealCpus: number;
}

interface AgentHandle {
  pid: number;
  url: string;
  httpAgent: HttpAgent;
  stop: () => Promise<void>;
  config: string;
  command: readonly string[];
  readyMs: number;
  profileDir?: string;
}

function agentConfig(concurrency: number): string {
  return [
    '# Written by bench/podscrape.bench.ts: on-demand pod scraping only.',
    'receivers:',
    '  podscrape:',
    '    discovery:',
    `      - aggregator: ${AGGREGATOR}`,
    '        mode: on_demand',
    `    concurrency: ${concurrency}`,
    'exporters:',
    '  prometheus: {}',
    'service:',
    '  pipelines:',
    '    metrics:',
    '      receivers: [podscrape]',
    '      exporters: [prometheus]',
    '',
  ].join('\n');
}

async function pullOnce(agent: AgentHandle, ts: TargetServer, tsPid: number, ticksPerSecond: number): Promise<{ pull: Pull; body: Buffer; status: number }> {
  await ts.request({ type: 'reset' }, 'ok');
  const tickMs = 1000 / ticksPerSecond;
  const machine = readMachineCpu();
  const own = process.cpuUsage();
  const agentBefore = totalTicks(readCpuTicks(agent.pid));
  const tsBefore = totalTicks(readCpuTicks(tsPid));
  const memBefore = readMemory(agent.pid);
  resetPeakRss(agent.pid);
  const startedEpoch = epochMs();
  const res = await timedGet(`${agent.url}/metrics?job=${JOB}`, agent.httpAgent, PULL_TIMEOUT_MS);
  const memAfter = readMemory(agent.pid);
  const cpuMs = (totalTicks(readCpuTicks(agent.pid)) - agentBefore) * tickMs;
  const targetServerCpuMs = (totalTicks(readCpuTicks(tsPid)) - tsBefore) * tickMs;
  const load = otherLoad(machine, readMachineCpu(), cpuMs + targetServerCpuMs + ownCpuMs(own));
  const { log } = await ts.request({ type: 'log' }, 'log');
  const count = res.status === 200 ? quickCount(res.body) : { samples: 0, up: 0, upOne: 0, targetScrapeMs: [] };
  const durations = count.targetScrapeMs.length === 0 ? [0] : count.targetScrapeMs;
  const pull: Pull = {
    wallMs: res.elapsedMs,
    headersMs: res.headersMs,
    bodyBytes: res.body.length,
    cpuMs,
    targetServerCpuMs,
    rssBeforeBytes: memBefore.rssBytes,
    peakBytes: Math.max(memAfter.hwmBytes, memAfter.rssBytes),
    growthBytes: Math.max(memAfter.hwmBytes, memAfter.rssBytes) - memBefore.rssBytes,
    samples: count.samples,
    up: count.up,
    upOne: count.upOne,
    targetScrapeMs: { ...summarize(durations), sum: durations.reduce((a, b) => a + b, 0) },
    firstFetchMs: log.firstArrivalMs === null ? null : log.firstArrivalMs - startedEpoch,
    lastFetchEndMs: log.lastEndMs === null ? null : log.lastEndMs - startedEpoch,
    requests: log.perTarget.reduce((a, b) => a + b, 0),
    eachTargetOnce: log.perTarget.every((n) => n === 1),
    gzipResponses: log.gzip,
    otherCpus: load.otherCpus,
    stealCpus: load.stealCpus,
  };
  return { pull, body: res.body, status: res.status };
}

// ---------------------------------------------------------------------------------------------
// Prometheus

interface PromRound {
  /** Sum of the 200 targets' scrape_duration_seconds, ms. */
  sumMs: number;
  maxMs: number;
  medianMs: number;
  up: number;
  samples: number;
  /** Other processes' CPUs between this reading and the one before. */
  otherCpus: number;
}

interface PromPhase {
  version: string;
  intervalS: number;
  rounds: PromRound[];
  /** Every target's scrape duration of every round read, ms. */
  durationsMs: number[];
  /** Its process_cpu_seconds_total over the rounds read, per round, ms (10 ms resolution). */
  cpuMsPerRound: number | null;
  targetServerCpuMsPerRound: number;
  rssBytes: number | undefined;
  /** Rounds read while other processes used more than DISTURBED_CPUS, and read again. */
  discardedRounds: number;
  /** Target requests during the rounds read: per target min/max, gzip and plain answers. */
  requestsPerTarget: { min: number; max: number };
  gzipResponses: number;
  identityResponses: number;
  acceptEncoding: string | null;
  accept: string | null;
  userAgent: string | null;
  /** Median over the rounds kept. */
  otherCpus: number;
  /** From start to every target up with every sample, ms. */
  firstRoundMs: number;
}

function prometheusVersion(): string {
  try {
    const out = execFileSync(PROMETHEUS_BIN, ['--version'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    return /version (\S+)/.exec(out)?.[1] ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

/** Prometheus' own process_cpu_seconds_total and process_resident_memory_bytes, from its /metrics. */
async function promSelf(prom: Prometheus): Promise<{ cpuSeconds: number | undefined; rssBytes: number | undefined }> {
  const res = await httpGet(`${prom.url}/metrics`, { timeoutMs: 10_000 });
  const value = (name: string): number | undefined => {
    const m = new RegExp(`^${name} (\\S+)$`, 'm').exec(res.body);
    return m?.[1] === undefined ? undefined : Number(m[1]);
  };
  return { cpuSeconds: value('process_cpu_seconds_total'), rssBytes: value('process_resident_memory_bytes') };
}

async function promRound(prom: Prometheus): Promise<{ round: PromRound; durationsMs: number[] }> {
  const durations = await prom.query(`scrape_duration_seconds{job="${JOB}"}`);
  const up = await prom.query(`sum(up{job="${JOB}"})`);
  const samples = await prom.query(`sum(scrape_samples_scraped{job="${JOB}"})`);
  const ms = durations.map((d) => d.value * 1000);
  const s = summarize(ms.length === 0 ? [0] : ms);
  return {
    round: { sumMs: ms.reduce((a, b) => a + b, 0), maxMs: s.max, medianMs: s.median, up: up[0]?.value ?? 0, samples: samples[0]?.value ?? 0, otherCpus: 0 },
    durationsMs: ms,
  };
}

async function runPrometheusPhase(
  opts: PodscrapeBenchOptions,
  targets: readonly TargetInfo[],
  totalSamples: number,
  ts: TargetServer,
  tsPid: number,
  agentPid: number,
  cleanup: Cleanup,
  version: string,
): Promise<PromPhase> {
  const { log } = opts;
  const intervalMs = opts.promIntervalS * 1000;
  const started = performance.now();
  const prom = await Prometheus.start({
    targets: targets.map((t) => ({ address: `127.0.0.1:${t.port}`, job: JOB })),
    scrapeInterval: `${opts.promIntervalS}s`,
    readyTimeoutMs: 60_000,
  });
  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    await prom.close();
  };
  cleanup.add('stop prometheus', stop);
  try {
    // Its first round: every target up with every sample. The targets' offsets spread each round
    // over the whole interval, so it takes up to one interval after start.
    await prom.waitForQuery(`count(up{job="${JOB}"} == 1)`, (r) => r[0]?.value === targets.length, intervalMs * 3 + 30_000);
    await prom.waitForQuery(`sum(scrape_samples_scraped{job="${JOB}"})`, (r) => r[0]?.value === totalSamples, intervalMs * 3 + 30_000);
    const firstRoundMs = performance.now() - started;
    log(`  prometheus ${version}: every target up with every sample ${(firstRoundMs / 1000).toFixed(1)} s after start; reading ${opts.promRounds} rounds, ${opts.promIntervalS} s apart`);
    // A round later, so the rounds read are steady-state ones (the first created every series).
    await sleep(intervalMs);
    await ts.request({ type: 'reset' }, 'ok');
    const tickMs = 1000 / clockTicksPerSecond();
    const rounds: PromRound[] = [];
    const durationsMs: number[] = [];
    let promCpuMs: number | undefined = 0;
    let tsCpuMs = 0;
    let discarded = 0;
    // The idle agent's CPU counts as ours too (it should have next to none).
    const agentTicks = (): number => totalTicks(readCpuTicks(agentPid));
    let prev = { machine: readMachineCpu(), own: process.cpuUsage(), ts: totalTicks(readCpuTicks(tsPid)), agent: agentTicks(), prom: (await promSelf(prom)).cpuSeconds };
    let rssBytes: number | undefined;
    const t0 = performance.now();
    for (let k = 1; rounds.length < opts.promRounds; k++) {
      // One interval apart: each reading holds every target's scrape of the interval before it.
      const wait = t0 + k * intervalMs - performance.now();
      if (wait > 0) await sleep(wait);
      const r = await promRound(prom);
      const self = await promSelf(prom);
      const now = { machine: readMachineCpu(), own: process.cpuUsage(), ts: totalTicks(readCpuTicks(tsPid)), agent: agentTicks(), prom: self.cpuSeconds };
      const promDelta = now.prom === undefined || prev.prom === undefined ? undefined : (now.prom - prev.prom) * 1000;
      const tsDelta = (now.ts - prev.ts) * tickMs;
      const load = otherLoad(prev.machine, now.machine, (promDelta ?? 0) + tsDelta + (now.agent - prev.agent) * tickMs + ownCpuMs(prev.own));
      rssBytes = self.rssBytes;
      prev = now;
      if (load.otherCpus > DISTURBED_CPUS && discarded < opts.promRounds) {
        discarded++;
        log(`  prometheus round discarded: other processes used ${load.otherCpus.toFixed(2)} CPUs`);
        continue;
      }
      rounds.push({ ...r.round, otherCpus: load.otherCpus });
      durationsMs.push(...r.durationsMs);
      promCpuMs = promDelta === undefined || promCpuMs === undefined ? undefined : promCpuMs + promDelta;
      tsCpuMs += tsDelta;
    }
    const { log: requests } = await ts.request({ type: 'log' }, 'log');
    return {
      version,
      intervalS: opts.promIntervalS,
      rounds,
      durationsMs,
      cpuMsPerRound: promCpuMs === undefined ? null : promCpuMs / rounds.length,
      targetServerCpuMsPerRound: tsCpuMs / rounds.length,
      rssBytes,
      discardedRounds: discarded,
      requestsPerTarget: { min: Math.min(...requests.perTarget), max: Math.max(...requests.perTarget) },
      gzipResponses: requests.gzip,
      identityResponses: requests.identity,
      acceptEncoding: requests.lastAcceptEncoding,
      accept: requests.lastAccept,
      userAgent: requests.lastUserAgent,
      otherCpus: summarize(rounds.map((r) => r.otherCpus)).median,
      firstRoundMs,
    };
  } catch (err) {
    throw new Error(`${(err as Error).message}\nprometheus targets: ${JSON.stringify((await prom.targets().catch(() => [])).filter((t) => t.health !== 'up').slice(0, 5))}`, { cause: err });
  } finally {
    await stop();
  }
}

// ---------------------------------------------------------------------------------------------
// The parser's own benchmark, quoted

interface ParserReference {
  file: string;
  date: string;
  samplesPerSecond: number;
}

function latestParserResults(repoRoot: string): ParserReference | undefined {
  const dir = join(repoRoot, 'bench', 'results');
  const files = existsSync(dir) ? readdirSync(dir).filter((f) => /^parser-\d{4}-\d{2}-\d{2}\.json$/.test(f)).sort() : [];
  const file = files[files.length - 1];
  if (file === undefined) return undefined;
  try {
    const r = JSON.parse(readFileSync(join(dir, file), 'utf8')) as { date: string; figures: { nodemeterBuffer: { samplesPerSecondCpu: number } } };
    return { file: `bench/results/${file}`, date: r.date, samplesPerSecond: r.figures.nodemeterBuffer.samplesPerSecondCpu };
  } catch {
    return undefined;
  }
}

// ---------------------------------------------------------------------------------------------

interface Phase {
  encoding: Encoding;
  pulls: Pull[];
  /** Pulls during which other processes used more than DISTURBED_CPUS, measured again. */
  discarded: Pull[];
  quiet: { quiet: boolean; otherCpus: number; waitedMs: number };
  prometheus?: PromPhase;
  /** The agent's VmRSS once it has been idle for the Prometheus phase, and how long that was. */
  idleAfter?: { rssBytes: number; seconds: number };
}

const rounded = (s: Summary, d = 1): Record<string, number> => ({ median: round(s.median, d), p90: round(s.p90, d), min: round(s.min, d), max: round(s.max, d), mean: round(s.mean, d) });

function pullSummary(pulls: readonly Pull[]): Record<string, unknown> {
  const sum = (f: (p: Pull) => number): Summary => summarize(pulls.map(f));
  const maybe = (f: (p: Pull) => number | null): Record<string, number> | null => {
    const v = pulls.map(f).filter((x): x is number => x !== null);
    return v.length === 0 ? null : rounded(summarize(v));
  };
  return {
    wallMs: rounded(sum((p) => p.wallMs)),
    headersMs: rounded(sum((p) => p.headersMs)),
    cpuMs: rounded(sum((p) => p.cpuMs)),
    targetServerCpuMs: rounded(sum((p) => p.targetServerCpuMs)),
    rssBeforeMiB: rounded(sum((p) => p.rssBeforeBytes / 1048576)),
    peakMiB: rounded(sum((p) => p.peakBytes / 1048576)),
    growthMiB: rounded(sum((p) => p.growthBytes / 1048576)),
    agentTargetScrapeMs: {
      median: round(summarize(pulls.map((p) => p.targetScrapeMs.median)).median, 2),
      max: round(Math.max(...pulls.map((p) => p.targetScrapeMs.max)), 2),
      sumMedian: round(summarize(pulls.map((p) => p.targetScrapeMs.sum)).median, 1),
    },
    firstFetchMs: maybe((p) => p.firstFetchMs),
    lastFetchEndMs: maybe((p) => p.lastFetchEndMs),
    afterLastFetchMs: maybe((p) => (p.lastFetchEndMs === null ? null : p.wallMs - p.lastFetchEndMs)),
    bodyBytes: pulls[pulls.length - 1]?.bodyBytes,
    gzipResponses: pulls.map((p) => p.gzipResponses),
    otherCpus: pulls.map((p) => round(p.otherCpus, 2)),
    stealCpus: pulls.map((p) => round(p.stealCpus, 2)),
    runs: pulls.map((p) => ({
      wallMs: round(p.wallMs, 1),
      cpuMs: round(p.cpuMs, 0),
      growthMiB: mib(p.growthBytes),
      peakMiB: mib(p.peakBytes),
      firstFetchMs: p.firstFetchMs === null ? null : round(p.firstFetchMs, 1),
      lastFetchEndMs: p.lastFetchEndMs === null ? null : round(p.lastFetchEndMs, 1),
      otherCpus: round(p.otherCpus, 2),
    })),
  };
}

function promSummary(p: PromPhase): Record<string, unknown> {
  const sums = summarize(p.rounds.map((r) => r.sumMs));
  const each = summarize(p.durationsMs);
  return {
    version: p.version,
    intervalS: p.intervalS,
    rounds: p.rounds.length,
    scrapeDurationSumMsPerRound: rounded(sums),
    targetScrapeMs: { median: round(each.median, 2), p90: round(each.p90, 2), max: round(each.max, 2) },
    up: p.rounds.map((r) => r.up),
    samplesScraped: p.rounds.map((r) => r.samples),
    cpuMsPerRound: p.cpuMsPerRound === null ? null : round(p.cpuMsPerRound, 0),
    targetServerCpuMsPerRound: round(p.targetServerCpuMsPerRound, 0),
    rssMiB: mib(p.rssBytes),
    requestsPerTarget: p.requestsPerTarget,
    gzipResponses: p.gzipResponses,
    identityResponses: p.identityResponses,
    acceptEncoding: p.acceptEncoding,
    accept: p.accept,
    userAgent: p.userAgent,
    otherCpus: p.rounds.map((r) => round(r.otherCpus, 2)),
    discardedRounds: p.discardedRounds,
    firstRoundS: round(p.firstRoundMs / 1000, 1),
  };
}

export async function runPodscrapeBench(opts: PodscrapeBenchOptions): Promise<Record<string, unknown>> {
  const { log } = opts;
  if (!opts.skipPrometheus) ensureInstalled(opts.repoRoot, PROMETHEUS_BIN, 'prometheus', log);
  const ticksPerSecond = clockTicksPerSecond();
  const promVersion = opts.skipPrometheus ? 'skipped' : prometheusVersion();
  const cleanup = new Cleanup();
  const mismatches: string[] = [];
  const phases: Phase[] = [];
  let targets: TargetInfo[] | undefined;
  let coldPull: Pull | undefined;
  let firstCheck: { families: number; samples: number } | undefined;
  let agentInfo: { command: readonly string[]; config: string; readyMs: number; pid: number; idleRssBytes: number } | undefined;
  let peakResetWorks: boolean | undefined;
  let profile: ProfileSummary[] | undefined;
  let buildMs: number | undefined;
  try {
    // 1. The targets, in their own process.
    log(`building ${opts.targets} target bodies of ~${opts.seriesPerTarget} series and serving them on 127.0.0.1…`);
    const script = join(opts.repoRoot, 'bench', 'lib', 'target-server-child.ts');
    const { child: ts, ready } = await BenchChild.start<TargetServerRequest, TargetServerReply>(script, [String(opts.targets), String(opts.seriesPerTarget)], 'target server', opts.repoRoot);
    cleanup.add('stop the target server', () => ts.stop({ type: 'shutdown' }), () => ts.kill());
    if (ready.type !== 'ready') throw new Error('target server did not start');
    targets = ready.targets;
    buildMs = ready.buildMs;
    const tsPid = ts.pid;
    const totalSamples = targets.reduce((a, t) => a + t.samples, 0);
    const payloadBytes = targets.reduce((a, t) => a + t.bytes, 0);
    const payloadGzipBytes = targets.reduce((a, t) => a + t.gzipBytes, 0);
    log(`  target server pid ${tsPid}: ${targets.length} ports, ${totalSamples} samples, ${mib(payloadBytes)} MiB as text, ${mib(payloadGzipBytes)} MiB gzip (built in ${Math.round(buildMs)} ms)`);

    // 2. The API server: one Running pod per target on the agent's node, labelled for the aggregator rule.
    const api = await KubeApiServer.start();
    cleanup.add('stop the Kubernetes API server', () => api.stop());
    api.add(nodeObject(NODE_NAME));
    api.add(namespaceObject(NAMESPACE));
    targets.forEach((t, i) => {
      api.add(
        podObject(`target-${String(i).padStart(3, '0')}`, {
          namespace: NAMESPACE,
          node: NODE_NAME,
          podIP: '127.0.0.1',
          hostIP: '127.0.0.1',
          labels: { app: 'bench-target', [`${AGGREGATOR}/job-name`]: JOB, [`${AGGREGATOR}/port`]: String(t.port) },
          owner: { kind: 'Deployment', name: 'bench-target' },
        }),
      );
    });
    log(`  Kubernetes API server ${api.url}: ${targets.length} Running pods on ${NODE_NAME}, podIP 127.0.0.1`);

    // 3. The agent.
    const config = agentConfig(opts.concurrency);
    let profileDir: string | undefined;
    if (opts.cpuProf) {
      profileDir = mkdtempSync(join(tmpdir(), 'nodemeter-podscrape-prof-'));
      const dir = profileDir;
      cleanup.add(`remove ${dir}`, () => rmSync(dir, { recursive: true, force: true }), () => rmSync(dir, { recursive: true, force: true }));
    }
    const a = await startAgent({
      config,
      nodeArgs: profileDir === undefined ? [] : ['--cpu-prof', `--cpu-prof-dir=${profileDir}`],
      extraArgs: ['--kube-api-url', api.url, '--node-name', NODE_NAME, '--log-level', 'info'],
      readyTimeoutMs: 60_000,
    });
    const httpAgent = createKeepAliveAgent();
    const agent: AgentHandle = {
      pid: a.child.pid as number,
      url: a.url,
      httpAgent,
      stop: async () => {
        httpAgent.destroy();
        const r = await a.stop('SIGTERM', 15_000);
        if (r.killed) log('  the agent did not stop on SIGTERM within 15 s and was killed');
      },
      config,
      command: a.command,
      readyMs: a.readyMs ?? NaN,
      ...(profileDir === undefined ? {} : { profileDir }),
    };
    cleanup.add('stop the agent', agent.stop);
    const idleRssBytes = readMemory(agent.pid).rssBytes;
    agentInfo = { command: agent.command, config, readyMs: agent.readyMs, pid: agent.pid, idleRssBytes };
    log(`  agent pid ${agent.pid}: /readyz 200 after ${agent.readyMs.toFixed(0)} ms, RSS ${mib(idleRssBytes)} MiB`);

    // 4. The first pull the agent accepts (its pod cache synced): the cold one, from the idle agent.
    await ts.request({ type: 'encoding', encoding: opts.encodings[0] ?? 'identity' }, 'ok');
    const waitStarted = performance.now();
    for (;;) {
      peakResetWorks = resetPeakRss(agent.pid);
      const r = await pullOnce(agent, ts, tsPid, ticksPerSecond);
      if (r.status === 200) {
        coldPull = r.pull;
        const check = checkPulledBody(r.body, targets);
        firstCheck = { families: check.families, samples: check.samples };
        for (const p of check.problems) mismatches.push(`first pull: ${p}`);
        break;
      }
      if (r.status !== 400) throw new Error(`GET /metrics?job=${JOB}: status ${r.status}: ${r.body.toString('utf8').slice(0, 500)}`);
      if (performance.now() - waitStarted > 60_000) throw new Error(`?job=${JOB} still refused after 60 s: ${r.body.toString('utf8').slice(0, 500)}\n${a.describe()}`);
      await sleep(100);
    }
    log(
      `  first accepted pull (cold, ${opts.encodings[0]}): ${coldPull.wallMs.toFixed(0)} ms, ${coldPull.samples} samples, ${coldPull.upOne}/${coldPull.up} up, ` +
        `RSS ${mib(coldPull.rssBeforeBytes)} → peak ${mib(coldPull.peakBytes)} MiB; checked: ${mismatches.length === 0 ? 'every target up with all its samples' : `${mismatches.length} problems`}`,
    );
    if (!peakResetWorks) log('  WARNING: /proc/<pid>/clear_refs refused: peaks are VmHWM since the agent started');
    const expectedLines = coldPull.samples;

    // 5. Per encoding: warm-up, measured pulls, then Prometheus over the same targets.
    let windowStartUs: number | undefined;
    let windowEndUs = 0;
    for (const encoding of opts.encodings) {
      await ts.request({ type: 'encoding', encoding }, 'ok');
      log(`${encoding}: ${opts.warmup} warm-up pull(s), then ${opts.pulls} measured, ${PULL_GAP_MS} ms apart`);
      for (let i = 0; i < opts.warmup; i++) {
        const r = await pullOnce(agent, ts, tsPid, ticksPerSecond);
        if (r.status !== 200) throw new Error(`warm-up pull: status ${r.status}: ${r.body.toString('utf8').slice(0, 500)}`);
        await sleep(PULL_GAP_MS);
      }
      const idleTicks = (): number => ((totalTicks(readCpuTicks(agent.pid)) + totalTicks(readCpuTicks(tsPid))) * 1000) / ticksPerSecond;
      const q = await waitForQuiet(QUIET_CPUS, opts.quietWaitMs ?? QUIET_WAIT_MS, idleTicks, log);
      if (!q.quiet) log(`  WARNING: other processes still use ${q.load.otherCpus.toFixed(2)} CPUs; measuring anyway`);
      const phase: Phase = { encoding, pulls: [], discarded: [], quiet: { quiet: q.quiet, otherCpus: round(q.load.otherCpus, 2), waitedMs: Math.round(q.waitedMs) } };
      phases.push(phase);
      windowStartUs ??= Number(process.hrtime.bigint() / 1000n);
      for (let i = 0; phase.pulls.length < opts.pulls; i++) {
        const r = await pullOnce(agent, ts, tsPid, ticksPerSecond);
        if (r.status !== 200) throw new Error(`pull ${i + 1}: status ${r.status}: ${r.body.toString('utf8').slice(0, 500)}`);
        const p = r.pull;
        const at = `${encoding} pull ${i + 1}`;
        if (p.up !== targets.length || p.upOne !== targets.length) mismatches.push(`${at}: ${p.upOne} of ${p.up} up series are 1, expected ${targets.length}`);
        if (p.samples !== expectedLines) mismatches.push(`${at}: ${p.samples} samples, the first pull had ${expectedLines}`);
        if (!p.eachTargetOnce) mismatches.push(`${at}: ${p.requests} target requests, not one per target`);
        const wantGzip = encoding === 'gzip' ? targets.length : 0;
        if (p.gzipResponses !== wantGzip) mismatches.push(`${at}: ${p.gzipResponses} gzip answers, expected ${wantGzip}`);
        log(
          `  pull ${String(i + 1).padStart(2)}: ${p.wallMs.toFixed(0).padStart(5)} ms (headers ${p.headersMs.toFixed(0)}), CPU ${p.cpuMs.toFixed(0)} ms, ` +
            `fetches ${cell(p.firstFetchMs, 0)}–${cell(p.lastFetchEndMs, 0)} ms, RSS ${mib(p.rssBeforeBytes)} → ${mib(p.peakBytes)} MiB, other CPUs ${p.otherCpus.toFixed(2)}`,
        );
        if (p.otherCpus > DISTURBED_CPUS && phase.discarded.length < opts.pulls) {
          // Another job took a CPU: measure again once the machine is quiet (at most `pulls` times).
          phase.discarded.push(p);
          log(`    discarded (other processes above ${DISTURBED_CPUS} CPUs); waiting for a quiet machine`);
          await waitForQuiet(QUIET_CPUS, opts.quietWaitMs ?? QUIET_WAIT_MS, idleTicks, log);
        } else {
          phase.pulls.push(p);
        }
        await sleep(PULL_GAP_MS);
      }
      windowEndUs = Number(process.hrtime.bigint() / 1000n);
      const lastPullEnd = performance.now();
      if (!opts.skipPrometheus) {
        phase.prometheus = await runPrometheusPhase(opts, targets, totalSamples, ts, tsPid, agent.pid, cleanup, promVersion);
        // The agent did nothing while Prometheus ran: does its memory go back?
        phase.idleAfter = { rssBytes: readMemory(agent.pid).rssBytes, seconds: (performance.now() - lastPullEnd) / 1000 };
        const pr = phase.prometheus;
        for (const [k, r] of pr.rounds.entries()) {
          if (r.up !== targets.length) mismatches.push(`${encoding} prometheus round ${k + 1}: up sum ${r.up}, expected ${targets.length}`);
          if (r.samples !== totalSamples) mismatches.push(`${encoding} prometheus round ${k + 1}: ${r.samples} samples scraped, expected ${totalSamples}`);
        }
        const wantGzip = encoding === 'gzip' ? pr.gzipResponses > 0 && pr.identityResponses === 0 : pr.gzipResponses === 0;
        if (!wantGzip) mismatches.push(`${encoding} prometheus: ${pr.gzipResponses} gzip and ${pr.identityResponses} plain answers`);
        const sums = summarize(pr.rounds.map((r) => r.sumMs));
        log(`  prometheus: sum of scrape_duration_seconds per round ${sums.median.toFixed(0)} ms (rounds ${pr.rounds.map((r) => r.sumMs.toFixed(0)).join(', ')}), CPU ${cell(pr.cpuMsPerRound, 0)} ms per round, other CPUs ${pr.otherCpus.toFixed(2)}`);
      }
    }

    // 6. The profile, when asked for: the agent must exit for V8 to write it.
    if (opts.cpuProf && profileDir !== undefined) {
      await agent.stop();
      const files = readdirSync(profileDir).filter((f) => f.endsWith('.cpuprofile'));
      if (files.length === 0) log('no .cpuprofile written (the agent must exit cleanly on SIGTERM for --cpu-prof to write one)');
      profile = files.map((f) => summarizeCpuProfile(join(profileDir, f), opts.repoRoot, windowStartUs === undefined ? undefined : { startUs: windowStartUs, endUs: windowEndUs }, 40));
      const keep = join(opts.repoRoot, '.tmp', 'bench-cpuprofile');
      mkdirSync(keep, { recursive: true });
      for (const f of files) writeFileSync(join(keep, `podscrape-${f}`), readFileSync(join(profileDir, f)));
      log(`cpu profiles copied to ${keep}`);
    }
  } finally {
    await cleanup.run();
  }

  // ------------------------------------------------------------------ report
  if (targets === undefined) throw new Error('the target server did not start');
  const totalSamples = targets.reduce((a, t) => a + t.samples, 0);
  const payloadBytes = targets.reduce((a, t) => a + t.bytes, 0);
  const payloadGzipBytes = targets.reduce((a, t) => a + t.gzipBytes, 0);
  const allPulls = phases.flatMap((p) => p.pulls);
  const maxGrowth = Math.max(coldPull?.growthBytes ?? 0, ...allPulls.map((p) => p.growthBytes));
  const targetChecks: Record<string, TargetCheck> = {};
  const ratios: Record<string, Record<string, number | null>> = {};
  for (const phase of phases) {
    const wall = summarize(phase.pulls.map((p) => p.wallMs));
    targetChecks[`pullWallMs.${phase.encoding}`] = checkAtMost(round(wall.median, 1), PODSCRAPE_TARGETS.pullWallMs);
    const pr = phase.prometheus;
    if (pr !== undefined) {
      const sums = summarize(pr.rounds.map((r) => r.sumMs));
      ratios[phase.encoding] = {
        wallOverScrapeDurationSum: ratio(wall.median, sums.median),
        cpuPerPullOverCpuPerRound: pr.cpuMsPerRound === null ? null : ratio(summarize(phase.pulls.map((p) => p.cpuMs)).median, pr.cpuMsPerRound),
      };
    }
  }
  targetChecks.rssGrowthPerPayload = checkAtMost(round(maxGrowth / payloadBytes, 2), PODSCRAPE_TARGETS.rssGrowthPerPayload);
  const parser = latestParserResults(opts.repoRoot);
  const disturbed = allPulls.filter((p) => p.otherCpus > DISTURBED_CPUS).length;
  const result: Record<string, unknown> = {
    benchmark: 'podscrape',
    date: new Date().toISOString(),
    host: { ...hostDescription(), clockTicksPerSecond: ticksPerSecond },
    versions: { node: process.version, prometheus: promVersion, nodemeter: gitDescribe(opts.repoRoot) },
    parameters: {
      targets: opts.targets,
      seriesPerTarget: opts.seriesPerTarget,
      samples: totalSamples,
      payloadBytes,
      payloadGzipBytes,
      pulls: opts.pulls,
      warmup: opts.warmup,
      pullGapMs: PULL_GAP_MS,
      concurrency: opts.concurrency,
      encodings: opts.encodings,
      prometheusIntervalS: opts.promIntervalS,
      prometheusRounds: opts.promRounds,
      cpuProfiling: opts.cpuProf,
      targetBodiesBuildMs: buildMs === undefined ? null : Math.round(buildMs),
    },
    method: {
      targets:
        'one Node child (bench/lib/target-server-child.ts) serving every target on its own 127.0.0.1 port: bench/lib/exposition-payload.ts bodies (target index = seed), text/plain; version=0.0.4, ' +
        'Content-Length, built before timing; encoding identity = plain whatever is asked, gzip = the precompressed (level 6) body to a request accepting gzip; idle keep-alive connections never closed by the server',
      kubernetes: `test/support/kube-api KubeApiServer in the benchmark process: ${opts.targets} Running pods on ${NODE_NAME}, podIP 127.0.0.1, labels ${AGGREGATOR}/job-name=${JOB} and ${AGGREGATOR}/port=<port>`,
      agent: 'bin/nodemeter.js (test/support/agent.ts startAgent) with --kube-api-url and --node-name; config in agent.config',
      pull: `GET /metrics?job=${JOB} over one keep-alive connection, Accept text/plain 0.0.4, no compression asked for; wall from the request to the body's last byte; the first accepted pull (pod cache synced) is the cold pull, then per encoding warm-up pulls and measured pulls ${PULL_GAP_MS} ms apart`,
      cpu: "the agent's utime + stime (/proc/<pid>/stat, all threads) around each pull, 10 ms ticks; the target server's likewise",
      rss: 'VmRSS right before each pull; VmHWM after it, reset to the current RSS by writing 5 to /proc/<pid>/clear_refs right before it; growth = peak − before',
      payload: 'bytes of every target body as text (what the agent parses; gzip bytes are what crosses loopback in gzip mode)',
      fetchWindow: "from the pull's start to the first target request's arrival and to the last target response's end, by the target server's clock (performance.timeOrigin + now(), same host)",
      sameWork:
        'first pull parsed completely: every target up 1 under its address with exactly the samples its body holds and scrape_samples_scraped equal to it; every pull: as many sample lines as the first, every up 1, each target requested once, gzip answers as the encoding says; ' +
        'Prometheus: up sum and scrape_samples_scraped sum equal the targets and their samples in every round read',
      prometheus:
        `Debian's prometheus (test/support/prometheus.ts) started after the pulls of each encoding and stopped before the next, static config of the same targets, scrape_interval = scrape_timeout = ${opts.promIntervalS}s; ` +
        'after every target is up with every sample and one more interval, rounds read one interval apart: scrape_duration_seconds of every target (fetch, read, parse and append to the TSDB head, per its scrape loop), up and scrape_samples_scraped sums; ' +
        "CPU per round from its own process_cpu_seconds_total over the rounds read; it spreads the targets' scrapes over the interval, so a round has no wall time of its own to compare",
      otherLoad: '/proc/stat busy time minus the agent, the target server and this process (and Prometheus while it runs), in CPUs',
    },
    agent:
      agentInfo === undefined
        ? null
        : { command: agentInfo.command, config: agentInfo.config, readyMs: round(agentInfo.readyMs, 0), idleRssMiB: mib(agentInfo.idleRssBytes), peakResetWorks: peakResetWorks ?? null },
    firstPullCheck: firstCheck ?? null,
    coldPull:
      coldPull === undefined
        ? null
        : {
            encoding: opts.encodings[0],
            wallMs: round(coldPull.wallMs, 1),
            cpuMs: round(coldPull.cpuMs, 0),
            rssBeforeMiB: mib(coldPull.rssBeforeBytes),
            peakMiB: mib(coldPull.peakBytes),
            growthMiB: mib(coldPull.growthBytes),
            samples: coldPull.samples,
            bodyBytes: coldPull.bodyBytes,
          },
    phases: phases.map((p) => ({
      encoding: p.encoding,
      quietBeforeTiming: p.quiet,
      discardedPulls: p.discarded.map((d) => ({ wallMs: round(d.wallMs, 1), otherCpus: round(d.otherCpus, 2) })),
      nodemeter: pullSummary(p.pulls),
      ...(p.idleAfter === undefined ? {} : { agentIdleAfter: { rssMiB: mib(p.idleAfter.rssBytes), seconds: round(p.idleAfter.seconds, 0) } }),
      ...(p.prometheus === undefined ? {} : { prometheus: promSummary(p.prometheus) }),
    })),
    ratios,
    rssGrowth: { maxMiB: mib(maxGrowth), payloadMiB: mib(payloadBytes), perPayload: round(maxGrowth / payloadBytes, 2), payloadGzipMiB: mib(payloadGzipBytes) },
    parser: parser === undefined ? { run: 'npm run bench -- parser', latest: null } : { run: 'npm run bench -- parser', latest: parser },
    targets: targetChecks,
    disturbedPulls: disturbed,
    mismatches,
    ...(profile === undefined ? {} : { profile }),
  };
  printReport(result, phases, coldPull, opts, log);
  if (mismatches.length > 0) throw new Error(`nodemeter and Prometheus did not do the same work (${mismatches.length} problems, listed above); results not written`);
  if (opts.resultsFile !== undefined) {
    if (opts.cpuProf || opts.skipPrometheus) {
      log(`${opts.cpuProf ? '--cpu-prof slows the agent down' : '--skip-prometheus leaves the peer out'}: no results file written`);
    } else {
      mkdirSync(join(opts.resultsFile, '..'), { recursive: true });
      writeFileSync(opts.resultsFile, `${JSON.stringify(result, null, 2)}\n`);
      log(`results written to ${opts.resultsFile}`);
    }
  }
  return result;
}

function printReport(result: Record<string, unknown>, phases: readonly Phase[], coldPull: Pull | undefined, opts: PodscrapeBenchOptions, log: (l: string) => void): void {
  const pad = (s: string, n: number): string => s.padEnd(n);
  const row = (label: string, ...cells: string[]): string => `${pad(label, 40)}${cells.map((c) => pad(c, 31)).join('')}`;
  const params = result.parameters as { samples: number; payloadBytes: number; payloadGzipBytes: number };
  const targets = result.targets as Record<string, TargetCheck>;
  const ratios = result.ratios as Record<string, Record<string, number | null>>;
  log('');
  log(
    `${opts.targets} targets, ${params.samples} samples (${mib(params.payloadBytes)} MiB as text, ${mib(params.payloadGzipBytes)} MiB gzip), ` +
      `receiver concurrency ${opts.concurrency}, ${opts.pulls} measured pulls per encoding (medians unless said), Prometheus ${(result.versions as { prometheus: string }).prometheus}`,
  );
  for (const phase of phases) {
    const s = (f: (p: Pull) => number): Summary => summarize(phase.pulls.map(f));
    const wall = s((p) => p.wallMs);
    const pr = phase.prometheus;
    const sums = pr === undefined ? undefined : summarize(pr.rounds.map((r) => r.sumMs));
    const each = pr === undefined ? undefined : summarize(pr.durationsMs);
    const r = ratios[phase.encoding];
    const fetchEnd = phase.pulls.map((p) => p.lastFetchEndMs).filter((v): v is number => v !== null);
    log('');
    log(row(`encoding: ${phase.encoding}`, 'nodemeter (one pull)', pr === undefined ? 'Prometheus (skipped)' : `Prometheus (one round)`, 'nodemeter / Prometheus'));
    // The first pull was checked sample by sample; every later one has as many sample lines.
    log(row('targets up / their samples', `${phase.pulls[0]?.upOne ?? '-'} / ${params.samples}`, pr === undefined ? '-' : `${pr.rounds[0]?.up} / ${pr.rounds[0]?.samples}`));
    log(
      row(
        'wall ms (p90)',
        `${cell(wall.median, 0)} (${cell(wall.p90, 0)}) pull`,
        sums === undefined ? '-' : `${cell(sums.median, 0)} (${cell(sums.p90, 0)}) Σ scrape_duration`,
        r === undefined ? '' : `${cell(r.wallOverScrapeDurationSum, 3)}`,
      ),
    );
    log(row('  of which: last target answered at', `${fetchEnd.length === 0 ? '-' : cell(summarize(fetchEnd).median, 0)} ms`, ''));
    log(
      row(
        'one target scrape ms: median / max',
        `${cell(summarize(phase.pulls.map((p) => p.targetScrapeMs.median)).median, 2)} / ${cell(Math.max(...phase.pulls.map((p) => p.targetScrapeMs.max)), 1)}`,
        each === undefined ? '-' : `${cell(each.median, 2)} / ${cell(each.max, 1)}`,
      ),
    );
    log(row('  sum over targets ms', cell(summarize(phase.pulls.map((p) => p.targetScrapeMs.sum)).median, 0), sums === undefined ? '-' : cell(sums.median, 0)));
    log(row('CPU ms (target server)', `${cell(s((p) => p.cpuMs).median, 0)} (${cell(s((p) => p.targetServerCpuMs).median, 0)})`, pr === undefined ? '-' : `${cell(pr.cpuMsPerRound, 0)} (${cell(pr.targetServerCpuMsPerRound, 0)})`, r === undefined ? '' : cell(r.cpuPerPullOverCpuPerRound, 3)));
    const growth = s((p) => p.growthBytes);
    log(
      row(
        'RSS MiB before → peak, growth (max)',
        `${cell(mib(s((p) => p.rssBeforeBytes).median))} → ${cell(mib(s((p) => p.peakBytes).median))}, ${cell(mib(growth.median))} (${cell(mib(growth.max))})`,
        pr === undefined ? '-' : `${cell(mib(pr.rssBytes))} (process)`,
      ),
    );
    if (phase.idleAfter !== undefined) log(row(`  RSS MiB after ${phase.idleAfter.seconds.toFixed(0)} s idle`, cell(mib(phase.idleAfter.rssBytes)), ''));
    log(row('pull body bytes / target gzip answers', `${phase.pulls[0]?.bodyBytes ?? '-'} / ${phase.pulls[0]?.gzipResponses ?? '-'}`, pr === undefined ? '-' : `- / ${pr.gzipResponses} of ${pr.gzipResponses + pr.identityResponses}`));
    const check = targets[`pullWallMs.${phase.encoding}`];
    if (check !== undefined) log(`  pull wall median ${cell(check.value, 0)} ms: ${verdict(check, ' ms')}`);
    const busy = phase.pulls.filter((p) => p.otherCpus > DISTURBED_CPUS).length;
    log(
      `  other processes: ${phase.quiet.otherCpus.toFixed(2)} CPUs before timing; during pulls median ${summarize(phase.pulls.map((p) => p.otherCpus)).median.toFixed(2)} (steal ${summarize(phase.pulls.map((p) => p.stealCpus)).median.toFixed(2)}), ` +
        `${phase.discarded.length} pulls discarded and measured again, ${busy} kept above ${DISTURBED_CPUS}` +
        `${pr === undefined ? '' : `; during the Prometheus rounds ${pr.otherCpus.toFixed(2)} (median), ${pr.discardedRounds} rounds discarded`}`,
    );
  }
  const growth = result.rssGrowth as { maxMiB: number; payloadMiB: number; perPayload: number };
  log('');
  if (coldPull !== undefined) log(`cold pull (the first accepted, from the idle agent, ${opts.encodings[0]}): ${coldPull.wallMs.toFixed(0)} ms, CPU ${coldPull.cpuMs.toFixed(0)} ms, RSS ${mib(coldPull.rssBeforeBytes)} → ${mib(coldPull.peakBytes)} MiB (+${mib(coldPull.growthBytes)})`);
  const rssCheck = targets.rssGrowthPerPayload as TargetCheck;
  log(`RSS growth, largest of any pull: ${growth.maxMiB} MiB = ${growth.perPayload} × the ${growth.payloadMiB} MiB payload: ${verdict(rssCheck, ' ×')}`);
  const parser = (result.parser as { latest: ParserReference | null }).latest;
  log(`parser alone: npm run bench -- parser${parser === null ? ' (no results file yet)' : ` — latest ${parser.file}: ${parser.samplesPerSecond.toLocaleString('en-US')} samples/s on one core`}`);
  const mismatches = result.mismatches as string[];
  log(`same work: ${mismatches.length === 0 ? 'every pull and every Prometheus round had every target up with every sample' : `${mismatches.length} PROBLEMS`}`);
  for (const m of mismatches.slice(0, 30)) log(`  ${m}`);
  const profile = result.profile as ProfileSummary[] | undefined;
  for (const p of profile ?? []) {
    log('');
    log(`profile ${p.file}: ${p.busyMs} ms busy, ${p.idleMs} ms idle in the measured pulls' window`);
    log('  by file (inclusive):');
    for (const e of p.topFiles.slice(0, 25)) log(`    ${e.percent.toFixed(1).padStart(5)}%  ${e.ms.toFixed(1).padStart(8)} ms  ${e.name}`);
    log('  top inclusive:');
    for (const e of p.topInclusive.slice(0, 40)) log(`    ${e.percent.toFixed(1).padStart(5)}%  ${e.ms.toFixed(1).padStart(8)} ms  ${e.name}`);
    log('  top self:');
    for (const e of p.topSelf.slice(0, 30)) log(`    ${e.percent.toFixed(1).padStart(5)}%  ${e.ms.toFixed(1).padStart(8)} ms  ${e.name}`);
  }
  log('Targets are reported, not asserted: a miss does not fail the benchmark; different work does.');
}
