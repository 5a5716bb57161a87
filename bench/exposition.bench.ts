// Exposition of 50,000 series, side by side: three servers each hold the same series in memory
// and serve them on GET /metrics, pulled in turn over keep-alive connections:
// - nodemeter: the podscrape receiver scraped N loopback targets once (collection_interval 1 h, so
//   no scrape runs while pulls are timed) and every pull serialises its last batch through the
//   prometheus exporter; the pull measures collect + text writer + HTTP, what a Prometheus scrape
//   of the agent costs;
// - Debian's Pushgateway 1.5.1 holding the same bodies pushed as N groups: a pull gathers and
//   serialises them;
// - Debian's node_exporter 1.5.0 textfile collector with the bodies as N .prom files: a pull also
//   reads and parses the files (more work than the other two; the row says so).
// Then the serialiser micro-benchmark (the SDK's serialiser vs our writer, in-process). See bench/README.md.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import type { Agent as HttpAgent } from 'node:http';
import { join } from 'node:path';

import { startAgent } from '../test/support/agent.ts';
import { createKeepAliveAgent, httpGet } from '../test/support/http.ts';
import { namespace as namespaceObject, node as nodeObject, pod as podObject } from '../test/support/kube-api/fixtures.ts';
import { KubeApiServer } from '../test/support/kube-api/server.ts';
import { freePort } from '../test/support/ports.ts';
import { makeTempDir, spawnTracked, waitFor, waitForExit } from '../test/support/proc.ts';
import { Pushgateway, PUSHGATEWAY } from '../test/support/pushgateway.ts';
import { Cleanup } from './lib/cleanup.ts';
import { countSamples, sampleNames, serveTargets, targetBody, withLabel, type TargetBody } from './lib/exposition-targets.ts';
import { gitDescribe } from './lib/git.ts';
import { ensureInstalled } from './lib/install.ts';
import { programVersion } from './lib/machine.ts';
import { otherLoad, ownCpuMs, readMachineCpu } from './lib/machine-load.ts';
import { clockTicksPerSecond, readCpuTicks, readMemory, resetPeakRss, totalTicks } from './lib/proc.ts';
import type { ReportRow } from './lib/report-markdown.ts';
import { hostDescription } from './lib/report.ts';
import { runSerializerBench } from './lib/serializer-bench.ts';
import { mib, round, summarize } from './lib/stats.ts';

const NODE_EXPORTER = '/usr/bin/prometheus-node-exporter';
const AGGREGATOR = 'metrics-aggregator.apawel.me';
const JOB = 'bench';
const NODE_NAME = 'bench-node';
const NAMESPACE = 'bench';
/** The plain text format, no compression: what each server does for every puller alike. */
const PULL_HEADERS = { accept: 'text/plain;version=0.0.4;q=1,*/*;q=0.1' };

export interface ExpositionBenchOptions {
  repoRoot: string;
  /** Series every server holds (rounded up to whole targets). */
  series: number;
  seriesPerTarget: number;
  pulls: number;
  warmup: number;
  /** Timed runs of the in-process serialiser micro-benchmark. */
  serializerRuns: number;
  resultsFile: string | undefined;
  log: (line: string) => void;
}

interface Server {
  name: 'nodemeter' | 'pushgateway' | 'node_exporter';
  pid: number;
  url: string;
  httpAgent: HttpAgent;
  command: readonly string[];
  wallMs: number[];
  bytes: number[];
  count?: { samples: number; payload: number };
  cpuMs?: number;
  rss?: { beforeBytes: number; afterBytes: number; peakBytes: number };
}

function agentConfig(): string {
  return [
    '# Written by bench/exposition.bench.ts: pod scraping in the background, once an hour.',
    'receivers:',
    '  podscrape:',
    '    discovery:',
    `      - aggregator: ${AGGREGATOR}`,
    '    collection_interval: 1h',
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

async function pull(s: Server): Promise<{ body: string; bytes: number; elapsedMs: number }> {
  const res = await httpGet(s.url, { agent: s.httpAgent, timeoutMs: 60_000, headers: PULL_HEADERS });
  if (res.status !== 200) throw new Error(`${s.name}: GET /metrics returned ${res.status}: ${res.body.slice(0, 500)}`);
  return res;
}

async function startNodeExporterTextfile(dir: string): Promise<{ pid: number; url: string; command: string[]; stop: () => Promise<void> }> {
  const port = await freePort();
  const command = [NODE_EXPORTER, '--collector.disable-defaults', '--collector.textfile', `--collector.textfile.directory=${dir}`, `--web.listen-address=127.0.0.1:${port}`, '--log.level=warn'];
  const child = spawnTracked(command[0] as string, command.slice(1));
  let output = '';
  child.stderr?.setEncoding('utf8').on('data', (d: string) => (output += d));
  const url = `http://127.0.0.1:${port}/metrics`;
  const stop = async (): Promise<void> => {
    child.kill('SIGKILL');
    await waitForExit(child, 5_000);
  };
  try {
    await waitFor(
      'node_exporter /metrics',
      async () => {
        if (child.exitCode !== null) throw new Error(`node_exporter exited ${child.exitCode}: ${output}`);
        const res = await httpGet(url, { timeoutMs: 10_000 }).catch(() => undefined);
        return res?.status === 200 ? true : undefined;
      },
      { timeoutMs: 30_000, intervalMs: 50 },
    );
  } catch (err) {
    await stop();
    throw err;
  }
  return { pid: child.pid as number, url, command, stop };
}

function packageVersion(repoRoot: string, name: string): string {
  return (JSON.parse(readFileSync(join(repoRoot, 'node_modules', name, 'package.json'), 'utf8')) as { version: string }).version;
}

function figures(s: Server, ticksPerSecond: number): Record<string, unknown> {
  const wall = summarize(s.wallMs);
  return {
    command: s.command,
    samplesInBody: s.count?.samples ?? null,
    payloadSamples: s.count?.payload ?? null,
    bodyBytes: s.bytes[s.bytes.length - 1] ?? null,
    wallMs: { median: round(wall.median, 2), p90: round(wall.p90, 2), min: round(wall.min, 2), max: round(wall.max, 2) },
    cpuMsPerPull: s.cpuMs === undefined ? null : round(s.cpuMs, 1),
    cpuTickMs: round(1000 / ticksPerSecond, 1),
    rssMiB: s.rss === undefined ? null : { beforePulls: mib(s.rss.beforeBytes), afterPulls: mib(s.rss.afterBytes), peakDuringPulls: mib(s.rss.peakBytes) },
  };
}

export async function runExpositionBench(opts: ExpositionBenchOptions): Promise<Record<string, unknown>> {
  const { log } = opts;
  ensureInstalled(opts.repoRoot, NODE_EXPORTER, 'prometheus-node-exporter', log);
  ensureInstalled(opts.repoRoot, PUSHGATEWAY, 'prometheus-pushgateway', log);
  const ticksPerSecond = clockTicksPerSecond();
  const targets = Math.max(1, Math.ceil(opts.series / opts.seriesPerTarget));
  const bodies: TargetBody[] = Array.from({ length: targets }, (_, i) => targetBody(i, opts.seriesPerTarget));
  const total = bodies.reduce((a, b) => a + b.samples, 0);
  const names = sampleNames(bodies);
  const cleanup = new Cleanup();
  const servers: Server[] = [];
  let targetRequestsDuringPulls: number;
  let load: { otherCpus: number; stealCpus: number };
  try {
    // 1. nodemeter: pods on the test API server pointing at loopback targets, scraped once.
    const served = await serveTargets(bodies);
    cleanup.add('stop the targets', () => served.close());
    const api = await KubeApiServer.start();
    cleanup.add('stop the Kubernetes API server', () => api.stop());
    api.add(nodeObject(NODE_NAME));
    api.add(namespaceObject(NAMESPACE));
    served.ports.forEach((port, i) =>
      api.add(
        podObject(`target-${String(i).padStart(3, '0')}`, {
          namespace: NAMESPACE,
          node: NODE_NAME,
          podIP: '127.0.0.1',
          hostIP: '127.0.0.1',
          labels: { app: 'bench-target', [`${AGGREGATOR}/job-name`]: JOB, [`${AGGREGATOR}/port`]: String(port) },
        }),
      ),
    );
    const agent = await startAgent({ config: agentConfig(), extraArgs: ['--kube-api-url', api.url, '--node-name', NODE_NAME, '--log-level', 'info'], readyTimeoutMs: 60_000 });
    cleanup.add('stop the agent', async () => {
      await agent.stop('SIGTERM', 15_000);
    });
    servers.push({ name: 'nodemeter', pid: agent.child.pid as number, url: `${agent.url}/metrics`, httpAgent: createKeepAliveAgent(), command: agent.command, wallMs: [], bytes: [] });
    log(`nodemeter pid ${agent.child.pid}: waiting for its first scrape of ${targets} targets (${total} series)…`);
    await waitFor(
      'every target series in the agent',
      async () => {
        const res = await agent.scrape('/metrics', { timeoutMs: 30_000, headers: PULL_HEADERS });
        return countSamples(res.body, names).payload >= total ? true : undefined;
      },
      { timeoutMs: 120_000, intervalMs: 500 },
    );

    // 2. The Pushgateway, one group per target.
    const pg = await Pushgateway.start();
    cleanup.add('stop the Pushgateway', () => pg.close());
    for (const [i, b] of bodies.entries()) await pg.push(JOB, { instance: `target-${i}` }, b.text, { timeoutMs: 60_000 });
    servers.push({ name: 'pushgateway', pid: pg.pid, url: pg.metricsUrl, httpAgent: createKeepAliveAgent(), command: pg.command, wallMs: [], bytes: [] });
    log(`Pushgateway pid ${pg.pid}: ${targets} groups pushed`);

    // 3. node_exporter's textfile collector, one file per target.
    const dir = await makeTempDir('nodemeter-textfile-');
    cleanup.add(`remove ${dir.path}`, () => dir.remove());
    bodies.forEach((b, i) => writeFileSync(join(dir.path, `target-${i}.prom`), withLabel(b.text, 'instance', `target-${i}`)));
    const ne = await startNodeExporterTextfile(dir.path);
    cleanup.add('stop node_exporter', () => ne.stop());
    servers.push({ name: 'node_exporter', pid: ne.pid, url: ne.url, httpAgent: createKeepAliveAgent(), command: ne.command, wallMs: [], bytes: [] });
    log(`node_exporter pid ${ne.pid}: ${targets} .prom files in ${dir.path}`);
    cleanup.add('close the keep-alive connections', () => {
      for (const s of servers) s.httpAgent.destroy();
    });

    // 4. Same work: every server serves every series of every target.
    for (const s of servers) {
      const res = await pull(s);
      s.count = countSamples(res.body, names);
      log(`${s.name}: ${s.count.samples} samples, ${s.count.payload} of them the targets', ${res.bytes} bytes`);
      if (s.count.payload !== total) throw new Error(`${s.name} serves ${s.count.payload} of the ${total} target series: the servers do not do the same work`);
    }

    // 5. Warm-up, then interleaved pulls, the order rotating, so drift on the machine hits all alike.
    for (let i = 0; i < opts.warmup; i++) for (const s of servers) await pull(s);
    const requestsBefore = served.requests();
    const before = servers.map((s) => {
      const rssBefore = readMemory(s.pid).rssBytes;
      resetPeakRss(s.pid);
      return { ticks: totalTicks(readCpuTicks(s.pid)), rssBefore };
    });
    const machine = readMachineCpu();
    const own = process.cpuUsage();
    for (let i = 0; i < opts.pulls; i++) {
      const order = servers.map((_, k) => servers[(i + k) % servers.length] as Server);
      for (const s of order) {
        const res = await pull(s);
        s.wallMs.push(res.elapsedMs);
        s.bytes.push(res.bytes);
      }
    }
    let serversCpuMs = 0;
    servers.forEach((s, k) => {
      const b = before[k] as (typeof before)[number];
      const ticks = totalTicks(readCpuTicks(s.pid)) - b.ticks;
      serversCpuMs += (ticks * 1000) / ticksPerSecond;
      s.cpuMs = (ticks * 1000) / ticksPerSecond / opts.pulls;
      const mem = readMemory(s.pid);
      s.rss = { beforeBytes: b.rssBefore, afterBytes: mem.rssBytes, peakBytes: mem.hwmBytes };
    });
    load = otherLoad(machine, readMachineCpu(), serversCpuMs + ownCpuMs(own));
    targetRequestsDuringPulls = served.requests() - requestsBefore;
    if (targetRequestsDuringPulls !== 0) throw new Error(`the agent scraped its targets ${targetRequestsDuringPulls} times while pulls were timed: the pulls did not measure exposition alone`);
  } finally {
    await cleanup.run();
  }

  const serializer = runSerializerBench({ points: total, runs: opts.serializerRuns, warmup: Math.min(5, opts.serializerRuns), log });
  const byName = (n: Server['name']): Server => servers.find((s) => s.name === n) as Server;
  const nm = byName('nodemeter');
  const versions = {
    node: process.version,
    nodemeter: gitDescribe(opts.repoRoot),
    pushgateway: programVersion([PUSHGATEWAY, '--version'], /version (\S+)/),
    nodeExporter: programVersion([NODE_EXPORTER, '--version'], /version (\S+)/),
    sdkSerializer: `@opentelemetry/exporter-prometheus ${packageVersion(opts.repoRoot, '@opentelemetry/exporter-prometheus')}`,
  };
  const benchmark = `exposition (${total.toLocaleString('en-US')} series)`;
  const peers: Array<{ server: Server; label: string }> = [
    { server: byName('pushgateway'), label: `Pushgateway ${versions.pushgateway} (${targets} pushed groups)` },
    { server: byName('node_exporter'), label: `node_exporter ${versions.nodeExporter} textfile collector (${targets} files, parsed per pull)` },
  ];
  const rows: ReportRow[] = peers.flatMap(({ server: p, label }): ReportRow[] => [
    { benchmark, measure: 'pull wall ms, median', nodemeter: round(summarize(nm.wallMs).median, 2), peer: label, peerValue: round(summarize(p.wallMs).median, 2), better: 'lower' },
    { benchmark, measure: 'pull wall ms, p90', nodemeter: round(summarize(nm.wallMs).p90, 2), peer: label, peerValue: round(summarize(p.wallMs).p90, 2), better: 'lower' },
    { benchmark, measure: 'CPU ms per pull', nodemeter: round(nm.cpuMs ?? NaN, 1), peer: label, peerValue: round(p.cpuMs ?? NaN, 1), better: 'lower' },
    { benchmark, measure: 'body bytes per pull', nodemeter: nm.bytes[0] ?? null, peer: label, peerValue: p.bytes[0] ?? null, better: 'lower', decimals: 0 },
    { benchmark, measure: 'RSS MiB after the pulls', nodemeter: mib(nm.rss?.afterBytes), peer: label, peerValue: mib(p.rss?.afterBytes), better: 'lower' },
  ]);
  rows.push({
    benchmark: `serializer (${serializer.points.toLocaleString('en-US')} points, in-process)`,
    measure: 'text exposition ms, median',
    nodemeter: serializer.writerMs.median,
    peer: `SDK PrometheusSerializer (${versions.sdkSerializer})`,
    peerValue: serializer.sdkMs.median,
    better: 'lower',
  });
  const result: Record<string, unknown> = {
    benchmark: 'exposition',
    date: new Date().toISOString(),
    host: { ...hostDescription(), clockTicksPerSecond: ticksPerSecond },
    versions,
    parameters: { targets, seriesPerTarget: opts.seriesPerTarget, series: total, pulls: opts.pulls, warmup: opts.warmup, serializerRuns: opts.serializerRuns },
    method: {
      series: `${targets} bodies of bench/lib/exposition-payload.ts (go_*/process_* renamed app_go_*/app_process_*, as every server has its own), ${total} samples in all`,
      nodemeter: 'bin/nodemeter.js: podscrape (aggregator discovery, collection_interval 1h) of one loopback HTTP server per body, pods from test/support/kube-api; timed once every series is in /metrics; no target request during the timed pulls (checked)',
      pushgateway: `Debian's Pushgateway, persistence off, each body PUT as group job=${JOB},instance=target-<i>`,
      nodeExporter: "Debian's node_exporter, only the textfile collector, each body as target-<i>.prom with instance=\"target-<i>\" added to every sample (it reads and parses the files on every pull)",
      pull: 'GET /metrics over one keep-alive connection per server, Accept text/plain 0.0.4, no compression; warm-up pulls, then pulls interleaved with the order rotating',
      cpu: 'utime + stime of each server process (/proc/<pid>/stat, all threads) over the timed pulls ÷ pulls, 10 ms ticks',
      rss: 'VmRSS before and after the timed pulls; peak = VmHWM reset just before them',
      sameWork: 'one pull of each server before timing holds every target sample (counted by name)',
      serializer: 'bench/lib/serializer-bench.ts: SDK PrometheusSerializer.serialize vs writeExposition on one batch of as many gauge points (6 families, 6 labels), byte-identical outputs, in the benchmark process',
    },
    servers: Object.fromEntries(servers.map((s) => [s.name, figures(s, ticksPerSecond)])),
    targetRequestsDuringPulls,
    otherCpusDuringPulls: round(load.otherCpus, 2),
    serializer,
    reportRows: rows,
  };
  log('');
  log(`${total} series, ${opts.pulls} pulls per server (other processes: ${load.otherCpus.toFixed(2)} CPUs)`);
  const pad = (s: string, n: number): string => s.padEnd(n);
  log(`${pad('', 28)}${servers.map((s) => pad(s.name, 16)).join('')}`);
  log(`${pad('wall ms median / p90', 28)}${servers.map((s) => pad(`${summarize(s.wallMs).median.toFixed(1)} / ${summarize(s.wallMs).p90.toFixed(1)}`, 16)).join('')}`);
  log(`${pad('CPU ms per pull', 28)}${servers.map((s) => pad((s.cpuMs ?? NaN).toFixed(1), 16)).join('')}`);
  log(`${pad('body bytes', 28)}${servers.map((s) => pad(String(s.bytes[0] ?? '-'), 16)).join('')}`);
  log(`${pad('RSS MiB before → after', 28)}${servers.map((s) => pad(`${mib(s.rss?.beforeBytes)} → ${mib(s.rss?.afterBytes)}`, 16)).join('')}`);
  if (opts.resultsFile !== undefined) {
    mkdirSync(join(opts.resultsFile, '..'), { recursive: true });
    writeFileSync(opts.resultsFile, `${JSON.stringify(result, null, 2)}\n`);
    log(`results written to ${opts.resultsFile}`);
  }
  return result;
}
