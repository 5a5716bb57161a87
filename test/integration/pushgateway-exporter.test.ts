// The pushgateway exporter, in-process with a test pipeline whose series the test changes,
// pushing to Debian's real Pushgateway (1.5.1); every check reads the group back through the
// Pushgateway's own API (/api/v1/metrics). The second block runs it with a web config (HTTPS with
// test certificates, basic authentication) and checks the exporter's tls and basic_auth settings.
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
import { waitFor } from '../support/proc.ts';
import { Pushgateway } from '../support/pushgateway.ts';
import { makeTestPki, type TestPki } from '../support/tls.ts';

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

/** Every group the Pushgateway holds, from its JSON API (over HTTPS and authenticated when it needs that). */
async function groups(pg: Pushgateway): Promise<ApiGroup[]> {
  const res = await pg.get('/api/v1/metrics');
  assert.equal(res.status, 200, res.body);
  const body = JSON.parse(res.body) as { status: string; data: ApiGroup[] };
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

// The basic-auth user of the secured gateways and its password. TEST_PASSWORD_BCRYPT is its bcrypt
// hash (cost 10) for the gateway's basic_auth_users, made once on a Debian machine with
//   /usr/bin/python3 -c "import crypt; print(crypt.crypt('nodemeter-it-pushgateway-pw', crypt.mksalt(crypt.METHOD_BLOWFISH, rounds=2**10)))"
// (Python 3.11's crypt module over libxcrypt). The tests below fail if it does not match: the
// gateway would refuse the helper's own readiness check and the right password alike.
const TEST_USER = 'nodemeter-it';
const TEST_PASSWORD = 'nodemeter-it-pushgateway-pw';
const TEST_PASSWORD_BCRYPT = '$2b$10$od5auBZaGNwix8Kcx0dBqerk5Vlifn4Otq7qExqplJtis8.929YzW';
/** What an exporter configured wrongly sends; must never show up in a log line or an error. */
const WRONG_PASSWORD = 'Wr0ng-Pa55word-never-logged-41f7';
const SECURE_JOB = 'nodemeter-secure-it';

/** An exporter pushing one test pipeline, its log lines as written and as parsed. */
interface Harness {
  readonly exporter: PushgatewayExporter;
  readonly source: VolumesSource;
  /** Every log line exactly as pino wrote it. */
  readonly lines: string[];
  readonly logs: Array<Record<string, unknown>>;
  /** The labels of its group on the gateway. */
  readonly labels: Record<string, string>;
  close(): Promise<void>;
}

describe('the pushgateway exporter with TLS and basic auth against a real Pushgateway', () => {
  let pki: TestPki | undefined;
  /** HTTPS, no authentication. */
  let tlsPg: Pushgateway;
  /** Plain HTTP, basic authentication. */
  let authPg: Pushgateway;
  /** HTTPS and basic authentication. */
  let bothPg: Pushgateway;
  const gateways: Pushgateway[] = [];
  const harnesses: Harness[] = [];

  async function startExporter(instance: string, config: Partial<PushgatewayExporterConfig> & { endpoint: string }): Promise<Harness> {
    const lines: string[] = [];
    const logs: Array<Record<string, unknown>> = [];
    const logger = pino({ level: 'debug' }, {
      write: (line: string) => {
        lines.push(line);
        logs.push(JSON.parse(line) as Record<string, unknown>);
      },
    });
    // The meter is read only in start(), after the MeterProvider over the exporter's reader exists.
    const settings: ComponentSettings = {
      ...testSettings('pushgateway/secure', 'exporter', { logger, agent: { nodeName: instance, version: '0.0.0-it' } }),
      get meter() {
        return provider.getMeter('nodemeter');
      },
    };
    const exporter = new PushgatewayExporter(settings, { ...createDefaultConfig(), job: SECURE_JOB, interval: 1_000, timeout: 1_000, ...config });
    const provider = new MeterProvider({ readers: [exporter.reader] });
    const source = new VolumesSource();
    source.volumes.set(instance, 42);
    exporter.attach(source);
    await exporter.start();
    const harness: Harness = {
      exporter,
      source,
      lines,
      logs,
      labels: { job: SECURE_JOB, instance },
      async close() {
        await exporter.shutdown();
        await provider.shutdown().catch(() => undefined);
      },
    };
    harnesses.push(harness);
    return harness;
  }

  before(async () => {
    requirePrereqs('pushgateway', 'openssl');
    pki = await makeTestPki();
    const tls = { certFile: pki.serverCertFile, keyFile: pki.serverKeyFile, caFile: pki.caFile };
    const basicAuth = { basicAuthUsers: { [TEST_USER]: TEST_PASSWORD_BCRYPT }, credentials: { username: TEST_USER, password: TEST_PASSWORD } };
    tlsPg = await Pushgateway.start({ webConfig: { tls } });
    gateways.push(tlsPg);
    authPg = await Pushgateway.start({ webConfig: basicAuth });
    gateways.push(authPg);
    bothPg = await Pushgateway.start({ webConfig: { tls, ...basicAuth } });
    gateways.push(bothPg);
  });

  after(async () => {
    for (const h of harnesses) await h.close();
    for (const pg of gateways) await pg.close();
    await pki?.remove();
  });

  test('the secured gateways really are secured: no plain HTTP on the HTTPS one, no way in without the password', async () => {
    assert.match(tlsPg.url, /^https:\/\/127\.0\.0\.1:\d+$/);
    const plain = await fetch(`http://127.0.0.1:${tlsPg.port}/api/v1/metrics`);
    assert.equal(plain.status, 400, 'an HTTPS server answers plain HTTP with 400');
    assert.equal((await authPg.get('/api/v1/metrics', { auth: false })).status, 401);
    assert.equal((await bothPg.get('/api/v1/metrics', { auth: false })).status, 401);
    // The fixed hash matches the fixed password (the helper's own requests send it).
    assert.equal((await authPg.get('/api/v1/metrics')).status, 200);
    assert.equal((await bothPg.get('/api/v1/metrics')).status, 200);
  });

  test('HTTPS with tls.ca_file = the CA that signed the gateway\'s certificate: pushes arrive', async () => {
    const h = await startExporter('tls-ca', { endpoint: tlsPg.url, tls: { ca_file: pki!.caFile, insecure_skip_verify: false } });
    assert.match(h.exporter.groupUrl, /^https:\/\/127\.0\.0\.1:\d+\/metrics\/job\//);
    await pushUntil(h.exporter, 'success');
    assert.deepEqual(volumesOf(await group(tlsPg, h.labels)), { 'tls-ca': 42 });
  });

  test('HTTPS with an unrelated CA: the push fails on the certificate and is not retried; insecure_skip_verify pushes', async () => {
    // The gateway (Go's net/http) logs every handshake a client broke off: its side of the count.
    const handshakes = (): number => (tlsPg.log.match(/http: TLS handshake error from 127\.0\.0\.1/g) ?? []).length;
    const handshakesBefore = handshakes();
    const h = await startExporter('tls-wrong-ca', { endpoint: tlsPg.url, tls: { ca_file: pki!.otherCaFile, insecure_skip_verify: false } });
    const started = Date.now();
    const rounds = [await h.exporter.nextPush(), await h.exporter.nextPush(), await h.exporter.nextPush()];
    const elapsed = Date.now() - started;
    const attempts = rounds.reduce((sum, r) => sum + r.attempts, 0);
    const seenByGateway = handshakes() - handshakesBefore;
    // At most one more round (one request) may have begun since the third ended.
    assert.ok(seenByGateway <= attempts + 1, `the gateway saw ${seenByGateway} broken-off handshakes for ${attempts} attempts`);
    await waitFor('the gateway to log the broken-off handshakes', () => (handshakes() > handshakesBefore ? true : undefined), { timeoutMs: 5_000 });
    for (const r of rounds) {
      assert.equal(r.outcome, 'failed', r.error?.message);
      assert.match(r.error?.message ?? '', /unable to verify the first certificate/, 'the error names the certificate problem');
      assert.ok(r.error?.message.includes(h.exporter.groupUrl), 'and the URL it happened on');
      // A certificate that does not verify will not verify a moment later: one request per round.
      assert.equal(r.attempts, 1, `${r.attempts} attempts in one round`);
      assert.equal(r.reason, 'tls');
    }
    // Three rounds take their intervals: a round never follows a failed one straight away.
    assert.ok(elapsed >= 1_500, `three failed rounds took only ${elapsed} ms`);
    const warnings = h.logs.filter((l) => l['msg'] === 'push to the Pushgateway failed');
    assert.equal(warnings.length, 1, 'the same failure is logged once, not every interval');
    assert.match(String(warnings[0]!['error']), /unable to verify the first certificate/);
    assert.equal(await group(tlsPg, h.labels), undefined, 'nothing arrived');

    const skip = await startExporter('tls-skip-verify', { endpoint: tlsPg.url, tls: { ca_file: '', insecure_skip_verify: true } });
    const [ok] = await pushUntil(skip.exporter, 'success', 1);
    assert.equal(ok!.attempts, 1);
    assert.deepEqual(volumesOf(await group(tlsPg, skip.labels)), { 'tls-skip-verify': 42 });
  });

  test('basic auth: the right password pushes; a wrong one is a 401, logged with the gateway\'s answer, the password nowhere', async () => {
    const good = await startExporter('auth-good', { endpoint: authPg.url, basic_auth: { username: TEST_USER, password: TEST_PASSWORD } });
    await pushUntil(good.exporter, 'success');
    assert.deepEqual(volumesOf(await group(authPg, good.labels)), { 'auth-good': 42 });

    const bad = await startExporter('auth-bad', { endpoint: authPg.url, basic_auth: { username: TEST_USER, password: WRONG_PASSWORD } });
    const rounds = await pushUntil(bad.exporter, 'rejected', 3);
    const rejected = rounds.at(-1)!;
    assert.equal(rejected.attempts, 1, 'a 401 is not retried');
    assert.equal(rejected.reason, 'http_401');
    assert.match(rejected.error?.message ?? '', /HTTP 401: Unauthorized/);
    const line = bad.logs.find((l) => l['msg'] === 'the Pushgateway rejected the push');
    assert.ok(line, `logged as an error: ${bad.lines.join('')}`);
    assert.equal(line['level'], 50);
    assert.equal(line['status'], 401);
    assert.match(String(line['error']), /HTTP 401: Unauthorized/, 'with the gateway\'s answer');
    assert.equal(await group(authPg, bad.labels), undefined, 'nothing arrived');

    // Let a few more rounds log (debug included) before looking for the secrets.
    await bad.exporter.nextPush();
    await good.exporter.nextPush();
    const secrets = [TEST_PASSWORD, WRONG_PASSWORD].flatMap((pw) => [pw, Buffer.from(`${TEST_USER}:${pw}`).toString('base64')]);
    const errors = rounds.map((r) => {
      const cause = r.error?.cause;
      return `${r.error?.message ?? ''}\n${r.error?.stack ?? ''}\n${cause instanceof Error ? `${cause.message}\n${cause.stack ?? ''}` : ''}`;
    });
    for (const secret of secrets) {
      for (const text of [...good.lines, ...bad.lines, ...errors]) assert.ok(!text.includes(secret), `a secret leaked into: ${text}`);
    }
  });

  test('TLS and basic auth together: pushes arrive, and the group is DELETEd over them on shutdown', async () => {
    const h = await startExporter('tls-auth', {
      endpoint: bothPg.url,
      tls: { ca_file: pki!.caFile, insecure_skip_verify: false },
      basic_auth: { username: TEST_USER, password: TEST_PASSWORD },
      delete_on_shutdown: true,
    });
    await pushUntil(h.exporter, 'success');
    assert.deepEqual(volumesOf(await group(bothPg, h.labels)), { 'tls-auth': 42 });
    await h.close();
    assert.equal(await group(bothPg, h.labels), undefined, 'the group is gone');
    assert.ok(h.logs.some((l) => l['msg'] === 'deleted the group from the Pushgateway'), h.lines.join(''));
    assert.ok(!h.lines.some((l) => l.includes(TEST_PASSWORD)));
  });
});
