// The filesystem receiver against real mounts: tmpfs, loop-mounted ext4 and xfs
// volumes laid out like a kubelet's tree in a private mount namespace, the agent
// running inside that namespace; every volume's kubelet_volume_stats_* must equal
// what `df` says for the same mount point, with the labels the path implies.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { join } from 'node:path';
import { filesystemConfig, startAgent, VOLUME_FAMILIES, type Agent } from '../support/agent.ts';
import { findSamples, parseExposition, sampleValue, type Sample } from '../support/exposition.ts';
import { KubeletTree, MountNamespace, type Volume } from '../support/mountns.ts';
import { requirePrereqs } from '../support/prereqs.ts';

const POD_A = '0b9e3c4a-1111-4a5e-9d7e-aaaaaaaaaaaa';
const POD_B = '5f1d2e3c-2222-4b6f-8c9d-bbbbbbbbbbbb';

describe('filesystem receiver on real mounts', () => {
  let ns: MountNamespace | undefined;
  let agent: Agent | undefined;
  let tree: KubeletTree;
  let nodeDataDir: string;

  before(async () => {
    requirePrereqs('root', 'mountns', 'loop', 'ext4', 'xfs', 'df');
    ns = await MountNamespace.create();
    tree = new KubeletTree(ns);
    const cache = await tree.emptyDir(POD_A, 'cache', { size: '64m' });
    const spaced = await tree.emptyDir(POD_A, 'scratch space', { size: '32m', nrInodes: 4096 });
    const ext4 = await tree.csiVolume(POD_B, 'pvc-4f2a9c1e-ext4', { fstype: 'ext4', sizeMiB: 64 });
    const xfs = await tree.localVolume(POD_B, 'local-pv-xfs-1', { fstype: 'xfs', sizeMiB: 320 });
    // Some data on each, so used bytes and inodes are not just the empty filesystem's.
    await ns.writeZeros(join(cache.mountpoint, 'blob'), 3 * 1024 * 1024);
    await ns.writeZeros(join(spaced.mountpoint, 'a file'), 123_457);
    await ns.writeZeros(join(ext4.mountpoint, 'data'), 5 * 1024 * 1024);
    await ns.writeZeros(join(xfs.mountpoint, 'data'), 7 * 1024 * 1024);
    // A filesystem outside the kubelet tree: reported as node_filesystem_*.
    nodeDataDir = join(ns.root, 'srv', 'data');
    await ns.mountImage(nodeDataDir, { fstype: 'ext4', sizeMiB: 48 });
    await ns.writeZeros(join(nodeDataDir, 'data'), 1024 * 1024);

    agent = await startAgent({ config: filesystemConfig(tree.kubeletRoot), prefix: ns.prefix });
  });

  after(async () => {
    await agent?.kill();
    await ns?.close();
  });

  async function scrape(): Promise<Sample[]> {
    const res = await agent!.scrape();
    return parseExposition(res.body);
  }

  function volumeLabels(v: Volume): Record<string, string> {
    const labels: Record<string, string> = {
      mountpoint: v.mountpoint,
      volume: v.name,
      pod_uid: v.podUid,
      volume_plugin: v.plugin,
    };
    if (v.persistentVolume) labels.persistentvolume = v.persistentVolume;
    return labels;
  }

  test('each volume reports exactly the byte counts df reports', async () => {
    const samples = await scrape();
    for (const v of tree.volumes) {
      const df = await ns!.dfBytes(v.mountpoint);
      const labels = { mountpoint: v.mountpoint };
      assert.equal(sampleValue(samples, 'kubelet_volume_stats_capacity_bytes', labels), df.size, `${v.name} capacity`);
      assert.equal(sampleValue(samples, 'kubelet_volume_stats_available_bytes', labels), df.avail, `${v.name} available`);
      assert.equal(sampleValue(samples, 'kubelet_volume_stats_used_bytes', labels), df.used, `${v.name} used`);
      assert.ok(df.used > 0, `${v.name}: the test wrote data, df says used=${df.used}`);
    }
  });

  test('each volume reports exactly the inode counts df -i reports', async () => {
    const samples = await scrape();
    for (const v of tree.volumes) {
      const df = await ns!.dfInodes(v.mountpoint);
      const labels = { mountpoint: v.mountpoint };
      assert.equal(sampleValue(samples, 'kubelet_volume_stats_inodes', labels), df.itotal, `${v.name} inodes`);
      assert.equal(sampleValue(samples, 'kubelet_volume_stats_inodes_free', labels), df.ifree, `${v.name} inodes free`);
      assert.equal(sampleValue(samples, 'kubelet_volume_stats_inodes_used', labels), df.iused, `${v.name} inodes used`);
    }
  });

  test('volume series carry mountpoint, volume, persistentvolume, pod_uid, volume_plugin and node', async () => {
    const samples = await scrape();
    for (const v of tree.volumes) {
      const found = findSamples(samples, 'kubelet_volume_stats_capacity_bytes', { mountpoint: v.mountpoint });
      assert.equal(found.length, 1, `one capacity series for ${v.mountpoint}`);
      const labels = found[0]!.labels;
      const { node, ...rest } = labels;
      assert.ok(node && node.length > 0, `node label on ${v.name}: ${JSON.stringify(labels)}`);
      assert.deepEqual(rest, volumeLabels(v), `labels of ${v.name}`);
    }
    // The mount point whose name has a space is reported under its real path.
    assert.ok(tree.volumes.some((v) => v.mountpoint.includes('scratch space')));
  });

  test('every volume family has the same label sets, so ratios join', async () => {
    const samples = await scrape();
    const families = VOLUME_FAMILIES;
    const keyOf = (s: Sample): string => JSON.stringify(Object.entries(s.labels).sort());
    const sets = families.map((f) => findSamples(samples, f).map(keyOf).sort());
    for (let i = 1; i < sets.length; i++) assert.deepEqual(sets[i], sets[0], `${families[i]} vs ${families[0]}`);
    assert.equal(sets[0]!.length, tree.volumes.length, 'one series per volume, no more');
  });

  test('a CSI global mount bind-mounted by a pod volume is reported only through the pod', async () => {
    const samples = await scrape();
    const global = findSamples(samples, 'kubelet_volume_stats_capacity_bytes').filter((s) =>
      s.labels.mountpoint?.endsWith('/globalmount'),
    );
    assert.deepEqual(global, []);
    const nodeSeries = findSamples(samples, 'node_filesystem_size_bytes').filter((s) => s.labels.mountpoint?.startsWith(tree.kubeletRoot));
    assert.deepEqual(nodeSeries, [], 'kubelet volume mounts are not repeated as node filesystems');
  });

  test('a filesystem outside the kubelet tree is reported as node_filesystem_* matching df', async () => {
    const samples = await scrape();
    const bytes = await ns!.dfBytes(nodeDataDir);
    const inodes = await ns!.dfInodes(nodeDataDir);
    const labels = { mountpoint: nodeDataDir };
    const size = findSamples(samples, 'node_filesystem_size_bytes', labels);
    assert.equal(size.length, 1, `one node_filesystem_size_bytes for ${nodeDataDir}`);
    assert.equal(size[0]!.labels.fstype, 'ext4');
    assert.match(size[0]!.labels.device ?? '', /^\/dev\/loop\d+$/);
    assert.equal(size[0]!.value, bytes.size);
    assert.equal(sampleValue(samples, 'node_filesystem_avail_bytes', labels), bytes.avail);
    // df's used is f_blocks − f_bfree, so f_bfree × bsize = size − used.
    assert.equal(sampleValue(samples, 'node_filesystem_free_bytes', labels), bytes.size - bytes.used);
    assert.equal(sampleValue(samples, 'node_filesystem_files', labels), inodes.itotal);
    assert.equal(sampleValue(samples, 'node_filesystem_files_free', labels), inodes.ifree);
    assert.equal(sampleValue(samples, 'node_filesystem_readonly', labels), 0);
    assert.equal(sampleValue(samples, 'node_filesystem_device_error', labels), 0);
  });

  test('values follow the filesystem: writing more data raises used bytes by what df sees', async () => {
    const v = tree.volumes.find((x) => x.plugin === 'csi')!;
    const before = sampleValue(await scrape(), 'kubelet_volume_stats_used_bytes', { mountpoint: v.mountpoint });
    await ns!.writeZeros(join(v.mountpoint, 'more'), 2 * 1024 * 1024);
    const samples = await scrape();
    const df = await ns!.dfBytes(v.mountpoint);
    const used = sampleValue(samples, 'kubelet_volume_stats_used_bytes', { mountpoint: v.mountpoint });
    assert.equal(used, df.used);
    assert.ok(used >= before + 2 * 1024 * 1024, `used grew from ${before} to ${used}`);
  });
});
