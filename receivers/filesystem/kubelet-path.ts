import { posix } from 'node:path';

/** What a kubelet volume mount's path tells about it. */
export interface KubeletVolume {
  /** `pod`: a pod's volume directory; `global`: a plugin's node-wide (staging) mount. */
  readonly scope: 'pod' | 'global';
  readonly podUid?: string;
  /** Plugin name without `kubernetes.io/`: `csi`, `local-volume`, `empty-dir`; flex: `vendor/driver`. */
  readonly plugin: string;
  /** Volume name in the path: the PV name for PV-backed volumes, else the pod's volume name. */
  readonly volume?: string;
  /** Set when the path names a PersistentVolume (see PV_LESS_PLUGINS). */
  readonly persistentVolume?: string;
  readonly csiDriver?: string;
}

/**
 * - `volume`: a pod volume or global mount;
 * - `internal`: kubelet plumbing that duplicates a volume (subPath binds, block-device binds,
 *   mounts nested inside a volume) and is reported nowhere;
 * - `other`: not the kubelet's; an ordinary node filesystem.
 */
export type KubeletPathClass =
  | { readonly kind: 'volume'; readonly volume: KubeletVolume }
  | { readonly kind: 'internal' }
  | { readonly kind: 'other' };

/** Plugins whose volume directory is the pod's own volume name, never a PV. */
const PV_LESS_PLUGINS = new Set(['empty-dir', 'configmap', 'secret', 'projected', 'downward-api', 'git-repo']);

const OTHER: KubeletPathClass = { kind: 'other' };
const INTERNAL: KubeletPathClass = { kind: 'internal' };

/** `kubernetes.io~csi` → `csi`; flex `vendor~driver` → `vendor/driver`. */
export function pluginName(dir: string): string {
  const name = dir.replaceAll('~', '/');
  return name.startsWith('kubernetes.io/') ? name.slice('kubernetes.io/'.length) : name;
}

/** Classifies host mount points against the kubelet root directory; `''` (volume recognition off) finds none. */
export function kubeletPathClassifier(kubeletRoot: string): (mountPoint: string) => KubeletPathClass {
  if (kubeletRoot === '') return () => OTHER;
  const prefix = posix.normalize(kubeletRoot).replace(/\/+$/, '') + '/';
  return (mountPoint) => {
    if (!mountPoint.startsWith(prefix)) return OTHER;
    const seg = mountPoint.slice(prefix.length).split('/');
    if (seg[0] === 'pods') return classifyPodPath(seg);
    if (seg[0] === 'plugins') return classifyPluginPath(seg);
    return OTHER;
  };
}

// pods/<uid>/volumes/<plugin-dir>/<volume>[/mount for CSI]
function classifyPodPath(seg: string[]): KubeletPathClass {
  const [, podUid, area, pluginDir, volume, ...rest] = seg;
  if (!podUid || area !== 'volumes' || !pluginDir || !volume) return INTERNAL;
  const plugin = pluginName(pluginDir);
  // CSI publishes into `<volume>/mount`; anything deeper is a mount nested in a volume.
  const exact = rest.length === 0 || (plugin === 'csi' && rest.length === 1 && rest[0] === 'mount');
  if (!exact) return INTERNAL;
  const persistentVolume = PV_LESS_PLUGINS.has(plugin) ? undefined : volume;
  return { kind: 'volume', volume: { scope: 'pod', podUid, plugin, volume, ...(persistentVolume ? { persistentVolume } : {}) } };
}

// plugins/kubernetes.io/csi/<driver>/<sha256>/globalmount (kubelet >= 1.24ish),
// plugins/kubernetes.io/csi/pv/<pv>/globalmount (older), plugins/kubernetes.io/<plugin>/mounts/<name…>
function classifyPluginPath(seg: string[]): KubeletPathClass {
  if (seg[1] !== 'kubernetes.io' || !seg[2]) return OTHER;
  const plugin = seg[2];
  const tail = seg.slice(3);
  if (plugin === 'csi') {
    if (tail[0] === 'volumeDevices') return INTERNAL;
    if (tail.length === 3 && tail[2] === 'globalmount' && tail[0] && tail[1]) {
      if (tail[0] === 'pv') {
        return { kind: 'volume', volume: { scope: 'global', plugin, volume: tail[1], persistentVolume: tail[1] } };
      }
      return { kind: 'volume', volume: { scope: 'global', plugin, csiDriver: tail[0] } };
    }
    return OTHER;
  }
  if (tail[0] === 'volumeDevices') return INTERNAL;
  if (tail[0] === 'mounts' && tail.length > 1) {
    const volume = tail.slice(1).join('/');
    // Only local-volume names its global mounts after the PV; others use the disk's name.
    const pv = plugin === 'local-volume' ? { persistentVolume: volume } : {};
    return { kind: 'volume', volume: { scope: 'global', plugin, volume, ...pv } };
  }
  return OTHER;
}
