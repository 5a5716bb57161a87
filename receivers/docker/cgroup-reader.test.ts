import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import type { SampleProblem } from './container-sample.ts';
import type { ContainerCgroup } from './cgroup-reader.ts';
import { detectCgroupVersion, locateContainerCgroup, readContainerSample } from './cgroup-reader.ts';

const FIXTURES = join(import.meta.dirname, 'testdata/cgroup');

function machine(name: string): { cgroupRoot: string; procRoot: string } {
  return { cgroupRoot: `${FIXTURES}/${name}/sys/fs/cgroup`, procRoot: `${FIXTURES}/${name}/proc` };
}

function locate(name: string, id: string, pid?: number): ContainerCgroup {
  const cg = locateContainerCgroup(machine(name), id, pid);
  assert.ok(cg, `${name}: ${id} not found`);
  return cg;
}

/** Problems as `<path relative to the fixtures>: <message>`, sorted, for exact comparison. */
function described(problems: readonly SampleProblem[]): string[] {
  return problems.map((p) => `${p.source.replace(`${FIXTURES}/`, '')}: ${p.message}`).sort();
}

const V1_CGROUPFS = '6f4c0d9073f3dc450ae72da9ae63287ae6fa8b877d64669994672108f93c419c';
const V1_PARTIAL = '679e94dd2c38e7b3c0ca691bdd5076c11cffb827fe1ee0c467a3ac77d6402606';
const V1_MISSING = '868142345ad6335cfb1dfe684d2665ab32a74a3f04f378b05bcee1a11d68735d';
const V1_SYSTEMD = '33bf693c69a8c16687e2b3ba5b49411e2df9688b054afde66db1e23ed2f7e1e6';
const V1_KUBE_BURSTABLE = '344c76fc935b70fc3970c5da1a29e7a73b87b9f498e155e1c2e6261aeb424dbc';
const V1_BROKEN = '459232c5aff9ce1a5d886f138f1cc04fdfc32204af45b9dc5f4b64e1e96e938e';
const V2_CGROUPFS = 'd41254dfe5bf4ecd4b67439e8a881f95b3d7689ab8f188f6aa8bd4d02ecc5f6a';
const V2_SYSTEMD = '35f95d053f6256a15931ba759eaadd3d9b59d74aa47e730a1cd95832a717472e';
const V2_LIMITED = 'f945b88de34c179ffd7479242b2fe0376f68cbf48d5400e7f2e30eab77c66f70';
const V2_BROKEN = '6326df05f667500df7207412f2c9e75db60e618855c037aaec4c1ed06a17e734';

void test('v1 cgroupfs: every mapping, from a located container and its pid', () => {
  const m = machine('v1-cgroupfs');
  const { sample, problems } = readContainerSample(locate('v1-cgroupfs', V1_CGROUPFS, 4242), m, 4242);
  assert.deepEqual(problems, []);
  assert.deepEqual(sample, {
    cpuUsageSeconds: 123456789012 / 1e9, // cpuacct.usage, ns
    cpuUserSeconds: 9000 / 100, // cpuacct.stat, USER_HZ ticks
    cpuSystemSeconds: 3000 / 100,
    cpuThrottledPeriods: 42,
    cpuThrottledSeconds: 1500000000 / 1e9, // cpu.stat throttled_time, ns
    memoryUsageBytes: 104857600,
    memoryWorkingSetBytes: 104857600 - 20971520, // usage − total_inactive_file (not inactive_file 1000)
    memoryRssBytes: 52428800, // total_rss, not rss
    memoryCacheBytes: 41943040, // total_cache, not cache
    memoryLimitBytes: 0, // 9223372036854771712 ≥ 2^62: no limit
    pids: 7,
    // blkio.throttle.io_service_bytes_recursive, preferred to the non-recursive file (8:0 Read 1 Write 2)
    blockIo: [
      { major: 8, minor: 0, readBytes: 4096, writeBytes: 8192 },
      { major: 253, minor: 1, readBytes: 1048576, writeBytes: 0 },
    ],
    // lo left out; eth1's name touches its first number
    networks: [
      {
        interface: 'eth0',
        receiveBytes: 15823456,
        receivePackets: 10234,
        receiveErrors: 1,
        receiveDropped: 2,
        transmitBytes: 2345678,
        transmitPackets: 8765,
        transmitErrors: 3,
        transmitDropped: 4,
      },
      {
        interface: 'eth1',
        receiveBytes: 1234567890,
        receivePackets: 987654,
        receiveErrors: 0,
        receiveDropped: 0,
        transmitBytes: 98765432,
        transmitPackets: 123456,
        transmitErrors: 0,
        transmitDropped: 7,
      },
    ],
  });
});

void test('v1 systemd with cpu,cpuacct: working set floored at 0, a real limit, non-recursive blkio fallback, no pid no networks', () => {
  const { sample, problems } = readContainerSample(locate('v1-systemd', V1_SYSTEMD), machine('v1-systemd'));
  assert.deepEqual(problems, []);
  assert.deepEqual(sample, {
    cpuUsageSeconds: 5000000000 / 1e9,
    cpuUserSeconds: 321 / 100,
    cpuSystemSeconds: 123 / 100,
    cpuThrottledPeriods: 0,
    cpuThrottledSeconds: 0,
    memoryUsageBytes: 1048576,
    memoryWorkingSetBytes: 0, // 1048576 − 2097152 < 0
    memoryRssBytes: 524288,
    memoryCacheBytes: 2621440,
    memoryLimitBytes: 536870912,
    pids: 3,
    blockIo: [
      { major: 8, minor: 0, readBytes: 512, writeBytes: 1024 },
      { major: 8, minor: 16, readBytes: 0, writeBytes: 0 }, // both zero: kept
    ],
  });
});

void test('v1 kubepods: CFQ blkio.io_service_bytes_recursive as the last fallback', () => {
  const { sample, problems } = readContainerSample(locate('v1-kubepods', V1_KUBE_BURSTABLE), machine('v1-kubepods'));
  assert.deepEqual(problems, []);
  assert.deepEqual(sample.blockIo, [{ major: 8, minor: 0, readBytes: 65536, writeBytes: 131072 }]);
  assert.equal(sample.memoryWorkingSetBytes, 2097152 - 524288);
  assert.equal(sample.memoryLimitBytes, 134217728);
  assert.equal(sample.cpuUsageSeconds, 7000000 / 1e9);
});

void test('v2 cgroupfs: every mapping (a 5.10 cpu.stat without burst lines)', () => {
  const { sample, problems } = readContainerSample(locate('v2-cgroupfs', V2_CGROUPFS, 6161), machine('v2-cgroupfs'), 6161);
  assert.deepEqual(problems, []);
  assert.deepEqual(sample, {
    cpuUsageSeconds: 2500000 / 1e6, // usec
    cpuUserSeconds: 1500000 / 1e6,
    cpuSystemSeconds: 1000000 / 1e6,
    cpuThrottledPeriods: 3,
    cpuThrottledSeconds: 250000 / 1e6,
    memoryUsageBytes: 73400320, // memory.current
    memoryWorkingSetBytes: 73400320 - 10485760, // − inactive_file
    memoryRssBytes: 31457280, // anon
    memoryCacheBytes: 20971520, // file (not file_mapped, file_dirty…)
    memoryLimitBytes: 268435456,
    pids: 4,
    blockIo: [
      { major: 259, minor: 0, readBytes: 20480000, writeBytes: 40960000 },
      { major: 253, minor: 0, readBytes: 4096, writeBytes: 0 },
    ],
    networks: [
      {
        interface: 'eth0',
        receiveBytes: 3200,
        receivePackets: 40,
        receiveErrors: 0,
        receiveDropped: 0,
        transmitBytes: 1800,
        transmitPackets: 20,
        transmitErrors: 0,
        transmitDropped: 1,
      },
    ],
  });
});

void test('v2 systemd: memory.max "max" → 0, an empty io.stat → no devices, newer cpu.stat lines ignored', () => {
  const { sample, problems } = readContainerSample(locate('v2-systemd', V2_SYSTEMD, 7171), machine('v2-systemd'));
  assert.deepEqual(problems, []);
  assert.deepEqual(sample, {
    cpuUsageSeconds: 987654321 / 1e6,
    cpuUserSeconds: 654321000 / 1e6,
    cpuSystemSeconds: 333333321 / 1e6,
    cpuThrottledPeriods: 0,
    cpuThrottledSeconds: 0,
    memoryUsageBytes: 209715200,
    memoryWorkingSetBytes: 209715200 - 52428800,
    memoryRssBytes: 104857600,
    memoryCacheBytes: 94371840,
    memoryLimitBytes: 0,
    pids: 12,
    blockIo: [],
  });
});

void test('v2 controllers not enabled for the cgroup: their fields undefined, no problems', () => {
  // cgroup.controllers is "memory": cpu.stat has only the core lines, no pids.current, no io.stat.
  const { sample, problems } = readContainerSample(locate('v2-systemd', V2_LIMITED), machine('v2-systemd'));
  assert.deepEqual(problems, []);
  assert.deepEqual(sample, {
    cpuUsageSeconds: 1000 / 1e6,
    cpuUserSeconds: 600 / 1e6,
    cpuSystemSeconds: 400 / 1e6,
    memoryUsageBytes: 4096000,
    memoryWorkingSetBytes: 4096000 - 512000,
    memoryRssBytes: 2048000,
    memoryCacheBytes: 1024000,
    memoryLimitBytes: 104857600,
  });
});

void test('v1 controllers not found for the container: their fields undefined, no problems', () => {
  const cg = locate('v1-cgroupfs', V1_PARTIAL);
  assert.deepEqual(Object.keys(cg.version === 1 ? cg.dirs : {}).sort(), ['cpuacct', 'memory']);
  const { sample, problems } = readContainerSample(cg, machine('v1-cgroupfs'));
  assert.deepEqual(problems, []);
  assert.deepEqual(sample, {
    cpuUsageSeconds: 2,
    cpuUserSeconds: 1.5,
    cpuSystemSeconds: 0.5,
    memoryUsageBytes: 8388608,
    memoryWorkingSetBytes: 8388608 - 1048576,
    memoryRssBytes: 2097152,
    memoryCacheBytes: 4194304,
    memoryLimitBytes: 268435456,
  });
});

void test('missing files in existing directories: a problem each, naming the file; the other fields still read', () => {
  const { sample, problems } = readContainerSample(locate('v1-cgroupfs', V1_MISSING), machine('v1-cgroupfs'));
  assert.deepEqual(described(problems), [
    `v1-cgroupfs/sys/fs/cgroup/cpuacct/docker/${V1_MISSING}/cpuacct.stat: file is missing`,
    `v1-cgroupfs/sys/fs/cgroup/memory/docker/${V1_MISSING}/memory.stat: file is missing`,
  ]);
  assert.deepEqual(sample, { cpuUsageSeconds: 1000000 / 1e9, memoryUsageBytes: 4096, memoryLimitBytes: 1073741824 });
});

void test('a cgroup or process gone since it was located: one problem per directory, not per file', () => {
  const gone = `${FIXTURES}/v1-cgroupfs/sys/fs/cgroup/memory/docker/gone`;
  const v1 = readContainerSample({ version: 1, dirs: { memory: gone, cpu: gone, blkio: gone } }, machine('v1-cgroupfs'), 99999);
  assert.deepEqual(v1.sample, {});
  assert.deepEqual(described(v1.problems), [
    'v1-cgroupfs/proc/99999/net: directory no longer exists (container or process gone?)',
    'v1-cgroupfs/sys/fs/cgroup/memory/docker/gone: directory no longer exists (container or process gone?)',
  ]);
  const v2 = readContainerSample({ version: 2, dir: `${FIXTURES}/v2-cgroupfs/sys/fs/cgroup/docker/gone` }, machine('v2-cgroupfs'));
  assert.deepEqual(v2.sample, {});
  assert.deepEqual(described(v2.problems), ['v2-cgroupfs/sys/fs/cgroup/docker/gone: directory no longer exists (container or process gone?)']);
});

void test('v1 malformed files: problems name the file and line; the rest is read', () => {
  const dir = (c: string) => `v1-broken/sys/fs/cgroup/${c}/docker/${V1_BROKEN}`;
  const { sample, problems } = readContainerSample(locate('v1-broken', V1_BROKEN), machine('v1-broken'), 8181);
  assert.deepEqual(described(problems), [
    'v1-broken/proc/8181/net/dev: line 4 "  eth0: 100 2 0 0 0": expected 16 counters, found 5',
    'v1-broken/proc/8181/net/dev: line 5 "  eth1:     100       2    0    0    0     0          0         0      3e2       4    0    0    0     0       0          0": tx_bytes is not a decimal integer',
    `${dir('blkio')}/blkio.throttle.io_service_bytes_recursive: line 2 "8:0 Write 4k": byte count is not a decimal integer`,
    `${dir('blkio')}/blkio.throttle.io_service_bytes_recursive: line 5 "8:32 Read": expected "<major>:<minor> <operation> <bytes>"`,
    `${dir('cpu')}/cpu.stat: line 2 "nr_throttled": expected "<key> <decimal integer>"`,
    `${dir('cpuacct')}/cpuacct.stat: line 1 "user 12x": expected "<key> <decimal integer>"`,
    `${dir('cpuacct')}/cpuacct.usage: file is missing`,
    `${dir('memory')}/memory.limit_in_bytes: file is empty`,
    `${dir('memory')}/memory.stat: no "total_cache" line`,
    `${dir('memory')}/memory.usage_in_bytes: line 1 "-4096": not a decimal integer`,
  ]);
  assert.deepEqual(sample, {
    cpuSystemSeconds: 300 / 100,
    cpuThrottledSeconds: 5000 / 1e9,
    memoryRssBytes: 8192,
    // no working set: usage is unreadable
    pids: 5,
    blockIo: [{ major: 8, minor: 16, readBytes: 100, writeBytes: 200 }], // 8:0 and 8:32 had bad lines
    networks: [
      {
        interface: 'eth2',
        receiveBytes: 500,
        receivePackets: 5,
        receiveErrors: 0,
        receiveDropped: 0,
        transmitBytes: 600,
        transmitPackets: 6,
        transmitErrors: 0,
        transmitDropped: 0,
      },
    ],
  });
});

void test('v2 malformed files: problems name the file and line; the rest is read', () => {
  const dir = `v2-broken/sys/fs/cgroup/docker/${V2_BROKEN}`;
  const { sample, problems } = readContainerSample(locate('v2-broken', V2_BROKEN), machine('v2-broken'));
  assert.deepEqual(described(problems), [
    `${dir}/cpu.stat: line 2 "user_usec abc": expected "<key> <decimal integer>"`,
    `${dir}/cpu.stat: no "throttled_usec" line`, // the cpu controller is enabled, so the line should be there
    `${dir}/io.stat: line 1 "8:0 rbytes=1 wbytes=x rios=1 wios=1 dbytes=0 dios=0": expected "<major>:<minor> rbytes=<n> wbytes=<n> …"`,
    `${dir}/io.stat: line 3 "8:32 rios=1 wios=1": expected "<major>:<minor> rbytes=<n> wbytes=<n> …"`,
    `${dir}/memory.max: line 1 "512M": not a decimal integer`,
    `${dir}/memory.stat: line 1 "anon": expected "<key> <decimal integer>"`,
    `${dir}/pids.current: file is missing`, // pids is in cgroup.controllers
  ]);
  assert.deepEqual(sample, {
    cpuUsageSeconds: 100 / 1e6,
    cpuSystemSeconds: 50 / 1e6,
    cpuThrottledPeriods: 0,
    memoryUsageBytes: 1000000,
    memoryWorkingSetBytes: 1000000 - 200000,
    memoryCacheBytes: 500000,
    blockIo: [{ major: 8, minor: 16, readBytes: 10, writeBytes: 20 }],
  });
});

/** Keeps one CPU busy for `ms` of this process's CPU time. */
function burnCpu(ms: number): void {
  const start = process.cpuUsage();
  let x = 0;
  while ((process.cpuUsage(start).user + process.cpuUsage(start).system) / 1000 < ms) x += Math.sqrt(x + 1);
  assert.ok(x > 0);
}

void test('this machine: locates the test process by its pid and reads plausible, moving numbers', { skip: process.platform !== 'linux' }, () => {
  const options = { cgroupRoot: '/sys/fs/cgroup', procRoot: '/proc' };
  const pid = process.pid;
  const cg = locateContainerCgroup(options, 'not-a-container', pid);
  assert.ok(cg, 'own cgroup not found');

  // The located directories are exactly the ones /proc/self/cgroup names.
  const lines = readFileSync('/proc/self/cgroup', 'utf8').trim().split('\n');
  const pathOf = (controller: string): string | undefined => {
    const line = lines.find((l) => l.split(':')[1]?.split(',').includes(controller));
    const path = line?.slice(line.indexOf(':', line.indexOf(':') + 1) + 1);
    return path === '/' ? '' : path;
  };
  if (detectCgroupVersion(options.cgroupRoot) === 1) {
    assert.equal(cg.version, 1);
    if (cg.version === 1) {
      assert.equal(cg.dirs.memory, `/sys/fs/cgroup/memory${pathOf('memory')}`);
      assert.match(cg.dirs.cpuacct ?? '', new RegExp(`^/sys/fs/cgroup/[a-z,]*cpuacct[a-z,]*${pathOf('cpuacct') ?? ''}$`));
    }
  } else {
    const path = lines.find((l) => l.startsWith('0::'))?.slice(3);
    assert.deepEqual(cg, { version: 2, dir: `/sys/fs/cgroup${path === '/' ? '' : path}` });
  }

  const before = readContainerSample(cg, options, pid);
  burnCpu(100);
  const ballast = Buffer.alloc(64 * 1024 * 1024);
  ballast.fill(1); // touch every page so it is charged to this cgroup as anonymous memory
  const after = readContainerSample(cg, options, pid);
  assert.equal(ballast[ballast.length - 1], 1);

  // The only problem allowed: no pids.current in a root cgroup (this VM runs tests in the pids root).
  for (const { problems, sample } of [before, after]) {
    assert.deepEqual(problems.filter((p) => !p.source.endsWith('/pids.current')), []);
    if (sample.pids === undefined) assert.equal(problems.length, 1);
    else assert.ok(sample.pids >= 1);
  }
  const s0 = before.sample;
  const s1 = after.sample;
  for (const key of ['cpuUsageSeconds', 'cpuUserSeconds', 'cpuSystemSeconds', 'memoryUsageBytes', 'memoryWorkingSetBytes', 'memoryRssBytes', 'memoryCacheBytes', 'memoryLimitBytes'] as const) {
    const value = s1[key];
    assert.ok(typeof value === 'number' && Number.isFinite(value) && value >= 0, `${key}: ${value}`);
  }
  // 100 ms of our CPU time is in the cgroup's usage (the whole machine's, when we are in the root).
  assert.ok((s1.cpuUsageSeconds ?? 0) - (s0.cpuUsageSeconds ?? 0) >= 0.08, `cpu usage ${s0.cpuUsageSeconds} → ${s1.cpuUsageSeconds}`);
  assert.ok((s1.cpuUserSeconds ?? 0) + (s1.cpuSystemSeconds ?? 0) > 0);
  // 64 MiB of touched anonymous memory shows in rss (some slack for other processes of the cgroup).
  const rssGrowth = (s1.memoryRssBytes ?? 0) - (s0.memoryRssBytes ?? 0);
  assert.ok(rssGrowth >= 32 * 1024 * 1024, `rss grew by ${rssGrowth}`);
  assert.ok((s1.memoryUsageBytes ?? 0) >= 64 * 1024 * 1024);
  assert.ok((s1.memoryWorkingSetBytes ?? Infinity) <= (s1.memoryUsageBytes ?? 0));
  assert.ok(Array.isArray(s1.blockIo));

  // Every interface of our network namespace except lo.
  const interfaces = readFileSync(`/proc/${pid}/net/dev`, 'utf8').split('\n').slice(2).filter((l) => l.includes(':')).map((l) => l.split(':')[0]?.trim());
  assert.deepEqual(s1.networks?.map((n) => n.interface), interfaces.filter((name) => name !== 'lo'));
  for (const n of s1.networks ?? []) assert.ok(Number.isInteger(n.receiveBytes) && Number.isInteger(n.transmitPackets));
});
