// A real Prometheus (Debian's 2.42) scrapes the running agent every second; its query
// API then returns the volume's kubelet_volume_stats_* with the values df reports.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { join } from 'node:path';
import { filesystemConfig, startAgent, type Agent } from '../support/agent.ts';
import { KubeletTree, MountNamespace, type Volume } from '../support/mountns.ts';
import { requirePrereqs } from '../support/prereqs.ts';
import { Prometheus } from '../support/prometheus.ts';

const POD = '1e2d3c4b-5555-4e9f-a0b1-eeeeeeeeeeee';

describe('a real Prometheus scraping the agent', () => {
  let ns: MountNamespace | undefined;
  let agent: Agent | undefined;
  let prom: Prometheus | undefined;
  let volume: Volume;

  before(async () => {
    requirePrereqs('root', 'mountns', 'df', 'prometheus');
    ns = await MountNamespace.create();
    const tree = new KubeletTree(ns);
    volume = await tree.emptyDir(POD, 'cache', { size: '64m' });
    await ns.writeZeros(join(volume.mountpoint, 'data'), 5 * 1024 * 1024);
    agent = await startAgent({ config: filesystemConfig(tree.kubeletRoot), prefix: ns.prefix });
    prom = await Prometheus.start({ targets: [{ address: `${agent.host}:${agent.port}`, job: 'nodemeter' }] });
  });

  after(async () => {
    await prom?.close();
    await agent?.kill();
    await ns?.close();
  });

  test('the target is up and scraped without errors', async () => {
    await prom!.waitForQuery('up{job="nodemeter"}', (r) => r.length === 1 && r[0]!.value === 1);
    const targets = await prom!.targets();
    assert.equal(targets.length, 1);
    assert.equal(targets[0]!.health, 'up', `target: ${JSON.stringify(targets[0])}\n${prom!.log}`);
    assert.equal(targets[0]!.lastError, '');
  });

  test('kubelet_volume_stats_capacity_bytes for the tmpfs volume equals df (64 MiB)', async () => {
    const df = await ns!.dfBytes(volume.mountpoint);
    assert.equal(df.size, 64 * 1024 * 1024);
    const result = await prom!.waitForQuery(
      `kubelet_volume_stats_capacity_bytes{job="nodemeter",pod_uid="${POD}",volume="cache"}`,
      (r) => r.length === 1,
    );
    assert.equal(result[0]!.value, df.size);
    assert.equal(result[0]!.metric.mountpoint, volume.mountpoint);
    assert.equal(result[0]!.metric.volume_plugin, 'empty-dir');
    assert.equal(result[0]!.metric.instance, `${agent!.host}:${agent!.port}`);
  });

  test('used and available bytes, and a used/capacity ratio, come through as df says', async () => {
    const df = await ns!.dfBytes(volume.mountpoint);
    const sel = `{job="nodemeter",pod_uid="${POD}",volume="cache"}`;
    const used = await prom!.waitForQuery(`kubelet_volume_stats_used_bytes${sel}`, (r) => r.length === 1);
    assert.equal(used[0]!.value, df.used);
    const avail = await prom!.waitForQuery(`kubelet_volume_stats_available_bytes${sel}`, (r) => r.length === 1);
    assert.equal(avail[0]!.value, df.avail);
    // Same label set on every family: the ratio joins one-to-one without ignoring().
    const ratio = await prom!.waitForQuery(
      `kubelet_volume_stats_used_bytes${sel} / kubelet_volume_stats_capacity_bytes${sel}`,
      (r) => r.length === 1,
    );
    assert.equal(ratio[0]!.value, df.used / df.size);
  });

  test("the endpoint's own telemetry: points sent, the pull in flight, the last success, no error", async () => {
    const sent = await prom!.waitForQuery('nodemeter_exporter_points_sent_total{job="nodemeter",exporter="prometheus"}', (r) => r.length === 1 && r[0]!.value > 0);
    assert.ok(sent[0]!.value > 0);
    // Every pull sees itself under way.
    const inFlight = await prom!.waitForQuery('nodemeter_exporter_in_flight{job="nodemeter",exporter="prometheus"}', (r) => r.length === 1);
    assert.equal(inFlight[0]!.value, 1);
    const last = await prom!.waitForQuery('time() - nodemeter_exporter_last_success_timestamp_seconds{job="nodemeter",exporter="prometheus"}', (r) => r.length === 1);
    assert.ok(last[0]!.value >= 0 && last[0]!.value < 30, `last success ${last[0]!.value} s ago`);
    assert.deepEqual(await prom!.query('nodemeter_exporter_last_error_timestamp_seconds{job="nodemeter"}'), []);
  });
});
