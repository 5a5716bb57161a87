import type { FilesystemReceiverConfig } from './config.ts';
import { toHostMounts, type HostMount } from './host-view.ts';
import { kubeletPathClassifier, type KubeletPathClass, type KubeletVolume } from './kubelet-path.ts';
import { deviceRootKey, firstPerDeviceRoot, keepVisible } from './mount-dedup.ts';
import type { MountInfo } from './mountinfo.ts';
import { RegexFilter } from './regex-filter.ts';
import { SweepMap } from './sweep-map.ts';

export interface VolumeMount extends HostMount {
  readonly volume: KubeletVolume;
}

/** Which mounts one collection statfs-es, and as what. */
export interface MountPlan {
  readonly volumes: readonly VolumeMount[];
  readonly nodeFilesystems: readonly HostMount[];
}

/** Turns a mount table into a plan, with the config's regexps compiled once. */
export class MountPlanner {
  readonly #rootPath: string;
  readonly #classify: (mountPoint: string) => KubeletPathClass;
  readonly #plugins: RegexFilter;
  readonly #nodeEnabled: boolean;
  readonly #mountPoints: RegexFilter;
  readonly #fsTypes: RegexFilter;
  readonly #devices: RegexFilter;
  /** Classification by mount point, kept while the path stays mounted: pod churn changes few paths between collects. */
  readonly #classes = new SweepMap<string, KubeletPathClass>();

  constructor(config: Readonly<FilesystemReceiverConfig>) {
    const nf = config.node_filesystems;
    this.#rootPath = config.root_path;
    this.#classify = kubeletPathClassifier(config.kubelet_root);
    this.#plugins = new RegexFilter(config.volume_plugins_include, config.volume_plugins_exclude);
    this.#nodeEnabled = nf.enabled;
    this.#mountPoints = new RegexFilter(nf.mount_points_include, nf.mount_points_exclude);
    this.#fsTypes = new RegexFilter(nf.fs_types_include, nf.fs_types_exclude);
    this.#devices = new RegexFilter(nf.devices_include, nf.devices_exclude);
  }

  plan(table: readonly MountInfo[]): MountPlan {
    const mounts = keepVisible(toHostMounts(table, this.#rootPath));
    const volumes: VolumeMount[] = [];
    const others: HostMount[] = [];
    for (const mount of mounts) {
      const cls = this.#classes.keep(mount.mountPoint, this.#classes.get(mount.mountPoint) ?? this.#classify(mount.mountPoint));
      if (cls.kind === 'volume') {
        if (this.#plugins.accepts(cls.volume.plugin)) volumes.push({ ...mount, volume: cls.volume });
      } else if (cls.kind === 'other') {
        others.push(mount);
      }
    }
    this.#classes.sweep();
    return {
      volumes: dropStagedDuplicates(volumes),
      nodeFilesystems: this.#nodeEnabled ? firstPerDeviceRoot(others.filter((m) => this.#selectsNodeFilesystem(m))) : [],
    };
  }

  #selectsNodeFilesystem(m: HostMount): boolean {
    return this.#mountPoints.accepts(m.mountPoint) && this.#fsTypes.accepts(m.info.fsType) && this.#devices.accepts(m.info.source);
  }
}

/**
 * A global (staging) mount that a pod volume on this node bind-mounts is the same data:
 * report it only through the pod's mount, which carries the pod. Staged volumes no pod uses yet
 * are still reported.
 */
function dropStagedDuplicates(volumes: readonly VolumeMount[]): VolumeMount[] {
  const inPods = new Set(volumes.filter((v) => v.volume.scope === 'pod').map(deviceRootKey));
  return volumes.filter((v) => v.volume.scope === 'pod' || !inPods.has(deviceRootKey(v)));
}
