// A kubelet-like volume tree: `<root>/pods/<uid>/volumes/kubernetes.io~empty-dir/<name>` and
// `<root>/pods/<uid>/volumes/kubernetes.io~csi/<pv>/mount` (with the `vol_data.json` the kubelet
// writes beside a CSI mount). Names are derived from the index, so every run builds the same tree.
import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface VolumeMount {
  podUid: string;
  plugin: 'kubernetes.io~empty-dir' | 'kubernetes.io~csi';
  /** Volume name (empty-dir) or PV name (CSI). */
  volume: string;
  mountPoint: string;
}

export interface TreeLayout {
  kubeletRoot: string;
  mounts: VolumeMount[];
  pods: number;
  emptyDir: number;
  csi: number;
}

/** Deterministic RFC 4122-shaped UUID from a seed string. */
function uuidFrom(seed: string): string {
  const h = createHash('sha1').update(seed).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

/**
 * `count` volume mounts spread over pods of `volumesPerPod` volumes each; in every pod the last
 * volume is a CSI PV, the others are emptyDirs (1 000 mounts → 250 pods, 750 emptyDir, 250 CSI).
 */
export function planTree(kubeletRoot: string, count: number, volumesPerPod = 4): TreeLayout {
  const mounts: VolumeMount[] = [];
  for (let i = 0; i < count; i++) {
    const pod = Math.floor(i / volumesPerPod);
    const slot = i % volumesPerPod;
    const podUid = uuidFrom(`pod-${pod}`);
    const podVolumes = join(kubeletRoot, 'pods', podUid, 'volumes');
    if (slot === volumesPerPod - 1) {
      const pv = `pvc-${uuidFrom(`pv-${pod}`)}`;
      mounts.push({ podUid, plugin: 'kubernetes.io~csi', volume: pv, mountPoint: join(podVolumes, 'kubernetes.io~csi', pv, 'mount') });
    } else {
      const name = `scratch-${slot}`;
      mounts.push({ podUid, plugin: 'kubernetes.io~empty-dir', volume: name, mountPoint: join(podVolumes, 'kubernetes.io~empty-dir', name) });
    }
  }
  const csi = mounts.filter((m) => m.plugin === 'kubernetes.io~csi').length;
  return { kubeletRoot, mounts, pods: Math.ceil(count / volumesPerPod), emptyDir: count - csi, csi };
}

/** Create the directories (and CSI vol_data.json files) on the host filesystem. */
export function createTreeDirectories(layout: TreeLayout): void {
  for (const m of layout.mounts) {
    mkdirSync(m.mountPoint, { recursive: true });
    if (m.plugin === 'kubernetes.io~csi') {
      const volData = {
        attachmentID: `csi-${createHash('sha256').update(m.volume).digest('hex').slice(0, 64)}`,
        driverName: 'bench.csi.nodemeter.dev',
        nodeName: 'bench-node',
        specVolID: m.volume,
        volumeHandle: `handle-${m.volume}`,
        volumeLifecycleMode: 'Persistent',
      };
      writeFileSync(join(m.mountPoint, '..', 'vol_data.json'), JSON.stringify(volData));
    }
  }
}

/** Single-quote a path for sh. */
function shQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/**
 * A shell script that mounts a small tmpfs on every mount point and writes one file into each,
 * so used bytes and used inodes are not zero.
 */
export function mountScript(layout: TreeLayout, sizeBytes: number): string {
  const lines = ['set -e'];
  for (const m of layout.mounts) {
    const dir = shQuote(m.mountPoint);
    lines.push(`mount -t tmpfs -o size=${sizeBytes},mode=0777 tmpfs ${dir} && echo nodemeter-bench > ${dir}/data`);
  }
  return `${lines.join('\n')}\n`;
}
