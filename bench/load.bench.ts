// Load: one agent holding a node's worth of work — `volumes` kubelet volume mounts (tmpfs in a
// private mount namespace), `containers` running containers on a private dockerd, `targets` pod
// scrape targets — pulled on /metrics by an open loop of `pullsPerSecond` GETs for `seconds`
// (a pull starts every 1000 / pullsPerSecond ms whether or not the earlier ones finished).
// Reports the pulls' latency percentiles and errors, and the agent's CPU and RSS over the window.
// See bench/README.md ("load"). Needs root (mount namespace, dockerd).
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';

import { REPO_ROOT, startAgent } from '../test/support/agent.ts';
import { engineCreateContainer } from '../test/support/docker-engine.ts';
import { Dockerd } from '../test/support/dockerd.ts';
import { parseExposition, type Sample } from '../test/support/exposition.ts';
import { httpGet } from '../test/support/http.ts';
import { namespace as namespaceObject, node as nodeObject, pod as podObject } from '../test/support/kube-api/fixtures.ts';
import { KubeApiServer } from '../test/support/kube-api/server.ts';
import { MountNamespace } from '../test/support/mountns.ts';
import { BenchChild } from './lib/bench-child.ts';
import { Cleanup } from './lib/cleanup.ts';
import { createTreeDirectories, mountScript, planTree } from './lib/kubelet-tree.ts';
import { otherLoad, ownCpuMs, readMachineCpu } from './lib/machine-load.ts';
import { runOpenLoop } from './lib/open-loop.ts';
import { clockTicksPerSecond, readCpuTicks, readMemory, readRssBytes, resetPeakRss, totalTicks } from './lib/proc.ts';
import { hostDescription } from './lib/report.ts';
import { percentile, round } from './lib/stats.ts';
import type { TargetServerReply, TargetServerRequest } from './lib/target-server-child.ts';

/** What to load the agent with. Every field has a default: `runLoadBench({})` is the full-size run. */
export interface LoadBenchOptions {
  /** Kubelet volume mounts (tmpfs; 3 emptyDir + 1 CSI per pod, bench/lib/kubelet-tree.ts). Default 1000. */
  readonly volumes?: number;
  /** Running containers on a private dockerd (the test image's `sleep`). Default 100. */
  readonly containers?: number;
  /** Pod scrape targets (ports of one target-server child, one pod each). Default 50. */
  readonly targets?: number;
  /** Samples in each target's body. Default 200. */
  readonly seriesPerTarget?: number;
  /** Pulls of /metrics started per second (open loop). Default 20. */
  readonly pullsPerSecond?: number;
  /** Length of the measured window, s. Default 60. */
  readonly seconds?: number;
  /** A pull not finished after this long counts as an error (`timeout`), ms. Default 10 000. */
  readonly pullTimeoutMs?: number;
  /** The docker and podscrape receivers' collection_interval (they refresh in the background). Default `15s`. */
  readonly collectionInterval?: string;
  /**
   * The Prometheus exporter's max_concurrent_pulls. Default 64: the load measures latency under
   * concurrency; with the exporter's default (8), pulls beyond it are answered 503 at once and
   * counted as errors here.
   */
  readonly maxConcurrentPulls?: number;
  /** Repository root (the agent's launcher and the bench children). Default: this checkout. */
  readonly repoRoot?: string;
  /** Progress lines; default console.log. */
  readonly log?: (line: string) => void;
}

export interface LatencySummary {
  readonly p50: number;
  readonly p90: number;
  readonly p99: number;
  readonly max: number;
  readonly mean: number;
}

export interface LoadResult {
  /** The options as run, defaults filled in. */
  readonly options: Required<Omit<LoadBenchOptions, 'log' | 'repoRoot'>>;
  readonly host: ReturnType<typeof hostDescription>;
  /** What one pull served before the window: the work is all there. */
  readonly served: { readonly volumes: number; readonly containers: number; readonly targetsUp: number; readonly samples: number; readonly bytes: number };
  readonly pulls: {
    readonly scheduled: number;
    /** Answered 200 with a whole body. */
    readonly ok: number;
    /** Non-200 answers, time-outs and network errors. */
    readonly errors: number;
    /** Errors by kind: `status 503`, `timeout`, `ECONNRESET`, … */
    readonly errorKinds: Record<string, number>;
    readonly maxInFlight: number;
    /** The client's worst lateness in starting a pull, ms (large: the figures are not open-loop). */
    readonly maxStartLagMs: number;
    readonly meanBytes: number;
  };
  /** Time to the last body byte of every pull (errors included, at their time of failure), ms. */
  readonly latencyMs: LatencySummary;
  readonly agent: {
    readonly pid: number;
    readonly readyMs: number;
    /** utime + stime over the window, as a percentage of one core (10 ms resolution). */
    readonly cpuPercentOfOneCore: number;
    readonly cpuSeconds: number;
    readonly rssBeforeBytes: number;
    /** Largest of VmHWM (reset before the window) and the RSS sampled every 250 ms. */
    readonly peakRssBytes: number;
    readonly rssAfterBytes: number;
    /** nodemeter_event_loop_delay_max_seconds right after the window (it covers the last 60 s). */
    readonly eventLoopDelayMaxSeconds: number | null;
    /** nodemeter_exporter_scrapes_total by outcome, over the window. */
    readonly scrapesByOutcome: Record<string, number>;
  };
  /** CPUs' worth of time used by other processes (not the agent, not this one) during the window. */
  readonly otherCpus: number;
}

const NODE_NAME = 'load-node';
const NAMESPACE = 'load';
const JOB = 'kubernetes-pods';
/** The plain-text format, as the filesystem and podscrape benches ask for it. */
const PULL_HEADERS = { accept: 'text/plain;version=0.0.4;q=1,*/*;q=0.1' };
const MOUNT_BYTES = 1024 * 1024;
const CONTAINER_START_CONCURRENCY = 4;

function agentConfig(kubeletRoot: string, dockerEndpoint: string, interval: string, maxConcurrentPulls: number): string {
  return [
    '# Written by bench/load.bench.ts.',
    'receivers:',
    '  filesystem:',
    `    kubelet_root: ${JSON.stringify(kubeletRoot)}`,
    // The agent runs in the benchmark's mount namespace: its own table is the namespace's.
    '    mountinfo_path: /proc/self/mountinfo',
    '    node_filesystems: {enabled: false}',
    '  docker:',
    `    endpoint: ${JSON.stringify(dockerEndpoint)}`,
    `    collection_interval: ${interval}`,
    '  podscrape:',
    `    collection_interval: ${interval}`,
    'processors:',
    // emptyDir series are dropped by default (as the kubelet does): keep them, all volumes are served.
    '  k8sattributes:',
    '    keep_non_pvc_volumes: true',
    'exporters:',
    '  prometheus:',
    `    max_concurrent_pulls: ${maxConcurrentPulls}`,
    'service:',
    '  pipelines:',
    '    metrics:',
    '      receivers: [filesystem, docker, podscrape]',
    '      processors: [k8sattributes]',
    '      exporters: [prometheus]',
    '',
  ].join('\n');
}

/** What one pull shows of the benchmark's work. */
function servedWork(samples: readonly Sample[], kubeletRoot: string): { volumes: number; containers: number; targetsUp: number } {
  const volumes = new Set(samples.filter((s) => s.name === 'kubelet_volume_stats_capacity_bytes' && s.labels.mountpoint?.startsWith(kubeletRoot)).map((s) => s.labels.mountpoint));
  const containers = new Set(samples.filter((s) => s.name === 'container_memory_usage_bytes' && s.labels.name?.startsWith('load-')).map((s) => s.labels.name));
  const targetsUp = samples.filter((s) => s.name === 'up' && s.labels.job === JOB && s.value === 1).length;
  return { volumes: volumes.size, containers: containers.size, targetsUp };
}

function scrapesByOutcome(samples: readonly Sample[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const s of samples) if (s.name === 'nodemeter_exporter_scrapes_total') counts[s.labels.outcome ?? ''] = (counts[s.labels.outcome ?? ''] ?? 0) + s.value;
  return counts;
}

function positive(name: string, value: number): number {
  if (!Number.isInteger(value) || value < 1) throw new Error(`runLoadBench: ${name} must be a whole number ≥ 1, got ${value}`);
  return value;
}

async function startContainers(dockerd: Dockerd, count: number, log: (line: string) => void): Promise<void> {
  const started = performance.now();
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < count) {
      const i = next++;
      // Labelled as the kubelet labels a pod's container, so the receiver does its Kubernetes work too.
      await engineCreateContainer(dockerd, {
        name: `load-${String(i).padStart(3, '0')}`,
        start: true,
        labels: { 'io.kubernetes.pod.namespace': NAMESPACE, 'io.kubernetes.pod.name': `pod-${i}`, 'io.kubernetes.container.name': 'main' },
      });
    }
  };
  await Promise.all(Array.from({ length: CONTAINER_START_CONCURRENCY }, worker));
  log(`  ${count} containers running after ${((performance.now() - started) / 1000).toFixed(1)} s`);
}

/**
 * Sets the work up, runs the open loop against the agent, tears everything down (also on error
 * or Ctrl-C) and returns the figures. Needs root.
 */
export async function runLoadBench(options: LoadBenchOptions = {}): Promise<LoadResult> {
  const opts = {
    volumes: positive('volumes', options.volumes ?? 1000),
    containers: positive('containers', options.containers ?? 100),
    targets: positive('targets', options.targets ?? 50),
    seriesPerTarget: positive('seriesPerTarget', options.seriesPerTarget ?? 200),
    pullsPerSecond: positive('pullsPerSecond', options.pullsPerSecond ?? 20),
    seconds: positive('seconds', options.seconds ?? 60),
    pullTimeoutMs: positive('pullTimeoutMs', options.pullTimeoutMs ?? 10_000),
    collectionInterval: options.collectionInterval ?? '15s',
    maxConcurrentPulls: positive('maxConcurrentPulls', options.maxConcurrentPulls ?? 64),
  };
  const repoRoot = options.repoRoot ?? REPO_ROOT;
  const log = options.log ?? ((line: string) => console.log(line));
  if (process.getuid?.() !== 0) throw new Error('the load benchmark needs root (mount namespace, tmpfs mounts, dockerd)');
  const cleanup = new Cleanup();
  try {
    // 1. Volumes: a kubelet-like tree of tmpfs mounts in a private mount namespace.
    const workDir = mkdtempSync('/tmp/nodemeter-load-');
    cleanup.add(`remove ${workDir}`, () => rmSync(workDir, { recursive: true, force: true }), () => rmSync(workDir, { recursive: true, force: true }));
    const layout = planTree(join(workDir, 'var', 'lib', 'kubelet'), opts.volumes);
    createTreeDirectories(layout);
    const ns = await MountNamespace.create();
    cleanup.add('end the mount namespace', () => ns.close());
    await ns.exec('sh', ['-e'], { input: mountScript(layout, MOUNT_BYTES), timeoutMs: 300_000 });
    const mounted = readFileSync(`/proc/${ns.pid}/mountinfo`, 'utf8')
      .split('\n')
      .filter((l) => l.includes(` ${layout.kubeletRoot}/pods/`)).length;
    if (mounted !== opts.volumes) throw new Error(`expected ${opts.volumes} tmpfs mounts in the namespace, found ${mounted}`);
    log(`load: ${opts.volumes} volume mounts in ${layout.pods} pods under ${layout.kubeletRoot}`);

    // 2. Containers on a private dockerd.
    const dockerd = await Dockerd.start({ name: 'load' });
    cleanup.add('stop dockerd', () => dockerd.close());
    await dockerd.ensureImage();
    await startContainers(dockerd, opts.containers, log);

    // 3. Scrape targets, in their own process, and a pod for each on the agent's node.
    const script = join(repoRoot, 'bench', 'lib', 'target-server-child.ts');
    const { child: ts, ready } = await BenchChild.start<TargetServerRequest, TargetServerReply>(script, [String(opts.targets), String(opts.seriesPerTarget)], 'target server', repoRoot);
    cleanup.add('stop the target server', () => ts.stop({ type: 'shutdown' }), () => ts.kill());
    if (ready.type !== 'ready') throw new Error('target server did not start');
    const api = await KubeApiServer.start();
    cleanup.add('stop the Kubernetes API server', () => api.stop());
    api.add(nodeObject(NODE_NAME));
    api.add(namespaceObject(NAMESPACE));
    ready.targets.forEach((target, i) => {
      api.add(
        podObject(`target-${String(i).padStart(3, '0')}`, {
          namespace: NAMESPACE,
          node: NODE_NAME,
          podIP: '127.0.0.1',
          annotations: { 'prometheus.io/scrape': 'true', 'prometheus.io/port': String(target.port) },
          owner: { kind: 'Deployment', name: 'load-target' },
        }),
      );
    });
    log(`  ${ready.targets.length} scrape targets of ${opts.seriesPerTarget} series (target server pid ${ts.pid}), pods on ${api.url}`);

    // 4. The agent, inside the namespace.
    const agent = await startAgent({
      config: agentConfig(layout.kubeletRoot, dockerd.endpoint, opts.collectionInterval, opts.maxConcurrentPulls),
      prefix: ns.prefix,
      extraArgs: ['--kube-api-url', api.url, '--node-name', NODE_NAME],
      readyTimeoutMs: 120_000,
    });
    cleanup.add('stop the agent', async () => {
      await agent.stop('SIGTERM', 15_000);
    });
    const pid = agent.child.pid as number;
    const metricsUrl = `${agent.url}/metrics`;

    // 5. Wait until one pull serves all of the work (first docker round, first target scrapes).
    const waitStarted = performance.now();
    let served: LoadResult['served'] | undefined;
    let last = '(no pull yet)';
    while (served === undefined) {
      const res = await httpGet(metricsUrl, { timeoutMs: 30_000, headers: PULL_HEADERS });
      const samples = res.status === 200 ? parseExposition(res.body) : [];
      const work = servedWork(samples, layout.kubeletRoot);
      last = `status ${res.status}: ${work.volumes}/${opts.volumes} volumes, ${work.containers}/${opts.containers} containers, ${work.targetsUp}/${opts.targets} targets up`;
      if (work.volumes === opts.volumes && work.containers === opts.containers && work.targetsUp === opts.targets) {
        served = { ...work, samples: samples.length, bytes: res.bytes };
      } else if (performance.now() - waitStarted > 180_000) {
        throw new Error(`the agent did not serve all of the work within 180 s; last pull: ${last}\n${agent.describe()}`);
      } else {
        await sleep(1_000);
      }
    }
    log(`  agent pid ${pid}: ready after ${Math.round(agent.readyMs ?? 0)} ms; one pull = ${served.samples} samples, ${(served.bytes / 1048576).toFixed(1)} MiB`);
    const before = parseExposition((await httpGet(metricsUrl, { timeoutMs: 30_000, headers: PULL_HEADERS })).body);

    // 6. The window.
    log(`  ${opts.pullsPerSecond} pulls/s for ${opts.seconds} s…`);
    await sleep(1_000);
    const rssBeforeBytes = readRssBytes(pid) ?? 0;
    resetPeakRss(pid);
    let sampledPeak = rssBeforeBytes;
    const sampler = setInterval(() => {
      sampledPeak = Math.max(sampledPeak, readRssBytes(pid) ?? 0);
    }, 250);
    const ticks = clockTicksPerSecond();
    const cpuBefore = totalTicks(readCpuTicks(pid));
    const machineBefore = readMachineCpu();
    const ownBefore = process.cpuUsage();
    const windowStarted = performance.now();
    const loop = await runOpenLoop({ url: metricsUrl, perSecond: opts.pullsPerSecond, seconds: opts.seconds, timeoutMs: opts.pullTimeoutMs, headers: PULL_HEADERS });
    const windowSeconds = (performance.now() - windowStarted) / 1000;
    const cpuSeconds = (totalTicks(readCpuTicks(pid)) - cpuBefore) / ticks;
    const load = otherLoad(machineBefore, readMachineCpu(), cpuSeconds * 1000 + ownCpuMs(ownBefore));
    clearInterval(sampler);
    const memory = readMemory(pid);
    const after = parseExposition((await httpGet(metricsUrl, { timeoutMs: 30_000, headers: PULL_HEADERS })).body);

    const latencies = loop.pulls.map((p) => p.latencyMs).sort((a, b) => a - b);
    const errorKinds: Record<string, number> = {};
    for (const p of loop.pulls) if (p.error !== undefined) errorKinds[p.error] = (errorKinds[p.error] ?? 0) + 1;
    const ok = loop.pulls.filter((p) => p.error === undefined);
    const outcomesBefore = scrapesByOutcome(before);
    const outcomesAfter = scrapesByOutcome(after);
    const delay = after.find((s) => s.name === 'nodemeter_event_loop_delay_max_seconds');
    const result: LoadResult = {
      options: opts,
      host: hostDescription(),
      served,
      pulls: {
        scheduled: loop.pulls.length,
        ok: ok.length,
        errors: loop.pulls.length - ok.length,
        errorKinds,
        maxInFlight: loop.maxInFlight,
        maxStartLagMs: round(Math.max(...loop.pulls.map((p) => p.lagMs)), 1),
        meanBytes: Math.round(ok.reduce((sum, p) => sum + p.bytes, 0) / Math.max(1, ok.length)),
      },
      latencyMs: {
        p50: round(percentile(latencies, 50), 1),
        p90: round(percentile(latencies, 90), 1),
        p99: round(percentile(latencies, 99), 1),
        max: round(latencies[latencies.length - 1] ?? 0, 1),
        mean: round(latencies.reduce((sum, v) => sum + v, 0) / latencies.length, 1),
      },
      agent: {
        pid,
        readyMs: Math.round(agent.readyMs ?? 0),
        cpuPercentOfOneCore: round((cpuSeconds / windowSeconds) * 100, 1),
        cpuSeconds: round(cpuSeconds, 2),
        rssBeforeBytes,
        peakRssBytes: Math.max(sampledPeak, memory.hwmBytes),
        rssAfterBytes: memory.rssBytes,
        eventLoopDelayMaxSeconds: delay === undefined ? null : round(delay.value, 4),
        scrapesByOutcome: Object.fromEntries(Object.keys(outcomesAfter).map((k) => [k, outcomesAfter[k]! - (outcomesBefore[k] ?? 0)])),
      },
      otherCpus: round(load.otherCpus, 2),
    };
    const mib = (b: number): string => (b / 1048576).toFixed(1);
    log(
      `  ${result.pulls.scheduled} pulls: ${result.pulls.ok} ok, ${result.pulls.errors} errors${result.pulls.errors > 0 ? ` ${JSON.stringify(errorKinds)}` : ''}; ` +
        `latency p50 ${result.latencyMs.p50} ms, p90 ${result.latencyMs.p90} ms, p99 ${result.latencyMs.p99} ms, max ${result.latencyMs.max} ms; at most ${loop.maxInFlight} in flight`,
    );
    log(
      `  agent CPU ${result.agent.cpuPercentOfOneCore} % of one core; RSS ${mib(rssBeforeBytes)} → peak ${mib(result.agent.peakRssBytes)} → ${mib(memory.rssBytes)} MiB; ` +
        `event-loop delay max ${result.agent.eventLoopDelayMaxSeconds ?? '-'} s; other processes ${result.otherCpus} CPUs`,
    );
    return result;
  } finally {
    await cleanup.run();
  }
}
