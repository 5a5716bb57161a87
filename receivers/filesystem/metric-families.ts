import type { Attributes, HrTime } from '@opentelemetry/api';
import type { GaugeMetricData, MetricData } from '@opentelemetry/sdk-metrics';
import { gauge, type FamilyInfo } from '../../pipeline/datapoints.ts';
import type { HostMount } from './host-view.ts';
import type { KubeletVolume } from './kubelet-path.ts';
import type { VolumeMount } from './mount-planner.ts';
import { isReadOnly } from './mountinfo.ts';
import type { ProbeOutcome } from './statfs-pool.ts';
import { SweepMap } from './sweep-map.ts';
import type { StatfsStats } from './worker-protocol.ts';

type Extract = (s: StatfsStats) => number;
type Family = readonly [FamilyInfo, Extract];

// Same formulas as the kubelet's statfs path (pkg/volume/metrics_statfs.go): used = blocks - bfree.
const VOLUME_FAMILIES: ReadonlyArray<Family> = [
  [{ name: 'kubelet_volume_stats_capacity_bytes', description: 'Capacity in bytes of the volume.', unit: 'By' }, (s) => s.blocks * s.bsize],
  [{ name: 'kubelet_volume_stats_available_bytes', description: 'Number of available bytes in the volume.', unit: 'By' }, (s) => s.bavail * s.bsize],
  [{ name: 'kubelet_volume_stats_used_bytes', description: 'Number of used bytes in the volume.', unit: 'By' }, (s) => (s.blocks - s.bfree) * s.bsize],
  [{ name: 'kubelet_volume_stats_inodes', description: 'Maximum number of inodes in the volume.' }, (s) => s.files],
  [{ name: 'kubelet_volume_stats_inodes_free', description: 'Number of free inodes in the volume.' }, (s) => s.ffree],
  [{ name: 'kubelet_volume_stats_inodes_used', description: 'Number of used inodes in the volume.' }, (s) => s.files - s.ffree],
];

// node_exporter 1.5 names, help texts and formulas.
const NODE_FAMILIES: ReadonlyArray<Family> = [
  [{ name: 'node_filesystem_size_bytes', description: 'Filesystem size in bytes.', unit: 'By' }, (s) => s.blocks * s.bsize],
  [{ name: 'node_filesystem_free_bytes', description: 'Filesystem free space in bytes.', unit: 'By' }, (s) => s.bfree * s.bsize],
  [{ name: 'node_filesystem_avail_bytes', description: 'Filesystem space available to non-root users in bytes.', unit: 'By' }, (s) => s.bavail * s.bsize],
  [{ name: 'node_filesystem_files', description: 'Filesystem total file nodes.' }, (s) => s.files],
  [{ name: 'node_filesystem_files_free', description: 'Filesystem total free file nodes.' }, (s) => s.ffree],
];
const READONLY: FamilyInfo = { name: 'node_filesystem_readonly', description: 'Filesystem read-only status.' };
const DEVICE_ERROR: FamilyInfo = {
  name: 'node_filesystem_device_error',
  description: 'Whether an error occurred while getting statistics for the given device.',
};
const VOLUME_ERROR: FamilyInfo = {
  name: 'nodemeter_filesystem_volume_error',
  description: 'A kubelet volume mount whose statfs failed, hung or was skipped as stuck; 1 while failing, absent otherwise.',
};

/** Labels shared by every volume family of one mount, so ratios join. Unknown ones are left out. */
function volumeAttributes(nodeName: string, v: VolumeMount): Attributes {
  const a: Attributes = { node: nodeName, mountpoint: v.mountPoint, volume_plugin: v.volume.plugin };
  if (v.volume.podUid !== undefined) a.pod_uid = v.volume.podUid;
  if (v.volume.volume !== undefined) a.volume = v.volume.volume;
  if (v.volume.persistentVolume !== undefined) a.persistentvolume = v.volume.persistentVolume;
  if (v.volume.csiDriver !== undefined) a.csi_driver = v.volume.csiDriver;
  return a;
}

function nodeAttributes(m: HostMount): Attributes {
  return { device: m.info.source, mountpoint: m.mountPoint, fstype: m.info.fsType };
}

interface VolumeLabels {
  readonly volume: KubeletVolume;
  readonly attributes: Attributes;
  error: Attributes | undefined;
}

interface NodeLabels {
  readonly source: string;
  readonly fsType: string;
  readonly attributes: Attributes;
}

/**
 * Builds the families of one collect, reusing each mount's attribute objects from the last
 * collect while its labels are unchanged: they are never mutated (the pipeline copies batches
 * before processors touch them), and the same object each time spares the allocations.
 */
export class FamilyBuilder {
  readonly #nodeName: string;
  /** By mount point; mounts that went away are swept at the end of each build. */
  readonly #volumes = new SweepMap<string, VolumeLabels>();
  readonly #nodes = new SweepMap<string, NodeLabels>();

  constructor(nodeName: string) {
    this.#nodeName = nodeName;
  }

  /** Every family that has samples; `outcomeOf` maps a mount to its probe result. */
  build(
    volumes: readonly VolumeMount[],
    nodeFilesystems: readonly HostMount[],
    outcomeOf: (m: HostMount) => ProbeOutcome,
    time: HrTime,
  ): MetricData[] {
    const volumePoints = VOLUME_FAMILIES.map((): Point[] => []);
    const volumeErrors: Point[] = [];
    for (const v of volumes) {
      let labels = this.#volumes.get(v.mountPoint);
      // The planner hands out the same classification object while the path stays mounted.
      if (!labels || labels.volume !== v.volume) labels = { volume: v.volume, attributes: volumeAttributes(this.#nodeName, v), error: undefined };
      this.#volumes.keep(v.mountPoint, labels);
      const outcome = outcomeOf(v);
      if (!outcome.ok) {
        if (labels.error?.reason !== outcome.reason) labels.error = { ...labels.attributes, reason: outcome.reason };
        volumeErrors.push(point(labels.error, 1, time));
        continue;
      }
      for (let i = 0; i < VOLUME_FAMILIES.length; i++) {
        (volumePoints[i] as Point[]).push(point(labels.attributes, (VOLUME_FAMILIES[i] as Family)[1](outcome.stats), time));
      }
    }
    this.#volumes.sweep();

    const nodePoints = NODE_FAMILIES.map((): Point[] => []);
    const readonly: Point[] = [];
    const deviceError: Point[] = [];
    for (const m of nodeFilesystems) {
      let labels = this.#nodes.get(m.mountPoint);
      if (!labels || labels.source !== m.info.source || labels.fsType !== m.info.fsType) {
        labels = { source: m.info.source, fsType: m.info.fsType, attributes: nodeAttributes(m) };
      }
      this.#nodes.keep(m.mountPoint, labels);
      const outcome = outcomeOf(m);
      const attributes = labels.attributes;
      // As node_exporter: readonly and device_error always; sizes only when statfs answered.
      readonly.push(point(attributes, isReadOnly(m.info) ? 1 : 0, time));
      deviceError.push(point(attributes, outcome.ok ? 0 : 1, time));
      if (!outcome.ok) continue;
      for (let i = 0; i < NODE_FAMILIES.length; i++) {
        (nodePoints[i] as Point[]).push(point(attributes, (NODE_FAMILIES[i] as Family)[1](outcome.stats), time));
      }
    }
    this.#nodes.sweep();

    const families: Array<readonly [FamilyInfo, Point[]]> = [
      ...VOLUME_FAMILIES.map(([info], i) => [info, volumePoints[i] ?? []] as const),
      [VOLUME_ERROR, volumeErrors],
      ...NODE_FAMILIES.map(([info], i) => [info, nodePoints[i] ?? []] as const),
      [READONLY, readonly],
      [DEVICE_ERROR, deviceError],
    ];
    // gauge() with no samples gives the descriptor; the points are built here directly, once.
    return families.filter(([, points]) => points.length > 0).map(([info, points]) => ({ ...gauge(info, [], time), dataPoints: points }));
  }
}

type Point = GaugeMetricData['dataPoints'][number];

function point(attributes: Attributes, value: number, time: HrTime): Point {
  return { startTime: time, endTime: time, attributes, value };
}
