// The otlphttp exporter, in-process with a test pipeline, exporting to an OTLP/HTTP receiver the
// test runs itself (node:http on a loopback port) that decodes every payload.
import assert from 'node:assert/strict';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { gunzipSync } from 'node:zlib';
import { emptyResource } from '@opentelemetry/resources';
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import pino from 'pino';
import type { CollectContext, ComponentSettings, PipelineSource } from '../../pipeline/component.ts';
import { gauge, histogram, nowHr } from '../../pipeline/datapoints.ts';
import { agentResource } from '../../pipeline/graph.ts';
import { FactoryRegistry } from '../../pipeline/registry.ts';
import { testSettings } from '../../pipeline/testing.ts';
import { createDefaultConfig, type OtlpHttpExporterConfig } from '../../exporters/otlphttp/config.ts';
import type { OtlpHttpExporter, ExportRoundResult } from '../../exporters/otlphttp/exporter.ts';
import { otlpHttpExporterFactory } from '../../exporters/otlphttp/factory.ts';
import { decodeExportMetricsServiceRequest, type ExportMetricsServiceRequest, type KeyValue, type Metric } from '../support/otlp-protobuf.ts';

class VolumesSource implements PipelineSource {
  readonly id = 'metrics/test';
  readonly #start = nowHr();
  collect(_ctx: CollectContext): ReturnType<PipelineSource['collect']> {
    const metrics = [
      gauge({ name: 'it_volume_used_bytes', description: 'Bytes used, per test volume.', unit: 'By' }, [{ attributes: { volume: 'a' }, value: 100 }, { attributes: { volume: 'b' }, value: 200 }]),
      histogram({ name: 'it_walk_duration_seconds', description: 'Walk durations.', unit: 's' }, [{ attributes: { volume: 'a' }, boundaries: [0.1, 1], counts: [1, 2, 0], sum: 1.5, count: 3 }], this.#start),
    ];
    return Promise.resolve({ resourceMetrics: { resource: emptyResource(), scopeMetrics: [{ scope: { name: 'test' }, metrics }] }, errors: [] });
  }
  selectorValues(): undefined {
    return undefined;
  }
}

interface Received {
  headers: IncomingHttpHeaders;
  body: Buffer;
}

/** An OTLP/HTTP receiver: answers each request with the next queued status (200 when none), after `delayMs`. */
class Receiver {
  readonly requests: Received[] = [];
  readonly statuses: number[] = [];
  delayMs = 0;
  server: Server | undefined;
  port = 0;
  async start(port = 0): Promise<void> {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        this.requests.push({ headers: req.headers, body: Buffer.concat(chunks) });
        const status = this.statuses.shift() ?? 200;
        const answer = (): void => void res.writeHead(status, { 'content-type': 'application/json' }).end(status === 200 ? '{}' : '{"message":"busy"}');
        if (this.delayMs > 0) setTimeout(answer, this.delayMs);
        else answer();
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(port, '127.0.0.1', resolve));
    this.port = (this.server.address() as AddressInfo).port;
  }
  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

/**
 * A request body as the OTLP data model, whichever encoding it came in: protobuf through the
 * test support's wire-format decoder, JSON as is (same field names; its 64-bit integers may be
 * numbers where the decoder gives strings, so the checks below convert both).
 */
function decode(r: Received): ExportMetricsServiceRequest {
  const raw = r.headers['content-encoding'] === 'gzip' ? gunzipSync(r.body) : r.body;
  if (r.headers['content-type'] === 'application/x-protobuf') return decodeExportMetricsServiceRequest(raw);
  return JSON.parse(raw.toString('utf8')) as ExportMetricsServiceRequest;
}

function metricsOf(payload: ExportMetricsServiceRequest): Metric[] {
  return payload.resourceMetrics.flatMap((rm) => rm.scopeMetrics.flatMap((s) => s.metrics));
}

function attrs(list: readonly KeyValue[]): Record<string, string | undefined> {
  return Object.fromEntries(list.map((a) => [a.key, a.value.stringValue]));
}

function num(v: string | number | undefined): number {
  return Number(v);
}

/** Both timestamps set, start not after the end, the end within the last hour. */
function checkTimes(p: { startTimeUnixNano: string | number; timeUnixNano: string | number }, what: string): void {
  const start = BigInt(String(p.startTimeUnixNano));
  const time = BigInt(String(p.timeUnixNano));
  assert.ok(start > 0n && start <= time, `${what}: start ${start} ≤ time ${time}`);
  assert.ok(Math.abs(Number(time / 1_000_000n) - Date.now()) < 3_600_000, `${what}: time ${time} is now-ish`);
}

/** What every export must hold, JSON or protobuf: the resource, the pipeline's gauge and histogram. */
function checkPipelineExport(payload: ExportMetricsServiceRequest, clusterName: string | undefined): Metric[] {
  assert.equal(payload.resourceMetrics.length, 1);
  const rm = payload.resourceMetrics[0]!;
  const resource = attrs(rm.resource.attributes);
  assert.equal(resource['service.name'], 'nodemeter');
  assert.equal(resource['service.version'], '0.0.0-it');
  assert.equal(resource['service.instance.id'], 'node-it-1');
  assert.equal(resource['k8s.node.name'], 'node-it-1');
  assert.equal(resource['k8s.cluster.name'], clusterName);
  assert.ok(rm.scopeMetrics.some((s) => s.scope.name === 'test'), 'the pipeline scope');
  const metrics = metricsOf(payload);
  const volume = metrics.find((m) => m.name === 'it_volume_used_bytes');
  assert.ok(volume?.gauge, `it_volume_used_bytes among ${metrics.map((m) => m.name).join(', ')}`);
  assert.equal(volume.sum, undefined);
  assert.equal(volume.histogram, undefined);
  assert.equal(volume.unit, 'By');
  assert.equal(volume.description, 'Bytes used, per test volume.');
  const values: Record<string, number> = Object.fromEntries(volume.gauge.dataPoints.map((p): [string, number] => [attrs(p.attributes)['volume'] ?? '', num(p.asDouble ?? p.asInt)]));
  assert.deepEqual(values, { a: 100, b: 200 });
  for (const p of volume.gauge.dataPoints) checkTimes(p, 'it_volume_used_bytes');
  const walk = metrics.find((m) => m.name === 'it_walk_duration_seconds');
  assert.ok(walk?.histogram, 'it_walk_duration_seconds is a histogram');
  assert.equal(walk.unit, 's');
  assert.equal(walk.histogram.aggregationTemporality, 2, 'cumulative');
  assert.equal(walk.histogram.dataPoints.length, 1);
  const point = walk.histogram.dataPoints[0]!;
  assert.deepEqual(attrs(point.attributes), { volume: 'a' });
  assert.equal(num(point.count), 3);
  assert.equal(point.sum, 1.5);
  assert.deepEqual(point.bucketCounts.map(num), [1, 2, 0]);
  assert.deepEqual(point.explicitBounds, [0.1, 1]);
  checkTimes(point, 'it_walk_duration_seconds');
  return metrics;
}

/** The exporter's own families, present once a round has ended: cumulative sums and gauges. */
function checkSelfTelemetry(metrics: Metric[]): void {
  const pushes = metrics.find((m) => m.name === 'nodemeter_exporter_pushes_total');
  assert.ok(pushes?.sum, 'nodemeter_exporter_pushes_total is a sum');
  assert.equal(pushes.sum.aggregationTemporality, 2, 'cumulative');
  assert.equal(pushes.sum.isMonotonic, true);
  const successes = pushes.sum.dataPoints.filter((p) => attrs(p.attributes)['outcome'] === 'success');
  assert.equal(successes.length, 1);
  assert.equal(attrs(successes[0]!.attributes)['exporter'], 'otlphttp');
  assert.ok(num(successes[0]!.asDouble ?? successes[0]!.asInt) >= 1);
  checkTimes(successes[0]!, 'nodemeter_exporter_pushes_total');
  const inFlight = metrics.find((m) => m.name === 'nodemeter_exporter_in_flight');
  assert.ok(inFlight?.sum, 'nodemeter_exporter_in_flight is a sum');
  assert.equal(inFlight.sum.aggregationTemporality, 2, 'cumulative');
  assert.equal(inFlight.sum.isMonotonic, false);
  const lastSuccess = metrics.find((m) => m.name === 'nodemeter_exporter_last_success_timestamp_seconds');
  assert.ok(lastSuccess?.gauge, 'nodemeter_exporter_last_success_timestamp_seconds is a gauge');
  assert.ok(Math.abs(num(lastSuccess.gauge.dataPoints[0]?.asDouble) * 1000 - Date.now()) < 3_600_000);
}

async function until(exporter: OtlpHttpExporter, outcome: ExportRoundResult['outcome'], rounds = 20): Promise<ExportRoundResult[]> {
  const seen: ExportRoundResult[] = [];
  for (let i = 0; i < rounds; i++) {
    const result = await exporter.nextExport();
    seen.push(result);
    if (result.outcome === outcome) return seen;
  }
  return assert.fail(`no export ended ${outcome} in ${rounds} rounds: ${seen.map((r) => `${r.outcome} (${r.error?.message ?? ''})`).join('; ')}`);
}

/** Runs an exporter over a MeterProvider, as the graph does. */
function setup(config: OtlpHttpExporterConfig, logs: Array<Record<string, unknown>>): { exporter: OtlpHttpExporter; provider: MeterProvider } {
  const logger = pino({ level: 'debug' }, { write: (line: string) => void logs.push(JSON.parse(line) as Record<string, unknown>) });
  const settings: ComponentSettings = {
    ...testSettings('otlphttp', 'exporter', { logger, agent: { nodeName: 'node-it-1', version: '0.0.0-it' } }),
    get meter() {
      return provider.getMeter('nodemeter');
    },
  };
  const registry = new FactoryRegistry().register(otlpHttpExporterFactory);
  const exporter = registry.get('exporter', 'otlphttp')!.create(settings, config) as OtlpHttpExporter;
  const provider = new MeterProvider({ resource: agentResource(settings.agent), readers: [exporter.reader] });
  exporter.attach(new VolumesSource());
  return { exporter, provider };
}

describe('the otlphttp exporter and a loopback OTLP/HTTP receiver', () => {
  const receiver = new Receiver();
  const logs: Array<Record<string, unknown>> = [];
  let exporter: OtlpHttpExporter;
  let provider: MeterProvider;

  before(async () => {
    process.env['NM_IT_OTLP_TOKEN'] = 'sekret-token-value';
    await receiver.start();
    const config: OtlpHttpExporterConfig = {
      ...createDefaultConfig(),
      endpoint: `http://127.0.0.1:${receiver.port}/v1/metrics`,
      headers: { Authorization: `Bearer ${process.env['NM_IT_OTLP_TOKEN']}`, 'X-Tenant': 'it' },
      compression: 'gzip',
      interval: 300,
      timeout: 4_000,
      cluster_name: 'it-cluster',
    };
    ({ exporter, provider } = setup(config, logs));
    await exporter.start();
  });

  after(async () => {
    await exporter?.shutdown();
    await provider?.shutdown().catch(() => undefined);
    await receiver.stop();
  });

  test('exports arrive gzipped as JSON with the pipeline metrics, the resource and the headers', async () => {
    await until(exporter, 'success');
    const r = receiver.requests.at(-1)!;
    assert.equal(r.headers['content-type'], 'application/json');
    assert.equal(r.headers['content-encoding'], 'gzip');
    assert.equal(r.headers['authorization'], 'Bearer sekret-token-value');
    assert.equal(r.headers['x-tenant'], 'it');
    checkPipelineExport(decode(r), 'it-cluster');
    // Self-telemetry rides along from the round after.
    await until(exporter, 'success');
    checkSelfTelemetry(checkPipelineExport(decode(receiver.requests.at(-1)!), 'it-cluster'));
    assert.doesNotMatch(JSON.stringify(logs), /sekret-token-value/);
  });

  test('a 503 is retried by the SDK exporter and the export lands once', async () => {
    await until(exporter, 'success');
    const before_ = receiver.requests.length;
    receiver.statuses.push(503);
    const result = await exporter.nextExport();
    assert.equal(result.outcome, 'success', result.error?.message);
    // Wait for the round after, so requests of the retried round are all counted.
    const sent = receiver.requests.slice(before_);
    assert.ok(sent.length >= 2, `a retry was made (${sent.length} requests)`);
    const bodies = sent.slice(0, 2).map((r) => metricsOf(decode(r)).length);
    assert.equal(bodies[0], bodies[1], 'the retry carries the same batch');
  });

  test('a 400 is not retried and is counted as rejected', async () => {
    await until(exporter, 'success');
    const before_ = receiver.requests.length;
    receiver.statuses.push(400);
    const result = await exporter.nextExport();
    assert.equal(result.outcome, 'rejected');
    assert.equal(result.status, 400);
    assert.equal(receiver.requests.length, before_ + 1);
    assert.ok(logs.some((l) => l['msg'] === 'the OTLP receiver rejected the export'));
  });

  test('the receiver down: failures are counted, nothing grows; back: exports resume', async () => {
    await until(exporter, 'success');
    const port = receiver.port;
    await receiver.stop();
    const failures = await until(exporter, 'failed');
    assert.equal(failures.at(-1)!.outcome, 'failed');
    // Rounds keep failing at the interval without queueing: each round is a fresh collection.
    const heapBefore = process.memoryUsage().heapUsed;
    for (let i = 0; i < 5; i++) assert.equal((await exporter.nextExport()).outcome, 'failed');
    assert.ok(process.memoryUsage().heapUsed - heapBefore < 20 * 1024 * 1024, 'heap stays flat');
    assert.ok(logs.some((l) => l['msg'] === 'OTLP export failed'));
    const seen = receiver.requests.length;
    await receiver.start(port);
    await until(exporter, 'success');
    assert.ok(receiver.requests.length > seen);
    assert.ok(logs.some((l) => l['msg'] === 'OTLP exports succeed again'));
    const failed = metricsOf(decode(receiver.requests.at(-1)!)).find((m) => m.name === 'nodemeter_exporter_pushes_total');
    const failedCount = (failed?.sum?.dataPoints ?? []).filter((p) => attrs(p.attributes)['outcome'] === 'failed').map((p) => num(p.asInt ?? p.asDouble));
    assert.ok((failedCount[0] ?? 0) >= 6, `failed rounds counted: ${JSON.stringify(failedCount)}`);
  });
});

describe('the otlphttp exporter with http/protobuf', () => {
  for (const compression of ['none', 'gzip'] as const) {
    const clusterName = compression === 'gzip' ? 'pb-cluster' : '';
    test(`${compression === 'gzip' ? 'gzipped' : 'uncompressed'} protobuf bodies decode to the same metrics, resource and temporality as JSON`, async () => {
      const receiver = new Receiver();
      await receiver.start();
      const config: OtlpHttpExporterConfig = {
        ...createDefaultConfig(),
        endpoint: `http://127.0.0.1:${receiver.port}/v1/metrics`,
        protocol: 'http/protobuf',
        compression,
        headers: { 'X-Tenant': 'pb' },
        interval: 300,
        timeout: 2_000,
        cluster_name: clusterName,
      };
      const { exporter, provider } = setup(config, []);
      try {
        await exporter.start();
        await until(exporter, 'success');
        await until(exporter, 'success');
        const r = receiver.requests.at(-1)!;
        assert.equal(r.headers['content-type'], 'application/x-protobuf');
        assert.equal(r.headers['content-encoding'], compression === 'gzip' ? 'gzip' : undefined);
        assert.equal(r.headers['x-tenant'], 'pb');
        if (compression === 'gzip') assert.equal(r.body.subarray(0, 2).toString('hex'), '1f8b', 'a gzip stream');
        checkSelfTelemetry(checkPipelineExport(decode(r), clusterName === '' ? undefined : clusterName));
      } finally {
        await exporter.shutdown();
        await provider.shutdown().catch(() => undefined);
        await receiver.stop();
      }
    });
  }
});

describe('OTEL_EXPORTER_OTLP_* environment variables do not override the config', () => {
  const configured = new Receiver();
  const elsewhere = new Receiver();
  const saved = new Map<string, string | undefined>();
  let exporter: OtlpHttpExporter;
  let provider: MeterProvider;

  before(async () => {
    await configured.start();
    await elsewhere.start();
    // A 1 ms timeout from the environment would fail every export against this answer time.
    configured.delayMs = 50;
    const env: Record<string, string> = {
      OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${elsewhere.port}`,
      OTEL_EXPORTER_OTLP_METRICS_ENDPOINT: `http://127.0.0.1:${elsewhere.port}/v1/metrics`,
      OTEL_EXPORTER_OTLP_HEADERS: 'x-env-extra=from-env,authorization=Bearer%20env-token,x-tenant=env',
      OTEL_EXPORTER_OTLP_METRICS_HEADERS: 'x-env-metrics=from-env',
      OTEL_EXPORTER_OTLP_TIMEOUT: '1',
      OTEL_EXPORTER_OTLP_METRICS_TIMEOUT: '1',
      OTEL_EXPORTER_OTLP_COMPRESSION: 'gzip',
      OTEL_EXPORTER_OTLP_METRICS_COMPRESSION: 'gzip',
      OTEL_EXPORTER_OTLP_PROTOCOL: 'http/protobuf',
      OTEL_EXPORTER_OTLP_METRICS_PROTOCOL: 'http/protobuf',
      OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE: 'delta',
    };
    for (const [name, value] of Object.entries(env)) {
      saved.set(name, process.env[name]);
      process.env[name] = value;
    }
    const config: OtlpHttpExporterConfig = {
      ...createDefaultConfig(),
      endpoint: `http://127.0.0.1:${configured.port}/v1/metrics`,
      protocol: 'http/json',
      compression: 'none',
      headers: { 'X-Tenant': 'config' },
      interval: 300,
      timeout: 2_000,
    };
    // The SDK exporter is built in start(), with the variables set.
    ({ exporter, provider } = setup(config, []));
    await exporter.start();
    // The exporter hides them from the SDK only while building it: the process keeps them.
    for (const [name, value] of Object.entries(env)) assert.equal(process.env[name], value, name);
  });

  after(async () => {
    await exporter?.shutdown();
    await provider?.shutdown().catch(() => undefined);
    await configured.stop();
    await elsewhere.stop();
    for (const [name, value] of saved) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  });

  test('exports go to the configured endpoint only, with the configured headers, compression, protocol, timeout and temporality', async () => {
    const first = await until(exporter, 'success');
    assert.equal(first.length, 1, `the first round succeeds: ${first.map((r) => `${r.outcome} (${r.error?.message ?? ''})`).join('; ')}`);
    await until(exporter, 'success');
    assert.equal(elsewhere.requests.length, 0, 'nothing goes to the endpoint from the environment');
    assert.ok(configured.requests.length >= 2);
    // Headers any HTTP client sends; everything else must come from the config.
    const transport = new Set(['host', 'connection', 'content-type', 'content-length', 'transfer-encoding', 'user-agent', 'accept', 'accept-encoding']);
    for (const r of configured.requests) {
      assert.deepEqual(
        Object.keys(r.headers).filter((name) => !transport.has(name)),
        ['x-tenant'],
      );
      assert.equal(r.headers['x-tenant'], 'config');
      assert.equal(r.headers['content-type'], 'application/json');
      assert.equal(r.headers['content-encoding'], undefined);
    }
    const metrics = checkPipelineExport(decode(configured.requests.at(-1)!), undefined);
    checkSelfTelemetry(metrics);
  });
});
