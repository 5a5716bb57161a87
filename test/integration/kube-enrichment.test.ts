// Kubernetes names on volume series, end to end: a kubelet-like mount tree in a private mount
// namespace, the test Kubernetes API server holding the matching node, pod, PVs and PVCs, and
// the real agent (filesystem receiver → k8sattributes → prometheus) reaching that server with
// --kube-api-url. Each test builds its own namespace, API server and agent (setUpScenario) and
// tears them down in its own after hook.
import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import { join } from 'node:path';
import { filesystemConfig, startAgent, VOLUME_FAMILIES, type Agent } from '../support/agent.ts';
import { findSamples, formatSample, parseExposition, sampleValue, type Sample } from '../support/exposition.ts';
import { dynamicPvName, namespace, node, persistentVolume, persistentVolumeClaim, pod, storageClass } from '../support/kube-api/fixtures.ts';
import type { KubeObject } from '../support/kube-api/resources.ts';
import { KubeApiServer } from '../support/kube-api/server.ts';
import { KubeletTree, MountNamespace, type Volume } from '../support/mountns.ts';
import { requirePrereqs } from '../support/prereqs.ts';
import { waitFor } from '../support/proc.ts';
import { promtoolCheckMetrics } from '../support/promtool.ts';

const NODE = 'node-a';
const POD_0 = { name: 'web-0', uid: '3c1f7a52-0000-4a10-9b7e-0123456789a0' };
const POD_1 = { name: 'web-1', uid: '3c1f7a52-1111-4a10-9b7e-0123456789a1' };
const PV_0 = dynamicPvName('shop', 'data-web-0');
const PV_1 = dynamicPvName('shop', 'data-web-1');
const CLAIM_0 = { namespace: 'shop', name: 'data-web-0', storageClass: 'standard-rwo' };
const CSI_DRIVER = 'pd.csi.storage.gke.io';
const KIND_PATHS = ['/api/v1/pods', '/api/v1/persistentvolumes', '/api/v1/persistentvolumeclaims'];
const KINDS = ['pods', 'persistentvolumes', 'persistentvolumeclaims'];

type Labels = Record<string, string>;

interface Scenario {
  ns: MountNamespace;
  tree: KubeletTree;
  api: KubeApiServer;
  agent: Agent;
  /** web-0's CSI volume, bound to shop/data-web-0 through PV_0. */
  csi: Volume;
  /** web-0's emptyDir (tmpfs). */
  emptyDir: Volume;
  /** With `secondVolume`: web-1's CSI volume (PV_1); its PVC exists, its pod and PV do not yet. */
  second?: Volume;
}

interface ScenarioOptions {
  /** Mounts web-0's CSI volume; default a tmpfs at `pods/<uid>/volumes/kubernetes.io~csi/<pv>/mount`. */
  mountCsi?: (tree: KubeletTree, ns: MountNamespace) => Promise<Volume>;
  volumePodLabels?: boolean;
  secondVolume?: boolean;
  /** Stop the API server (objects loaded) before the agent starts. */
  apiDown?: boolean;
}

/** A CSI pod volume as the kubelet lays it out, backed by a tmpfs. */
async function csiTmpfs(ns: MountNamespace, tree: KubeletTree, podUid: string, pv: string): Promise<Volume> {
  const mountpoint = join(tree.volumeDir(podUid, 'csi', pv), 'mount');
  await ns.mountTmpfs(mountpoint, { size: '8m' });
  return tree.add({ mountpoint, podUid, plugin: 'csi', name: pv, persistentVolume: pv, fstype: 'tmpfs' });
}

function clusterObjects(secondVolume: boolean): KubeObject[] {
  const objects = [
    node(NODE),
    node('node-b', { internalIP: '10.132.0.11' }),
    namespace('shop', { team: 'payments' }),
    storageClass('standard-rwo', CSI_DRIVER, { default: true, bindingMode: 'WaitForFirstConsumer' }),
    pod(POD_0.name, { namespace: 'shop', node: NODE, uid: POD_0.uid, pvcs: { data: 'data-web-0' }, emptyDirs: ['cache'], owner: { kind: 'StatefulSet', name: 'web' } }),
    // A pod of the same namespace on another node: not this agent's.
    pod('web-9', { namespace: 'shop', node: 'node-b', podIP: '10.4.2.9', owner: { kind: 'StatefulSet', name: 'web' } }),
    persistentVolume(PV_0, { type: 'csi', driver: CSI_DRIVER, volumeHandle: `projects/demo/zones/europe-west1-b/disks/${PV_0}` }, {
      storageClassName: 'standard-rwo',
      claim: { namespace: 'shop', name: 'data-web-0' },
    }),
    persistentVolumeClaim('shop', 'data-web-0', { storageClassName: 'standard-rwo', volumeName: PV_0, labels: { app: 'web', tier: 'gold' }, provisioner: CSI_DRIVER }),
  ];
  if (secondVolume) {
    objects.push(persistentVolumeClaim('shop', 'data-web-1', { storageClassName: 'standard-rwo', volumeName: PV_1, labels: { app: 'web' }, provisioner: CSI_DRIVER }));
  }
  return objects;
}

function agentConfig(kubeletRoot: string, options: ScenarioOptions): string {
  return filesystemConfig(kubeletRoot, {
    processors: {
      k8sattributes: [
        `    volume_pod_labels: ${options.volumePodLabels === true}`,
        '    extract:',
        '      labels:',
        '        - {from: pvc, key: tier}',
      ],
    },
  });
}

async function setUpScenario(t: TestContext, options: ScenarioOptions = {}): Promise<Scenario> {
  const held: Partial<Scenario> = {};
  t.after(async () => {
    await held.agent?.kill();
    await held.api?.stop();
    await held.ns?.close();
  });
  const ns = (held.ns = await MountNamespace.create());
  const tree = new KubeletTree(ns);
  const csi = options.mountCsi ? await options.mountCsi(tree, ns) : await csiTmpfs(ns, tree, POD_0.uid, PV_0);
  const emptyDir = await tree.emptyDir(POD_0.uid, 'cache', { size: '8m' });
  const second = options.secondVolume ? await csiTmpfs(ns, tree, POD_1.uid, PV_1) : undefined;
  const api = (held.api = await KubeApiServer.start());
  for (const obj of clusterObjects(options.secondVolume === true)) api.add(obj);
  if (options.apiDown) await api.stop();
  const agent = (held.agent = await startAgent({
    config: agentConfig(tree.kubeletRoot, options),
    prefix: ns.prefix,
    extraArgs: ['--kube-api-url', api.url, '--node-name', NODE],
  }));
  return { ns, tree, api, agent, csi, emptyDir, ...(second ? { second } : {}) };
}

/** The labels the filesystem receiver gives a CSI volume from its path alone. */
function pathLabels(v: Volume): Labels {
  return { node: NODE, mountpoint: v.mountpoint, volume: v.name, pod_uid: v.podUid, volume_plugin: v.plugin, persistentvolume: v.persistentVolume! };
}

/** Path labels plus what k8sattributes adds for a bound claim (volume_pod_labels off). */
function boundLabels(v: Volume, claim: { namespace: string; name: string; storageClass: string }, extra: Labels = {}): Labels {
  return { ...pathLabels(v), namespace: claim.namespace, persistentvolumeclaim: claim.name, storageclass: claim.storageClass, volume_source: 'csi', ...extra };
}

async function scrape(agent: Agent): Promise<{ text: string; samples: Sample[] }> {
  const text = (await agent.scrape()).body;
  return { text, samples: parseExposition(text) };
}

/** The one series of `family` for the volume's mount point. */
function volumeSeries(samples: readonly Sample[], v: Volume, family = VOLUME_FAMILIES[0]!): Sample {
  const found = findSamples(samples, family, { mountpoint: v.mountpoint });
  assert.equal(found.length, 1, `one ${family} for ${v.mountpoint}, got:\n${found.map(formatSample).join('\n')}`);
  return found[0]!;
}

/**
 * Scrapes until the volume's series carry `expected` (exactly, on all six families; or with
 * `partial`, at least those pairs on the capacity family). Returns that scrape's samples.
 */
async function waitForVolumeLabels(agent: Agent, v: Volume, expected: Labels, what: string, timeoutMs: number, { partial = false } = {}): Promise<Sample[]> {
  let last = '(no scrape)';
  try {
    return await waitFor(
      what,
      async () => {
        const { samples } = await scrape(agent);
        const series = VOLUME_FAMILIES.map((f) => findSamples(samples, f, { mountpoint: v.mountpoint }));
        last = series.flat().map(formatSample).join('\n') || '(no series)';
        if (partial) {
          const labels = series[0]!.length === 1 ? series[0]![0]!.labels : undefined;
          return labels && Object.entries(expected).every(([k, val]) => labels[k] === val) ? samples : undefined;
        }
        const ok = series.every((s) => s.length === 1 && isDeepEqual(s[0]!.labels, expected));
        return ok ? samples : undefined;
      },
      { timeoutMs, intervalMs: 100 },
    );
  } catch (err) {
    throw new Error(`${(err as Error).message}\nwanted ${JSON.stringify(expected)}${partial ? ' (at least)' : ''}\nlast seen:\n${last}\n${agent.describe()}`, { cause: err });
  }
}

function isDeepEqual(a: Labels, b: Labels): boolean {
  try {
    assert.deepEqual(a, b);
    return true;
  } catch {
    return false;
  }
}

/** Every series (name + label set) appears once in the exposition. */
function assertNoDuplicateSeries(samples: readonly Sample[]): void {
  const seen = new Set<string>();
  const dups: string[] = [];
  for (const s of samples) {
    const key = `${s.name}${JSON.stringify(Object.entries(s.labels).sort(([a], [b]) => (a < b ? -1 : 1)))}`;
    if (seen.has(key)) dups.push(formatSample(s));
    seen.add(key);
  }
  assert.deepEqual(dups, [], 'duplicate series in the exposition');
}

/** Still running; nothing logged at error or fatal; no unhandled rejection or uncaught error on stderr. */
function assertHealthy(agent: Agent): void {
  assert.equal(agent.exited, false, `agent exited\n${agent.describe()}`);
  const bad = agent.logs.filter((l) => (l.level ?? 0) >= 50);
  assert.deepEqual(bad, [], 'error/fatal log lines');
  assert.doesNotMatch(agent.stderr, /unhandledRejection|Unhandled|uncaught|fatal/i, 'agent stderr');
}

function requestCount(api: KubeApiServer, path: string, watch: boolean): number {
  return api.requests.filter((r) => r.path === path && r.watch === watch).length;
}

test('end to end: CSI volume series carry namespace, claim, PV, storage class and node; emptyDir dropped', async (t) => {
  requirePrereqs('root', 'mountns', 'loop', 'ext4', 'df', 'promtool');
  const s = await setUpScenario(t, {
    mountCsi: async (tree, ns) => {
      const v = await tree.csiVolume(POD_0.uid, PV_0, { fstype: 'ext4', sizeMiB: 32, driver: 'pd.csi.storage.gke.io' });
      await ns.writeZeros(join(v.mountpoint, 'data'), 3 * 1024 * 1024);
      return v;
    },
  });
  const expected = boundLabels(s.csi, CLAIM_0, { pvc_label_tier: 'gold' });
  const samples = await waitForVolumeLabels(s.agent, s.csi, expected, 'the bound claim names', 10_000);

  // Every family: exactly the same label set, and the value df reports for the mount.
  const bytes = await s.ns.dfBytes(s.csi.mountpoint);
  const inodes = await s.ns.dfInodes(s.csi.mountpoint);
  const want: Record<string, number> = {
    kubelet_volume_stats_capacity_bytes: bytes.size,
    kubelet_volume_stats_available_bytes: bytes.avail,
    kubelet_volume_stats_used_bytes: bytes.used,
    kubelet_volume_stats_inodes: inodes.itotal,
    kubelet_volume_stats_inodes_free: inodes.ifree,
    kubelet_volume_stats_inodes_used: inodes.iused,
  };
  for (const family of VOLUME_FAMILIES) {
    const series = findSamples(samples, family);
    assert.equal(series.length, 1, `${family}: one series (the CSI volume), got ${JSON.stringify(series)}`);
    assert.deepEqual(series[0]!.labels, expected, `${family} labels`);
    assert.equal(series[0]!.value, want[family], `${family} value = df`);
  }
  assert.ok(bytes.used >= 3 * 1024 * 1024, `df sees the data written: used=${bytes.used}`);

  // The emptyDir is mounted and would be reported by the receiver, but is not PVC-backed.
  for (const family of VOLUME_FAMILIES) {
    assert.deepEqual(findSamples(samples, family, { mountpoint: s.emptyDir.mountpoint }), [], `${family}: emptyDir dropped`);
  }
  assert.ok(sampleValue(samples, 'nodemeter_k8sattributes_points_total', { outcome: 'dropped' }) >= 1, 'dropped points counted');
  for (const kind of ['pods', 'persistentvolumes', 'persistentvolumeclaims']) {
    assert.equal(sampleValue(samples, 'nodemeter_kube_cache_synced', { kind }), 1, `${kind} synced`);
  }
  assertNoDuplicateSeries(samples);

  const lint = await promtoolCheckMetrics((await scrape(s.agent)).text);
  assert.equal(lint.output, '', `promtool findings:\n${lint.output}`);
  assert.equal(lint.code, 0);

  // Read-only: GET requests only, and pods asked for this node's only.
  assert.ok(s.api.requests.length > 0);
  const writes = s.api.requests.filter((r) => r.method !== 'GET');
  assert.deepEqual(writes, [], 'the agent made only GET requests');
  const podRequests = s.api.requests.filter((r) => r.path === '/api/v1/pods');
  assert.ok(podRequests.length >= 2, 'a pod list and a pod watch');
  for (const r of podRequests) assert.equal(r.query.fieldSelector, `spec.nodeName=${NODE}`);
  assertHealthy(s.agent);
});

test('churn: relabelled PVC, deleted pod, deleted and recreated PV', async (t) => {
  requirePrereqs('root', 'mountns', 'df');
  // web-1 is the sentinel: its volume is mounted from the start, but its pod and PV objects are
  // added only after a delete of the same kind. Each kind has one ordered watch stream, so once
  // the sentinel shows up the delete before it has been applied by the cache.
  const s = await setUpScenario(t, {
    volumePodLabels: true,
    secondVolume: true,
  });
  const web1 = s.second!;
  const start0: Labels = { ...boundLabels(s.csi, CLAIM_0, { pvc_label_tier: 'gold' }), pod: 'web-0', statefulset: 'web' };
  await waitForVolumeLabels(s.agent, s.csi, start0, 'web-0 names', 10_000);

  // 1. PVC relabelled: the next scrapes carry the new value, then none once the label is removed.
  let t0 = Date.now();
  s.api.patchLabels('persistentvolumeclaims', 'shop', 'data-web-0', { tier: 'silver' });
  await waitForVolumeLabels(s.agent, s.csi, { ...start0, pvc_label_tier: 'silver' }, 'tier=silver', 5_000);
  const relabelMs = Date.now() - t0;
  assert.ok(relabelMs < 3_000, `relabel seen after ${relabelMs} ms`);
  s.api.patchLabels('persistentvolumeclaims', 'shop', 'data-web-0', { tier: null });
  const { pvc_label_tier: _tier, ...untiered } = start0;
  await waitForVolumeLabels(s.agent, s.csi, untiered, 'tier label removed', 5_000);

  // 2. Pod deleted: within the grace period (2 min by default; the CLI has no flag for it) the
  // deleted pod still resolves by UID, so the volume keeps pod, pod_uid and namespace.
  s.api.delete('pods', 'shop', 'web-0');
  s.api.add(pod('web-1', { namespace: 'shop', node: NODE, uid: POD_1.uid, pvcs: { data: 'data-web-1' }, owner: { kind: 'StatefulSet', name: 'web' } }));
  await waitForVolumeLabels(s.agent, web1, { pod: 'web-1', pod_uid: POD_1.uid, namespace: 'shop' }, 'sentinel pod web-1', 5_000, { partial: true });
  let samples = (await scrape(s.agent)).samples;
  assert.deepEqual(volumeSeries(samples, s.csi).labels, untiered, 'web-0 volume names kept during the grace period');
  assert.equal(sampleValue(samples, 'nodemeter_kube_cache_objects', { kind: 'pods' }), 2, 'the deleted pod is held (grace)');

  // 3. PV deleted: it too stays resolvable for the grace period, claim and class included.
  s.api.delete('persistentvolumes', '', PV_0);
  s.api.add(persistentVolume(PV_1, { type: 'csi', driver: 'pd.csi.storage.gke.io', volumeHandle: `projects/demo/zones/europe-west1-b/disks/${PV_1}` }, {
    storageClassName: 'standard-rwo',
    claim: { namespace: 'shop', name: 'data-web-1' },
  }));
  await waitForVolumeLabels(s.agent, web1, { persistentvolume: PV_1, persistentvolumeclaim: 'data-web-1', volume_source: 'csi' }, 'sentinel PV', 5_000, { partial: true });
  samples = (await scrape(s.agent)).samples;
  assert.deepEqual(volumeSeries(samples, s.csi).labels, untiered, 'web-0 volume names kept after its PV was deleted (grace)');
  assert.equal(sampleValue(samples, 'nodemeter_kube_cache_objects', { kind: 'persistentvolumes' }), 2, 'the deleted PV is held (grace)');

  // 4. A PV of the same name comes back (new UID, released: no claimRef): it takes the name
  // over at once, so the claim goes from the series; namespace now comes from the (deleted) pod.
  t0 = Date.now();
  s.api.add(persistentVolume(PV_0, { type: 'csi', driver: 'pd.csi.storage.gke.io', volumeHandle: 'recreated' }, { storageClassName: 'premium-rwo', uid: '11111111-2222-4333-a444-555555555555' }));
  const { persistentvolumeclaim: _claim, storageclass: _class, ...unclaimed } = untiered;
  const recreated: Labels = { ...unclaimed, storageclass: 'premium-rwo' };
  samples = await waitForVolumeLabels(s.agent, s.csi, recreated, 'recreated PV without claim', 5_000);
  assert.ok(Date.now() - t0 < 3_000);
  for (const family of VOLUME_FAMILIES) assert.deepEqual(volumeSeries(samples, s.csi, family).labels, recreated, family);
  assertNoDuplicateSeries(samples);
  assertHealthy(s.agent);
  // The sentinel's claim, still bound, is unaffected.
  assert.equal(volumeSeries(samples, web1).labels.persistentvolumeclaim, 'data-web-1');
});

test('faults: API server down at start → path labels and ready; names once it is back', async (t) => {
  requirePrereqs('root', 'mountns');
  const s = await setUpScenario(t, { apiDown: true });
  // startAgent waited for /readyz = 200: readiness does not wait for the API server.
  const { samples } = await scrape(s.agent);
  for (const family of VOLUME_FAMILIES) {
    assert.deepEqual(volumeSeries(samples, s.csi, family).labels, pathLabels(s.csi), `${family}: the path's labels, no namespace`);
    assert.deepEqual(findSamples(samples, family, { mountpoint: s.emptyDir.mountpoint }), [], `${family}: emptyDir dropped`);
  }
  for (const kind of KINDS) assert.equal(sampleValue(samples, 'nodemeter_kube_cache_synced', { kind }), 0, `${kind} not synced`);
  await s.agent.waitForLog('list failure at warn', (l) => l.msg === 'list failed; retrying with backoff' && l.level === 40);

  await s.api.restart();
  const named = await waitForVolumeLabels(s.agent, s.csi, boundLabels(s.csi, CLAIM_0, { pvc_label_tier: 'gold' }), 'names after the API server came back', 20_000);
  assertNoDuplicateSeries(named);
  assertHealthy(s.agent);
  const stopped = await s.agent.stop();
  assert.equal(stopped.code, 0, `clean exit\n${s.agent.describe()}`);
});

test('faults: dropped watches resume from their resourceVersion, no relist', async (t) => {
  requirePrereqs('root', 'mountns');
  const s = await setUpScenario(t);
  const gold = boundLabels(s.csi, CLAIM_0, { pvc_label_tier: 'gold' });
  await waitForVolumeLabels(s.agent, s.csi, gold, 'names', 10_000);
  const lists = KIND_PATHS.map((p) => requestCount(s.api, p, false));
  const watches = KIND_PATHS.map((p) => requestCount(s.api, p, true));
  const seen = s.api.requests.length;

  s.api.dropWatches();
  await waitFor('a new watch for each kind', () => (KIND_PATHS.every((p, i) => requestCount(s.api, p, true) > watches[i]!) ? true : undefined), { timeoutMs: 10_000, intervalMs: 50 });
  for (const r of s.api.requests.slice(seen).filter((x) => x.watch)) {
    assert.match(r.query.resourceVersion ?? '', /^[1-9]\d*$/, `watch ${r.path} resumes from a resourceVersion`);
  }
  s.api.patchLabels('persistentvolumeclaims', 'shop', 'data-web-0', { tier: 'silver' });
  const samples = await waitForVolumeLabels(s.agent, s.csi, { ...gold, pvc_label_tier: 'silver' }, 'relabel after the drop', 5_000);
  assert.deepEqual(KIND_PATHS.map((p) => requestCount(s.api, p, false)), lists, 'no relist after a dropped watch');
  for (const kind of KINDS) {
    assert.ok(sampleValue(samples, 'nodemeter_kube_watch_restarts_total', { kind, reason: 'closed' }) >= 1, `${kind} restart counted`);
  }
  assertNoDuplicateSeries(samples);
  assertHealthy(s.agent);
});

test('faults: expired resourceVersion (410 Gone) relists every kind', async (t) => {
  requirePrereqs('root', 'mountns');
  const s = await setUpScenario(t);
  const gold = boundLabels(s.csi, CLAIM_0, { pvc_label_tier: 'gold' });
  await waitForVolumeLabels(s.agent, s.csi, gold, 'names', 10_000);
  const lists = KIND_PATHS.map((p) => requestCount(s.api, p, false));

  s.api.expireVersions();
  s.api.dropWatches();
  await waitFor('a relist of each kind', () => (KIND_PATHS.every((p, i) => requestCount(s.api, p, false) > lists[i]!) ? true : undefined), { timeoutMs: 10_000, intervalMs: 50 });
  s.api.patchLabels('persistentvolumeclaims', 'shop', 'data-web-0', { tier: 'silver' });
  const samples = await waitForVolumeLabels(s.agent, s.csi, { ...gold, pvc_label_tier: 'silver' }, 'relabel after the relist', 5_000);
  for (const kind of KINDS) {
    assert.ok(sampleValue(samples, 'nodemeter_kube_watch_restarts_total', { kind, reason: 'gone' }) >= 1, `${kind} 410 counted`);
    assert.equal(sampleValue(samples, 'nodemeter_kube_cache_synced', { kind }), 1);
  }
  assert.equal(sampleValue(samples, 'nodemeter_kube_cache_objects', { kind: 'pods' }), 1, "only this node's pod, no copy from the relist");
  assertNoDuplicateSeries(samples);
  assertHealthy(s.agent);
});

test('faults: API server restart → last known names meanwhile, changes made while down arrive after', async (t) => {
  requirePrereqs('root', 'mountns');
  const s = await setUpScenario(t);
  const gold = boundLabels(s.csi, CLAIM_0, { pvc_label_tier: 'gold' });
  await waitForVolumeLabels(s.agent, s.csi, gold, 'names', 10_000);

  await s.api.stop();
  const down = await scrape(s.agent);
  for (const family of VOLUME_FAMILIES) assert.deepEqual(volumeSeries(down.samples, s.csi, family).labels, gold, `${family} while down`);
  s.api.patchLabels('persistentvolumeclaims', 'shop', 'data-web-0', { tier: 'bronze' });
  await s.api.restart();
  const samples = await waitForVolumeLabels(s.agent, s.csi, { ...gold, pvc_label_tier: 'bronze' }, 'the change made while down', 20_000);
  assertNoDuplicateSeries(samples);
  assertHealthy(s.agent);
  const stopped = await s.agent.stop();
  assert.equal(stopped.code, 0, `clean exit\n${s.agent.describe()}`);
});
