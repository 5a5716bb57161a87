import assert from 'node:assert/strict';
import { test } from 'node:test';
import { kubeletPathClassifier, pluginName } from './kubelet-path.ts';

const K = '/var/lib/kubelet';
const UID = '0b7f3c2e-6a1d-4c8e-9f00-1234567890ab';
const HASH = 'a'.repeat(64);

const cases: Array<[string, unknown]> = [
  [`${K}/pods/${UID}/volumes/kubernetes.io~csi/pvc-123/mount`,
    { kind: 'volume', volume: { scope: 'pod', podUid: UID, plugin: 'csi', volume: 'pvc-123', persistentVolume: 'pvc-123' } }],
  [`${K}/pods/${UID}/volumes/kubernetes.io~local-volume/local-pv-abc`,
    { kind: 'volume', volume: { scope: 'pod', podUid: UID, plugin: 'local-volume', volume: 'local-pv-abc', persistentVolume: 'local-pv-abc' } }],
  [`${K}/pods/${UID}/volumes/kubernetes.io~gce-pd/my-disk-pv`,
    { kind: 'volume', volume: { scope: 'pod', podUid: UID, plugin: 'gce-pd', volume: 'my-disk-pv', persistentVolume: 'my-disk-pv' } }],
  [`${K}/pods/${UID}/volumes/kubernetes.io~nfs/nfs-pv`,
    { kind: 'volume', volume: { scope: 'pod', podUid: UID, plugin: 'nfs', volume: 'nfs-pv', persistentVolume: 'nfs-pv' } }],
  [`${K}/pods/${UID}/volumes/kubernetes.io~empty-dir/cache`,
    { kind: 'volume', volume: { scope: 'pod', podUid: UID, plugin: 'empty-dir', volume: 'cache' } }],
  [`${K}/pods/${UID}/volumes/kubernetes.io~projected/kube-api-access-x`,
    { kind: 'volume', volume: { scope: 'pod', podUid: UID, plugin: 'projected', volume: 'kube-api-access-x' } }],
  [`${K}/pods/${UID}/volumes/kubernetes.io~secret/tls`, { kind: 'volume', volume: { scope: 'pod', podUid: UID, plugin: 'secret', volume: 'tls' } }],
  [`${K}/pods/${UID}/volumes/kubernetes.io~configmap/cfg`, { kind: 'volume', volume: { scope: 'pod', podUid: UID, plugin: 'configmap', volume: 'cfg' } }],
  [`${K}/pods/${UID}/volumes/kubernetes.io~downward-api/info`, { kind: 'volume', volume: { scope: 'pod', podUid: UID, plugin: 'downward-api', volume: 'info' } }],
  [`${K}/pods/${UID}/volumes/acme~cifs/share`,
    { kind: 'volume', volume: { scope: 'pod', podUid: UID, plugin: 'acme/cifs', volume: 'share', persistentVolume: 'share' } }],
  [`${K}/plugins/kubernetes.io/csi/ebs.csi.aws.com/${HASH}/globalmount`,
    { kind: 'volume', volume: { scope: 'global', plugin: 'csi', csiDriver: 'ebs.csi.aws.com' } }],
  [`${K}/plugins/kubernetes.io/csi/pv/pvc-9/globalmount`,
    { kind: 'volume', volume: { scope: 'global', plugin: 'csi', volume: 'pvc-9', persistentVolume: 'pvc-9' } }],
  [`${K}/plugins/kubernetes.io/gce-pd/mounts/my-disk`, { kind: 'volume', volume: { scope: 'global', plugin: 'gce-pd', volume: 'my-disk' } }],
  [`${K}/plugins/kubernetes.io/aws-ebs/mounts/aws/us-east-1a/vol-1`,
    { kind: 'volume', volume: { scope: 'global', plugin: 'aws-ebs', volume: 'aws/us-east-1a/vol-1' } }],
  [`${K}/plugins/kubernetes.io/local-volume/mounts/local-pv-1`,
    { kind: 'volume', volume: { scope: 'global', plugin: 'local-volume', volume: 'local-pv-1', persistentVolume: 'local-pv-1' } }],
  // Plumbing that duplicates a volume: reported nowhere.
  [`${K}/pods/${UID}/volume-subpaths/data/app/0`, { kind: 'internal' }],
  [`${K}/pods/${UID}/volumeDevices/kubernetes.io~csi/pvc-1`, { kind: 'internal' }],
  [`${K}/pods/${UID}/volumes/kubernetes.io~csi/pvc-1/mount/nested`, { kind: 'internal' }],
  [`${K}/pods/${UID}/volumes/kubernetes.io~nfs/pv/nested`, { kind: 'internal' }],
  [`${K}/pods/${UID}/volumes/kubernetes.io~csi`, { kind: 'internal' }],
  [`${K}/plugins/kubernetes.io/csi/volumeDevices/staging/pvc-1`, { kind: 'internal' }],
  // Not the kubelet's.
  [K, { kind: 'other' }],
  [`${K}-other/pods/${UID}/volumes/kubernetes.io~csi/pv/mount`, { kind: 'other' }],
  ['/', { kind: 'other' }],
  ['/mnt/data', { kind: 'other' }],
  [`${K}/plugins/ebs.csi.aws.com`, { kind: 'other' }],
  [`${K}/plugins/kubernetes.io/csi/ebs.csi.aws.com/${HASH}`, { kind: 'other' }],
];

for (const [path, expected] of cases) {
  void test(`classifies ${path.replace(K, '<kubelet>')}`, () => {
    assert.deepEqual(kubeletPathClassifier(K)(path), expected);
  });
}

void test('a custom kubelet root, with a trailing slash', () => {
  assert.deepEqual(kubeletPathClassifier('/data/kubelet/')(`/data/kubelet/pods/${UID}/volumes/kubernetes.io~empty-dir/x`), {
    kind: 'volume',
    volume: { scope: 'pod', podUid: UID, plugin: 'empty-dir', volume: 'x' },
  });
  assert.deepEqual(kubeletPathClassifier('/data/kubelet')(`${K}/pods/${UID}/volumes/kubernetes.io~empty-dir/x`), { kind: 'other' });
  assert.deepEqual(kubeletPathClassifier('')(`${K}/pods/${UID}/volumes/kubernetes.io~empty-dir/x`), { kind: 'other' });
});

void test('plugin names', () => {
  assert.equal(pluginName('kubernetes.io~csi'), 'csi');
  assert.equal(pluginName('kubernetes.io~local-volume'), 'local-volume');
  assert.equal(pluginName('vendor~driver'), 'vendor/driver');
});
