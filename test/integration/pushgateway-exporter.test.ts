// The pushgateway exporter, in-process with a test pipeline whose series the test changes,
// pushing to Debian's real Pushgateway (1.5.1); every check reads the group back through the
// Pushgateway's own API (/api/v1/metrics).
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { emptyResource } from '@opentelemetry/resources';
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import pino from 'pino';
import type { CollectContext, ComponentSettings, PipelineSource } from '../../pipeline/component.ts';
import { gauge } from '../../pipeline/datapoints.ts';
import { testSettings } from '../../pipeline/testing.ts';
import { createDefaultConfig, type PushgatewayExporterConfig } from '../../exporters/pushgateway/config.ts';
import { PushgatewayExporter, type PushResult } from '../../exporters/pushgateway/exporter.ts';
import { requirePrereqs } from '../support/prereqs.ts';
import { Pushgateway } from '../support/pushgateway.ts';

/** A pipeline with one gauge family, one series per entry of `volumes`. */
class VolumesSource implements PipelineSource {
  readonly id = 'metrics/test';
  readonly volumes = new Map<string, number>();
  /** Also send the gauge it_conflict (which another group may hold as a counter). */
  conflict = false;
  collect(_ctx: CollectContext): ReturnType<PipelineSource['collect']> {
    const points = [...this.volumes].map(([volume, value]) => ({ attributes: { volume }, value }));
    const metrics = [gauge({ name: 'it_volume_used_bytes', description: 'Bytes used, per test volume.' }, points)];
    if (this.conflict) metrics.push(gauge({ name: 'it_conflict', description: 'A gauge here, a counter elsewhere.' }, [{ attributes: {}, value: 1 }]));
    return Promise.resolve({ resourceMetrics: { resource: emptyResource(), scopeMetrics: [{ scope: { name: 'test' }, metrics }] }, errors: [] });
  }
  selectorValues(): undefined {
    return undefined;
  }
}

interface ApiMetric {
  type: string;
  metrics: Array<{ labels: Record<string, string>; value?: string }>;
}
type ApiGroup = Record<string, unknown> & { labels: Record<string, string> };

/** Every group the Pushgateway holds, from its JSON API. */
async function groups(pg: Pushgateway): Promise<ApiGroup[]> {
  const res = await fetch(`${pg.url}/api/v1/metrics`);
  assert.equal(res.status, 200);
  const body = (await res.json()) as { status: string; data: ApiGroup[] };
  assert.equal(body.status, 'success');
  return body.data;
}

/** The group with exactly these labels, if the Pushgateway has it. */
async function group(pg: Pushgateway, labels: Record<string, string>): Promise<ApiGroup | undefined> {
  const want = JSON.stringify(Object.entries(labels).sort());
  return (await groups(pg)).find((g) => JSON.stringify(Object.entries(g.labels).sort()) === want);
}

/** `volume` → value of it_volume_used_bytes in a group. */
function volumesOf(g: ApiGroup | undefined): Record<string, number> {
  const metric = g?.['it_volume_used_bytes'] as ApiMetric | undefined;
  return Object.fromEntries((metric?.metrics ?? []).map((m) => [m.labels['volume'] ?? '', Number(m.value)]));
}

/** Waits for push rounds until one ends with `outcome` (at most `rounds`). */
async function pushUntil(exporter: PushgatewayExporter, outcome: PushResult['outcome'], rounds = 20): Promise<PushResult[]> {
  const seen: PushResult[] = [];
  for (let i = 0; i < rounds; i++) {
    const result = await exporter.nextPush();
    seen.push(result);
    if (result.outcome === outcome) return seen;
  }
  assert.fail(`no push ended ${outcome} in ${rounds} rounds: ${seen.map((r) => `${r.outcome} (${r.error?.message ?? ''})`).join('; ')}`);
}

const GROUPING = { path: '/var/lib/kubelet/pods', zone: 'eu west 1', empty: '', city: '東京' };
const EXPECTED_LABELS = { job: 'nodemeter it', instance: 'node-it-1', ...GROUPING };

describe('the pushgateway exporter and a real Pushgateway', () => {
  let pg: Pushgateway | undefined;
  let exporter: PushgatewayExporter;
  let provider: MeterProvider;
  const source = new VolumesSource();
  const logs: Array<Record<string, unknown>> = [];

  before(async () => {
    requirePrereqs('pushgateway');
    pg = await Pushgateway.start();
    const config: PushgatewayExporterConfig = {
      ...createDefaultConfig(),
      endpoint: pg.url,
      job: 'nodemeter it',
      grouping_key: GROUPING,
      interval: 400,
      timeout: 2_000,
      delete_on_shutdown: true,
      headers: { 'X-Test': 'yes' },
    };
    const logger = pino({ level: 'debug' }, { write: (line: string) => void logs.push(JSON.parse(line) as Record<string, unknown>) });
    // The meter is read only in start(), after the MeterProvider over the exporter's reader exists.
    const settings: ComponentSettings = {
      ...testSettings('pushgateway', 'exporter', { logger, agent: { nodeName: 'node-it-1', version: '0.0.0-it' } }),
      get meter() {
        return provider.getMeter('nodemeter');
      },
    };
    exporter = new PushgatewayExporter(settings, config);
    provider = new MeterProvider({ readers: [exporter.reader] });
    exporter.attach(source);
    source.volumes.set('a', 100).set('b', 200);
    await exporter.start();
  });

  after(async () => {
    await exporter?.shutdown();
    await provider?.shutdown().catch(() => undefined);
    await pg?.close();
  });

  test('pushes arrive as one group with the grouping key (slash, space, empty and unicode values) and the node as instance', async () => {
    await pushUntil(exporter, 'success');
    const g = await group(pg!, EXPECTED_LABELS);
    assert.ok(g, `group ${JSON.stringify(EXPECTED_LABELS)} among ${JSON.stringify((await groups(pg!)).map((x) => x.labels))}`);
    assert.deepEqual(volumesOf(g), { a: 100, b: 200 });
    assert.equal((g['it_volume_used_bytes'] as ApiMetric).type, 'GAUGE');
    assert.match(exporter.groupUrl, /\/metrics\/job\/nodemeter%20it\/instance\/node-it-1\/path@base64\/L3Zhci9saWIva3ViZWxldC9wb2Rz\/zone\/eu%20west%201\/empty@base64\/=\/city\/%E6%9D%B1%E4%BA%AC$/);
  });

  test('the self-telemetry goes along: pushes, points sent, last success time', async () => {
    await pushUntil(exporter, 'success');
    await pushUntil(exporter, 'success');
    const g = await group(pg!, EXPECTED_LABELS);
    const pushes = g?.['nodemeter_exporter_pushes_total'] as ApiMetric | undefined;
    const success = pushes?.metrics.find((m) => m.labels['outcome'] === 'success' && m.labels['exporter'] === 'pushgateway');
    assert.ok(success && Number(success.value) >= 1, `pushes_total: ${JSON.stringify(pushes)}`);
    assert.ok(Number((g?.['nodemeter_exporter_points_sent_total'] as ApiMetric | undefined)?.metrics[0]?.value) >= 2);
    const last = Number((g?.['nodemeter_exporter_last_success_timestamp_seconds'] as ApiMetric | undefined)?.metrics[0]?.value);
    assert.ok(Math.abs(last - Date.now() / 1000) < 60, `last success ${last}`);
  });

  test('a series gone from the pipeline is gone from the group after the next push (PUT replaces it)', async () => {
    source.volumes.delete('b');
    source.volumes.set('a', 150);
    await exporter.nextPush(); // may have collected before the change
    await pushUntil(exporter, 'success');
    assert.deepEqual(volumesOf(await group(pg!, EXPECTED_LABELS)), { a: 150 });
  });

  test('a type conflict with another group is a 400: logged with the gateway\'s message, counted, not retried', async () => {
    await pg!.push('other', {}, '# TYPE it_conflict counter\nit_conflict 1\n');
    source.conflict = true;
    try {
      const rounds = await pushUntil(exporter, 'rejected');
      const rejected = rounds.at(-1)!;
      assert.equal(rejected.attempts, 1, 'not retried');
      const line = logs.find((l) => l['msg'] === 'the Pushgateway rejected the push');
      assert.ok(line, 'logged as an error');
      assert.equal(line['level'], 50);
      assert.equal(line['status'], 400);
      assert.match(String(line['error']), /HTTP 400: pushed metrics are invalid or inconsistent with existing metrics: .*it_conflict/);
      assert.ok(String(line['error']).length < 1_000, 'the gateway\'s message is bounded');
    } finally {
      source.conflict = false;
      const res = await fetch(`${pg!.url}/metrics/job/other`, { method: 'DELETE' });
      assert.equal(res.status, 202);
    }
    await pushUntil(exporter, 'success');
  });

  test('the gateway stopped: pushes fail (retried within the interval, never piling up); started again: they resume', async () => {
    const port = pg!.port;
    await pg!.close();
    const failed = await pushUntil(exporter, 'failed');
    const failure = failed.at(-1)!;
    assert.match(failure.error?.message ?? '', /ECONNREFUSED/);
    assert.ok(failure.attempts >= 2, `retried within the interval (${failure.attempts} attempts)`);
    // A few more rounds while it is down: each one ends on its own.
    const before = process.memoryUsage().heapUsed;
    for (let i = 0; i < 5; i++) assert.equal((await exporter.nextPush()).outcome, 'failed');
    assert.ok(process.memoryUsage().heapUsed - before < 20 * 1024 * 1024, 'memory stays flat while the gateway is down');
    assert.ok(logs.filter((l) => l['msg'] === 'push to the Pushgateway failed').length <= 2, 'the same failure is logged once, not every interval');

    pg = await Pushgateway.start({ port });
    await pushUntil(exporter, 'success');
    assert.deepEqual(volumesOf(await group(pg, EXPECTED_LABELS)), { a: 150 });
    assert.ok(logs.some((l) => l['msg'] === 'pushes to the Pushgateway succeed again'));
  });

  test('shutdown DELETEs the group', async () => {
    assert.ok(await group(pg!, EXPECTED_LABELS));
    await exporter.shutdown();
    assert.equal(await group(pg!, EXPECTED_LABELS), undefined);
    assert.ok(logs.some((l) => l['msg'] === 'deleted the group from the Pushgateway'));
  });
});
