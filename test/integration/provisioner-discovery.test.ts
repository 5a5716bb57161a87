// The provisioner receiver's local volume discovery against real mounts: tmpfs mount points
// in a private mount namespace as Filesystem entries, a loop device linked into a directory as
// a Block entry, and a plain directory, a file and a link to a character device that are not
// volumes. The receiver runs in this process with a FakeKube holding the PVs; it reads the
// namespace's mount table and reaches its mounts through /proc/<pid>/root (the way an agent's
// `mount_dir` reaches the host's directory from inside its container). Claimed and unclaimed
// entries must be counted as the PVs say, with the capacity df and blockdev report.
import assert from 'node:assert/strict';
import { mkdir, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { FakeKube, pv } from '../../kube/testing.ts';
import { collectContext } from '../../pipeline/deadline.ts';
import { testSettings } from '../../pipeline/testing.ts';
import { defaultConfig } from '../../receivers/provisioner/config.ts';
import { ProvisionerReceiver } from '../../receivers/provisioner/provisioner-receiver.ts';
import { series } from '../../receivers/provisioner/testing.ts';
import { MountNamespace } from '../support/mountns.ts';
import { requirePrereqs } from '../support/prereqs.ts';
import { run } from '../support/proc.ts';

const NODE = 'node-a';
const DISCOVERED = 'nodemeter_provisioner_discovered_volumes';
const CAPACITY = 'nodemeter_provisioner_unclaimed_volume_capacity_bytes';
const IGNORED = 'nodemeter_provisioner_discovery_ignored_entries';
/** 5 MiB and three sectors: a size no filesystem rounding would give by accident. */
const IMAGE_BYTES = 5 * 1024 * 1024 + 3 * 512;

function localPv(name: string, path: string, options: { node?: string; mode?: string; phase?: string } = {}) {
  return pv(name, {
    sourceType: 'local',
    path,
    storageClass: 'fast-disks',
    volumeMode: options.mode ?? 'Filesystem',
    phase: options.phase ?? 'Bound',
    nodeAffinity: { 'kubernetes.io/hostname': [options.node ?? NODE] },
  });
}

function key(name: string, labels: Record<string, string>): string {
  const parts = Object.keys(labels)
    .sort()
    .map((k) => `${k}="${labels[k]}"`);
  return `${name}{${parts.join(',')}}`;
}

describe('provisioner receiver: local volume discovery on real mounts', () => {
  let ns: MountNamespace | undefined;
  let loop: string | undefined;
  let receiver: ProvisionerReceiver | undefined;
  const kube = new FakeKube();
  let disks: string;
  let raw: string;

  before(async () => {
    requirePrereqs('root', 'mountns', 'loop', 'df');
    ns = await MountNamespace.create();
    disks = join(ns.root, 'fast disks');
    raw = join(ns.root, 'raw');
    await ns.mountTmpfs(join(disks, 'vol-a'), { size: '16m' });
    await ns.mountTmpfs(join(disks, 'vol-b'), { size: '32m' });
    await ns.mountTmpfs(join(disks, 'vol-c'), { size: '8m' });
    await ns.writeZeros(join(disks, 'vol-c', 'data'), 1024 * 1024);
    // Not volumes: a directory that is not a mount point, a file.
    await mkdir(join(disks, 'not-a-mount'));
    await writeFile(join(disks, 'readme.txt'), 'not a volume\n');
    // A block device linked in, as the static provisioner's docs say (ln -s /dev/disk/by-id/… <dir>).
    const image = join(ns.root, 'block.img');
    await run('truncate', ['-s', String(IMAGE_BYTES), image]);
    loop = (await run('losetup', ['--find', '--show', image])).stdout.trim();
    await mkdir(raw);
    await symlink(loop, join(raw, 'disk-1'));
    await symlink('/dev/null', join(raw, 'disk-null'));

    kube.nodes = [{ uid: 'uid-node', name: NODE, namespace: '', labels: { 'kubernetes.io/hostname': NODE }, annotations: {}, resourceVersion: '1' }];
    kube.pvs = [
      localPv('local-pv-a', join(disks, 'vol-a')),
      // Another node's PV at the same path claims nothing here.
      localPv('local-pv-b-elsewhere', join(disks, 'vol-b'), { node: 'node-b' }),
      // Released still claims: the provisioner has not cleaned it up yet.
      localPv('local-pv-c', join(disks, 'vol-c'), { phase: 'Released' }),
    ];
    const settings = testSettings('provisioner', 'receiver', { agent: { nodeName: NODE, version: '0' }, kube });
    receiver = new ProvisionerReceiver(settings, {
      ...defaultConfig(),
      mountinfo_path: `/proc/${ns.pid}/mountinfo`,
      discovery_directories: [
        { storage_class: 'fast-disks', host_dir: disks, mount_dir: `/proc/${ns.pid}/root${disks}`, name_pattern: '*' },
        { storage_class: 'raw-disks', host_dir: raw, volume_mode: 'Block', name_pattern: 'disk-*' },
      ],
    });
    await receiver.start();
  });

  after(async () => {
    await receiver?.shutdown();
    if (loop) await run('losetup', ['-d', loop], { allowFail: true });
    await ns?.close();
  });

  const fs = { storageclass: 'fast-disks', mode: 'Filesystem' };
  const block = { storageclass: 'raw-disks', mode: 'Block' };

  test('mount points are counted claimed or unclaimed as the PVs say; the plain directory and the file are ignored', async () => {
    const got = await series(receiver!);
    assert.equal(got[key(DISCOVERED, { ...fs, state: 'claimed' })], 2, 'vol-a (Bound) and vol-c (Released)');
    assert.equal(got[key(DISCOVERED, { ...fs, state: 'unclaimed' })], 1, 'vol-b: its PV is on another node');
    assert.equal(got[key(IGNORED, { ...fs, reason: 'not_mount_point' })], 2, 'not-a-mount and readme.txt');
    const capacities = Object.keys(got).filter((k) => k.startsWith(`${CAPACITY}{`) && k.includes('mode="Filesystem"'));
    assert.deepEqual(capacities, [key(CAPACITY, { ...fs, path: join(disks, 'vol-b') })], 'capacity of the unclaimed mount only');
  });

  test("an unclaimed mount's capacity is its statfs size, as df -B1 reports it", async () => {
    const got = await series(receiver!);
    const df = await ns!.dfBytes(join(disks, 'vol-b'));
    assert.equal(df.size, 32 * 1024 * 1024);
    assert.equal(got[key(CAPACITY, { ...fs, path: join(disks, 'vol-b') })], df.size);
  });

  test("a linked loop device is an unclaimed Block volume of the device's exact size; a link to a character device is ignored", async () => {
    const got = await series(receiver!);
    const size = Number((await run('blockdev', ['--getsize64', loop!])).stdout.trim());
    assert.equal(size, IMAGE_BYTES);
    assert.equal(got[key(DISCOVERED, { ...block, state: 'unclaimed' })], 1);
    assert.equal(got[key(DISCOVERED, { ...block, state: 'claimed' })], 0);
    assert.equal(got[key(CAPACITY, { ...block, path: join(raw, 'disk-1') })], size);
    assert.equal(got[key(IGNORED, { ...block, reason: 'not_block_device' })], 1, 'disk-null');
  });

  test('claims follow the cache: a PV for the block device claims it, deleting vol-a\'s PV frees it with its df size', async () => {
    kube.pvs = [
      ...kube.pvs.filter((p) => p.name !== 'local-pv-a'),
      { ...localPv('local-pv-raw', join(raw, 'disk-1'), { mode: 'Block' }), storageClass: 'raw-disks' },
    ];
    const got = await series(receiver!);
    assert.equal(got[key(DISCOVERED, { ...block, state: 'claimed' })], 1);
    assert.equal(got[key(DISCOVERED, { ...block, state: 'unclaimed' })], 0);
    assert.equal(got[key(CAPACITY, { ...block, path: join(raw, 'disk-1') })], undefined);
    assert.equal(got[key(DISCOVERED, { ...fs, state: 'claimed' })], 1);
    assert.equal(got[key(DISCOVERED, { ...fs, state: 'unclaimed' })], 2);
    const df = await ns!.dfBytes(join(disks, 'vol-a'));
    assert.equal(got[key(CAPACITY, { ...fs, path: join(disks, 'vol-a') })], df.size);
  });

  test('a new mount shows up at the next collection; nothing is written to the device; the round has no errors', async () => {
    await ns!.mountTmpfs(join(disks, 'vol-d'), { size: '4m' });
    const result = await receiver!.collect(collectContext(10_000, {}));
    assert.deepEqual(result.errors ?? [], []);
    const got = await series(receiver!);
    assert.equal(got[key(CAPACITY, { ...fs, path: join(disks, 'vol-d') })], 4 * 1024 * 1024);
    // The image is still all zeros (sparse, never written): discovery opened nothing for writing.
    const { stdout } = await run('cmp', ['-n', String(IMAGE_BYTES), loop!, '/dev/zero'], { allowFail: true });
    assert.equal(stdout.trim(), '', `the loop device is unchanged: ${stdout}`);
  });

  test('the host never saw the mounts: outside the namespace the entries are plain directories', async () => {
    const { stdout } = await run('findmnt', ['-n', join(disks, 'vol-a')], { allowFail: true });
    assert.equal(stdout.trim(), '');
  });
});
