import assert from 'node:assert/strict';
import { test } from 'node:test';
import { normaliseRootPath, toHostMounts } from './host-view.ts';
import { parseMountinfo } from './mountinfo.ts';

const line = (id: number, mp: string) => `${id} 1 8:${id} / ${mp} rw - ext4 /dev/sd${id} rw`;
const table = (...mps: string[]) => parseMountinfo(mps.map((mp, i) => line(i + 1, mp)).join('\n')).mounts;
const view = (rootPath: string, ...mps: string[]) =>
  toHostMounts(table(...mps), rootPath).map((m) => [m.statfsPath, m.mountPoint]);

void test('no root_path: statfs and report the listed path', () => {
  assert.deepEqual(view('', '/', '/data'), [['/', '/'], ['/data', '/data']]);
  assert.deepEqual(view('/', '/', '/data'), [['/', '/'], ['/data', '/data']]);
});

void test("host's table (<root>/proc/1/mountinfo): statfs with the prefix, report without", () => {
  assert.deepEqual(view('/host', '/', '/var/lib/kubelet/pods/u/volumes/kubernetes.io~csi/pv/mount'), [
    ['/host', '/'],
    ['/host/var/lib/kubelet/pods/u/volumes/kubernetes.io~csi/pv/mount', '/var/lib/kubelet/pods/u/volumes/kubernetes.io~csi/pv/mount'],
  ]);
});

void test("agent's own table already lists /host/...: never /host/host, private mounts dropped", () => {
  assert.deepEqual(view('/host/', '/', '/etc/hosts', '/host', '/host/data', '/hostile', '/host/var/lib/kubelet'), [
    ['/host', '/'],
    ['/host/data', '/data'],
    ['/host/var/lib/kubelet', '/var/lib/kubelet'],
  ]);
});

void test('root_path normalisation', () => {
  assert.equal(normaliseRootPath(''), '');
  assert.equal(normaliseRootPath('/'), '');
  assert.equal(normaliseRootPath('/host/'), '/host');
  assert.equal(normaliseRootPath('/host//x/../'), '/host');
});
