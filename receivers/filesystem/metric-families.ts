import type { Attributes, HrTime } from '@opentelemetry/api';
import type { MetricData } from '@opentelemetry/sdk-metrics';
import { gauge, type FamilyInfo, type Sample } from '../../pipeline/datapoints.ts';
import type { HostMount } from './host-view.ts';
import type { VolumeMount } from './mount-planner.ts';
import { isReadOnly } from './mountinfo.ts';
import type { ProbeOutcome } from './statfs-pool.ts';
import type { StatfsStats } from './worker-protocol.ts';

type Extract = (s: StatfsStats) => number;

// Same formulas as the kubelet's statfs path (pkg/volume/metrics_statfs.go): used = blocks - bfree.
const VOLUME_FAMILIES: ReadonlyArray<readonly [FamilyInfo, Extract]> = [
  [{ name: 'kubelet_volume_stats_capacity_bytes', description: 'Capacity in bytes of the volume.', unit: 'By' }, (s) => s.blocks * s.bsize],
  [{ name: 'kubelet_volume_stats_available_bytes', description: 'Number of available bytes in the volume.', unit: 'By' }, (s) => s.bavail * s.bsize],
  [{ name: 'kubelet_volume_stats_used_bytes', description: 'Number of used bytes in the volume.', unit: 'By' }, (s) => (s.blocks - s.bfree) * s.bsize],
  [{ name: 'kubelet_volume_stats_inodes', description: 'Maximum number of inodes in the volume.' }, (s) => s.files],
  [{ name: 'kubelet_volume_stats_inodes_free', description: 'Number of free inodes in the volume.' }, (s) => s.ffree],
  [{ name: 'kubelet_volume_stats_inodes_used', description: 'Number of used inodes in the volume.' }, (s) => s.files - s.ffree],
];

// node_exporter 1.5 names, help texts and formulas.
const NODE_FAMILIES: ReadonlyArray<readonly [FamilyInfo, Extract]> = [
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
export function volumeAttributes(nodeName: string, v: VolumeMount): Attributes {
  const a: Attributes = { node: nodeName, mountpoint: v.mountPoint, volume_plugin: v.volume.plugin };
  if (v.volume.podUid !== undefined) a.pod_uid = v.volume.podUid;
  if (v.volume.volume !== undefined) a.volume = v.volume.volume;
  if (v.volume.persistentVolume !== undefined) a.persistentvolume = v.volume.persistentVolume;
  if (v.volume.csiDriver !== undefined) a.csi_driver = v.volume.csiDriver;
  return a;
}

export function nodeAttributes(m: HostMount): Attributes {
  return { device: m.info.source, mountpoint: m.mountPoint, fstype: m.info.fsType };
}

/** Builds every family that has samples; `outcomeOf` maps a mount to its probe result. */
export function buildFamilies(
  nodeName: string,
  volumes: readonly VolumeMount[],
  nodeFilesystems: readonly HostMount[],
  outcomeOf: (m: HostMount) => ProbeOutcome,
  time: HrTime,
): MetricData[] {
  const volumeSamples = VOLUME_FAMILIES.map((): Sample[] => []);
  const volumeErrors: Sample[] = [];
  for (const v of volumes) {
    const outcome = outcomeOf(v);
    const attributes = volumeAttributes(nodeName, v);
    if (!outcome.ok) {
      volumeErrors.push({ attributes: { ...attributes, reason: outcome.reason }, value: 1 });
      continue;
    }
    VOLUME_FAMILIES.forEach(([, extract], i) => volumeSamples[i]?.push({ attributes, value: extract(outcome.stats) }));
  }

  const nodeSamples = NODE_FAMILIES.map((): Sample[] => []);
  const readonly: Sample[] = [];
  const deviceError: Sample[] = [];
  for (const m of nodeFilesystems) {
    const outcome = outcomeOf(m);
    const attributes = nodeAttributes(m);
    // As node_exporter: readonly and device_error always; sizes only when statfs answered.
    readonly.push({ attributes, value: isReadOnly(m.info) ? 1 : 0 });
    deviceError.push({ attributes, value: outcome.ok ? 0 : 1 });
    if (outcome.ok) NODE_FAMILIES.forEach(([, extract], i) => nodeSamples[i]?.push({ attributes, value: extract(outcome.stats) }));
  }

  const families: Array<readonly [FamilyInfo, Sample[]]> = [
    ...VOLUME_FAMILIES.map(([info], i) => [info, volumeSamples[i] ?? []] as const),
    [VOLUME_ERROR, volumeErrors],
    ...NODE_FAMILIES.map(([info], i) => [info, nodeSamples[i] ?? []] as const),
    [READONLY, readonly],
    [DEVICE_ERROR, deviceError],
  ];
  return families.filter(([, samples]) => samples.length > 0).map(([info, samples]) => gauge(info, samples, time));
}
