// Faults of the Pushgateway, seen through the real agent (filesystem → prometheus + pushgateway):
// a gateway that answers only after the push timeout, one that answers every push with 503, and
// its return as Debian's real Pushgateway on the same port. A loopback stand-in
// (test/support/scripted-server.ts) plays the misbehaving gateway and records every request;
// the agent's own self-telemetry is read through its /metrics.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { filesystemConfig, startAgent, type Agent } from '../support/agent.ts';
import { parseExposition } from '../support/exposition.ts';
import { requirePrereqs } from '../support/prereqs.ts';
import { makeTempDir, sleep, waitFor } from '../support/proc.ts';
import { exporterValue, lastErrors } from '../support/exporter-series.ts';
import { PullProbe } from '../support/pull-probe.ts';
import { Pushgateway } from '../support/pushgateway.ts';
import { ScriptedServer, type ScriptedRequest } from '../support/scripted-server.ts';

const NODE = 'node-faults-pg';
const GROUP_PATH = `/metrics/job/nodemeter/instance/${NODE}`;
const INTERVAL_MS = 1_000;
const TIMEOUT_MS = 300;
/** How much later than its timeout the agent may give up on a request (timers on 2 shared cores). */
const TIMER_SLACK_MS = 400;
/** The slowest pull allowed while the gateway misbehaves; pulls never wait on pushes. */
const PULL_LIMIT_MS = 1_000;
const EXPORTER = 'pushgateway';

function config(kubeletRoot: string, endpoint: string): string {
  return filesystemConfig(kubeletRoot, { statfsTimeout: null, exporters: { pushgateway: [`    endpoint: ${endpoint}`, `    interval: ${INTERVAL_MS}ms`, `    timeout: ${TIMEOUT_MS}ms`] } });
}



function puts(requests: readonly ScriptedRequest[]): ScriptedRequest[] {
  return requests.filter((r) => r.method === 'PUT' && r.path === GROUP_PATH);
}

describe('Pushgateway faults: slow, answering 503, back as a real Pushgateway', () => {
  let dir: Awaited<ReturnType<typeof makeTempDir>> | undefined;
  let gateway: ScriptedServer | undefined;
  let real: Pushgateway | undefined;
  let agent: Agent | undefined;

  before(async () => {
    requirePrereqs('pushgateway');
    dir = await makeTempDir('nodemeter-faults-pg-');
    // Slow from the first push: the agent never gets an answer in time.
    gateway = await ScriptedServer.start({ script: () => ({ holdMs: 3_000, status: 200 }) });
    agent = await startAgent({ config: config(join(dir.path, 'kubelet'), gateway.url), extraArgs: ['--node-name', NODE] });
  });

  after(async () => {
    await agent?.kill();
    await gateway?.close();
    await real?.close();
    await dir?.remove();
  });

  test('a gateway slower than the push timeout: each request is cut at the timeout, rounds fail as "timeout", never overlap, and pulls stay fast', async (t) => {
    const probe = new PullProbe(agent!, { pauseMs: 50 });
    await sleep(3.5 * INTERVAL_MS);
    const pulls = await probe.stop();
    t.diagnostic(`while slow: ${probe.describe()}`);

    const sent = puts(gateway!.requests);
    assert.ok(sent.length >= 3, `pushes kept coming (${sent.length})`);
    const ended = sent.filter((r) => r.endedAt !== undefined);
    for (const r of ended) {
      assert.equal(r.outcome, 'client_closed', 'the agent gave up before the gateway answered');
      const heldMs = r.endedAt! - r.arrivedAt;
      assert.ok(heldMs <= TIMEOUT_MS + TIMER_SLACK_MS, `a push held ${heldMs.toFixed(0)} ms, past its ${TIMEOUT_MS} ms timeout`);
    }
    assert.equal(gateway!.peakInFlight, 1, 'one push at a time');

    assert.deepEqual(probe.failures, [], 'every pull answered 200');
    assert.ok(probe.maxMs < PULL_LIMIT_MS, `slowest pull ${probe.maxMs.toFixed(0)} ms`);
    for (const p of pulls) assert.ok((exporterValue(p.samples, EXPORTER, 'nodemeter_exporter_in_flight') ?? 0) <= 1, 'in flight ≤ 1 in every pull');

    const last = pulls.at(-1)!.samples;
    assert.deepEqual(Object.keys(lastErrors(last, EXPORTER)), ['timeout'], 'the last error is a timeout');
    assert.ok(Math.abs(lastErrors(last, EXPORTER).timeout! - Date.now() / 1000) < 10, 'and it is recent');
    assert.ok((exporterValue(last, EXPORTER, 'nodemeter_exporter_pushes_total', { outcome: 'failed' }) ?? 0) >= 2, 'failed rounds are counted');
    assert.equal(exporterValue(last, EXPORTER, 'nodemeter_exporter_pushes_total', { outcome: 'success' }), undefined, 'no round succeeded');
    assert.equal(exporterValue(last, EXPORTER, 'nodemeter_exporter_last_success_timestamp_seconds'), undefined, 'no success yet');
    const failedPoints = exporterValue(last, EXPORTER, 'nodemeter_exporter_points_failed_total') ?? 0;
    assert.ok(failedPoints > 0, 'the points of the failed rounds are counted');

    // A gateway slow for an hour must not write a warning every interval.
    const warnings = agent!.logs.filter((l) => l.msg === 'push to the Pushgateway failed');
    assert.ok(warnings.length >= 1, `the failure is logged\n${agent!.describe()}`);
    assert.equal(warnings[0]!.reason, 'timeout');
    assert.equal(warnings.length, 1, `logged once, not every round: ${warnings.map((l) => String(l.error)).join(' | ')}`);
  });

  test('a gateway answering every push with 503: retried within the interval, counted as http_503, logged once with its answer', async (t) => {
    gateway!.script = (r) => (r.method === 'PUT' ? { status: 503, body: 'overloaded: try again later' } : { status: 202 });
    gateway!.peakInFlight = gateway!.inFlight;
    // The round under way may still meet the slow script; wait for the first 503 before measuring.
    const first = gateway!.requests.length;
    await gateway!.waitForRequest('a push answered 503', (r) => r.status === 503 && r.outcome === 'answered', { from: first });
    const from = gateway!.requests.length;
    const probe = new PullProbe(agent!, { pauseMs: 50 });
    await sleep(3 * INTERVAL_MS);
    const pulls = await probe.stop();
    t.diagnostic(`while answering 503: ${probe.describe()}`);

    const sent = puts(gateway!.requests.slice(from));
    assert.ok(sent.length >= 5, `retries within each round: ${sent.length} PUTs in 3 rounds`);
    assert.ok(sent.every((r) => r.status === 503));
    assert.equal(gateway!.peakInFlight, 1, 'one push at a time');
    // Retries back off: never two attempts closer than the first backoff's lower bound (125 ms).
    const gaps = sent.slice(1).map((r, i) => r.arrivedAt - sent[i]!.endedAt!);
    assert.ok(Math.min(...gaps) >= 100, `attempts back off (gaps ${gaps.map((g) => g.toFixed(0)).join(', ')} ms)`);

    assert.deepEqual(probe.failures, []);
    assert.ok(probe.maxMs < PULL_LIMIT_MS, `slowest pull ${probe.maxMs.toFixed(0)} ms`);
    const last = pulls.at(-1)!.samples;
    assert.deepEqual(Object.keys(lastErrors(last, EXPORTER)), ['http_503']);
    assert.equal(exporterValue(last, EXPORTER, 'nodemeter_exporter_pushes_total', { outcome: 'rejected' }), undefined, 'a 5xx is a failure to retry, not a rejection');
    const before = pulls[0]!.samples;
    assert.ok((exporterValue(last, EXPORTER, 'nodemeter_exporter_pushes_total', { outcome: 'failed' }) ?? 0) >= (exporterValue(before, EXPORTER, 'nodemeter_exporter_pushes_total', { outcome: 'failed' }) ?? 0) + 2);
    assert.ok((exporterValue(last, EXPORTER, 'nodemeter_exporter_points_failed_total') ?? 0) > (exporterValue(before, EXPORTER, 'nodemeter_exporter_points_failed_total') ?? 0));

    const warnings = agent!.logs.filter((l) => l.msg === 'push to the Pushgateway failed' && l.status === 503);
    assert.equal(warnings.length, 1, `the 503 is logged once: ${agent!.describe()}`);
    assert.match(String(warnings[0]!.error), /HTTP 503: overloaded: try again later/);
    assert.equal(warnings[0]!.level, 40, 'at warn');
  });

  test('the gateway back, as the real Pushgateway on the same port: pushes resume, the group holds the series, the recovery is logged once', async () => {
    const port = gateway!.port;
    await gateway!.close();
    real = await Pushgateway.start({ port });
    const group = await waitFor(
      "the agent's group on the real Pushgateway",
      async () => {
        const res = await real!.get('/api/v1/metrics');
        const groups = (JSON.parse(res.body) as { data: Array<Record<string, unknown> & { labels: Record<string, string> }> }).data;
        return groups.find((g) => g.labels.job === 'nodemeter' && g.labels.instance === NODE);
      },
      { timeoutMs: 10_000, intervalMs: 200 },
    );
    assert.ok('node_filesystem_size_bytes' in group, `the pipeline's series are in the group: ${Object.keys(group).join(', ')}`);
    assert.ok('nodemeter_exporter_pushes_total' in group, 'and the self-telemetry');
    const res = await agent!.scrape();
    const samples = parseExposition(res.body);
    assert.ok(Math.abs((exporterValue(samples, EXPORTER, 'nodemeter_exporter_last_success_timestamp_seconds') ?? 0) - Date.now() / 1000) < 10, 'last success is now');
    assert.ok((exporterValue(samples, EXPORTER, 'nodemeter_exporter_pushes_total', { outcome: 'success' }) ?? 0) >= 1);
    await agent!.waitForLog('recovery', (l) => l.msg === 'pushes to the Pushgateway succeed again');
    await sleep(2 * INTERVAL_MS);
    assert.equal(agent!.logs.filter((l) => l.msg === 'pushes to the Pushgateway succeed again').length, 1, 'recovery logged once');
    assert.deepEqual(agent!.logs.filter((l) => (l.level ?? 0) >= 50), [], 'nothing at error');
    const stopped = await agent!.stop();
    assert.equal(stopped.code, 0, agent!.describe());
  });
});
