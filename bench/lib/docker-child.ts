// The nodemeter side of bench/docker.bench.ts: a long-lived Node process holding one docker
// receiver (the real factory, config validated as from YAML) that collects on request (IPC from
// the benchmark) and reports, per collection, its own wall time and process.cpuUsage() delta
// (every thread of this process). A collection is what the agent does once per interval and per
// pull: one stats round over every running container (receiver.refresh()), then collect().
// Node's start-up, the first container list and the first round happen before the first request.
// Run by the benchmark: node bench/lib/docker-child.ts <endpoint> <api|cgroup> <concurrency>, with
// an IPC channel. Import only types from here: importing a value would run the child.
import { performance } from 'node:perf_hooks';
import { DataPointType, type MetricData } from '@opentelemetry/sdk-metrics';
import pino from 'pino';

import { validateComponentConfig } from '../../config/component-config.ts';
import { testSettings } from '../../pipeline/testing.ts';
import type { DockerReceiver } from '../../receivers/docker/docker-receiver.ts';
import { dockerReceiverFactory } from '../../receivers/docker/factory.ts';

export type DockerChildRequest = { readonly type: 'collect'; readonly id: number } | { readonly type: 'shutdown' };

/** A few of one container's figures, to check both tools measured the same containers. */
export interface ContainerFigures {
  /** Usage minus inactive file pages: what `docker stats` shows as MEM USAGE. */
  workingSetBytes?: number;
  pids?: number;
  networkReceiveBytes?: number;
}

export type DockerChildReply =
  | { readonly type: 'ready'; readonly pid: number; readonly containers: number }
  | {
      readonly type: 'collected';
      readonly id: number;
      /** Around `await receiver.refresh()`: the stats round, ms. */
      readonly roundMs: number;
      /** Around `await receiver.collect()`: building the families from the round, ms. */
      readonly collectMs: number;
      readonly userMs: number;
      readonly systemMs: number;
      /** Containers the round read. */
      readonly read: number;
      /** nodemeter_docker_errors_total over all operations, since the child started. */
      readonly errorsTotal: number;
      readonly series: number;
      /** By container name. */
      readonly figures: Record<string, ContainerFigures>;
    }
  | { readonly type: 'error'; readonly message: string };

const FIGURES: Record<string, keyof ContainerFigures> = {
  container_memory_working_set_bytes: 'workingSetBytes',
  container_pids: 'pids',
  container_network_receive_bytes_total: 'networkReceiveBytes',
};

function figuresOf(metrics: readonly MetricData[]): { series: number; figures: Record<string, ContainerFigures> } {
  const figures: Record<string, ContainerFigures> = {};
  let series = 0;
  for (const metric of metrics) {
    series += metric.dataPoints.length;
    const key = FIGURES[metric.descriptor.name];
    if (key === undefined || metric.dataPointType === DataPointType.HISTOGRAM || metric.dataPointType === DataPointType.EXPONENTIAL_HISTOGRAM) continue;
    for (const point of metric.dataPoints) {
      const name = point.attributes.name;
      if (typeof name !== 'string' || typeof point.value !== 'number') continue;
      const entry = (figures[name] ??= {});
      // Network counters come per interface: the container's total is their sum.
      entry[key] = (entry[key] ?? 0) + point.value;
    }
  }
  return { series, figures };
}

function send(reply: DockerChildReply): void {
  process.send?.(reply);
}

async function main(): Promise<void> {
  if (process.send === undefined) throw new Error('docker-child.ts is started by bench/docker.bench.ts with an IPC channel');
  const [endpoint, source, concurrency] = process.argv.slice(2);
  if (endpoint === undefined || (source !== 'api' && source !== 'cgroup')) throw new Error('usage: docker-child.ts <endpoint> <api|cgroup> <concurrency>');
  // Rounds only on request: the intervals are longer than any benchmark.
  const raw = { endpoint, source, concurrency: Number(concurrency), collection_interval: '24h', container_refresh_interval: '24h' };
  const { config, issues } = validateComponentConfig(dockerReceiverFactory, raw, { path: ['receivers', 'docker'], positions: undefined, at: undefined });
  if (issues.length > 0) throw new Error(`docker receiver config: ${issues.map((i) => i.message).join('; ')}`);
  const settings = testSettings('docker', 'receiver', { logger: pino({ level: 'warn' }, pino.destination(2)) });
  const receiver = dockerReceiverFactory.create(settings, config as never) as DockerReceiver;
  await receiver.start();
  await receiver.settled();
  const first = figuresOf((await receiver.collect({ signal: new AbortController().signal, deadline: Date.now() + 60_000, selectors: {} })).scopeMetrics.metrics);
  let queue = Promise.resolve();

  const serve = async (req: DockerChildRequest): Promise<void> => {
    if (req.type === 'collect') {
      const cpu = process.cpuUsage();
      const started = performance.now();
      await receiver.refresh();
      const roundDone = performance.now();
      const result = await receiver.collect({ signal: new AbortController().signal, deadline: Date.now() + 60_000, selectors: {} });
      const collectMs = performance.now() - roundDone;
      const used = process.cpuUsage(cpu);
      const { series, figures } = figuresOf(result.scopeMetrics.metrics);
      const errors = result.scopeMetrics.metrics.find((m) => m.descriptor.name === 'nodemeter_docker_errors_total');
      const errorsTotal = errors?.dataPoints.reduce((sum, p) => sum + (typeof p.value === 'number' ? p.value : 0), 0) ?? 0;
      send({
        type: 'collected',
        id: req.id,
        roundMs: roundDone - started,
        collectMs,
        userMs: used.user / 1000,
        systemMs: used.system / 1000,
        read: Object.values(figures).filter((f) => f.workingSetBytes !== undefined).length,
        errorsTotal,
        series,
        figures,
      });
    } else {
      await receiver.shutdown();
      process.disconnect();
    }
  };

  const handle = async (req: DockerChildRequest): Promise<void> => {
    try {
      await serve(req);
    } catch (err) {
      send({ type: 'error', message: err instanceof Error ? (err.stack ?? err.message) : String(err) });
    }
  };

  process.on('message', (req: DockerChildRequest) => {
    queue = queue.then(() => handle(req));
  });
  process.on('disconnect', () => process.exit(0));
  send({ type: 'ready', pid: process.pid, containers: Object.keys(first.figures).length });
}

main().catch((err: unknown) => {
  process.stderr.write(`docker-child: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
