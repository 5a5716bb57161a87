import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, statfsSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import type { Attributes } from '@opentelemetry/api';
import { MeterProvider, MetricReader, type GaugeMetricData } from '@opentelemetry/sdk-metrics';
import type { CollectContext, ComponentSettings, ReceiverResult } from '../../pipeline/component.ts';
import { testSettings } from '../../pipeline/testing.ts';
import { defaultConfig, type FilesystemReceiverConfig } from './config.ts';
import { filesystemReceiverFactory } from './factory.ts';
import { FilesystemReceiver } from './filesystem-receiver.ts';
import { FIFO_WORKER_DATA, makeHang, releaseHang } from './testdata/hang.ts';

class TestReader extends MetricReader {
  protected override onForceFlush(): Promise<void> {
    return Promise.resolve();
  }
  protected override onShutdown(): Promise<void> {
    return Promise.resolve();
  }
}

function settings(provider = new MeterProvider()): ComponentSettings {
  return testSettings('filesystem/test', 'receiver', { meter: provider.getMeter('test'), agent: { nodeName: 'node-1', version: '0.0.0' } });
}

function ctx(ms: number, signal = new AbortController().signal): CollectContext {
  return { signal, deadline: Date.now() + ms, selectors: {} };
}

function samples(result: ReceiverResult, name: string): Array<{ attributes: Attributes; value: number }> {
  const m = result.scopeMetrics.metrics.find((f) => f.descriptor.name === name) as GaugeMetricData | undefined;
  return m ? m.dataPoints.map((d) => ({ attributes: d.attributes, value: d.value })) : [];
}

function valueAt(result: ReceiverResult, name: string, mountpoint: string): number | undefined {
  return samples(result, name).find((s) => s.attributes.mountpoint === mountpoint)?.value;
}

// A fake host: root_path = dir; mountinfo lists host paths that exist under dir.
const dir = mkdtempSync(join(tmpdir(), 'nodemeter-fsrecv-'));
const hangs: string[] = [];
after(() => {
  for (const p of hangs) releaseHang(p);
  rmSync(dir, { recursive: true, force: true });
});

const K = '/var/lib/kubelet';
const CSI = `${K}/pods/uid-1/volumes/kubernetes.io~csi/pv-1/mount`;
const EMPTY = `${K}/pods/uid-1/volumes/kubernetes.io~empty-dir/cache`;
const GONE = `${K}/pods/uid-1/volumes/kubernetes.io~local-volume/local-pv-gone`;
const HUNG = `${K}/pods/uid-2/volumes/kubernetes.io~csi/pv-hung/mount`;
const DATA = '/data';

function fakeHost(name: string, withHang: boolean): Partial<FilesystemReceiverConfig> {
  const root = join(dir, name);
  for (const p of [CSI, EMPTY, DATA]) mkdirSync(join(root, p), { recursive: true });
  mkdirSync(join(root, HUNG, '..'), { recursive: true });
  if (withHang) {
    makeHang(join(root, HUNG));
    hangs.push(join(root, HUNG));
  }
  const lines = [DATA, CSI, EMPTY, GONE, ...(withHang ? [HUNG] : [])].map((mp, i) => `${i + 2} 1 8:${i + 2} / ${mp} rw - ext4 /dev/sd${i} rw`);
  writeFileSync(join(root, 'mountinfo'), ['1 0 8:1 / / rw - ext4 /dev/root rw', ...lines].join('\n') + '\n');
  return { root_path: root, mountinfo_path: join(root, 'mountinfo') };
}

function receiver(over: Partial<FilesystemReceiverConfig>, provider?: MeterProvider): FilesystemReceiver {
  const config = { ...defaultConfig(), ...over };
  return new FilesystemReceiver(settings(provider), config, { workerData: FIFO_WORKER_DATA });
}

void test('on this machine: node_filesystem samples for / match statfs', async () => {
  const r = filesystemReceiverFactory.create(settings(), filesystemReceiverFactory.createDefaultConfig());
  await r.start();
  try {
    const res = await r.collect(ctx(5000));
    assert.equal(res.scopeMetrics.scope.name, 'nodemeter/receiver/filesystem/test');
    const s = statfsSync('/');
    assert.equal(valueAt(res, 'node_filesystem_size_bytes', '/'), s.blocks * s.bsize);
    assert.equal(valueAt(res, 'node_filesystem_files', '/'), s.files);
    assert.equal(valueAt(res, 'node_filesystem_device_error', '/'), 0);
    const root = samples(res, 'node_filesystem_size_bytes').find((x) => x.attributes.mountpoint === '/');
    assert.deepEqual(Object.keys(root?.attributes ?? {}).sort(), ['device', 'fstype', 'mountpoint']);
    for (const m of res.scopeMetrics.metrics) assert.ok(m.dataPoints.length > 0, `${m.descriptor.name} has samples`);
  } finally {
    await r.shutdown();
  }
});

void test('kubelet volumes under root_path: values, labels without the prefix, errors by reason', async () => {
  const over = fakeHost('volumes', false);
  const r = receiver(over);
  await r.start();
  try {
    // The fake host lives on the machine's root filesystem, which other tests write to meanwhile:
    // used bytes are checked to lie between a statfs taken before the collect and one after.
    const before = statfsSync(join(over.root_path ?? '', CSI));
    const res = await r.collect(ctx(5000));
    const s = statfsSync(join(over.root_path ?? '', CSI));
    const cap = samples(res, 'kubelet_volume_stats_capacity_bytes');
    assert.deepEqual(cap.map((x) => x.attributes.mountpoint).sort(), [CSI, EMPTY].sort());
    const csi = cap.find((x) => x.attributes.mountpoint === CSI);
    assert.equal(csi?.value, s.blocks * s.bsize);
    assert.deepEqual(csi?.attributes, { node: 'node-1', mountpoint: CSI, volume_plugin: 'csi', pod_uid: 'uid-1', volume: 'pv-1', persistentvolume: 'pv-1' });
    assert.deepEqual(samples(res, 'kubelet_volume_stats_inodes').find((x) => x.attributes.mountpoint === EMPTY)?.attributes, {
      node: 'node-1', mountpoint: EMPTY, volume_plugin: 'empty-dir', pod_uid: 'uid-1', volume: 'cache',
    });
    // Every family carries the same label set for a mount, so ratios join.
    for (const name of ['available_bytes', 'used_bytes', 'inodes', 'inodes_free', 'inodes_used']) {
      assert.deepEqual(samples(res, `kubelet_volume_stats_${name}`).find((x) => x.attributes.mountpoint === CSI)?.attributes, csi?.attributes);
    }
    const used = valueAt(res, 'kubelet_volume_stats_used_bytes', CSI);
    const usedBefore = (before.blocks - before.bfree) * before.bsize;
    const usedAfter = (s.blocks - s.bfree) * s.bsize;
    assert.ok(used !== undefined && used >= Math.min(usedBefore, usedAfter) && used <= Math.max(usedBefore, usedAfter), `used ${used} between ${usedBefore} and ${usedAfter}`);
    assert.deepEqual(samples(res, 'nodemeter_filesystem_volume_error'), [
      { attributes: { node: 'node-1', mountpoint: GONE, volume_plugin: 'local-volume', pod_uid: 'uid-1', volume: 'local-pv-gone', persistentvolume: 'local-pv-gone', reason: 'ENOENT' }, value: 1 },
    ]);
    assert.deepEqual(samples(res, 'node_filesystem_size_bytes').map((x) => x.attributes.mountpoint).sort(), ['/', DATA]);
    assert.equal(res.errors?.length, 1);
    assert.match(String(res.errors?.[0]?.message), /local-pv-gone: ENOENT/);

    // The next collect reuses each unchanged mount's attribute objects, values fresh.
    const again = await r.collect(ctx(5000));
    const sameObject = (name: string, mp: string) =>
      samples(again, name).find((x) => x.attributes.mountpoint === mp)?.attributes === samples(res, name).find((x) => x.attributes.mountpoint === mp)?.attributes;
    assert.ok(sameObject('kubelet_volume_stats_capacity_bytes', CSI));
    assert.ok(sameObject('node_filesystem_size_bytes', DATA));
    assert.ok(sameObject('nodemeter_filesystem_volume_error', GONE));
    assert.equal(valueAt(again, 'kubelet_volume_stats_capacity_bytes', CSI), s.blocks * s.bsize);
  } finally {
    await r.shutdown();
  }
});

void test('a hang past the collect deadline: the collect returns on time, the rest is reported', async () => {
  const over = fakeHost('deadline', true);
  const r = receiver({ ...over, statfs_timeout: 10_000 });
  await r.start();
  try {
    const t0 = Date.now();
    const res = await r.collect(ctx(400));
    const took = Date.now() - t0;
    assert.ok(took >= 350 && took < 1500, `took ${took} ms`);
    assert.equal(samples(res, 'nodemeter_filesystem_volume_error').find((x) => x.attributes.mountpoint === HUNG)?.attributes.reason, 'timeout');
    assert.ok(valueAt(res, 'kubelet_volume_stats_capacity_bytes', CSI) !== undefined);
    // An aborted request returns at once too.
    const ac = new AbortController();
    ac.abort();
    const t1 = Date.now();
    await r.collect(ctx(10_000, ac.signal));
    assert.ok(Date.now() - t1 < 300);
  } finally {
    releaseHang(join(over.root_path ?? '', HUNG));
    await r.shutdown();
  }
});

void test('a stuck mount: marked stuck, skipped quickly by later collects, recovered when it answers', async () => {
  const over = fakeHost('stuck', true);
  const reader = new TestReader();
  const provider = new MeterProvider({ readers: [reader] });
  const r = receiver({ ...over, statfs_timeout: 250, concurrency: 1 }, provider);
  await r.start();
  try {
    const first = await r.collect(ctx(5000));
    const err = (res: ReceiverResult) => samples(res, 'nodemeter_filesystem_volume_error').find((x) => x.attributes.mountpoint === HUNG)?.attributes.reason;
    assert.equal(err(first), 'timeout');
    assert.deepEqual([...r.stuckMounts.keys()], [join(over.root_path ?? '', HUNG)]);
    // With one thread, everything else still got probed by the replacement.
    assert.ok(valueAt(first, 'kubelet_volume_stats_capacity_bytes', CSI) !== undefined);

    const t0 = Date.now();
    const second = await r.collect(ctx(5000));
    assert.ok(Date.now() - t0 < 200, 'a stuck mount costs no wait');
    assert.equal(err(second), 'stuck');

    const { resourceMetrics } = await reader.collect();
    const self = resourceMetrics.scopeMetrics.flatMap((s) => s.metrics);
    assert.equal(self.find((m) => m.descriptor.name === 'nodemeter_filesystem_statfs_timeouts')?.dataPoints[0]?.value, 1);
    assert.equal(self.find((m) => m.descriptor.name === 'nodemeter_filesystem_stuck_mounts')?.dataPoints[0]?.value, 1);

    releaseHang(join(over.root_path ?? '', HUNG));
    const end = Date.now() + 3000;
    while (r.stuckMounts.size > 0 && Date.now() < end) await new Promise((res) => setTimeout(res, 10));
    const third = await r.collect(ctx(5000));
    assert.equal(err(third), undefined);
    assert.ok(valueAt(third, 'kubelet_volume_stats_capacity_bytes', HUNG) !== undefined);
  } finally {
    releaseHang(join(over.root_path ?? '', HUNG));
    await r.shutdown();
    await provider.shutdown();
  }
});

void test('an unreadable mount table is an error result, not a throw', async () => {
  const r = receiver({ mountinfo_path: join(dir, 'no-such-mountinfo') });
  try {
    const res = await r.collect(ctx(1000));
    assert.equal(res.scopeMetrics.metrics.length, 0);
    assert.match(String(res.errors?.[0]?.message), /no readable mount table/);
  } finally {
    await r.shutdown();
  }
});

void test('lifecycle: shutdown without start, twice; start/shutdown on fresh instances', async () => {
  const config = filesystemReceiverFactory.createDefaultConfig();
  const a = filesystemReceiverFactory.create(settings(), config);
  await a.shutdown();
  await a.shutdown();
  for (let i = 0; i < 2; i++) {
    const b = filesystemReceiverFactory.create(settings(), config);
    const t0 = Date.now();
    await b.start();
    assert.ok(Date.now() - t0 < 100, 'start returns quickly');
    assert.ok(samples(await b.collect(ctx(5000)), 'node_filesystem_size_bytes').length > 0);
    await b.shutdown();
    await b.shutdown();
    const after = await b.collect(ctx(1000));
    assert.ok((after.errors?.length ?? 0) > 0, 'collect after shutdown reports, not hangs');
  }
});
