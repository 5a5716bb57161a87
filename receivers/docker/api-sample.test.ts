// The Engine API's stats and inspect replies as the receiver sees them: cAdvisor semantics from
// cgroup v1 and v2 daemons alike, Kubernetes names, chosen labels and environment, exclusions.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { sampleFromStats } from './api-sample.ts';
import { containerInfo, type InfoOptions } from './container-info.ts';
import type { ContainerInspect, EngineStats } from './engine-types.ts';
import { compilePatterns } from './name-patterns.ts';

// Shaped like dockerd 20.10's reply on a cgroup v1 host (trimmed, real field names and units).
const V1_STATS: EngineStats = {
  read: '2026-11-21T20:22:33.4321724Z',
  pids_stats: { current: 3 },
  blkio_stats: {
    io_service_bytes_recursive: [
      { major: 8, minor: 0, op: 'Read', value: 4096 },
      { major: 8, minor: 0, op: 'Write', value: 12288 },
      { major: 8, minor: 0, op: 'Sync', value: 12288 },
      { major: 8, minor: 0, op: 'Total', value: 16384 },
      { major: 253, minor: 1, op: 'Write', value: 512 },
    ],
  },
  cpu_stats: {
    cpu_usage: { total_usage: 7474177101, usage_in_kernelmode: 20000000, usage_in_usermode: 7450000000 },
    throttling_data: { periods: 120, throttled_periods: 7, throttled_time: 350000000 },
  },
  memory_stats: {
    usage: 589824,
    limit: 67108864,
    stats: { total_inactive_file: 131072, total_rss: 61440, total_cache: 262144, inactive_file: 4096, rss: 61440, cache: 0 },
  },
  networks: {
    eth0: { rx_bytes: 6740, rx_packets: 50, rx_errors: 1, rx_dropped: 2, tx_bytes: 512, tx_packets: 6, tx_errors: 0, tx_dropped: 3 },
  },
};

// A cgroup v2 daemon: memory.stat keys without total_, lowercase blkio ops, no throttling periods.
const V2_STATS: EngineStats = {
  pids_stats: { current: 1 },
  blkio_stats: { io_service_bytes_recursive: [{ major: 259, minor: 0, op: 'read', value: 100 }, { major: 259, minor: 0, op: 'write', value: 200 }] },
  cpu_stats: { cpu_usage: { total_usage: 2500000000, usage_in_kernelmode: 500000000, usage_in_usermode: 2000000000 }, throttling_data: { periods: 0, throttled_periods: 0, throttled_time: 0 } },
  memory_stats: { usage: 1000, stats: { inactive_file: 4000, anon: 700, file: 300 } },
  networks: null,
};

describe('API stats as a container sample', () => {
  it('maps a cgroup v1 reply with cAdvisor semantics', () => {
    const { sample, problems } = sampleFromStats(V1_STATS, 67108864);
    assert.deepEqual(problems, []);
    assert.equal(sample.cpuUsageSeconds, 7.474177101);
    assert.equal(sample.cpuUserSeconds, 7.45);
    assert.equal(sample.cpuSystemSeconds, 0.02);
    assert.equal(sample.cpuThrottledPeriods, 7);
    assert.equal(sample.cpuThrottledSeconds, 0.35);
    assert.equal(sample.memoryUsageBytes, 589824);
    assert.equal(sample.memoryWorkingSetBytes, 589824 - 131072, 'usage − total_inactive_file');
    assert.equal(sample.memoryRssBytes, 61440, 'total_rss, not rss');
    assert.equal(sample.memoryCacheBytes, 262144, 'total_cache, not cache');
    assert.equal(sample.memoryLimitBytes, 67108864);
    assert.equal(sample.pids, 3);
    assert.deepEqual(sample.blockIo, [
      { major: 8, minor: 0, readBytes: 4096, writeBytes: 12288 },
      { major: 253, minor: 1, readBytes: 0, writeBytes: 512 },
    ]);
    assert.deepEqual(sample.networks, [
      { interface: 'eth0', receiveBytes: 6740, receivePackets: 50, receiveErrors: 1, receiveDropped: 2, transmitBytes: 512, transmitPackets: 6, transmitErrors: 0, transmitDropped: 3 },
    ]);
  });

  it('maps a cgroup v2 reply, and floors the working set at 0', () => {
    const { sample } = sampleFromStats(V2_STATS, 0);
    assert.equal(sample.cpuUsageSeconds, 2.5);
    assert.equal(sample.memoryWorkingSetBytes, 0, 'inactive_file above usage');
    assert.equal(sample.memoryRssBytes, 700);
    assert.equal(sample.memoryCacheBytes, 300);
    assert.equal(sample.memoryLimitBytes, 0);
    assert.deepEqual(sample.blockIo, [{ major: 259, minor: 0, readBytes: 100, writeBytes: 200 }]);
    assert.deepEqual(sample.networks, []);
  });

  it('leaves out what the daemon did not send and says so', () => {
    const { sample, problems } = sampleFromStats({ read: 'x' }, 0);
    assert.equal(sample.cpuUsageSeconds, undefined);
    assert.equal(sample.memoryUsageBytes, undefined);
    assert.equal(sample.memoryWorkingSetBytes, undefined);
    assert.deepEqual(
      problems.map((p) => p.source),
      ['cpu_stats.cpu_usage', 'memory_stats.usage'],
    );
  });
});

const NO_OPTIONS: InfoOptions = { labelsToMetricLabels: {}, envToMetricLabels: {}, isExcludedImage: () => false, isExcludedName: () => false };

const POD_CONTAINER: ContainerInspect = {
  Id: 'f00d'.repeat(16),
  Name: '/k8s_web_shop-7d9f_shop_0b1c_0',
  State: { Running: true, Pid: 4242, StartedAt: '2026-11-21T10:00:00.5Z', Health: { Status: 'healthy' } },
  Config: {
    Image: 'registry.example/shop/web:1.4',
    Env: ['PATH=/bin', 'APP_TIER=frontend', 'DB_PASSWORD=hunter2', 'EMPTY'],
    Labels: { 'io.kubernetes.pod.namespace': 'shop', 'io.kubernetes.pod.name': 'shop-7d9f', 'io.kubernetes.container.name': 'web', team: 'payments' },
  },
  HostConfig: { Memory: 268435456 },
};

describe('container info from inspect', () => {
  it('labels id, name without the slash, image and the Kubernetes names', () => {
    const info = containerInfo(POD_CONTAINER, NO_OPTIONS);
    assert.deepEqual(info.attributes, { id: POD_CONTAINER.Id, name: 'k8s_web_shop-7d9f_shop_0b1c_0', image: 'registry.example/shop/web:1.4', namespace: 'shop', pod: 'shop-7d9f', container: 'web' });
    assert.equal(info.running, true);
    assert.equal(info.pid, 4242);
    assert.equal(info.health, 'healthy');
    assert.equal(info.memoryLimitBytes, 268435456);
    assert.equal(info.startedAtMs, Date.parse('2026-11-21T10:00:00.5Z'));
  });

  it('adds only the chosen Docker labels and environment variables; secrets stay out unless named', () => {
    const info = containerInfo(POD_CONTAINER, { ...NO_OPTIONS, labelsToMetricLabels: { team: 'team', absent: 'x' }, envToMetricLabels: { APP_TIER: 'tier', EMPTY: 'empty' } });
    assert.equal(info.attributes.team, 'payments');
    assert.equal(info.attributes.tier, 'frontend');
    assert.equal(info.attributes.empty, '');
    assert.equal(info.attributes.x, undefined);
    assert.ok(!JSON.stringify(info.attributes).includes('hunter2'));
  });

  it('a stopped container has no pid; no health check is "none"; a zero start time is unknown', () => {
    const info = containerInfo({ Id: 'a', Name: '/a', State: { Running: false, Pid: 0, StartedAt: '0001-01-01T00:00:00Z' }, Config: { Image: 'busybox' } }, NO_OPTIONS);
    assert.equal(info.running, false);
    assert.equal(info.pid, 0);
    assert.equal(info.health, 'none');
    assert.equal(info.startedAtMs, undefined);
    assert.equal(info.memoryLimitBytes, 0);
  });

  it('marks containers excluded by image or name pattern', () => {
    const options = { ...NO_OPTIONS, isExcludedImage: compilePatterns(['registry.example/*']), isExcludedName: compilePatterns(['/^k8s_POD_/']) };
    assert.equal(containerInfo(POD_CONTAINER, options).excluded, true);
    assert.equal(containerInfo({ ...POD_CONTAINER, Config: { Image: 'other/web' } }, options).excluded, false);
    assert.equal(containerInfo({ ...POD_CONTAINER, Name: '/k8s_POD_x', Config: { Image: 'pause' } }, options).excluded, true);
  });
});

describe('exclusion patterns', () => {
  it('globs match the whole value; /regexp/ is searched; special characters are literal in globs', () => {
    const m = compilePatterns(['busybox:*', 'exact', 'a?c', '/^k8s_POD_/', 'dots.and+plus']);
    assert.ok(m('busybox:1.36'));
    assert.ok(!m('my/busybox:1'));
    assert.ok(m('exact') && !m('exactly'));
    assert.ok(m('abc') && !m('abbc'));
    assert.ok(m('k8s_POD_shop'));
    assert.ok(m('dots.and+plus') && !m('dotsXand+plus'));
  });

  it('a bad regexp names itself', () => {
    assert.throws(() => compilePatterns(['/(/']), /"\/\(\/" is not a valid regular expression/);
  });
});
