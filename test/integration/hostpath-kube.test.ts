// The hostpath receiver in a real agent process against the test Kubernetes API server: the
// PVs and PVCs name directories built for real under a temp dir that stands in for the host
// root (`root_path`), and the scraped /metrics must agree with GNU du on every volume of this
// node, carry the claim's names and request, leave other nodes' volumes out, flag unparsable
// quantities and missing directories, survive PVs deleted while they are being walked, and
// keep all of it through the k8sattributes processor. `nodemeter collect --once` too.
//
// One API server and two agents for the whole file (the receiver refreshes its volume list
// every second, so each deletion costs up to that): agent A is
// hostpath → prometheus with compat_metrics, agent B is hostpath → k8sattributes → prometheus.
import assert from 'node:assert/strict';
import { mkdirSync, statfsSync, writeFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { AGENT_BIN, assertHealthy, NODE24, REPO_ROOT, startAgent, VOLUME_FAMILIES, waitForSamples, type Agent } from '../support/agent.ts';
import { buildHardLinks, buildManyFiles, buildSizedFiles, buildSymlinks, du, makeTempTree, requireCommands, type TempTree } from '../support/du-tree.ts';
import { findSamples, formatSample, parseExposition, sampleValue, type Sample } from '../support/exposition.ts';
import { demoCluster, dynamicPvName, localPvName, namespace, persistentVolume, persistentVolumeClaim, type PvSource } from '../support/kube-api/fixtures.ts';
import type { KubeObject } from '../support/kube-api/resources.ts';
import { KubeApiServer } from '../support/kube-api/server.ts';
import { makeTempDir, run, sleep } from '../support/proc.ts';

/** The receiver's volume-list refresh period (DISCOVERY_INTERVAL_MS in hostpath-receiver.ts). */
const REFRESH_MS = 1000;

const NODE = 'node-a';
const OTHER_NODE = 'node-b';
const LOCAL_PATH_BASE = '/opt/local-path-provisioner';
/** Files in the volume whose walk is long enough to be deleted while it runs. */
const BIG_FILES = 100_000;

type Labels = Record<string, string>;
type Plugin = 'host-path' | 'local-volume';

/** One PV/PVC pair and its directory, with what the agent should report for it. */
interface Vol {
  readonly pv: string;
  readonly namespace: string;
  readonly claim: string;
  readonly storageClass: string | undefined;
  /** The PV's path: the directory on the host (the `path` label). */
  readonly path: string;
  readonly plugin: Plugin;
  /** Expected capacity; undefined: the size of the filesystem holding the directory. */
  readonly capacity: number | undefined;
  /** Fills the (already created) directory; undefined: the directory is not created at all. */
  readonly fill: ((dir: string) => void) | undefined;
  /** Objects to load into the API server (none for the demo cluster's own volumes). */
  readonly objects: KubeObject[];
}

interface VolOptions {
  namespace?: string;
  request?: string;
  /** The PV's spec.capacity.storage; default the request. */
  pvCapacity?: string;
  capacity?: number | undefined;
  fill?: ((dir: string) => void) | undefined;
}

/** A file of `bytes` bytes named `data`. */
function oneFile(bytes: number): (dir: string) => void {
  return (dir) => writeFileSync(join(dir, 'data'), Buffer.alloc(bytes, 0x61));
}

/** A rancher local-path-provisioner volume: hostPath PV `pvc-<uid>` pinned by node affinity and annotation. */
function localPathVol(claim: string, node: string, capacity: number | undefined, opts: VolOptions = {}): Vol {
  const ns = opts.namespace ?? 'data';
  const pv = dynamicPvName(ns, claim);
  const request = opts.request ?? '1Gi';
  return {
    pv,
    namespace: ns,
    claim,
    storageClass: 'local-path',
    path: `${LOCAL_PATH_BASE}/${pv}_${ns}_${claim}`,
    plugin: 'host-path',
    capacity,
    fill: 'fill' in opts ? opts.fill : oneFile(5_000),
    objects: [
      persistentVolume(pv, { type: 'localPath', node, claimNamespace: ns, claimName: claim }, {
        capacity: opts.pvCapacity ?? request,
        storageClassName: 'local-path',
        claim: { namespace: ns, name: claim },
      }),
      persistentVolumeClaim(ns, claim, { storageClassName: 'local-path', request, volumeName: pv, provisioner: 'rancher.io/local-path', selectedNode: node }),
    ],
  };
}

/** A local static provisioner volume: `local` PV pinned by node affinity on `hostLabel` (the node's kubernetes.io/hostname). */
function localVol(claim: string, path: string, node: string, request: string, capacity: number, fill: (dir: string) => void, hostLabel = node): Vol {
  const pv = localPvName(node, path);
  return {
    pv,
    namespace: 'data',
    claim,
    storageClass: 'local-storage',
    path,
    plugin: 'local-volume',
    capacity,
    fill,
    objects: [
      persistentVolume(pv, { type: 'local', path, node: hostLabel, provisionerNode: node }, { capacity: request, storageClassName: 'local-storage', claim: { namespace: 'data', name: claim }, reclaimPolicy: 'Retain' }),
      persistentVolumeClaim('data', claim, { storageClassName: 'local-storage', request, volumeName: pv, selectedNode: node }),
    ],
  };
}

/**
 * A hand-made hostPath PV without node affinity; only its claim's selected-node annotation places
 * it. `specPath` is the path as written in the PV (the label shows it without repeated or trailing slashes).
 */
function hostPathVol(claim: string, path: string, selectedNode: string, request: string, capacity: number, specPath = path): Vol {
  const pv = `hostpath-${claim}`;
  const source: PvSource = { type: 'hostPath', path: specPath };
  return {
    pv,
    namespace: 'data',
    claim,
    storageClass: 'manual',
    path,
    plugin: 'host-path',
    capacity,
    fill: oneFile(7_777),
    objects: [
      persistentVolume(pv, source, { capacity: request, storageClassName: 'manual', claim: { namespace: 'data', name: claim }, reclaimPolicy: 'Retain' }),
      persistentVolumeClaim('data', claim, { storageClassName: 'manual', request, volumeName: pv, selectedNode }),
    ],
  };
}

const GiB = 1024 ** 3;

/** Volumes of demoCluster() on node-a (its PVs and PVCs are loaded with the rest of the demo). */
const DEMO: Vol[] = [
  { pv: dynamicPvName('shop', 'uploads'), namespace: 'shop', claim: 'uploads', storageClass: 'local-path', path: `${LOCAL_PATH_BASE}/${dynamicPvName('shop', 'uploads')}_shop_uploads`, plugin: 'host-path', capacity: 5 * GiB, fill: oneFile(123_456), objects: [] },
  { pv: localPvName(NODE, '/mnt/disks/ssd0'), namespace: 'shop', claim: 'cache', storageClass: 'local-storage', path: '/mnt/disks/ssd0', plugin: 'local-volume', capacity: 100 * GiB, fill: (d) => buildSizedFiles(join(d, 'sized')), objects: [] },
  // No node affinity, no selected-node annotation: on this node because a pod of node-a mounts the claim.
  { pv: 'logs-hostpath', namespace: 'default', claim: 'logs', storageClass: undefined, path: '/mnt/logs', plugin: 'host-path', capacity: 2 * GiB, fill: oneFile(65_537), objects: [] },
];

/** Every quantity form of a PVC request and the bytes it means (Quantity.Value(): rounded up). */
const QUANTITIES: ReadonlyArray<readonly [string, string, number]> = [
  ['q-1gi', '1Gi', 1_073_741_824],
  ['q-1g', '1G', 1_000_000_000],
  ['q-500m', '500M', 500_000_000],
  ['q-1-5ti', '1.5Ti', 1_649_267_441_664],
  ['q-1e9', '1e9', 1_000_000_000],
  ['q-100', '100', 100],
  ['q-250milli', '250m', 1],
];

const RICH = localPathVol('rich', NODE, 2 * GiB, {
  request: '2Gi',
  fill: (dir) => {
    buildSizedFiles(join(dir, 'sized'));
    buildHardLinks(join(dir, 'links'));
    buildSymlinks(join(dir, 'symlinks'), '/etc');
  },
});
// The PV's capacity differs from each request, so a capacity equal to the request came from the PVC.
const QUANTITY_VOLS = QUANTITIES.map(([claim, request, bytes]) => localPathVol(claim, NODE, bytes, { request, pvCapacity: '10Gi' }));
/** A request the API server would refuse, stored anyway (the test server does not validate): the PV's capacity stands in. */
const BAD_REQUEST = localPathVol('bad-request', NODE, 3 * GiB, { request: '12XB', pvCapacity: '3Gi' });
/** No request, and a PV capacity that does not parse: the filesystem's size stands in. */
const BAD_BOTH = (() => {
  const v = localPathVol('bad-both', NODE, undefined, { pvCapacity: 'lots' });
  const spec = v.objects[1]!['spec'] as { resources: { requests: Record<string, string> } };
  delete spec.resources.requests.storage;
  return v;
})();
const BIG = localPathVol('big', NODE, GiB, { fill: (dir) => buildManyFiles(join(dir, 'many'), BIG_FILES) });
const SHORT_LIVED = localPathVol('short-lived', NODE, GiB);
const LOCAL = localVol('fast', '/mnt/disks/vol1', NODE, '50Gi', 50 * GiB, (d) => buildHardLinks(join(d, 'links')));
/** Node name and hostname label differ (EKS-style); the PV's affinity names the label value. */
const NODE_HOSTNAME_LABEL = 'ip-10-132-0-10';
const LOCAL_BY_LABEL = localVol('by-label', '/mnt/disks/vol2', NODE, '20Gi', 20 * GiB, oneFile(4_097), NODE_HOSTNAME_LABEL);
const HOST_PATH = hostPathVol('hp-a', '/srv/hostpath/hp-a', NODE, '3Gi', 3 * GiB, '/srv//hostpath/hp-a/');
/** Bound, on this node, but its directory was never created. */
const MISSING = localPathVol('missing', NODE, GiB, { fill: undefined });

/** Volumes of other nodes, or of no known node (their directories exist here too, so measuring them would show). */
const ELSEWHERE: Vol[] = [
  localPathVol('on-b', OTHER_NODE, GiB),
  localVol('fast-b', '/mnt/disks/vol-b', OTHER_NODE, '50Gi', 50 * GiB, oneFile(1_000)),
  hostPathVol('hp-b', '/srv/hostpath/hp-b', OTHER_NODE, '1Gi', GiB),
  // No affinity, no selected-node, no pod using it: it could be on any node, so it is not measured.
  hostPathVol('hp-nowhere', '/srv/hostpath/hp-nowhere', '', '1Gi', GiB),
];

/** On this node, measured, and still there at the end. */
const STAYING: Vol[] = [...DEMO, RICH, ...QUANTITY_VOLS, BAD_REQUEST, BAD_BOTH, LOCAL, LOCAL_BY_LABEL, HOST_PATH];
/** Measured by the agents (complete walks). */
const MEASURED: Vol[] = [...STAYING, BIG, SHORT_LIVED];
const ALL: Vol[] = [...MEASURED, MISSING, ...ELSEWHERE];

function kubeletLabels(v: Vol): Labels {
  const labels: Labels = { node: NODE, path: v.path, volume_plugin: v.plugin, persistentvolume: v.pv, namespace: v.namespace, persistentvolumeclaim: v.claim };
  if (v.storageClass !== undefined) labels.storageclass = v.storageClass;
  return labels;
}

function compatLabels(v: Vol): Labels {
  return { persistentvolumeclaim: v.claim, namespace: v.namespace, node: NODE };
}

function agentConfig(rootPath: string, interval: string, withK8sAttributes: boolean): string {
  return [
    'receivers:',
    '  hostpath:',
    `    root_path: ${JSON.stringify(rootPath)}`,
    `    collection_interval: ${interval}`,
    '    jitter: 0',
    '    concurrency: 4',
    '    compat_metrics: true',
    ...(withK8sAttributes ? ['processors:', '  k8sattributes: {}'] : []),
    'exporters:',
    '  prometheus: {}',
    'service:',
    '  pipelines:',
    '    metrics:',
    '      receivers: [hostpath]',
    ...(withK8sAttributes ? ['      processors: [k8sattributes]'] : []),
    '      exporters: [prometheus]',
    '',
  ].join('\n');
}

async function scrape(agent: Agent): Promise<Sample[]> {
  return parseExposition((await agent.scrape()).body);
}

/** Samples of every hostpath family (and the compat ones) whose labels mention `pv` or its claim. */
function seriesOf(samples: readonly Sample[], v: Vol): Sample[] {
  return samples.filter(
    (s) => s.labels.persistentvolume === v.pv || s.labels.path === v.path || (s.labels.persistentvolumeclaim === v.claim && s.labels.namespace === v.namespace),
  );
}

function listing(samples: readonly Sample[]): string {
  return samples.map(formatSample).join('\n') || '(none)';
}

/** Scrapes until `check` returns something; the failure shows the last used-bytes samples. */
function waitForScrape<T>(agent: Agent, what: string, check: (samples: Sample[]) => T | undefined, timeoutMs: number): Promise<T> {
  const show = (last: Sample[]): string => `last kubelet_volume_stats_used_bytes:\n${listing(findSamples(last, 'kubelet_volume_stats_used_bytes'))}`;
  return waitForSamples(agent, what, check, { timeoutMs, intervalMs: 100, show });
}

describe('hostpath receiver with the Kubernetes API: local-path, local and hostPath PVs', () => {
  let root: TempTree | undefined;
  let api: KubeApiServer | undefined;
  let agentA: Agent | undefined;
  let agentB: Agent | undefined;
  let configDir: { path: string; remove: () => Promise<void> } | undefined;
  /** du of each measured volume's directory, keyed by PV name. */
  const duOf = new Map<string, { blocks: number; apparent: number; inodes: number }>();

  function dirOf(v: Vol): string {
    return root!.path + v.path;
  }

  async function duVol(v: Vol): Promise<{ blocks: number; apparent: number; inodes: number }> {
    let cached = duOf.get(v.pv);
    if (!cached) {
      const dir = dirOf(v);
      const [blocks, apparent, inodes] = await Promise.all([du(dir, 'blocks'), du(dir, 'apparent'), du(dir, 'inodes')]);
      cached = { blocks, apparent, inodes };
      duOf.set(v.pv, cached);
    }
    return cached;
  }

  /** Waits until agent has a complete walk of every volume in `vols`; returns that scrape. */
  function waitForVolumes(agent: Agent, vols: readonly Vol[], what: string): Promise<Sample[]> {
    return waitForScrape(agent, what, (samples) => (vols.every((v) => findSamples(samples, 'kubelet_volume_stats_used_bytes', { persistentvolume: v.pv }).length === 1) ? samples : undefined), 20_000);
  }

  before(async () => {
    requireCommands('du', 'rm');
    root = await makeTempTree('nodemeter-hostpath-kube-');
    for (const v of ALL) {
      if (!v.fill) continue;
      mkdirSync(dirOf(v), { recursive: true });
      v.fill(dirOf(v));
    }
    api = await KubeApiServer.start();
    for (const obj of demoCluster()) api.add(obj);
    api.add(namespace('data'));
    api.patchLabels('nodes', '', NODE, { 'kubernetes.io/hostname': NODE_HOSTNAME_LABEL });
    for (const v of ALL) for (const obj of v.objects) api.add(obj);
    // A local-path PV of this node that no claim is bound to (Available): not measured.
    api.add(persistentVolume(dynamicPvName('data', 'unclaimed'), { type: 'localPath', node: NODE, claimNamespace: 'data', claimName: 'unclaimed' }, { storageClassName: 'local-path' }));

    const kubeArgs = ['--kube-api-url', api.url, '--node-name', NODE];
    [agentA, agentB] = await Promise.all([
      startAgent({ config: agentConfig(root.path, '200ms', false), extraArgs: kubeArgs }),
      startAgent({ config: agentConfig(root.path, '1s', true), extraArgs: kubeArgs }),
    ]);
  });

  after(async () => {
    await agentA?.kill();
    await agentB?.kill();
    await api?.stop();
    await configDir?.remove();
    await root?.cleanup();
  });

  it('hostPath volumes of this node (local-path-provisioner, claim-pinned, pod-pinned): used = du -s -B1 -x, inodes = du --inodes, labels, capacity = request', async (t) => {
    // Found once the cache has synced, not at the next refresh.
    await waitForVolumes(agentA!, STAYING, 'a complete walk of every small volume of this node');
    const sinceReady = Math.round(performance.now() - agentA!.spawnedAt - agentA!.readyMs!);
    t.diagnostic(`small volumes reported ${sinceReady} ms after the agent was ready`);
    assert.ok(sinceReady < 4_000, `volumes reported ${sinceReady} ms after the agent was ready`);
    const samples = await waitForVolumes(agentA!, MEASURED, 'a complete walk of every volume of this node');
    // The bad quantities have their own test below.
    const hostPath = MEASURED.filter((v) => v.plugin === 'host-path' && v !== BAD_REQUEST && v !== BAD_BOTH);
    assert.equal(hostPath.length, 13);
    for (const v of hostPath) {
      const want = await duVol(v);
      const labels = kubeletLabels(v);
      for (const family of VOLUME_FAMILIES) {
        const found = findSamples(samples, family, { persistentvolume: v.pv });
        assert.equal(found.length, 1, `${v.claim}: one ${family}, got:\n${listing(found)}`);
        assert.deepEqual(found[0]!.labels, labels, `${v.claim}: ${family} labels`);
      }
      const at = { persistentvolume: v.pv };
      assert.equal(sampleValue(samples, 'kubelet_volume_stats_used_bytes', at), want.blocks, `${v.claim}: used bytes = du -s -B1 -x`);
      assert.equal(sampleValue(samples, 'kubelet_volume_stats_inodes_used', at), want.inodes, `${v.claim}: inodes used = du --inodes -s -x`);
      assert.equal(sampleValue(samples, 'kubelet_volume_stats_capacity_bytes', at), v.capacity, `${v.claim}: capacity = the claim's request`);
      const available = sampleValue(samples, 'kubelet_volume_stats_available_bytes', at);
      const fs = statfsSync(dirOf(v));
      assert.ok(available >= 0 && available <= Math.max(0, v.capacity! - want.blocks), `${v.claim}: available ${available} ≤ capacity − used`);
      assert.ok(available <= fs.bavail * fs.bsize + 64 * 1024 * 1024, `${v.claim}: available ${available} capped by the disk's free space`);
      // f_files is fixed on ext4, not on xfs or btrfs: close enough is enough.
      const inodes = sampleValue(samples, 'kubelet_volume_stats_inodes', at);
      assert.ok(Math.abs(inodes - fs.files) <= fs.files / 100, `${v.claim}: inodes ${inodes} = the filesystem's f_files ${fs.files}`);
      assert.ok(sampleValue(samples, 'kubelet_volume_stats_inodes_free', at) <= inodes, `${v.claim}: inodes free ≤ inodes`);
      assert.equal(findSamples(samples, 'nodemeter_hostpath_volume_error', at).length, 0, `${v.claim}: no error`);
      assert.ok(sampleValue(samples, 'nodemeter_hostpath_walk_last_success_timestamp_seconds', at) > Date.now() / 1000 - 60);
    }
    // The big one really is big; the rich one (sizes around block boundaries, hard links, symlinks) is not small.
    assert.equal((await duVol(BIG)).inodes, BIG_FILES + 2);
    assert.ok((await duVol(RICH)).blocks > 4 * 1024 * 1024);
  });

  it('local PVs of this node (affinity on the node name or on its hostname label) are reported as volume_plugin="local-volume"', async () => {
    const samples = await scrape(agentA!);
    const local = MEASURED.filter((x) => x.plugin === 'local-volume');
    assert.deepEqual(local, [DEMO[1], LOCAL, LOCAL_BY_LABEL]);
    for (const v of local) {
      const want = await duVol(v);
      for (const family of VOLUME_FAMILIES) {
        const found = findSamples(samples, family, { persistentvolume: v.pv });
        assert.equal(found.length, 1, `${v.claim}: one ${family}`);
        assert.deepEqual(found[0]!.labels, { ...kubeletLabels(v), volume_plugin: 'local-volume' }, `${v.claim}: ${family} labels`);
      }
      const at = { persistentvolume: v.pv };
      assert.equal(sampleValue(samples, 'kubelet_volume_stats_used_bytes', at), want.blocks, `${v.claim}: used = du`);
      assert.equal(sampleValue(samples, 'kubelet_volume_stats_inodes_used', at), want.inodes, `${v.claim}: inodes used = du`);
      assert.equal(sampleValue(samples, 'kubelet_volume_stats_capacity_bytes', at), v.capacity, `${v.claim}: capacity = request`);
    }
  });

  it("other nodes' PVs, unclaimed PVs and unplaced hostPath PVs are not reported", async () => {
    const samples = await scrape(agentA!);
    for (const v of ELSEWHERE) assert.deepEqual(seriesOf(samples, v), [], `${v.claim} (${v.pv}) is not this node's`);
    const unclaimed = dynamicPvName('data', 'unclaimed');
    assert.deepEqual(samples.filter((s) => s.labels.persistentvolume === unclaimed), [], 'an Available PV is not measured');
    // Exactly this node's volumes, each once, on every kubelet family.
    const expected = MEASURED.map((v) => v.pv).sort();
    for (const family of VOLUME_FAMILIES) {
      const pvs = findSamples(samples, family).map((s) => s.labels.persistentvolume ?? '(none)').sort();
      assert.deepEqual(pvs, expected, `${family}: the PVs of this node`);
    }
  });

  it('capacity from every quantity form; a bad quantity falls back to the next source and is flagged', async () => {
    const samples = await scrape(agentA!);
    for (const v of QUANTITY_VOLS) {
      const at = { persistentvolume: v.pv };
      assert.equal(sampleValue(samples, 'kubelet_volume_stats_capacity_bytes', at), v.capacity, `${v.claim}: capacity`);
      assert.equal(findSamples(samples, 'nodemeter_hostpath_volume_error', at).length, 0, `${v.claim}: no error`);
    }
    // The PVC's "12XB" is skipped for the PV's 3Gi.
    const bad = { persistentvolume: BAD_REQUEST.pv };
    assert.equal(sampleValue(samples, 'kubelet_volume_stats_capacity_bytes', bad), 3 * GiB, 'bad request: the PV capacity stands in');
    assert.equal(sampleValue(samples, 'kubelet_volume_stats_used_bytes', bad), (await duVol(BAD_REQUEST)).blocks, 'bad request: still measured');
    assert.equal(sampleValue(samples, 'nodemeter_hostpath_volume_error', { ...bad, reason: 'bad_quantity' }), 1);
    assert.deepEqual(findSamples(samples, 'nodemeter_hostpath_volume_error', bad).map((s) => s.labels), [{ ...kubeletLabels(BAD_REQUEST), reason: 'bad_quantity' }]);
    // No request and an unparsable PV capacity: the filesystem's size.
    const both = { persistentvolume: BAD_BOTH.pv };
    const fs = statfsSync(dirOf(BAD_BOTH));
    assert.equal(sampleValue(samples, 'kubelet_volume_stats_capacity_bytes', both), fs.blocks * fs.bsize, 'no usable quantity: the filesystem size');
    assert.equal(sampleValue(samples, 'kubelet_volume_stats_used_bytes', both), (await duVol(BAD_BOTH)).blocks);
    assert.equal(sampleValue(samples, 'nodemeter_hostpath_volume_error', { ...both, reason: 'bad_quantity' }), 1);
    const warned = agentA!.logs.find((l) => l.msg === 'volume discovery problems');
    assert.ok(warned, `the bad quantities are logged\n${agentA!.describe()}`);
    assert.match(JSON.stringify(warned.problems), /12XB/);
    assert.match(JSON.stringify(warned.problems), /lots/);
    await assertHealthy(agentA!);
  });

  it('compat_metrics: local_volume_stats_used_bytes = du -sb, capacity = request, and the two join', async () => {
    const samples = await scrape(agentA!);
    const used = findSamples(samples, 'local_volume_stats_used_bytes');
    const capacity = findSamples(samples, 'local_volume_stats_capacity_bytes');
    for (const v of MEASURED) {
      const labels = compatLabels(v);
      const u = findSamples(used, 'local_volume_stats_used_bytes', labels);
      assert.equal(u.length, 1, `${v.claim}: one compat used series, got:\n${listing(u)}`);
      assert.deepEqual(u[0]!.labels, labels, `${v.claim}: compat labels`);
      assert.equal(u[0]!.value, (await duVol(v)).apparent, `${v.claim}: local_volume_stats_used_bytes = du -sb`);
      const c = findSamples(capacity, 'local_volume_stats_capacity_bytes', labels);
      if (v === BAD_BOTH) {
        assert.deepEqual(c, [], 'no request and no usable PV capacity: no compat capacity');
        continue;
      }
      assert.equal(c.length, 1, `${v.claim}: one compat capacity series`);
      assert.deepEqual(c[0]!.labels, labels);
      assert.equal(c[0]!.value, v.capacity, `${v.claim}: compat capacity = request`);
    }
    // `used / ignoring(job) capacity`: one-to-one on identical label sets.
    const key = (s: Sample): string => JSON.stringify(Object.entries(s.labels).sort(([a], [b]) => (a < b ? -1 : 1)));
    const usedKeys = used.map(key);
    const capacityKeys = capacity.map(key);
    assert.equal(new Set(usedKeys).size, usedKeys.length, 'compat used: no two series with one label set');
    assert.equal(new Set(capacityKeys).size, capacityKeys.length, 'compat capacity: no two series with one label set');
    assert.deepEqual(capacityKeys.filter((k) => !usedKeys.includes(k)), [], 'every capacity series has its used series');
    assert.deepEqual(usedKeys.filter((k) => !capacityKeys.includes(k)), [key({ name: '', labels: compatLabels(BAD_BOTH), value: 0 })], 'every used series has its capacity series but the one without a request');
    assert.equal(used.length, MEASURED.length, `compat series for exactly the measured volumes:\n${listing(used)}`);
  });

  it('a Bound PV of this node whose directory does not exist: ENOENT error and failures, no usage', async () => {
    const at = { persistentvolume: MISSING.pv };
    const samples = await waitForScrape(agentA!, 'ENOENT counted twice', (s) => (findSamples(s, 'nodemeter_hostpath_walk_failures_total', { ...at, reason: 'ENOENT' })[0]?.value ?? 0) >= 2 ? s : undefined, 10_000);
    assert.deepEqual(findSamples(samples, 'nodemeter_hostpath_volume_error', at).map((s) => [s.labels, s.value]), [[{ ...kubeletLabels(MISSING), reason: 'ENOENT' }, 1]]);
    assert.ok(sampleValue(samples, 'nodemeter_hostpath_walk_failures_total', { ...at, reason: 'ENOENT' }) >= 1);
    for (const family of [...VOLUME_FAMILIES, 'nodemeter_hostpath_walk_last_success_timestamp_seconds', 'nodemeter_hostpath_walk_age_seconds']) {
      assert.deepEqual(findSamples(samples, family, at), [], `${family}: nothing for a volume never walked`);
    }
    assert.deepEqual(findSamples(samples, 'local_volume_stats_used_bytes', compatLabels(MISSING)), [], 'no compat usage either');
    const failures = findSamples(samples, 'nodemeter_hostpath_walk_failures_total').filter((s) => s.labels.persistentvolume !== MISSING.pv);
    assert.deepEqual(failures, [], 'no other volume failed');
  });

  it('nodemeter collect --once prints one complete walk of every volume', async () => {
    configDir = await makeTempDir('nodemeter-hostpath-collect-');
    const configPath = join(configDir.path, 'config.yaml');
    await writeFile(configPath, agentConfig(root!.path, '1m', false));
    const r = await run(NODE24, [AGENT_BIN, 'collect', '--once', '--config', configPath, '--kube-api-url', api!.url, '--node-name', NODE], { cwd: REPO_ROOT, timeoutMs: 30_000, allowFail: true });
    assert.equal(r.code, 0, `collect --once exit code\nstderr:\n${r.stderr}`);
    const samples = parseExposition(r.stdout);
    for (const v of MEASURED) {
      const want = await duVol(v);
      const at = { persistentvolume: v.pv };
      assert.equal(sampleValue(samples, 'kubelet_volume_stats_used_bytes', at), want.blocks, `${v.claim}: used bytes in collect --once`);
      assert.equal(sampleValue(samples, 'kubelet_volume_stats_inodes_used', at), want.inodes, `${v.claim}: inodes used in collect --once`);
      assert.equal(sampleValue(samples, 'local_volume_stats_used_bytes', compatLabels(v)), want.apparent, `${v.claim}: compat used in collect --once`);
      assert.deepEqual(findSamples(samples, 'kubelet_volume_stats_used_bytes', at)[0]!.labels, kubeletLabels(v));
    }
    assert.equal(sampleValue(samples, 'nodemeter_hostpath_volume_error', { persistentvolume: MISSING.pv, reason: 'ENOENT' }), 1, 'the missing directory, walked once');
    for (const v of ELSEWHERE) assert.deepEqual(seriesOf(samples, v), [], `${v.claim}: not this node's`);
    assert.doesNotMatch(r.stderr, /"level":(50|60)/, 'no error logged');
  });

  it('with k8sattributes in the pipeline the series keep their claim and namespace and are not dropped', async () => {
    const samples = await waitForVolumes(agentB!, MEASURED, 'agent B: every volume through k8sattributes');
    for (const v of MEASURED) {
      const labels = { ...kubeletLabels(v), volume_source: v.plugin === 'local-volume' ? 'local' : 'hostPath' };
      for (const family of VOLUME_FAMILIES) {
        const found = findSamples(samples, family, { persistentvolume: v.pv });
        assert.equal(found.length, 1, `${v.claim}: one ${family} after k8sattributes`);
        assert.deepEqual(found[0]!.labels, labels, `${v.claim}: ${family} labels after k8sattributes`);
      }
      assert.equal(sampleValue(samples, 'kubelet_volume_stats_used_bytes', { persistentvolume: v.pv }), (await duVol(v)).blocks, `${v.claim}: used through k8sattributes`);
      assert.equal(sampleValue(samples, 'local_volume_stats_used_bytes', compatLabels(v)), (await duVol(v)).apparent, `${v.claim}: compat used through k8sattributes`);
    }
    for (const s of findSamples(samples, 'local_volume_stats_used_bytes')) assert.deepEqual(Object.keys(s.labels).sort(), ['namespace', 'node', 'persistentvolumeclaim'], 'compat labels untouched');
    assert.equal(sampleValue(samples, 'nodemeter_hostpath_volume_error', { persistentvolume: MISSING.pv, reason: 'ENOENT', persistentvolumeclaim: MISSING.claim, namespace: 'data' }), 1);
    assert.equal(sampleValue(samples, 'nodemeter_hostpath_volume_error', { persistentvolume: BAD_REQUEST.pv, reason: 'bad_quantity' }), 1);
    assert.deepEqual(findSamples(samples, 'nodemeter_k8sattributes_points_total', { outcome: 'dropped' }), [], 'nothing dropped');
    for (const v of ELSEWHERE) assert.deepEqual(seriesOf(samples, v), [], `${v.claim}: not this node's`);
    await assertHealthy(agentB!);
  });

  it('PVs deleted (one while its 100k-file walk runs): their series vanish within seconds, the rest carries on', async (t) => {
    const agent = agentA!;
    const pid = agent.child.pid!;
    const successOf = (s: readonly Sample[], v: Vol): number | undefined => findSamples(s, 'nodemeter_hostpath_walk_last_success_timestamp_seconds', { persistentvolume: v.pv })[0]?.value;
    const durationOf = (s: readonly Sample[], v: Vol): number | undefined => findSamples(s, 'nodemeter_hostpath_walk_duration_seconds', { persistentvolume: v.pv })[0]?.value;
    const richSuccess = successOf(await scrape(agent), RICH)!;

    // The receiver applies a deletion at its next volume-list refresh: every second (plus a few ms)
    // from the first one after the cache synced, which logged the bad quantities. The big volume
    // is walked back to back: a walk of `walk` ms ending at `end`, 200 ms idle, the next walk.
    // To have the refresh land inside a walk, whatever its length: delete the PVs well before the
    // refresh, then freeze the agent (SIGSTOP, worker threads included) just after a walk of the
    // big volume started, and let it go (SIGCONT) once the refresh is due. Its timer then fires
    // with that walk still half done.
    const firstRefresh = agent.logs.find((l) => l.msg === 'volume discovery problems')?.time;
    assert.equal(typeof firstRefresh, 'number', 'the first refresh is logged');
    const n = Math.ceil((Date.now() + 1_000 - (firstRefresh as number)) / REFRESH_MS);
    const refresh = (firstRefresh as number) + n * REFRESH_MS;
    // Just after the refresh before: the whole period is left to catch a walk.
    await sleep(refresh - REFRESH_MS + 30 - Date.now());
    const deletedAt = Date.now();
    api!.delete('persistentvolumes', '', BIG.pv);
    api!.delete('persistentvolumes', '', SHORT_LIVED.pv);
    api!.delete('persistentvolumeclaims', SHORT_LIVED.namespace, SHORT_LIVED.claim);
    let frozen: { at: number; into: number; walk: number } | undefined;
    let resumedAt: number;
    try {
      while (!frozen && Date.now() < refresh - 40) {
        const s = await scrape(agent);
        const now = Date.now();
        const end = successOf(s, BIG)! * 1000;
        const walk = durationOf(s, BIG)! * 1000;
        if (now >= end + 230 && now <= end + 200 + walk / 2) {
          process.kill(pid, 'SIGSTOP');
          frozen = { at: Date.now(), into: Date.now() - end - 200, walk };
        } else {
          await sleep(10);
        }
      }
      if (frozen) await sleep(refresh + 40 + 3 * n - Date.now());
    } finally {
      if (frozen) process.kill(pid, 'SIGCONT');
      resumedAt = Date.now();
    }

    let goneAt = 0;
    while (goneAt === 0) {
      const s = await scrape(agent);
      if (seriesOf(s, BIG).length === 0 && seriesOf(s, SHORT_LIVED).length === 0) goneAt = Date.now();
      else if (Date.now() - deletedAt > 8_000) assert.fail(`the deleted PVs still reported 8 s later:\n${listing([...seriesOf(s, BIG), ...seriesOf(s, SHORT_LIVED)])}\n${agent.describe()}`);
      else await sleep(20);
    }
    const goneMs = goneAt - deletedAt;
    assert.ok(goneMs < 8_000, `gone after ${goneMs} ms`);
    const midWalk = frozen !== undefined && goneAt - resumedAt < 300;
    t.diagnostic(
      frozen
        ? `agent frozen ${frozen.into} ms into a walk of about ${frozen.walk.toFixed(0)} ms, for ${resumedAt - frozen.at} ms; series gone ${goneAt - resumedAt} ms after it resumed: forgotten mid-walk: ${midWalk ? 'yes' : 'not proven'}`
        : `no walk of the big volume caught before the refresh; series gone ${goneMs} ms after the deletion`,
    );
    await waitForScrape(agentB!, "agent B: the deleted PVs' series gone", (s) => (seriesOf(s, BIG).length === 0 && seriesOf(s, SHORT_LIVED).length === 0 ? true : undefined), 8_000);

    // The others are still reported, and still walked: newer results than before the deletion.
    const samples = await waitForScrape(agent, 'newer walks of the remaining volumes', (s) => {
      const at = successOf(s, RICH);
      return at !== undefined && at > richSuccess + 1 ? s : undefined;
    }, 5_000);
    const reported = findSamples(samples, 'kubelet_volume_stats_used_bytes').map((s) => s.labels.persistentvolume).sort();
    assert.deepEqual(reported, STAYING.map((v) => v.pv).sort(), 'every remaining volume still reported');
    for (const v of STAYING) assert.equal(sampleValue(samples, 'kubelet_volume_stats_used_bytes', { persistentvolume: v.pv }), (await duVol(v)).blocks, `${v.claim}: used still = du`);
    assert.equal(sampleValue(samples, 'nodemeter_hostpath_walk_threads', { state: 'stuck' }), 0, 'no walk thread set aside');
    assert.deepEqual(findSamples(samples, 'local_volume_stats_used_bytes', compatLabels(BIG)), [], 'compat series gone too');
    await assertHealthy(agentA!);
    await assertHealthy(agentB!);
  });
});
