import assert from 'node:assert/strict';
import { test } from 'node:test';
import { defaultConfig, type FilesystemReceiverConfig } from './config.ts';
import { MountPlanner } from './mount-planner.ts';
import { parseMountinfo } from './mountinfo.ts';

const UID = 'u-1';
const K = '/var/lib/kubelet';
// id parent major:minor root mountpoint options - fstype source superoptions
const TABLE = `
1 0 8:1 / / rw - ext4 /dev/sda1 rw
2 1 0:5 / /dev rw - devtmpfs udev rw
3 1 0:6 / /proc rw - proc proc rw
4 1 0:7 / /sys rw - sysfs sysfs rw
5 1 0:8 / /run rw - tmpfs tmpfs rw
6 5 0:9 / /run/credentials/x.service ro - tmpfs none ro
7 1 0:10 / /var/lib/docker/overlay2/abc/merged rw - overlay overlay rw
8 1 0:11 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw
9 1 8:16 / /data rw - xfs /dev/sdb rw
10 1 8:16 / /data-again rw - xfs /dev/sdb rw
11 1 8:16 /sub /srv/sub rw - xfs /dev/sdb rw
12 1 0:12 / /mnt/iso ro - iso9660 /dev/sr0 ro
13 1 0:13 / /snap/core/1 ro - squashfs /dev/loop3 ro
14 1 8:32 / ${K}/plugins/kubernetes.io/csi/pd.csi/${'b'.repeat(64)}/globalmount rw - ext4 /dev/sdc rw
15 1 8:32 / ${K}/pods/${UID}/volumes/kubernetes.io~csi/pvc-1/mount rw - ext4 /dev/sdc rw
16 1 8:48 / ${K}/plugins/kubernetes.io/csi/pd.csi/${'c'.repeat(64)}/globalmount rw - ext4 /dev/sdd rw
17 1 0:14 / ${K}/pods/${UID}/volumes/kubernetes.io~projected/kube-api-access-1 rw - tmpfs tmpfs rw
18 1 0:15 / ${K}/pods/${UID}/volumes/kubernetes.io~empty-dir/shm rw - tmpfs tmpfs rw
19 1 8:16 /sub/x ${K}/pods/${UID}/volume-subpaths/data/app/0 rw - xfs /dev/sdb rw
20 1 0:16 / /mnt/over rw - tmpfs first rw
21 1 0:17 / /mnt/over rw - tmpfs second rw
`;

function plan(over: Partial<FilesystemReceiverConfig> = {}, nodeOver: Partial<FilesystemReceiverConfig['node_filesystems']> = {}) {
  const base = defaultConfig();
  const config = { ...base, ...over, node_filesystems: { ...base.node_filesystems, ...nodeOver } };
  return new MountPlanner(config).plan(parseMountinfo(TABLE).mounts);
}

void test("node filesystems with node_exporter's default excludes, bind mounts once, overmounts as visible", () => {
  const p = plan();
  assert.deepEqual(
    p.nodeFilesystems.map((m) => [m.mountPoint, m.info.source]),
    [['/', '/dev/sda1'], ['/run', 'tmpfs'], ['/data', '/dev/sdb'], ['/srv/sub', '/dev/sdb'], ['/mnt/over', 'second']],
  );
});

void test('kubelet volumes: pod mounts, staged-only global mounts, token volumes excluded, subpaths nowhere', () => {
  const p = plan();
  assert.deepEqual(
    p.volumes.map((v) => [v.mountPoint.replace(K, ''), v.volume.plugin, v.volume.scope]),
    [
      [`/pods/${UID}/volumes/kubernetes.io~csi/pvc-1/mount`, 'csi', 'pod'],
      [`/plugins/kubernetes.io/csi/pd.csi/${'c'.repeat(64)}/globalmount`, 'csi', 'global'],
      [`/pods/${UID}/volumes/kubernetes.io~empty-dir/shm`, 'empty-dir', 'pod'],
    ],
  );
  // Kubelet mounts never show up as node filesystems too.
  assert.ok(!p.nodeFilesystems.some((m) => m.mountPoint.startsWith(K)));
});

void test('volume plugin include/exclude', () => {
  assert.deepEqual(plan({ volume_plugins_exclude: '' }).volumes.map((v) => v.volume.plugin), ['csi', 'csi', 'projected', 'empty-dir']);
  assert.deepEqual(plan({ volume_plugins_include: '^csi$' }).volumes.map((v) => v.volume.plugin), ['csi', 'csi']);
});

void test('an empty kubelet_root disables volume recognition', () => {
  const p = plan({ kubelet_root: '' });
  assert.equal(p.volumes.length, 0);
  assert.ok(p.nodeFilesystems.some((m) => m.mountPoint.endsWith('/pvc-1/mount')) === false, 'same device+root as the staged mount, reported once');
  assert.ok(p.nodeFilesystems.some((m) => m.mountPoint.endsWith('/globalmount')));
});

void test('mount point, fs type and device include/exclude', () => {
  assert.deepEqual(plan({}, { mount_points_include: '^/data' }).nodeFilesystems.map((m) => m.mountPoint), ['/data']);
  assert.deepEqual(plan({}, { fs_types_include: '^xfs$' }).nodeFilesystems.map((m) => m.mountPoint), ['/data', '/srv/sub']);
  assert.deepEqual(plan({}, { devices_exclude: '^/dev/sd' }).nodeFilesystems.map((m) => m.mountPoint), ['/run', '/mnt/over']);
  assert.deepEqual(plan({}, { devices_include: 'sda' }).nodeFilesystems.map((m) => m.mountPoint), ['/']);
  // Emptied excludes let pseudo filesystems through; unanchored patterns are searched.
  const all = plan({}, { mount_points_exclude: '', fs_types_exclude: '', devices_exclude: 'loop' }).nodeFilesystems.map((m) => m.mountPoint);
  assert.ok(all.includes('/proc') && all.includes('/mnt/iso') && !all.includes('/snap/core/1'));
});

void test('an excluded bind mount does not hide the included one', () => {
  const table = parseMountinfo('1 0 8:1 / /var/lib/docker/x rw - ext4 /dev/sda1 rw\n2 0 8:1 / /data rw - ext4 /dev/sda1 rw').mounts;
  assert.deepEqual(new MountPlanner(defaultConfig()).plan(table).nodeFilesystems.map((m) => m.mountPoint), ['/data']);
});

void test('node filesystems disabled', () => {
  const p = plan({}, { enabled: false });
  assert.equal(p.nodeFilesystems.length, 0);
  assert.equal(p.volumes.length, 3);
});

void test('a planner reused across tables plans each as a fresh one would', () => {
  const planner = new MountPlanner(defaultConfig());
  const table = parseMountinfo(TABLE).mounts;
  const first = planner.plan(table);
  // Remove the pod's CSI volume and re-add a path as a different kind of mount.
  const next = table.filter((m) => !m.mountPoint.includes('pvc-1'));
  const second = planner.plan(next);
  assert.deepEqual(second, new MountPlanner(defaultConfig()).plan(next));
  assert.deepEqual(planner.plan(table), first);
  // Classification is kept while a path stays mounted.
  const shm = (p: typeof first) => p.volumes.find((v) => v.mountPoint.endsWith('/shm'))?.volume;
  assert.equal(shm(second), shm(first));
});
