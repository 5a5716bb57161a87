// A stuck mount (a FUSE filesystem whose statfs blocks) among healthy volumes: scrapes
// keep answering within statfs_timeout, the healthy volumes keep their df values, the
// stuck one is reported with a reason, the agent's other I/O is not stalled, and the
// series come back with the right values once the mount answers again.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { join } from 'node:path';
import { filesystemConfig, startAgent, type Agent } from '../support/agent.ts';
import { findSamples, formatSample, parseExposition, sampleValue, type Sample } from '../support/exposition.ts';
import { FUSE_HANG_STATFS, FuseHang } from '../support/fuse.ts';
import { KubeletTree, MountNamespace, type DfBytes, type DfInodes, type Volume } from '../support/mountns.ts';
import { requirePrereqs } from '../support/prereqs.ts';
import { sleep, waitFor } from '../support/proc.ts';
import { schema } from '../../receivers/filesystem/config.ts';

const STATFS_TIMEOUT_MS = 500;
/** The receiver's default `concurrency`: statfs calls in flight at once. */
const RECEIVER_CONCURRENCY = schema.concurrency.default;
/** /healthz, /readyz: they never touch a filesystem. */
const PROMPT_MS = 1_000;

const POD = '7c0ffee0-3333-4c7d-8e9f-cccccccccccc';
const PV_FUSE = 'pvc-fuse-stuck';
/**
 * Hung FUSE volumes besides the first: with the node filesystem, six blocked statfs
 * calls at once, more than libuv's 4-thread pool that all the agent's file I/O shares.
 */
const EXTRA_FUSE_VOLUMES = 4;
const HUNG_MOUNTS = 1 + EXTRA_FUSE_VOLUMES + 1;
/**
 * The first scrape after the hang: each wave of `concurrency` probes waits out the
 * statfs timeout, plus a generous margin for a loaded 2-core CI machine.
 */
const FIRST_SCRAPE_BUDGET_MS = Math.ceil(HUNG_MOUNTS / RECEIVER_CONCURRENCY) * STATFS_TIMEOUT_MS + 2_000;
/** Later scrapes skip stuck mounts without waiting: well under one statfs timeout, plus margin. */
const SCRAPE_BUDGET_MS = STATFS_TIMEOUT_MS + 500;

describe('filesystem receiver with a stuck mount', () => {
  let ns: MountNamespace | undefined;
  let agent: Agent | undefined;
  const fuses: FuseHang[] = [];
  let tree: KubeletTree;
  let fuseVolume: Volume;
  let volumeFuse: FuseHang;
  let nodeFuse: FuseHang;
  const extraFuseVolumes: Volume[] = [];
  const healthy: { volume: Volume; bytes: DfBytes; inodes: DfInodes }[] = [];

  before(async () => {
    requirePrereqs('root', 'mountns', 'loop', 'ext4', 'fuse', 'df');
    ns = await MountNamespace.create();
    tree = new KubeletTree(ns);
    await tree.emptyDir(POD, 'cache', { size: '64m' });
    await tree.emptyDir(POD, 'with space', { size: '8m' });
    await tree.csiVolume(POD, 'pvc-ext4-ok', { fstype: 'ext4', sizeMiB: 48 });
    for (const v of tree.volumes) {
      await ns.writeZeros(join(v.mountpoint, 'data'), 1024 * 1024);
      // df now, while nothing hangs (df near a hung FUSE mount could block too).
      healthy.push({ volume: v, bytes: await ns.dfBytes(v.mountpoint), inodes: await ns.dfInodes(v.mountpoint) });
    }
    // Every FUSE daemon shares one control dir: volumeFuse.hang() hangs them all.
    const controlDir = join(ns.root, 'fuse-ctl');
    const fuseMount = join(tree.volumeDir(POD, 'csi', PV_FUSE), 'mount');
    volumeFuse = await FuseHang.start(ns, { mountpoint: fuseMount, controlDir });
    fuses.push(volumeFuse);
    fuseVolume = tree.add({ mountpoint: fuseMount, podUid: POD, plugin: 'csi', name: PV_FUSE, persistentVolume: PV_FUSE, fstype: 'fuse.hang' });
    for (let i = 0; i < EXTRA_FUSE_VOLUMES; i++) {
      const pv = `pvc-fuse-extra-${i}`;
      const mountpoint = join(tree.volumeDir(POD, 'csi', pv), 'mount');
      fuses.push(await FuseHang.start(ns, { mountpoint, controlDir }));
      extraFuseVolumes.push(tree.add({ mountpoint, podUid: POD, plugin: 'csi', name: pv, persistentVolume: pv, fstype: 'fuse.hang' }));
    }
    // And one outside the kubelet tree, reported as a node filesystem.
    nodeFuse = await FuseHang.start(ns, { mountpoint: join(ns.root, 'mnt', 'fuse'), controlDir });
    fuses.push(nodeFuse);

    agent = await startAgent({
      config: filesystemConfig(tree.kubeletRoot, { statfsTimeout: `${STATFS_TIMEOUT_MS}ms` }),
      prefix: ns.prefix,
    });
  });

  after(async () => {
    // Unhang first (FuseHang.close does), so neither the agent nor umount stays blocked.
    for (const f of fuses) await f.unhang();
    await agent?.kill();
    for (const f of fuses) await f.close();
    await ns?.close();
  });

  async function timedScrape(): Promise<{ samples: Sample[]; ms: number }> {
    const res = await agent!.scrape('/metrics', { timeoutMs: 30_000 });
    return { samples: parseExposition(res.body), ms: res.elapsedMs };
  }

  function assertHealthyVolumes(samples: Sample[]): void {
    for (const { volume, bytes, inodes } of healthy) {
      const labels = { mountpoint: volume.mountpoint };
      assert.equal(sampleValue(samples, 'kubelet_volume_stats_capacity_bytes', labels), bytes.size, `${volume.name} capacity`);
      assert.equal(sampleValue(samples, 'kubelet_volume_stats_available_bytes', labels), bytes.avail, `${volume.name} available`);
      assert.equal(sampleValue(samples, 'kubelet_volume_stats_used_bytes', labels), bytes.used, `${volume.name} used`);
      assert.equal(sampleValue(samples, 'kubelet_volume_stats_inodes', labels), inodes.itotal, `${volume.name} inodes`);
      assert.equal(sampleValue(samples, 'kubelet_volume_stats_inodes_free', labels), inodes.ifree, `${volume.name} inodes free`);
      assert.equal(sampleValue(samples, 'kubelet_volume_stats_inodes_used', labels), inodes.iused, `${volume.name} inodes used`);
    }
  }

  function assertFuseVolumeValues(samples: Sample[]): void {
    const labels = { mountpoint: fuseVolume.mountpoint, persistentvolume: PV_FUSE, volume_plugin: 'csi', pod_uid: POD };
    assert.equal(sampleValue(samples, 'kubelet_volume_stats_capacity_bytes', labels), FUSE_HANG_STATFS.capacityBytes);
    assert.equal(sampleValue(samples, 'kubelet_volume_stats_available_bytes', labels), FUSE_HANG_STATFS.availableBytes);
    assert.equal(sampleValue(samples, 'kubelet_volume_stats_used_bytes', labels), FUSE_HANG_STATFS.usedBytes);
    assert.equal(sampleValue(samples, 'kubelet_volume_stats_inodes', labels), FUSE_HANG_STATFS.inodes);
    assert.equal(sampleValue(samples, 'kubelet_volume_stats_inodes_free', labels), FUSE_HANG_STATFS.inodesFree);
    assert.equal(sampleValue(samples, 'kubelet_volume_stats_inodes_used', labels), FUSE_HANG_STATFS.inodesUsed);
    assert.deepEqual(findSamples(samples, 'nodemeter_filesystem_volume_error', { mountpoint: fuseVolume.mountpoint }), []);
    const nodeLabels = { mountpoint: nodeFuse.mountpoint };
    assert.equal(sampleValue(samples, 'node_filesystem_size_bytes', nodeLabels), FUSE_HANG_STATFS.capacityBytes);
    assert.equal(sampleValue(samples, 'node_filesystem_device_error', nodeLabels), 0);
  }

  function assertStuckReported(samples: Sample[]): void {
    const errors = findSamples(samples, 'nodemeter_filesystem_volume_error', { mountpoint: fuseVolume.mountpoint });
    assert.equal(errors.length, 1, `one volume error series for the stuck mount; got ${errors.map(formatSample).join('; ')}`);
    assert.equal(errors[0]!.value, 1);
    assert.match(errors[0]!.labels.reason ?? '', /^(timeout|stuck)$/);
    assert.equal(errors[0]!.labels.persistentvolume, PV_FUSE);
    // No stale or made-up values for it while it hangs.
    assert.deepEqual(findSamples(samples, 'kubelet_volume_stats_capacity_bytes', { mountpoint: fuseVolume.mountpoint }), []);
    assert.equal(sampleValue(samples, 'node_filesystem_device_error', { mountpoint: nodeFuse.mountpoint }), 1);
    assert.deepEqual(findSamples(samples, 'node_filesystem_size_bytes', { mountpoint: nodeFuse.mountpoint }), []);
    for (const v of extraFuseVolumes) {
      assert.equal(sampleValue(samples, 'nodemeter_filesystem_volume_error', { mountpoint: v.mountpoint }), 1, v.name);
    }
  }

  test('before the hang, the FUSE volume reports its statfs numbers', async () => {
    const { samples } = await timedScrape();
    assertHealthyVolumes(samples);
    assertFuseVolumeValues(samples);
    assert.equal(sampleValue(samples, 'nodemeter_filesystem_stuck_mounts'), 0);
  });

  test('while statfs hangs, scrapes answer within the statfs timeout and report the stuck mounts', async (t) => {
    await volumeFuse.hang(); // all of them: one control dir
    const first = await timedScrape();
    t.diagnostic(`first scrape with ${HUNG_MOUNTS} hung mounts: ${first.ms.toFixed(0)} ms`);
    assert.ok(first.ms < FIRST_SCRAPE_BUDGET_MS, `first scrape after the hang took ${first.ms.toFixed(0)} ms (budget ${FIRST_SCRAPE_BUDGET_MS})`);
    assertHealthyVolumes(first.samples);
    assertStuckReported(first.samples);

    // Later scrapes skip the stuck mounts at once.
    for (let i = 0; i < 3; i++) {
      const again = await timedScrape();
      assert.ok(again.ms < SCRAPE_BUDGET_MS, `scrape ${i + 2} during the hang took ${again.ms.toFixed(0)} ms`);
      assertHealthyVolumes(again.samples);
      assertStuckReported(again.samples);
      assert.equal(sampleValue(again.samples, 'nodemeter_filesystem_stuck_mounts'), HUNG_MOUNTS);
      assert.ok(
        sampleValue(again.samples, 'nodemeter_filesystem_statfs_timeouts_total') >= 1,
        'statfs timeouts are counted',
      );
    }
  });

  test('while statfs hangs, the agent’s other work is not stalled', async () => {
    // Many concurrent scrapes: if hung statfs calls sat in libuv's shared pool, these
    // (and every other file read in the agent) would queue behind them.
    const scrapes = await Promise.all(Array.from({ length: 8 }, () => timedScrape()));
    for (const s of scrapes) {
      assert.ok(s.ms < SCRAPE_BUDGET_MS, `concurrent scrape took ${s.ms.toFixed(0)} ms`);
      assertHealthyVolumes(s.samples);
    }
    for (const path of ['/healthz', '/readyz']) {
      const res = await agent!.get(path, { timeoutMs: 10_000 });
      assert.equal(res.status, 200, `${path} during the hang: ${res.body}`);
      assert.ok(res.elapsedMs < PROMPT_MS, `${path} took ${res.elapsedMs.toFixed(0)} ms during the hang`);
    }
    // The hang is still on: the kernel still has the first statfs blocked.
    assert.match(volumeFuse.log, /statfs hanging/);
    assert.doesNotMatch(volumeFuse.log, /statfs released/);
  });

  test('after the hang is lifted, the series come back with the right values', async () => {
    await volumeFuse.unhang(); // all of them
    const samples = await waitFor(
      'the stuck mounts to recover',
      async () => {
        const { samples: s } = await timedScrape();
        const back = findSamples(s, 'kubelet_volume_stats_capacity_bytes', { mountpoint: fuseVolume.mountpoint }).length === 1;
        const nodeBack = findSamples(s, 'node_filesystem_size_bytes', { mountpoint: nodeFuse.mountpoint }).length === 1;
        const extrasBack = extraFuseVolumes.every(
          (v) => findSamples(s, 'kubelet_volume_stats_capacity_bytes', { mountpoint: v.mountpoint }).length === 1,
        );
        return back && nodeBack && extrasBack ? s : undefined;
      },
      { timeoutMs: 10_000, intervalMs: 100 },
    );
    assertHealthyVolumes(samples);
    assertFuseVolumeValues(samples);
    assert.equal(sampleValue(samples, 'nodemeter_filesystem_stuck_mounts'), 0);
    const recovered = agent!.logs.filter((l) => /answered again|recovered/i.test(l.msg ?? ''));
    assert.ok(recovered.length >= 1, `a log line says the mount answered again\n${agent!.describe()}`);
  });

  test('a second hang is detected again and a clean SIGTERM follows its release', async () => {
    await volumeFuse.hang();
    const during = await timedScrape();
    assert.ok(during.ms < FIRST_SCRAPE_BUDGET_MS, `scrape took ${during.ms.toFixed(0)} ms`);
    assert.equal(findSamples(during.samples, 'nodemeter_filesystem_volume_error', { mountpoint: fuseVolume.mountpoint }).length, 1);
    await volumeFuse.unhang();
    await sleep(200);
    const stopped = await agent!.stop('SIGTERM');
    assert.equal(stopped.killed, false, `agent did not exit after SIGTERM\n${agent!.describe()}`);
    assert.equal(stopped.code, 0, agent!.describe());
  });
});
