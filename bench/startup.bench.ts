// Start-up time and idle memory, side by side: nodemeter against Debian's node_exporter 1.5.0,
// each spawned on 127.0.0.1 with a port chosen beforehand and polled alike (a fresh GET /metrics
// every 5 ms) until the first 200; then left alone for a while and its RSS read. Two profiles:
// `default` (each with no configuration: nodemeter's embedded default config, node_exporter's
// default collectors) and `filesystem` (only filesystem metrics: the filesystem receiver, node
// filesystems on, vs `--collector.disable-defaults --collector.filesystem`). No root needed;
// both only read the host. See bench/README.md.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';

import { AGENT_BIN, filesystemConfig, launcherNodeFlags, NODE24 } from '../test/support/agent.ts';
import { httpGet } from '../test/support/http.ts';
import { freePort } from '../test/support/ports.ts';
import { makeTempDir, spawnTracked, waitForExit } from '../test/support/proc.ts';
import { Cleanup } from './lib/cleanup.ts';
import { gitDescribe } from './lib/git.ts';
import { ensureInstalled } from './lib/install.ts';
import { programVersion } from './lib/machine.ts';
import { clockTicksPerSecond, readCpuTicks, readRssBytes, totalTicks } from './lib/proc.ts';
import type { ReportRow } from './lib/report-markdown.ts';
import { hostDescription } from './lib/report.ts';
import { mib, round, summarize } from './lib/stats.ts';

const NODE_EXPORTER = '/usr/bin/prometheus-node-exporter';
const POLL_MS = 5;
const READY_TIMEOUT_MS = 60_000;

export const PROFILES = ['default', 'filesystem'] as const;
export type Profile = (typeof PROFILES)[number];
type Tool = 'nodemeter' | 'node_exporter';

export interface StartupBenchOptions {
  repoRoot: string;
  /** Timed start-ups per tool and profile (after one untimed one). */
  starts: number;
  /** Idle time after the first answer before RSS is read. */
  idleMs: number;
  resultsFile: string | undefined;
  log: (line: string) => void;
}

interface Start {
  /** Spawn → first 200 on /metrics. */
  readyMs: number;
  /** utime + stime of the process at that moment (10 ms ticks). */
  cpuMsToReady: number;
  rssAtReadyBytes: number;
  rssIdleBytes: number;
  /** CPU used while idle, ms per second of idling. */
  idleCpuMsPerS: number;
  samples: number;
}

function command(tool: Tool, profile: Profile, port: number, configFile: string): string[] {
  if (tool === 'node_exporter') {
    const collectors = profile === 'default' ? [] : ['--collector.disable-defaults', '--collector.filesystem'];
    return [NODE_EXPORTER, ...collectors, `--web.listen-address=127.0.0.1:${port}`, '--log.level=warn'];
  }
  const config = profile === 'default' ? [] : ['--config', configFile];
  return [NODE24, ...launcherNodeFlags(), AGENT_BIN, ...config, '--listen-host', '127.0.0.1', '--listen-port', String(port), '--log-level', 'warn'];
}

async function startOnce(tool: Tool, profile: Profile, configFile: string, idleMs: number, ticksPerSecond: number): Promise<Start> {
  const port = await freePort();
  const argv = command(tool, profile, port, configFile);
  const started = performance.now();
  const child = spawnTracked(argv[0] as string, argv.slice(1), { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  try {
    const url = `http://127.0.0.1:${port}/metrics`;
    let body: string | undefined;
    while (body === undefined) {
      if (child.exitCode !== null || child.signalCode !== null) throw new Error(`${tool} (${profile}) exited ${child.exitCode ?? child.signalCode} before answering: ${stderr.slice(-2000)}`);
      if (performance.now() - started > READY_TIMEOUT_MS) throw new Error(`${tool} (${profile}) did not answer /metrics within ${READY_TIMEOUT_MS} ms: ${stderr.slice(-2000)}`);
      const res = await httpGet(url, { timeoutMs: 10_000 }).catch(() => undefined);
      if (res?.status === 200) body = res.body;
      else await sleep(POLL_MS);
    }
    const readyMs = performance.now() - started;
    const pid = child.pid as number;
    const ticksAtReady = totalTicks(readCpuTicks(pid));
    const rssAtReady = readRssBytes(pid) ?? NaN;
    await sleep(idleMs);
    const idleTicks = totalTicks(readCpuTicks(pid)) - ticksAtReady;
    return {
      readyMs,
      cpuMsToReady: (ticksAtReady * 1000) / ticksPerSecond,
      rssAtReadyBytes: rssAtReady,
      rssIdleBytes: readRssBytes(pid) ?? NaN,
      idleCpuMsPerS: idleMs === 0 ? 0 : (idleTicks * 1000) / ticksPerSecond / (idleMs / 1000),
      samples: body.split('\n').filter((l) => l !== '' && !l.startsWith('#')).length,
    };
  } finally {
    child.kill('SIGTERM');
    const r = await waitForExit(child, 10_000);
    if (!r.exited) process.stderr.write(`bench: ${tool} (${profile}, pid ${child.pid}) did not exit after SIGTERM and SIGKILL\n`);
  }
}

export async function runStartupBench(opts: StartupBenchOptions): Promise<Record<string, unknown>> {
  const { log } = opts;
  ensureInstalled(opts.repoRoot, NODE_EXPORTER, 'prometheus-node-exporter', log);
  const ticksPerSecond = clockTicksPerSecond();
  const cleanup = new Cleanup();
  const runs: Record<Profile, Record<Tool, Start[]>> = { default: { nodemeter: [], node_exporter: [] }, filesystem: { nodemeter: [], node_exporter: [] } };
  let config: string;
  try {
    const dir = await makeTempDir('nodemeter-startup-');
    cleanup.add(`remove ${dir.path}`, () => dir.remove());
    const configFile = join(dir.path, 'filesystem.yaml');
    // The host's own filesystems (node_filesystems on) and kubelet volumes if there are any.
    config = filesystemConfig('/var/lib/kubelet', { mountinfoPath: '/proc/1/mountinfo' });
    writeFileSync(configFile, config);
    for (const profile of PROFILES) {
      log(`${profile}: one untimed start-up each (compile cache, page cache), then ${opts.starts} timed, alternating`);
      for (const tool of ['nodemeter', 'node_exporter'] as const) await startOnce(tool, profile, configFile, 0, ticksPerSecond);
      for (let i = 0; i < opts.starts; i++) {
        const order: Tool[] = i % 2 === 0 ? ['nodemeter', 'node_exporter'] : ['node_exporter', 'nodemeter'];
        for (const tool of order) {
          const s = await startOnce(tool, profile, configFile, opts.idleMs, ticksPerSecond);
          runs[profile][tool].push(s);
          log(`  ${tool.padEnd(13)} first /metrics after ${s.readyMs.toFixed(0)} ms (CPU ${s.cpuMsToReady.toFixed(0)} ms), RSS ${mib(s.rssAtReadyBytes)} MiB, after ${opts.idleMs / 1000} s idle ${mib(s.rssIdleBytes)} MiB, ${s.samples} samples`);
        }
      }
    }
  } finally {
    await cleanup.run();
  }

  const neVersion = programVersion([NODE_EXPORTER, '--version'], /version (\S+)/);
  const summary = (list: Start[]): Record<string, unknown> => {
    const med = (f: (s: Start) => number): number => round(summarize(list.map(f)).median, 1);
    return {
      readyMs: { median: med((s) => s.readyMs), max: round(summarize(list.map((s) => s.readyMs)).max, 1) },
      cpuMsToReady: { median: med((s) => s.cpuMsToReady), mean: round(summarize(list.map((s) => s.cpuMsToReady)).mean, 1) },
      rssAtReadyMiB: mib(summarize(list.map((s) => s.rssAtReadyBytes)).median),
      rssIdleMiB: mib(summarize(list.map((s) => s.rssIdleBytes)).median),
      idleCpuMsPerS: med((s) => s.idleCpuMsPerS),
      samples: summarize(list.map((s) => s.samples)).median,
    };
  };
  const rows: ReportRow[] = PROFILES.flatMap((profile): ReportRow[] => {
    const nm = runs[profile].nodemeter;
    const ne = runs[profile].node_exporter;
    const benchmark = profile === 'default' ? 'start-up, no configuration' : 'start-up, filesystem only';
    const peer = profile === 'default' ? `node_exporter ${neVersion} (default collectors)` : `node_exporter ${neVersion} (filesystem collector)`;
    const med = (list: Start[], f: (s: Start) => number): number | null => (list.length === 0 ? null : summarize(list.map(f)).median);
    const mean = (list: Start[], f: (s: Start) => number): number | null => (list.length === 0 ? null : round(summarize(list.map(f)).mean, 1));
    return [
      { benchmark, measure: 'spawn → first /metrics 200, ms, median', nodemeter: med(nm, (s) => s.readyMs), peer, peerValue: med(ne, (s) => s.readyMs), better: 'lower' },
      // A mean, not a median: 10 ms ticks, and node_exporter needs about one.
      { benchmark, measure: 'CPU ms until then, mean', nodemeter: mean(nm, (s) => s.cpuMsToReady), peer, peerValue: mean(ne, (s) => s.cpuMsToReady), better: 'lower' },
      { benchmark, measure: `RSS MiB after ${round(opts.idleMs / 1000, 1)} s idle, median`, nodemeter: mib(med(nm, (s) => s.rssIdleBytes) ?? undefined), peer, peerValue: mib(med(ne, (s) => s.rssIdleBytes) ?? undefined), better: 'lower' },
    ];
  });
  const result: Record<string, unknown> = {
    benchmark: 'startup',
    date: new Date().toISOString(),
    host: { ...hostDescription(), clockTicksPerSecond: ticksPerSecond },
    versions: { node: process.version, nodemeter: gitDescribe(opts.repoRoot), nodeExporter: neVersion },
    parameters: { starts: opts.starts, idleMs: opts.idleMs, pollMs: POLL_MS, profiles: PROFILES },
    method: {
      spawn: 'spawnTracked (setpriv --pdeathsig KILL, which execs) with the port chosen beforehand, stdout discarded; the clock starts just before spawn',
      ready: `a fresh GET /metrics every ${POLL_MS} ms until the first 200, for both`,
      cpu: 'utime + stime of the process at the first 200 (10 ms ticks)',
      rss: 'VmRSS at the first 200 and after the idle time, nothing pulling in between',
      order: 'per profile one untimed start-up of each, then timed start-ups alternating which goes first',
      default: 'nodemeter with no --config (its embedded default config: filesystem, Docker only if its socket answers, Kubernetes parts only in a cluster); node_exporter with no flags but the address',
      filesystem: 'nodemeter --config with the filesystem receiver alone (kubelet_root /var/lib/kubelet, node filesystems on, mountinfo /proc/1/mountinfo) → prometheus; node_exporter --collector.disable-defaults --collector.filesystem',
    },
    filesystemConfig: config,
    profiles: Object.fromEntries(PROFILES.map((p) => [p, { nodemeter: summary(runs[p].nodemeter), nodeExporter: summary(runs[p].node_exporter) }])),
    reportRows: rows,
  };
  if (opts.resultsFile !== undefined) {
    mkdirSync(join(opts.resultsFile, '..'), { recursive: true });
    writeFileSync(opts.resultsFile, `${JSON.stringify(result, null, 2)}\n`);
    log(`results written to ${opts.resultsFile}`);
  }
  return result;
}
