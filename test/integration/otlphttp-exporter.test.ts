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
import { gauge } from '../../pipeline/datapoints.ts';
import { agentResource } from '../../pipeline/graph.ts';
import { FactoryRegistry } from '../../pipeline/registry.ts';
import { testSettings } from '../../pipeline/testing.ts';
import { createDefaultConfig, type OtlpHttpExporterConfig } from '../../exporters/otlphttp/config.ts';
import type { OtlpHttpExporter, ExportRoundResult } from '../../exporters/otlphttp/exporter.ts';
import { otlpHttpExporterFactory } from '../../exporters/otlphttp/factory.ts';

class VolumesSource implements PipelineSource {
  readonly id = 'metrics/test';
  collect(_ctx: CollectContext): ReturnType<PipelineSource['collect']> {
    const metrics = [gauge({ name: 'it_volume_used_bytes', description: 'Bytes used, per test volume.', unit: 'By' }, [{ attributes: { volume: 'a' }, value: 100 }, { attributes: { volume: 'b' }, value: 200 }])];
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
interface JsonAttr {
  key: string;
  value: { stringValue?: string };
}
interface JsonPayload {
  resourceMetrics: Array<{
    resource: { attributes: JsonAttr[] };
    scopeMetrics: Array<{ metrics: Array<{ name: string; unit?: string; gauge?: { dataPoints: Array<{ asDouble?: number; asInt?: string | number; attributes: JsonAttr[] }> }; sum?: { aggregationTemporality: number } }> }>;
  }>;
}

/** An OTLP/HTTP receiver: answers each request with the next queued status (200 when none). */
class Receiver {
  readonly requests: Received[] = [];
  readonly statuses: number[] = [];
  server: Server | undefined;
  port = 0;
  async start(port = 0): Promise<void> {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        this.requests.push({ headers: req.headers, body: Buffer.concat(chunks) });
        const status = this.statuses.shift() ?? 200;
        res.writeHead(status, { 'content-type': 'application/json' }).end(status === 200 ? '{}' : '{"message":"busy"}');
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

function decode(r: Received): JsonPayload {
  const raw = r.headers['content-encoding'] === 'gzip' ? gunzipSync(r.body) : r.body;
  return JSON.parse(raw.toString('utf8')) as JsonPayload;
}

function attrs(list: JsonAttr[]): Record<string, string | undefined> {
  return Object.fromEntries(list.map((a) => [a.key, a.value.stringValue]));
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
    const payload = decode(r);
    const rm = payload.resourceMetrics[0]!;
    const resource = attrs(rm.resource.attributes);
    assert.equal(resource['service.name'], 'nodemeter');
    assert.equal(resource['service.instance.id'], 'node-it-1');
    assert.equal(resource['k8s.node.name'], 'node-it-1');
    assert.equal(resource['k8s.cluster.name'], 'it-cluster');
    const metrics = rm.scopeMetrics.flatMap((s) => s.metrics);
    const volume = metrics.find((m) => m.name === 'it_volume_used_bytes');
    assert.ok(volume?.gauge, `it_volume_used_bytes among ${metrics.map((m) => m.name).join(', ')}`);
    assert.equal(volume.unit, 'By');
    const values: Record<string, number> = Object.fromEntries(volume.gauge.dataPoints.map((p): [string, number] => [attrs(p.attributes)['volume'] ?? '', Number(p.asDouble ?? p.asInt)]));
    assert.deepEqual(values, { a: 100, b: 200 });
    // Self-telemetry rides along: cumulative sums.
    await until(exporter, 'success');
    const later = decode(receiver.requests.at(-1)!).resourceMetrics[0]!.scopeMetrics.flatMap((s) => s.metrics);
    const pushes = later.find((m) => m.name === 'nodemeter_exporter_pushes_total');
    assert.equal(pushes?.sum?.aggregationTemporality, 2, 'cumulative');
    assert.ok(later.some((m) => m.name === 'nodemeter_exporter_last_success_timestamp_seconds'));
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
    const bodies = sent.slice(0, 2).map((r) => decode(r).resourceMetrics[0]!.scopeMetrics.flatMap((s) => s.metrics).length);
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
    const last = decode(receiver.requests.at(-1)!).resourceMetrics[0]!.scopeMetrics.flatMap((s) => s.metrics);
    const failed = last.find((m) => m.name === 'nodemeter_exporter_pushes_total') as unknown as { sum: { dataPoints: Array<{ asInt?: string | number; asDouble?: number; attributes: JsonAttr[] }> } };
    const failedCount = failed.sum.dataPoints.filter((p) => attrs(p.attributes)['outcome'] === 'failed').map((p) => Number(p.asInt ?? p.asDouble));
    assert.ok((failedCount[0] ?? 0) >= 6, `failed rounds counted: ${JSON.stringify(failedCount)}`);
  });
});

describe('the otlphttp exporter with http/protobuf, uncompressed', () => {
  test('sends a protobuf body holding the metric names', async () => {
    const receiver = new Receiver();
    await receiver.start();
    const { exporter, provider } = setup({ ...createDefaultConfig(), endpoint: `http://127.0.0.1:${receiver.port}/v1/metrics`, protocol: 'http/protobuf', compression: 'none', interval: 300, timeout: 2_000 }, []);
    try {
      await exporter.start();
      await until(exporter, 'success');
      const r = receiver.requests.at(-1)!;
      assert.equal(r.headers['content-type'], 'application/x-protobuf');
      assert.equal(r.headers['content-encoding'], undefined);
      assert.ok(r.body.includes('it_volume_used_bytes'));
      assert.ok(r.body.includes('node-it-1'));
    } finally {
      await exporter.shutdown();
      await provider.shutdown().catch(() => undefined);
      await receiver.stop();
    }
  });
});
