import type { Attributes, HrTime } from '@opentelemetry/api';
import { hrTimeToMilliseconds } from '@opentelemetry/core';
import type { MetricData } from '@opentelemetry/sdk-metrics';
import { counter, gauge, type FamilyInfo, type Sample } from '../../pipeline/datapoints.ts';
import type { SizeMode } from './config.ts';
import type { VolumeTarget } from './discovery.ts';
import type { VolumeState } from './volume-scheduler.ts';
import type { WalkResult } from './walk-pool.ts';

const CAPACITY: FamilyInfo = { name: 'kubelet_volume_stats_capacity_bytes', description: 'Capacity in bytes of the volume.', unit: 'By' };
const AVAILABLE: FamilyInfo = { name: 'kubelet_volume_stats_available_bytes', description: 'Number of available bytes in the volume.', unit: 'By' };
const USED: FamilyInfo = { name: 'kubelet_volume_stats_used_bytes', description: 'Number of used bytes in the volume.', unit: 'By' };
const INODES: FamilyInfo = { name: 'kubelet_volume_stats_inodes', description: 'Maximum number of inodes in the volume.' };
const INODES_FREE: FamilyInfo = { name: 'kubelet_volume_stats_inodes_free', description: 'Number of free inodes in the volume.' };
const INODES_USED: FamilyInfo = { name: 'kubelet_volume_stats_inodes_used', description: 'Number of used inodes in the volume.' };
const COMPAT_CAPACITY: FamilyInfo = { name: 'local_volume_stats_capacity_bytes', description: 'Requested capacity of the local volume claim in bytes.', unit: 'By' };
const COMPAT_USED: FamilyInfo = { name: 'local_volume_stats_used_bytes', description: 'Apparent size of the local volume in bytes (du -sb).', unit: 'By' };
const WALK_DURATION: FamilyInfo = { name: 'nodemeter_hostpath_walk_duration_seconds', description: 'Duration of the last complete walk of the volume.', unit: 's' };
const WALK_SUCCESS: FamilyInfo = { name: 'nodemeter_hostpath_walk_last_success_timestamp_seconds', description: 'When the last complete walk of the volume finished (Unix time).', unit: 's' };
const WALK_AGE: FamilyInfo = { name: 'nodemeter_hostpath_walk_age_seconds', description: 'Age of the volume usage being served: time since its last complete walk finished.', unit: 's' };
const WALK_SKIPPED: FamilyInfo = {
  name: 'nodemeter_hostpath_walk_skipped_entries',
  description: 'Entries the last complete walk could not measure (vanished or unreadable), by errno; they are missing from the totals.',
};
const WALK_FAILURES: FamilyInfo = { name: 'nodemeter_hostpath_walk_failures_total', description: 'Walks of the volume that did not complete, by reason.' };
const VOLUME_ERROR: FamilyInfo = {
  name: 'nodemeter_hostpath_volume_error',
  description: 'A volume whose latest walk failed or whose capacity quantity could not be parsed; 1 while so, absent otherwise.',
};

/** Labels of one volume on every family, so ratios join. Unknown ones are left out. */
export function volumeAttributes(nodeName: string, t: VolumeTarget): Attributes {
  const a: Attributes = { node: nodeName, path: t.path, volume_plugin: t.plugin };
  if (t.persistentVolume !== undefined) a.persistentvolume = t.persistentVolume;
  if (t.namespace !== undefined) a.namespace = t.namespace;
  if (t.claim !== undefined) a.persistentvolumeclaim = t.claim;
  if (t.storageClass !== undefined) a.storageclass = t.storageClass;
  return a;
}

/** Used, capacity and available bytes of a walk, by the receiver's rules. */
export function usage(result: WalkResult, target: VolumeTarget, mode: SizeMode): { used: number; capacity: number; available: number } {
  const used = mode === 'apparent' ? result.apparentBytes : result.blockBytes;
  const fs = result.filesystem;
  const fsSize = fs ? fs.blocks * fs.bsize : undefined;
  const fsAvailable = fs ? fs.bavail * fs.bsize : Infinity;
  const capacity = target.capacityBytes ?? fsSize ?? used;
  // Nothing enforces a hostPath volume's request: what the disk has left caps what it can still take.
  const available = Math.min(Math.max(capacity - used, 0), fsAvailable);
  return { used, capacity, available };
}

export interface BuildOptions {
  readonly nodeName: string;
  readonly sizeMode: SizeMode;
  readonly compat: boolean;
  /** When the receiver started: the failure counters' start time. */
  readonly startTime: HrTime;
}

/** Per volume labels, rebuilt only when its target changes (processors never mutate them). */
const labelCache = new WeakMap<VolumeTarget, { nodeName: string; attributes: Attributes; compat: Attributes | undefined }>();

function labelsOf(nodeName: string, target: VolumeTarget): { attributes: Attributes; compat: Attributes | undefined } {
  let cached = labelCache.get(target);
  if (!cached || cached.nodeName !== nodeName) {
    const compat = target.claim !== undefined ? { persistentvolumeclaim: target.claim, namespace: target.namespace ?? '', node: nodeName } : undefined;
    cached = { nodeName, attributes: volumeAttributes(nodeName, target), compat };
    labelCache.set(target, cached);
  }
  return cached;
}

/** Every family with samples for the volumes' current state at `time`. */
export function buildFamilies(volumes: Iterable<VolumeState>, options: BuildOptions, time: HrTime): MetricData[] {
  const s: Record<string, Sample[]> = {};
  const add = (info: FamilyInfo, attributes: Attributes, value: number): void => {
    (s[info.name] ??= []).push({ attributes, value });
  };
  const nowMs = hrTimeToMilliseconds(time);
  for (const state of volumes) {
    const { attributes, compat } = labelsOf(options.nodeName, state.target);
    for (const [reason, n] of Object.entries(state.failures)) add(WALK_FAILURES, { ...attributes, reason }, n);
    if (state.failure) add(VOLUME_ERROR, { ...attributes, reason: state.failure.reason }, 1);
    if (state.target.capacityProblem !== undefined) add(VOLUME_ERROR, { ...attributes, reason: 'bad_quantity' }, 1);
    const result = state.result;
    if (!result || state.succeededAt === undefined) continue;
    const { used, capacity, available } = usage(result, state.target, options.sizeMode);
    add(CAPACITY, attributes, capacity);
    add(AVAILABLE, attributes, available);
    add(USED, attributes, used);
    if (result.filesystem) {
      add(INODES, attributes, result.filesystem.files);
      add(INODES_FREE, attributes, result.filesystem.ffree);
    }
    add(INODES_USED, attributes, result.inodes);
    add(WALK_DURATION, attributes, result.durationMs / 1000);
    add(WALK_SUCCESS, attributes, state.succeededAt / 1000);
    add(WALK_AGE, attributes, Math.max(0, nowMs - state.succeededAt) / 1000);
    for (const [reason, n] of Object.entries(result.skipped)) add(WALK_SKIPPED, { ...attributes, reason }, n);
    if (options.compat && compat) {
      // The exporter reported the claim's request; without one there is nothing to report.
      if (state.target.capacityBytes !== undefined) add(COMPAT_CAPACITY, compat, state.target.capacityBytes);
      add(COMPAT_USED, compat, result.apparentBytes);
    }
  }
  const order: FamilyInfo[] = [CAPACITY, AVAILABLE, USED, INODES, INODES_FREE, INODES_USED, COMPAT_CAPACITY, COMPAT_USED, WALK_DURATION, WALK_SUCCESS, WALK_AGE, WALK_SKIPPED, VOLUME_ERROR];
  const metrics: MetricData[] = [];
  for (const info of order) {
    const samples = s[info.name];
    if (samples) metrics.push(gauge(info, samples, time));
  }
  const failures = s[WALK_FAILURES.name];
  if (failures) metrics.push(counter(WALK_FAILURES, failures, options.startTime, time));
  return metrics;
}
