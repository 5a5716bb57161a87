import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { detectCgroupVersion, locateContainerCgroup } from './cgroup-paths.ts';

const FIXTURES = join(import.meta.dirname, 'testdata/cgroup');

/** A fixture machine: its cgroup mount and its proc. */
function machine(name: string): { cgroupRoot: string; procRoot: string } {
  return { cgroupRoot: `${FIXTURES}/${name}/sys/fs/cgroup`, procRoot: `${FIXTURES}/${name}/proc` };
}

// Container ids in the fixture trees.
const V1_CGROUPFS = '6f4c0d9073f3dc450ae72da9ae63287ae6fa8b877d64669994672108f93c419c';
const V1_CUSTOM_PARENT = '866260d2ebae01201214f795cbed4b85c37b97974e07335ca90da320a339f3a3';
const V1_SYSTEMD = '33bf693c69a8c16687e2b3ba5b49411e2df9688b054afde66db1e23ed2f7e1e6';
const V1_KUBE_BURSTABLE = '344c76fc935b70fc3970c5da1a29e7a73b87b9f498e155e1c2e6261aeb424dbc';
const V1_KUBE_GUARANTEED = '1fe7e02a5876807279c66093b6c04f812e4f963dfe03d221b86dea67c95b513e';
const V1_KUBE_SYSTEMD = 'd09b6bfa317b17b6e2269ac3cbece2bbf048ef155cd77fc5375e7d621c566735';
const V2_CGROUPFS = 'd41254dfe5bf4ecd4b67439e8a881f95b3d7689ab8f188f6aa8bd4d02ecc5f6a';
const V2_CUSTOM_PARENT = 'd712043c99be18e84487b61f12cee16f173633ec50fa900ab35abbcbacfd25ad';
const V2_SYSTEMD = '35f95d053f6256a15931ba759eaadd3d9b59d74aa47e730a1cd95832a717472e';
const V2_KUBE = 'aa6c5153603a2ebfcb64a3303a30ac4d707dc907b87265f4b2b52528a601b92f';
const UNKNOWN = 'ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff';

function v1Dirs(root: string, controllers: readonly string[], rel: string): Record<string, string> {
  return Object.fromEntries(controllers.map((c) => [c, `${root}/${c}${rel}`]));
}

void test('detects v2 by cgroup.controllers at the root; a hybrid host (v1 plus unified) is v1', () => {
  assert.equal(detectCgroupVersion(machine('v2-cgroupfs').cgroupRoot), 2);
  assert.equal(detectCgroupVersion(`${machine('v2-cgroupfs').cgroupRoot}/`), 2);
  assert.equal(detectCgroupVersion(machine('v1-cgroupfs').cgroupRoot), 1);
  assert.equal(detectCgroupVersion(machine('v1-systemd').cgroupRoot), 1);
  assert.equal(detectCgroupVersion(`${FIXTURES}/no-such-machine`), 1);
});

void test('v1 cgroupfs: <root>/<controller>/docker/<id>, from the layout and from /proc', () => {
  const m = machine('v1-cgroupfs');
  const dirs = v1Dirs(m.cgroupRoot, ['cpu', 'cpuacct', 'memory', 'blkio', 'pids'], `/docker/${V1_CGROUPFS}`);
  assert.deepEqual(locateContainerCgroup(m, V1_CGROUPFS), { version: 1, dirs });
  // The /proc file also lists cpuset, devices, net_cls,net_prio, name=systemd and the hybrid 0:: line: all ignored.
  assert.deepEqual(locateContainerCgroup(m, V1_CGROUPFS, 4242), { version: 1, dirs });
  assert.deepEqual(locateContainerCgroup(m, V1_CGROUPFS, 4242), locateContainerCgroup({ ...m, cgroupRoot: `${m.cgroupRoot}/` }, V1_CGROUPFS, 4242));
});

void test('v1 /proc lines: a path no layout knows is found, and `cpu,cpuacct` maps to separate cpu and cpuacct mounts', () => {
  const m = machine('v1-cgroupfs');
  // --cgroup-parent=/ci: no blkio line in its /proc file, so no blkio directory.
  assert.deepEqual(locateContainerCgroup(m, V1_CUSTOM_PARENT, 4343), {
    version: 1,
    dirs: v1Dirs(m.cgroupRoot, ['pids', 'memory', 'cpu', 'cpuacct'], `/ci/${V1_CUSTOM_PARENT}`),
  });
  assert.equal(locateContainerCgroup(m, V1_CUSTOM_PARENT), undefined, 'without the pid only the layouts are tried');
});

void test('v1 /proc paths with /.. (agent in its own cgroup namespace) or not under the root fall back to the layouts', () => {
  const m = machine('v1-cgroupfs');
  const expected = { version: 1, dirs: v1Dirs(m.cgroupRoot, ['cpu', 'cpuacct', 'memory', 'blkio', 'pids'], `/docker/${V1_CGROUPFS}`) };
  assert.deepEqual(locateContainerCgroup(m, V1_CGROUPFS, 666), expected);
  assert.deepEqual(locateContainerCgroup(m, V1_CGROUPFS, 777), expected);
  assert.deepEqual(locateContainerCgroup(m, V1_CGROUPFS, 99999), expected, 'no such process');
});

void test('v1 systemd: system.slice/docker-<id>.scope under a co-mounted cpu,cpuacct directory', () => {
  const m = machine('v1-systemd');
  const scope = `/system.slice/docker-${V1_SYSTEMD}.scope`;
  const expected = {
    version: 1,
    dirs: {
      cpu: `${m.cgroupRoot}/cpu,cpuacct${scope}`,
      cpuacct: `${m.cgroupRoot}/cpu,cpuacct${scope}`,
      memory: `${m.cgroupRoot}/memory${scope}`,
      blkio: `${m.cgroupRoot}/blkio${scope}`,
      pids: `${m.cgroupRoot}/pids${scope}`,
    },
  };
  assert.deepEqual(locateContainerCgroup(m, V1_SYSTEMD), expected);
  assert.deepEqual(locateContainerCgroup(m, V1_SYSTEMD, 5151), expected, 'from the `6:cpu,cpuacct:` line');
});

void test('v1 Kubernetes, cgroupfs driver: the pod directory is found by listing the QoS parents', () => {
  const m = machine('v1-kubepods');
  const rel = `/kubepods/burstable/pod9c28b7a6-9822-422c-0e0b-7429174ff1f4/${V1_KUBE_BURSTABLE}`;
  assert.deepEqual(locateContainerCgroup(m, V1_KUBE_BURSTABLE), { version: 1, dirs: v1Dirs(m.cgroupRoot, ['cpu', 'cpuacct', 'memory', 'blkio', 'pids'], rel) });
  // Guaranteed pods sit directly under kubepods; this one's blkio directory is missing.
  assert.deepEqual(locateContainerCgroup(m, V1_KUBE_GUARANTEED), {
    version: 1,
    dirs: v1Dirs(m.cgroupRoot, ['cpu', 'cpuacct', 'memory', 'pids'], `/kubepods/pod98f71c90-0a39-3712-05a1-c2312d499820/${V1_KUBE_GUARANTEED}`),
  });
  assert.equal(locateContainerCgroup(m, UNKNOWN), undefined);
});

void test('v1 Kubernetes, systemd driver: kubepods-<qos>-pod<uid_with_underscores>.slice/docker-<id>.scope', () => {
  const m = machine('v1-kubepods-systemd');
  const rel = `/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod3064c8c1_0b74_96a5_ce06_eac65e655579.slice/docker-${V1_KUBE_SYSTEMD}.scope`;
  assert.deepEqual(locateContainerCgroup(m, V1_KUBE_SYSTEMD), {
    version: 1,
    dirs: { cpu: `${m.cgroupRoot}/cpu,cpuacct${rel}`, cpuacct: `${m.cgroupRoot}/cpu,cpuacct${rel}`, memory: `${m.cgroupRoot}/memory${rel}`, pids: `${m.cgroupRoot}/pids${rel}` },
  });
});

void test('v2 cgroupfs: <root>/docker/<id>, from the layout and from the 0:: line', () => {
  const m = machine('v2-cgroupfs');
  const expected = { version: 2, dir: `${m.cgroupRoot}/docker/${V2_CGROUPFS}` };
  assert.deepEqual(locateContainerCgroup(m, V2_CGROUPFS), expected);
  assert.deepEqual(locateContainerCgroup(m, V2_CGROUPFS, 6161), expected);
  assert.deepEqual(locateContainerCgroup(m, V2_CGROUPFS, 6262), expected, '/proc names a path not under the root');
  assert.deepEqual(locateContainerCgroup(m, V2_CUSTOM_PARENT, 6363), { version: 2, dir: `${m.cgroupRoot}/ci/${V2_CUSTOM_PARENT}` });
  assert.equal(locateContainerCgroup(m, V2_CUSTOM_PARENT), undefined);
  // The pid's cgroup is used as given; the id only matters for the layouts.
  assert.deepEqual(locateContainerCgroup(m, UNKNOWN, 6161), expected);
});

void test('v2 systemd: system.slice/docker-<id>.scope; a process in a child cgroup maps to the container scope', () => {
  const m = machine('v2-systemd');
  const expected = { version: 2, dir: `${m.cgroupRoot}/system.slice/docker-${V2_SYSTEMD}.scope` };
  assert.deepEqual(locateContainerCgroup(m, V2_SYSTEMD), expected);
  // 0::/system.slice/docker-<id>.scope/init.scope (the container runs systemd)
  assert.deepEqual(locateContainerCgroup(m, V2_SYSTEMD, 7171), expected);
  // 0::/../../system.slice/docker-<id>.scope
  assert.deepEqual(locateContainerCgroup(m, V2_SYSTEMD, 7272), expected);
});

void test('v2 Kubernetes, systemd driver, guaranteed pod: kubepods.slice/kubepods-pod<uid>.slice', () => {
  const m = machine('v2-systemd');
  assert.deepEqual(locateContainerCgroup(m, V2_KUBE), {
    version: 2,
    dir: `${m.cgroupRoot}/kubepods.slice/kubepods-podabeb1b61_a2df_2e04_3352_5a7c180d7ddb.slice/docker-${V2_KUBE}.scope`,
  });
});

void test('not found: undefined', () => {
  for (const name of ['v1-cgroupfs', 'v1-systemd', 'v1-kubepods', 'v1-kubepods-systemd', 'v2-cgroupfs', 'v2-systemd']) {
    assert.equal(locateContainerCgroup(machine(name), UNKNOWN), undefined, name);
    assert.equal(locateContainerCgroup(machine(name), UNKNOWN, 99999), undefined, name);
  }
  assert.equal(locateContainerCgroup(machine('no-such-machine'), UNKNOWN, 1), undefined);
  for (const id of ['', '.', '..', '../docker']) assert.equal(locateContainerCgroup(machine('v1-cgroupfs'), id), undefined, `id ${JSON.stringify(id)}`);
});
