// A slow Kubernetes API server, seen through the real agent (filesystem → k8sattributes →
// prometheus, with --kube-api-url): the test API server holds every answer (stall()) while the
// agent starts, and later while its watches reconnect. Pulls must stay fast and the agent ready
// and healthy, it must not pile up requests while answers are held, and names must arrive as
// soon as the server answers. kube-enrichment.test.ts covers the API server down, dropped
// watches, 410 Gone and restarts.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { assertHealthy, filesystemConfig, startAgent, type Agent } from '../support/agent.ts';
import { findSamples, formatSample, parseExposition, type Sample } from '../support/exposition.ts';
import { dynamicPvName, namespace, node, persistentVolume, persistentVolumeClaim, pod, storageClass } from '../support/kube-api/fixtures.ts';
import { KubeApiServer } from '../support/kube-api/server.ts';
import { KubeletTree, MountNamespace, type Volume } from '../support/mountns.ts';
import { requirePrereqs } from '../support/prereqs.ts';
import { sleep, waitFor } from '../support/proc.ts';
import { PullProbe } from '../support/pull-probe.ts';

const NODE = 'node-slow-api';
const POD = { name: 'db-0', uid: '5d0a7c11-2222-4b20-8c3d-0123456789b0' };
const PV = dynamicPvName('shop', 'data-db-0');
const DRIVER = 'pd.csi.storage.gke.io';
/** Longer than the whole test: every answer waits until stall(0). */
const HOLD_MS = 120_000;
const PULL_LIMIT_MS = 1_000;

interface Scenario {
  ns: MountNamespace;
  api: KubeApiServer;
  agent: Agent;
  csi: Volume;
}

async function setUp(t: TestContext, options: { stalledAtStart: boolean }): Promise<Scenario> {
  const held: Partial<Scenario> = {};
  t.after(async () => {
    held.api?.stall(0);
    await held.agent?.kill();
    await held.api?.stop();
    await held.ns?.close();
  });
  const ns = (held.ns = await MountNamespace.create());
  const tree = new KubeletTree(ns);
  const mountpoint = join(tree.volumeDir(POD.uid, 'csi', PV), 'mount');
  await ns.mountTmpfs(mountpoint, { size: '8m' });
  const csi = tree.add({ mountpoint, podUid: POD.uid, plugin: 'csi', name: PV, persistentVolume: PV, fstype: 'tmpfs' });
  const api = (held.api = await KubeApiServer.start());
  for (const obj of [
    node(NODE),
    namespace('shop'),
    storageClass('standard-rwo', DRIVER, { default: true }),
    pod(POD.name, { namespace: 'shop', node: NODE, uid: POD.uid, pvcs: { data: 'data-db-0' } }),
    persistentVolume(PV, { type: 'csi', driver: DRIVER, volumeHandle: `disks/${PV}` }, { storageClassName: 'standard-rwo', claim: { namespace: 'shop', name: 'data-db-0' } }),
    persistentVolumeClaim('shop', 'data-db-0', { storageClassName: 'standard-rwo', volumeName: PV, labels: { tier: 'gold' }, provisioner: DRIVER }),
  ]) {
    api.add(obj);
  }
  if (options.stalledAtStart) api.stall(HOLD_MS);
  const agent = (held.agent = await startAgent({
    config: filesystemConfig(tree.kubeletRoot, { processors: { k8sattributes: ['    extract:', '      labels:', '        - {from: pvc, key: tier}'] } }),
    prefix: ns.prefix,
    extraArgs: ['--kube-api-url', api.url, '--node-name', NODE],
  }));
  return { ns, api, agent, csi };
}

/** The volume's capacity series' labels in one pull (exactly one series expected). */
function volumeLabels(samples: readonly Sample[], v: Volume): Record<string, string> {
  const found = findSamples(samples, 'kubelet_volume_stats_capacity_bytes', { mountpoint: v.mountpoint });
  assert.equal(found.length, 1, `one series for ${v.mountpoint}: ${found.map(formatSample).join('; ')}`);
  return found[0]!.labels;
}

async function waitForTier(agent: Agent, v: Volume, tier: string, timeoutMs: number): Promise<void> {
  await waitFor(
    `pvc_label_tier="${tier}" on ${v.mountpoint}`,
    async () => (volumeLabels(parseExposition((await agent.scrape()).body), v).pvc_label_tier === tier ? true : undefined),
    { timeoutMs, intervalMs: 100 },
  );
}

/** Requests per (kind path, list or watch) among `requests`. */
function perPath(api: KubeApiServer, from: number): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const r of api.requests.slice(from)) {
    const key = `${r.watch ? 'WATCH' : 'LIST'} ${r.path}`;
    counts[key] = (counts[key] ?? 0) + 1;
  }
  return counts;
}

test('faults: API server slow from the start → ready at once, fast pulls with path labels, one request per kind held, names once it answers', async (t) => {
  requirePrereqs('root', 'mountns');
  const s = await setUp(t, { stalledAtStart: true });
  // startAgent waited for /readyz = 200 while every answer was held.
  const probe = new PullProbe(s.agent, { pauseMs: 50 });
  await sleep(4_000);
  const pulls = await probe.stop();
  t.diagnostic(`while the API server held its answers: ${probe.describe()}`);
  assert.deepEqual(probe.failures, [], 'every pull answered 200');
  assert.ok(probe.maxMs < PULL_LIMIT_MS, `slowest pull ${probe.maxMs.toFixed(0)} ms`);
  const last = pulls.at(-1)!.samples;
  const labels = volumeLabels(last, s.csi);
  assert.equal(labels.persistentvolume, PV, 'the path gives the PV');
  assert.equal(labels.namespace, undefined, 'no names before the API server answers');
  assert.ok(findSamples(last, 'nodemeter_kube_cache_synced').every((x) => x.value === 0), 'nothing synced');

  // One LIST per kind, held: nothing retried on top of it, no watch started before its list.
  const counts = perPath(s.api, 0);
  t.diagnostic(`requests while held: ${JSON.stringify(counts)}`);
  assert.ok(Object.keys(counts).length >= 3, 'pods, PVs and PVCs at least are listed');
  for (const [key, n] of Object.entries(counts)) {
    assert.ok(key.startsWith('LIST '), `${key}: no watch before the list answered`);
    assert.equal(n, 1, `${key}: one request, not a pile`);
  }
  assert.equal((await s.agent.get('/readyz')).status, 200, 'ready');
  await assertHealthy(s.agent);

  s.api.stall(0);
  await waitForTier(s.agent, s.csi, 'gold', 10_000);
  const named = volumeLabels(parseExposition((await s.agent.scrape()).body), s.csi);
  assert.equal(named.namespace, 'shop');
  assert.equal(named.persistentvolumeclaim, 'data-db-0');
  await assertHealthy(s.agent);
  const stopped = await s.agent.stop();
  assert.equal(stopped.code, 0, s.agent.describe());
});

test('faults: API server turns slow after sync, watches reconnecting are held → last known names, fast pulls, one watch per kind; changes arrive once it answers', async (t) => {
  requirePrereqs('root', 'mountns');
  const s = await setUp(t, { stalledAtStart: false });
  await waitForTier(s.agent, s.csi, 'gold', 10_000);
  const from = s.api.requests.length;
  s.api.stall(HOLD_MS);
  s.api.dropWatches();
  // A change made while the agent's watches wait for an answer.
  s.api.patchLabels('persistentvolumeclaims', 'shop', 'data-db-0', { tier: 'silver' });
  const probe = new PullProbe(s.agent, { pauseMs: 50 });
  await sleep(4_000);
  const pulls = await probe.stop();
  t.diagnostic(`while the API server held its answers: ${probe.describe()}`);
  assert.deepEqual(probe.failures, []);
  assert.ok(probe.maxMs < PULL_LIMIT_MS, `slowest pull ${probe.maxMs.toFixed(0)} ms`);
  for (const p of pulls) assert.equal(volumeLabels(p.samples, s.csi).pvc_label_tier, 'gold', 'the last known names meanwhile');
  assert.ok(findSamples(pulls.at(-1)!.samples, 'nodemeter_kube_cache_synced').every((x) => x.value === 1), 'still synced');

  const counts = perPath(s.api, from);
  t.diagnostic(`requests while held: ${JSON.stringify(counts)}`);
  assert.ok(Object.keys(counts).length >= 3, 'each kind watches again');
  for (const [key, n] of Object.entries(counts)) {
    assert.ok(key.startsWith('WATCH '), `${key}: a dropped watch resumes, no relist`);
    assert.equal(n, 1, `${key}: one held watch, not a pile`);
  }
  assert.equal((await s.agent.get('/readyz')).status, 200, 'ready');
  await assertHealthy(s.agent);

  s.api.stall(0);
  await waitForTier(s.agent, s.csi, 'silver', 10_000);
  await assertHealthy(s.agent);
  const stopped = await s.agent.stop();
  assert.equal(stopped.code, 0, s.agent.describe());
});
