// Faults of the OTLP/HTTP receiver, seen through the real agent (filesystem → prometheus +
// otlphttp): a receiver that answers only after the export timeout, then one that answers every
// export with 503, then its recovery. otlphttp-exporter.test.ts covers a single 503 (retried,
// lands once), a 400 and a receiver that is down, in process; these add the slow receiver and a
// lasting 5xx, with the agent's self-telemetry read through its /metrics. A loopback stand-in
// (test/support/scripted-server.ts) plays the receiver and records every request.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { filesystemConfig, startAgent, type Agent } from '../support/agent.ts';
import { makeTempDir, sleep } from '../support/proc.ts';
import { exporterValue, lastErrors } from '../support/exporter-series.ts';
import { PullProbe } from '../support/pull-probe.ts';
import { ScriptedServer, type ScriptedRequest } from '../support/scripted-server.ts';

const INTERVAL_MS = 1_000;
const TIMEOUT_MS = 500;
/** How much later than its timeout the agent may give up on a request (timers on 2 shared cores). */
const TIMER_SLACK_MS = 400;
const PULL_LIMIT_MS = 1_000;
const EXPORTER = 'otlphttp';
const PATH = '/v1/metrics';

function config(kubeletRoot: string, endpoint: string): string {
  return filesystemConfig(kubeletRoot, {
    statfsTimeout: null,
    exporters: { otlphttp: [`    endpoint: ${endpoint}${PATH}`, '    compression: none', `    interval: ${INTERVAL_MS}ms`, `    timeout: ${TIMEOUT_MS}ms`] },
  });
}



function exports(requests: readonly ScriptedRequest[]): ScriptedRequest[] {
  return requests.filter((r) => r.method === 'POST' && r.path === PATH);
}

describe('OTLP receiver faults: slow, answering 503, recovered', () => {
  let dir: Awaited<ReturnType<typeof makeTempDir>> | undefined;
  let receiver: ScriptedServer | undefined;
  let agent: Agent | undefined;

  before(async () => {
    dir = await makeTempDir('nodemeter-faults-otlp-');
    receiver = await ScriptedServer.start({ script: () => ({ holdMs: 3_000, status: 200, body: '{}', contentType: 'application/json' }) });
    agent = await startAgent({ config: config(join(dir.path, 'kubelet'), receiver.url), extraArgs: ['--node-name', 'node-faults-otlp'] });
  });

  after(async () => {
    await agent?.kill();
    await receiver?.close();
    await dir?.remove();
  });

  test('a receiver slower than the export timeout: each export is cut at the timeout, rounds fail as "timeout", never overlap, and pulls stay fast', async (t) => {
    const probe = new PullProbe(agent!, { pauseMs: 50 });
    await sleep(4 * INTERVAL_MS);
    const pulls = await probe.stop();
    t.diagnostic(`while slow: ${probe.describe()}`);

    const sent = exports(receiver!.requests);
    assert.ok(sent.length >= 3, `exports kept coming (${sent.length})`);
    for (const r of sent.filter((x) => x.endedAt !== undefined)) {
      assert.equal(r.outcome, 'client_closed', 'the agent gave up before the receiver answered');
      const heldMs = r.endedAt! - r.arrivedAt;
      assert.ok(heldMs <= TIMEOUT_MS + TIMER_SLACK_MS, `an export held ${heldMs.toFixed(0)} ms, past its ${TIMEOUT_MS} ms timeout`);
    }
    assert.equal(receiver!.peakInFlight, 1, 'one export at a time');

    assert.deepEqual(probe.failures, [], 'every pull answered 200');
    assert.ok(probe.maxMs < PULL_LIMIT_MS, `slowest pull ${probe.maxMs.toFixed(0)} ms`);
    for (const p of pulls) assert.ok((exporterValue(p.samples, EXPORTER, 'nodemeter_exporter_in_flight') ?? 0) <= 1, 'in flight ≤ 1 in every pull');

    const last = pulls.at(-1)!.samples;
    assert.deepEqual(Object.keys(lastErrors(last, EXPORTER)), ['timeout'], 'the last error is a timeout');
    assert.ok((exporterValue(last, EXPORTER, 'nodemeter_exporter_pushes_total', { outcome: 'failed' }) ?? 0) >= 2, 'failed rounds are counted');
    assert.equal(exporterValue(last, EXPORTER, 'nodemeter_exporter_pushes_total', { outcome: 'success' }), undefined, 'no round succeeded');
    assert.ok((exporterValue(last, EXPORTER, 'nodemeter_exporter_points_failed_total') ?? 0) > 0, 'the points of the failed rounds are counted');
    const warnings = agent!.logs.filter((l) => l.msg === 'OTLP export failed');
    assert.equal(warnings.length, 1, `logged once, not every round: ${warnings.map((l) => String(l.error)).join(' | ')}\n${agent!.describe()}`);
  });

  test('a receiver answering every export with 503: rounds fail as http_503 (not rejected), logged once, pulls stay fast', async (t) => {
    receiver!.script = () => ({ status: 503, body: '{"code":14,"message":"busy"}', contentType: 'application/json' });
    const first = receiver!.requests.length;
    await receiver!.waitForRequest('an export answered 503', (r) => r.status === 503 && r.outcome === 'answered', { from: first });
    receiver!.peakInFlight = receiver!.inFlight;
    const probe = new PullProbe(agent!, { pauseMs: 50 });
    await sleep(3 * INTERVAL_MS);
    const pulls = await probe.stop();
    t.diagnostic(`while answering 503: ${probe.describe()}`);

    assert.ok(exports(receiver!.requests.slice(first)).length >= 3, 'exports kept coming at the interval');
    assert.equal(receiver!.peakInFlight, 1, 'one export at a time');
    assert.deepEqual(probe.failures, []);
    assert.ok(probe.maxMs < PULL_LIMIT_MS, `slowest pull ${probe.maxMs.toFixed(0)} ms`);
    const before = pulls[0]!.samples;
    const last = pulls.at(-1)!.samples;
    assert.deepEqual(Object.keys(lastErrors(last, EXPORTER)), ['http_503']);
    assert.equal(exporterValue(last, EXPORTER, 'nodemeter_exporter_pushes_total', { outcome: 'rejected' }), undefined, 'a 503 is not a rejection');
    assert.ok((exporterValue(last, EXPORTER, 'nodemeter_exporter_pushes_total', { outcome: 'failed' }) ?? 0) >= (exporterValue(before, EXPORTER, 'nodemeter_exporter_pushes_total', { outcome: 'failed' }) ?? 0) + 2);
    const warnings = agent!.logs.filter((l) => l.msg === 'OTLP export failed' && l.status === 503);
    assert.equal(warnings.length, 1, `the 503 is logged once\n${agent!.describe()}`);
  });

  test('the receiver answering again: exports land, the recovery is logged once, last success is now', async () => {
    receiver!.script = () => ({ status: 200, body: '{}', contentType: 'application/json' });
    const from = receiver!.requests.length;
    const landed = await receiver!.waitForRequest('an export answered 200', (r) => r.status === 200 && r.outcome === 'answered', { from, timeoutMs: 5_000 });
    assert.match(landed.body.toString('utf8'), /"node_filesystem_size_bytes"/, "the export carries the pipeline's series");
    await agent!.waitForLog('recovery', (l) => l.msg === 'OTLP exports succeed again');
    await sleep(2 * INTERVAL_MS);
    assert.equal(agent!.logs.filter((l) => l.msg === 'OTLP exports succeed again').length, 1, 'recovery logged once');
    const probe = new PullProbe(agent!);
    await sleep(200);
    const samples = (await probe.stop()).at(-1)!.samples;
    assert.ok(Math.abs((exporterValue(samples, EXPORTER, 'nodemeter_exporter_last_success_timestamp_seconds') ?? 0) - Date.now() / 1000) < 10, 'last success is now');
    assert.deepEqual(agent!.logs.filter((l) => (l.level ?? 0) >= 50), [], 'nothing at error');
    const stopped = await agent!.stop();
    assert.equal(stopped.code, 0, agent!.describe());
  });
});
