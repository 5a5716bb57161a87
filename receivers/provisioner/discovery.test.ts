import assert from 'node:assert/strict';
import { statfsSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import convict from 'convict';
import pino from 'pino';
import { FakeKube, meta, pv, T0 } from '../../kube/testing.ts';
import { collectContext } from '../../pipeline/deadline.ts';
import { testSettings } from '../../pipeline/testing.ts';
import { parseMountinfo } from '../filesystem/mountinfo.ts';
import type { ProbeOutcome } from '../filesystem/statfs-pool.ts';
import { defaultConfig, schema, validateConfig, type DiscoveryDirectoryConfig } from './config.ts';
import { claimedPaths, deviceNumbers, discoveryDirectories, discoverySamples, isMountPoint, linkTarget, mountPoints, type DiscoveryDirectory } from './discovery.ts';
import { LocalDiscovery } from './local-discovery.ts';
import { namePatternProblem, namePatternRegExp } from './name-pattern.ts';
import { ProvisionerReceiver } from './provisioner-receiver.ts';
import { Clock, NODE, series } from './testing.ts';

const matches = (pattern: string, name: string): boolean => namePatternRegExp(pattern).test(name);

/** A mountinfo line mounting a tmpfs at `mountPoint` (spaces escaped as the kernel does). */
function mountLine(id: number, mountPoint: string): string {
  return `${id} 1 0:${id} / ${mountPoint.replace(/ /g, '\\040')} rw,relatime shared:1 - tmpfs tmpfs rw`;
}

/** A local PV of `nodeName` (hostname affinity) at `path`. */
function localPv(name: string, path: string, overrides: Parameters<typeof pv>[1] = {}) {
  return pv(name, { sourceType: 'local', path, storageClass: 'fast-disks', nodeAffinity: { 'kubernetes.io/hostname': [NODE] }, ...overrides });
}

function loadConfig(value: unknown) {
  return convict(schema).load({ discovery_directories: value }).validate({ allowed: 'strict' });
}

function capturingLogger() {
  const lines: Array<{ level: number; msg: string; path?: string }> = [];
  const logger = pino({ level: 'debug' }, { write: (line: string) => void lines.push(JSON.parse(line) as { level: number; msg: string; path?: string }) });
  return { lines, logger };
}

/** A statfs pool stand-in answering from statfsSync, or with `fail` for the paths it names. */
function syncPool(fail: Record<string, ProbeOutcome> = {}) {
  return {
    probeMany: (paths: readonly string[]): Promise<ProbeOutcome[]> =>
      Promise.resolve(
        paths.map((p): ProbeOutcome => {
          if (fail[p]) return fail[p];
          const s = statfsSync(p);
          return { ok: true, stats: { type: s.type, bsize: s.bsize, blocks: s.blocks, bfree: s.bfree, bavail: s.bavail, files: s.files, ffree: s.ffree } };
        }),
      ),
  };
}

describe('discovery name patterns (Go filepath.Match syntax)', () => {
  it('* and ? match within a name, everything else literally, the whole name', () => {
    assert.ok(matches('*', 'local-pv-1'));
    assert.ok(matches('*', '.hidden'), 'as Go: * matches a leading dot');
    assert.ok(matches('vol-?', 'vol-1'));
    assert.ok(!matches('vol-?', 'vol-10'));
    assert.ok(matches('ssd*', 'ssd0'));
    assert.ok(!matches('ssd*', 'xssd0'), 'anchored at the start');
    assert.ok(!matches('ssd', 'ssd0'), 'anchored at the end');
    assert.ok(matches('a.b+(c)', 'a.b+(c)'));
    assert.ok(!matches('a.b', 'axb'), 'a dot is a dot');
    assert.ok(matches('{x}|$^', '{x}|$^'));
  });

  it('character classes: sets, ranges, negation, escapes', () => {
    assert.ok(matches('disk[0-9]', 'disk7'));
    assert.ok(!matches('disk[0-9]', 'diska'));
    assert.ok(matches('disk[^0-9]', 'diska'));
    assert.ok(!matches('disk[^0-9]', 'disk3'));
    assert.ok(matches('[ab-]x', '-x'), 'a dash before ] is literal');
    assert.ok(matches('[\\]]', ']'));
    assert.ok(matches('[\\^a]', '^'));
    assert.ok(matches('\\*', '*'));
    assert.ok(!matches('\\*', 'a'));
    assert.ok(matches('[α-ω]', 'λ'), 'one character, not one byte');
  });

  it('malformed patterns are reported', () => {
    assert.match(namePatternProblem('disk[0-9') ?? '', /unclosed/);
    assert.match(namePatternProblem('[]') ?? '', /empty character class/);
    assert.match(namePatternProblem('[z-a]') ?? '', /reversed range/);
    assert.match(namePatternProblem('abc\\') ?? '', /cut short/);
    assert.equal(namePatternProblem('local-*'), undefined);
  });
});

describe('discovery config', () => {
  it('defaults: no directories, no root path, the host table, 5 s statfs', () => {
    const d = defaultConfig();
    assert.deepEqual(d.discovery_directories, []);
    assert.equal(d.root_path, '');
    assert.equal(d.mountinfo_path, '');
    assert.equal(d.statfs_timeout, 5000);
  });

  it('a valid list loads as written; defaults are filled in by discoveryDirectories', () => {
    const list: DiscoveryDirectoryConfig[] = [
      { storage_class: 'fast-disks', host_dir: '/mnt/fast-disks/' },
      { storage_class: 'raw', host_dir: '/mnt/raw', mount_dir: '/raw', volume_mode: 'Block', name_pattern: 'nvme*' },
    ];
    const config = loadConfig(list).getProperties() as ReturnType<typeof defaultConfig>;
    assert.deepEqual(config.discovery_directories, list);
    assert.deepEqual(validateConfig(config), []);
    const dirs = discoveryDirectories(config);
    assert.deepEqual(
      dirs.map(({ match: _m, ...d }) => d),
      [
        { storageClass: 'fast-disks', hostDir: '/mnt/fast-disks', mountDir: '/mnt/fast-disks', mode: 'Filesystem', namePattern: '*' },
        { storageClass: 'raw', hostDir: '/mnt/raw', mountDir: '/raw', mode: 'Block', namePattern: 'nvme*' },
      ],
    );
    const rooted = discoveryDirectories({ ...config, root_path: '/host/' });
    assert.equal(rooted[0]?.mountDir, '/host/mnt/fast-disks', 'mount_dir defaults to <root_path><host_dir>');
    assert.equal(rooted[1]?.mountDir, '/raw', 'an explicit mount_dir is used as written');
  });

  it('errors name the item and the key', () => {
    const cases: Array<[unknown, RegExp]> = [
      ['/mnt/disks', /must be a list of discovery directories/],
      [[{ host_dir: '/a' }], /item 0: "storage_class" must be a non-empty string/],
      [[{ storage_class: 'x', host_dir: '/a' }, { storage_class: 'y', host_dir: 'mnt/b' }], /item 1: "host_dir" must be an absolute path/],
      [[{ storage_class: 'x', host_dir: '/a', mount_dir: 'a' }], /item 0: "mount_dir" must be an absolute path/],
      [[{ storage_class: 'x', host_dir: '/a', volume_mode: 'block' }], /item 0: "volume_mode" must be one of Filesystem, Block, got "block"/],
      [[{ storage_class: 'x', host_dir: '/a', name_pattern: 'disk[' }], /item 0: "name_pattern" is not a pattern: unclosed/],
      [[{ storage_class: 'x', host_dir: '/a', hostDir: '/b' }], /item 0: unknown key "hostDir"/],
      [['/mnt/disks'], /item 0 must be a map/],
    ];
    for (const [value, message] of cases) assert.throws(() => loadConfig(value), message, JSON.stringify(value));
  });

  it('the same host directory twice, a relative root_path and a zero statfs_timeout are rejected', () => {
    const problems = validateConfig({
      ...defaultConfig(),
      root_path: 'host',
      statfs_timeout: 0,
      discovery_directories: [
        { storage_class: 'a', host_dir: '/mnt/disks' },
        { storage_class: 'b', host_dir: '/mnt/disks/' },
      ],
    });
    assert.deepEqual(
      problems.map((p) => p.path),
      ['root_path', 'statfs_timeout', 'discovery_directories'],
    );
    assert.match(problems[2]?.message ?? '', /item 1: "host_dir" \/mnt\/disks is item 0's too/);
  });
});

describe('discovery: mount points, claims, links, device numbers', () => {
  it("a host table (root_path prefixed when read) and the agent's own table (root_path stripped) both give host paths", () => {
    const hostView = parseMountinfo([mountLine(10, '/'), mountLine(11, '/mnt/disks/vol1'), mountLine(12, '/mnt/disks/my vol')].join('\n')).mounts;
    const points = mountPoints(hostView, '/host');
    assert.ok(isMountPoint(points, '/mnt/disks/vol1', '/host/mnt/disks/vol1'));
    assert.ok(isMountPoint(points, '/mnt/disks/my vol', '/host/mnt/disks/my vol'), 'octal escapes decoded');
    assert.ok(!isMountPoint(points, '/mnt/disks/vol2', '/host/mnt/disks/vol2'));
    const agentView = parseMountinfo([mountLine(20, '/'), mountLine(21, '/host'), mountLine(22, '/host/mnt/disks/vol1')].join('\n')).mounts;
    assert.ok(isMountPoint(mountPoints(agentView, '/host'), '/mnt/disks/vol1', '/host/mnt/disks/vol1'));
    // The directory mounted into the container at its own path: the agent's table lists the mount_dir path.
    const container = parseMountinfo([mountLine(30, '/'), mountLine(31, '/disks'), mountLine(32, '/disks/vol1')].join('\n')).mounts;
    const viaMountDir = mountPoints(container, '');
    assert.ok(isMountPoint(viaMountDir, '/mnt/disks/vol1', '/disks/vol1'));
    assert.ok(!isMountPoint(viaMountDir, '/mnt/disks/vol2', '/disks/vol2'));
  });

  it("claims: live local PVs of this node, any phase, by local.path (normalised)", () => {
    const kube = new FakeKube();
    kube.nodes = [meta(NODE, '', { 'kubernetes.io/hostname': 'host-a' })];
    kube.pvs = [
      localPv('bound', '/mnt/disks/vol1'),
      localPv('released', '/mnt/disks/vol2/', { phase: 'Released' }),
      localPv('by-label', '/mnt/disks/vol3', { nodeAffinity: { 'kubernetes.io/hostname': ['host-a'] } }),
      localPv('other-node', '/mnt/disks/vol4', { nodeAffinity: { 'kubernetes.io/hostname': ['node-b'] } }),
      localPv('deleted', '/mnt/disks/vol5', { deletedAt: T0 }),
      pv('hostpath', { sourceType: 'hostPath', path: '/mnt/disks/vol6', nodeAffinity: { 'kubernetes.io/hostname': [NODE] } }),
      localPv('no-affinity', '/mnt/disks/vol7', { nodeAffinity: {} }),
    ];
    const claimed = claimedPaths(kube, { name: NODE, affinityKey: 'kubernetes.io/hostname', label: 'host-a' });
    assert.deepEqual([...claimed].sort(), ['/mnt/disks/vol1', '/mnt/disks/vol2', '/mnt/disks/vol3']);
  });

  it('link targets: absolute ones are host paths under root_path, relative ones from the link', () => {
    assert.equal(linkTarget('/mnt/raw/disk1', '/dev/disk/by-id/nvme-x', ''), '/dev/disk/by-id/nvme-x');
    assert.equal(linkTarget('/host/mnt/raw/disk1', '/dev/disk/by-id/nvme-x', '/host'), '/host/dev/disk/by-id/nvme-x');
    assert.equal(linkTarget('/host/dev/disk/by-id/nvme-x', '../../nvme0n1', '/host'), '/host/dev/nvme0n1');
  });

  it("device numbers from a dev_t: small, large major, large minor", () => {
    const devt = (major: bigint, minor: bigint): bigint => (minor & 0xffn) | ((major & 0xfffn) << 8n) | ((minor & ~0xffn) << 12n) | ((major & ~0xfffn) << 32n);
    assert.deepEqual(deviceNumbers(0x700n), { major: 7, minor: 0 });
    assert.deepEqual(deviceNumbers(devt(259n, 1n)), { major: 259, minor: 1 });
    assert.deepEqual(deviceNumbers(devt(7n, 300n)), { major: 7, minor: 300 });
    assert.deepEqual(deviceNumbers(devt(5000n, 1048575n)), { major: 5000, minor: 1048575 });
  });

  it('samples: both states of every class and mode, capacity only for unclaimed volumes whose size is known', () => {
    const [fs, raw] = discoveryDirectories({
      root_path: '',
      discovery_directories: [
        { storage_class: 'fast', host_dir: '/mnt/fast' },
        { storage_class: 'raw', host_dir: '/mnt/raw', volume_mode: 'Block' },
      ],
    }) as [DiscoveryDirectory, DiscoveryDirectory];
    const samples = discoverySamples(
      [fs, raw],
      {
        volumes: [
          { dir: fs, name: 'a', hostPath: '/mnt/fast/a', capacityBytes: 100 },
          { dir: fs, name: 'b', hostPath: '/mnt/fast/b', capacityBytes: 200 },
          { dir: fs, name: 'c', hostPath: '/mnt/fast/c', capacityBytes: undefined },
        ],
        ignored: [{ dir: fs, hostPath: '/mnt/fast/d', reason: 'not_mount_point', detail: 'a directory' }],
      },
      new Set(['/mnt/fast/a']),
    );
    assert.deepEqual(samples.volumes, [
      { attributes: { storageclass: 'fast', mode: 'Filesystem', state: 'claimed' }, value: 1 },
      { attributes: { storageclass: 'fast', mode: 'Filesystem', state: 'unclaimed' }, value: 2 },
      { attributes: { storageclass: 'raw', mode: 'Block', state: 'claimed' }, value: 0 },
      { attributes: { storageclass: 'raw', mode: 'Block', state: 'unclaimed' }, value: 0 },
    ]);
    assert.deepEqual(samples.unclaimedCapacity, [{ attributes: { storageclass: 'fast', mode: 'Filesystem', path: '/mnt/fast/b' }, value: 200 }]);
    assert.deepEqual(samples.ignored, [
      { attributes: { storageclass: 'fast', mode: 'Filesystem', reason: 'not_mount_point' }, value: 1 },
      { attributes: { storageclass: 'raw', mode: 'Block', reason: 'not_block_device' }, value: 0 },
    ]);
  });
});

describe('LocalDiscovery on a directory tree (mount table from a fixture)', () => {
  let base: string;
  let disks: string;
  let raw: string;
  let mountinfo: string;

  before(async () => {
    base = await mkdtemp(join(tmpdir(), 'nodemeter-discovery-'));
    disks = join(base, 'disks');
    raw = join(base, 'raw');
    for (const d of ['vol1', 'vol 2', 'plain-dir', 'skipped-by-pattern']) await mkdir(join(disks, d), { recursive: true });
    await writeFile(join(disks, 'vol-file'), 'x');
    await mkdir(raw);
    await symlink('/dev/null', join(raw, 'vol-null'));
    await symlink(join(base, 'missing'), join(raw, 'vol-dangling'));
    await writeFile(join(raw, 'vol-image'), 'x');
    mountinfo = join(base, 'mountinfo');
    await writeFile(mountinfo, [mountLine(1, '/'), mountLine(2, join(disks, 'vol1')), mountLine(3, join(disks, 'vol 2')), mountLine(4, join(disks, 'skipped-by-pattern')), ''].join('\n'));
  });

  after(async () => {
    await chmod(base, 0o700).catch(() => undefined);
    await rm(base, { recursive: true, force: true });
  });

  function directories(): DiscoveryDirectory[] {
    return discoveryDirectories({
      root_path: '',
      discovery_directories: [
        { storage_class: 'fast', host_dir: disks, name_pattern: 'vol*' },
        { storage_class: 'fast', host_dir: join(base, 'plain-dir-missing') },
        { storage_class: 'raw', host_dir: raw, volume_mode: 'Block' },
      ],
    });
  }

  it('mount points are volumes with their statfs size; other entries are ignored and logged once; an unreadable directory is an error', async () => {
    const { lines, logger } = capturingLogger();
    const discovery = new LocalDiscovery({ directories: directories(), rootPath: '', mountinfoPath: mountinfo, pool: syncPool(), logger });
    const round = await discovery.discover();
    const fsVolumes = round.volumes.filter((v) => v.dir.mode === 'Filesystem');
    assert.deepEqual(
      fsVolumes.map((v) => v.hostPath),
      [join(disks, 'vol 2'), join(disks, 'vol1')],
      'sorted by name; the pattern leaves out skipped-by-pattern and plain-dir',
    );
    const s = statfsSync(join(disks, 'vol1'));
    assert.equal(fsVolumes[1]?.capacityBytes, s.blocks * s.bsize);
    const ignored = Object.fromEntries(round.ignored.map((e) => [e.hostPath, e.reason]));
    assert.deepEqual(ignored, {
      [join(disks, 'vol-file')]: 'not_mount_point',
      [join(raw, 'vol-dangling')]: 'not_block_device',
      [join(raw, 'vol-image')]: 'not_block_device',
      [join(raw, 'vol-null')]: 'not_block_device',
    });
    assert.equal(round.errors.length, 1);
    assert.match(round.errors[0]?.message ?? '', /plain-dir-missing \(storage class fast\): ENOENT/);
    const infoFor = (path: string) => lines.filter((l) => l.msg.includes(path) && l.level === 30);
    assert.match(infoFor(join(raw, 'vol-null'))[0]?.msg ?? '', /a symbolic link to a character device/);
    assert.match(infoFor(join(raw, 'vol-dangling'))[0]?.msg ?? '', /broken symbolic link/);
    assert.equal(lines.filter((l) => l.level === 40 && /cannot read a discovery directory/.test(l.msg)).length, 1);

    // A second round: the same findings, nothing logged again; a new ignored entry is logged.
    await writeFile(join(raw, 'vol-new-file'), 'x');
    const before = lines.length;
    const again = await discovery.discover();
    assert.equal(again.ignored.length, 5);
    assert.deepEqual(
      lines.slice(before).map((l) => l.path),
      [join(raw, 'vol-new-file')],
    );
  });

  // A symbolic link to a real block device (size from sysfs, exact) is covered by
  // test/integration/provisioner-discovery.test.ts with a loop device it creates itself.

  it('a failed statfs leaves the capacity unknown and reports why; an unreadable mount table skips Filesystem directories', async () => {
    const vol1 = join(disks, 'vol1');
    const discovery = new LocalDiscovery({
      directories: directories(),
      rootPath: '',
      mountinfoPath: mountinfo,
      pool: syncPool({ [vol1]: { ok: false, reason: 'timeout', message: 'statfs did not return' } }),
      logger: pino({ level: 'silent' }),
    });
    const round = await discovery.discover();
    assert.equal(round.volumes.find((v) => v.hostPath === vol1)?.capacityBytes, undefined);
    assert.ok(round.errors.some((e) => /vol1: timeout: statfs did not return/.test(e.message)));
    const noTable = new LocalDiscovery({ directories: directories(), rootPath: '', mountinfoPath: join(base, 'no-such-mountinfo'), pool: syncPool(), logger: pino({ level: 'silent' }) });
    const blind = await noTable.discover();
    assert.ok(blind.volumes.every((v) => v.dir.mode === 'Block'));
    assert.ok(blind.ignored.every((e) => e.dir.mode === 'Block'), 'Filesystem entries are neither volumes nor ignored');
    assert.ok(blind.errors.some((e) => /no readable mount table/.test(e.message)));
  });
});

describe('provisioner receiver with discovery directories', () => {
  let base: string;
  before(async () => {
    base = await mkdtemp(join(tmpdir(), 'nodemeter-discovery-rx-'));
    for (const d of ['vol1', 'vol2', 'not-a-mount']) await mkdir(join(base, 'disks', d), { recursive: true });
    await writeFile(join(base, 'mountinfo'), [mountLine(1, '/'), mountLine(2, join(base, 'disks', 'vol1')), mountLine(3, join(base, 'disks', 'vol2')), ''].join('\n'));
  });
  after(() => rm(base, { recursive: true, force: true }));

  it('reports claimed and unclaimed volumes (real statfs threads), follows the PVs, and nothing before the cache synced', async () => {
    const kube = new FakeKube();
    kube.synced = false;
    const settings = testSettings('provisioner', 'receiver', { agent: { nodeName: NODE, version: '0' }, kube });
    const disks = join(base, 'disks');
    const receiver = new ProvisionerReceiver(
      settings,
      { ...defaultConfig(), mountinfo_path: join(base, 'mountinfo'), discovery_directories: [{ storage_class: 'fast-disks', host_dir: disks }] },
      { now: new Clock(T0).now },
    );
    await receiver.start();
    try {
      const D = 'nodemeter_provisioner_discovered_volumes';
      const C = 'nodemeter_provisioner_unclaimed_volume_capacity_bytes';
      const I = 'nodemeter_provisioner_discovery_ignored_entries';
      assert.ok(!Object.keys(await series(receiver)).some((k) => k.startsWith('nodemeter_provisioner_disc')), 'nothing before sync');
      kube.synced = true;
      kube.pvs = [localPv('local-pv-1', join(disks, 'vol1'))];
      const s = statfsSync(join(disks, 'vol2'));
      const got = await series(receiver);
      assert.equal(got[`${D}{mode="Filesystem",state="claimed",storageclass="fast-disks"}`], 1);
      assert.equal(got[`${D}{mode="Filesystem",state="unclaimed",storageclass="fast-disks"}`], 1);
      assert.equal(got[`${C}{mode="Filesystem",path="${join(disks, 'vol2')}",storageclass="fast-disks"}`], s.blocks * s.bsize);
      assert.equal(got[`${I}{mode="Filesystem",reason="not_mount_point",storageclass="fast-disks"}`], 1);
      assert.equal(Object.keys(got).filter((k) => k.startsWith(C)).length, 1, 'no capacity for the claimed one');
      // The PV goes away: both are unclaimed.
      kube.pvs = [];
      const later = await series(receiver);
      assert.equal(later[`${D}{mode="Filesystem",state="unclaimed",storageclass="fast-disks"}`], 2);
      assert.equal(Object.keys(later).filter((k) => k.startsWith(C)).length, 2);
      const result = await receiver.collect(collectContext(5_000, {}));
      assert.equal(result.errors, undefined, 'a clean round returns no errors');
    } finally {
      await receiver.shutdown();
    }
  });

  it('without discovery directories no statfs threads exist and no discovery series appear', async () => {
    const kube = new FakeKube();
    const settings = testSettings('provisioner', 'receiver', { agent: { nodeName: NODE, version: '0' }, kube });
    const receiver = new ProvisionerReceiver(settings, defaultConfig(), { now: new Clock(T0).now });
    await receiver.start();
    const got = await series(receiver);
    assert.ok(!Object.keys(got).some((k) => k.startsWith('nodemeter_provisioner_disc')));
    await receiver.shutdown();
  });
});
