import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { FakeKube, meta, pod, pv, pvc } from '../../kube/testing.ts';
import { discoverClusterVolumes, discoverLayoutVolumes, parseLocalPathName } from './discovery.ts';

const HOST = 'kubernetes.io/hostname';
const options = { nodeName: 'node-a', affinityKey: HOST, rootPath: '' };

function cluster(): FakeKube {
  const kube = new FakeKube();
  const claim = (ns: string, name: string) => ({ namespace: ns, name });
  kube.pvs = [
    // local-path: hostPath + affinity + annotation.
    pv('pvc-1', { sourceType: 'hostPath', path: '/opt/local-path-provisioner/pvc-1_shop_uploads', claimRef: claim('shop', 'uploads'), nodeAffinity: { [HOST]: ['node-a'] }, storageClass: 'local-path' }),
    // local PV of another node: ignored.
    pv('local-b', { sourceType: 'local', path: '/mnt/disks/ssd0', claimRef: claim('db', 'data-0'), nodeAffinity: { [HOST]: ['node-b'] } }),
    // local PV pinned by the node's hostname label, which differs from its name.
    pv('local-a', { sourceType: 'local', path: '/mnt/disks//ssd1/', claimRef: claim('db', 'data-1'), nodeAffinity: { [HOST]: ['host-a'] }, capacityBytes: '375Gi' }),
    // only the local-path annotation names the node.
    pv('annotated', { sourceType: 'hostPath', path: '/data/annotated', claimRef: claim('ns', 'annotated'), annotations: { 'local.path.provisioner/selected-node': 'node-a' } }),
    // only the PVC's selected-node names the node, and it is another one.
    pv('selected-b', { sourceType: 'hostPath', path: '/data/b', claimRef: claim('ns', 'selected-b') }),
    // nothing names a node, but a pod of this node uses the claim.
    pv('unpinned-used', { sourceType: 'hostPath', path: '/mnt/logs', claimRef: claim('default', 'logs') }),
    // nothing names a node, nobody here uses it: not ours.
    pv('unpinned-idle', { sourceType: 'hostPath', path: '/mnt/idle', claimRef: claim('default', 'idle') }),
    // not hostPath/local, not Bound, deleted: ignored.
    pv('csi', { sourceType: 'csi', claimRef: claim('ns', 'c'), nodeAffinity: { [HOST]: ['node-a'] } }),
    pv('released', { sourceType: 'hostPath', path: '/r', phase: 'Released', claimRef: claim('ns', 'r'), nodeAffinity: { [HOST]: ['node-a'] } }),
    pv('deleted', { sourceType: 'hostPath', path: '/d', claimRef: claim('ns', 'd'), nodeAffinity: { [HOST]: ['node-a'] }, deletedAt: 1 }),
  ];
  kube.pvcs = [
    pvc('shop', 'uploads', { volumeName: 'pvc-1', requestStorage: '1.5Gi', storageClass: 'local-path' }),
    pvc('db', 'data-1', { volumeName: 'local-a', requestStorage: '1G!' }),
    pvc('ns', 'annotated', { volumeName: 'annotated', requestStorage: '250m' }),
    pvc('ns', 'selected-b', { volumeName: 'selected-b', annotations: { 'volume.kubernetes.io/selected-node': 'node-b' } }),
    pvc('default', 'logs', { volumeName: 'unpinned-used', requestStorage: '1e9' }),
  ];
  kube.pods = [pod({ name: 'app', namespace: 'default', claims: { logs: 'logs' } }), pod({ name: 'other', namespace: 'default', nodeName: 'node-b', claims: { idle: 'idle' } })];
  kube.nodes = [{ ...meta('node-a', '', { [HOST]: 'host-a' }) }];
  return kube;
}

describe('discoverClusterVolumes', () => {
  it('finds this node\'s Bound hostPath and local PVs by affinity, annotations or a pod using the claim', () => {
    const targets = discoverClusterVolumes(cluster(), options);
    assert.deepEqual(targets.map((t) => t.key).sort(), ['annotated', 'local-a', 'pvc-1', 'unpinned-used']);
  });

  it('takes the directory from the PV spec, labels from the claim, capacity from the request', () => {
    const byKey = new Map(discoverClusterVolumes(cluster(), { ...options, rootPath: '/host' }).map((t) => [t.key, t]));
    const lp = byKey.get('pvc-1');
    assert.deepEqual(lp, {
      key: 'pvc-1',
      path: '/opt/local-path-provisioner/pvc-1_shop_uploads',
      walkPath: '/host/opt/local-path-provisioner/pvc-1_shop_uploads',
      plugin: 'host-path',
      persistentVolume: 'pvc-1',
      namespace: 'shop',
      claim: 'uploads',
      storageClass: 'local-path',
      capacityBytes: 1.5 * 2 ** 30,
    });
    assert.equal(byKey.get('annotated')?.capacityBytes, 1, '250m rounds up to one byte');
    assert.equal(byKey.get('unpinned-used')?.capacityBytes, 1e9);
  });

  it('reports a bad request quantity and falls back to the PV capacity', () => {
    const local = discoverClusterVolumes(cluster(), options).find((t) => t.key === 'local-a');
    assert.equal(local?.plugin, 'local-volume');
    assert.equal(local?.path, '/mnt/disks/ssd1', 'slashes normalised');
    assert.equal(local?.capacityBytes, 375 * 2 ** 30);
    assert.match(local?.capacityProblem ?? '', /PVC db\/data-1 spec\.resources\.requests\.storage: .*"1G!"/);
  });

  it('honours another affinity key', () => {
    const kube = cluster();
    kube.pvs = [pv('zoned', { sourceType: 'local', path: '/z', claimRef: { namespace: 'a', name: 'b' }, nodeAffinity: { 'example.com/node': ['node-a'] } })];
    assert.equal(discoverClusterVolumes(kube, options).length, 0);
    assert.equal(discoverClusterVolumes(kube, { ...options, affinityKey: 'example.com/node' }).length, 1);
  });

  it('ignores a claim of the same name bound to another volume', () => {
    const kube = cluster();
    kube.pvcs = [pvc('shop', 'uploads', { volumeName: 'pvc-new', requestStorage: '9Gi', storageClass: 'other' })];
    const lp = discoverClusterVolumes(kube, options).find((t) => t.key === 'pvc-1');
    assert.equal(lp?.capacityBytes, undefined);
    assert.equal(lp?.storageClass, 'local-path', 'the PV\'s class, not the stranger claim\'s');
  });
});

describe('local-path layout', () => {
  it('parses pvc-<uid>_<namespace>_<claim> and nothing else', () => {
    assert.deepEqual(parseLocalPathName('pvc-0b1c2d3e-1111-2222-3333-444455556666_shop_uploads.v2'), {
      persistentVolume: 'pvc-0b1c2d3e-1111-2222-3333-444455556666',
      namespace: 'shop',
      claim: 'uploads.v2',
    });
    for (const bad of ['pvc-1_shop_uploads', 'pvc-0b1c2d3e-1111-2222-3333-444455556666_shop', 'pvc-0b1c2d3e-1111-2222-3333-444455556666_Shop_x', 'x_y_z', '']) {
      assert.equal(parseLocalPathName(bad), undefined, bad);
    }
  });

  it('scans base directories under the root prefix; files, symlinks and other names are ignored; a missing base is a problem', async () => {
    const root = await mkdtemp(join(tmpdir(), 'nm-layout-'));
    try {
      const base = join(root, 'opt/local-path-provisioner');
      const volume = 'pvc-0b1c2d3e-1111-2222-3333-444455556666_shop_uploads';
      await mkdir(join(base, volume), { recursive: true });
      await mkdir(join(base, 'lost+found'));
      await writeFile(join(base, 'pvc-0b1c2d3e-1111-2222-3333-444455556667_shop_file'), '');
      await symlink('/etc', join(base, 'pvc-0b1c2d3e-1111-2222-3333-444455556668_shop_link'));
      const scan = await discoverLayoutVolumes(['/opt/local-path-provisioner/', '/missing'], root);
      assert.deepEqual(scan.targets, [
        {
          key: `/opt/local-path-provisioner/${volume}`,
          path: `/opt/local-path-provisioner/${volume}`,
          walkPath: `${root}/opt/local-path-provisioner/${volume}`,
          plugin: 'host-path',
          persistentVolume: 'pvc-0b1c2d3e-1111-2222-3333-444455556666',
          namespace: 'shop',
          claim: 'uploads',
        },
      ]);
      assert.equal(scan.problems.length, 1);
      assert.match(scan.problems[0]?.message ?? '', /cannot list \/missing: ENOENT/);
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });
});
