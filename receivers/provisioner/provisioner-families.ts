import type { HrTime } from '@opentelemetry/api';
import type { MetricData } from '@opentelemetry/sdk-metrics';
import { counter, gauge, histogram, type FamilyInfo } from '../../pipeline/datapoints.ts';
import type { DiscoverySamples } from './discovery.ts';
import type { LifecycleLedger } from './lifecycle-ledger.ts';

// The local volume provisioner's own names and labels, so its dashboards and alerts keep working.
export const DISCOVERY_TOTAL: FamilyInfo = {
  name: 'local_volume_provisioner_persistentvolume_discovery_total',
  description: "PersistentVolumes of this node that appeared since the agent started, by volume mode (those there at start are not counted).",
};
export const DELETE_TOTAL: FamilyInfo = {
  name: 'local_volume_provisioner_persistentvolume_delete_total',
  description: 'PersistentVolumes of this node deleted since the agent started, by volume mode and delete type.',
};
export const DELETE_FAILED_TOTAL: FamilyInfo = {
  name: 'local_volume_provisioner_persistentvolume_delete_failed_total',
  description: 'Failed deletions of PersistentVolumes of this node: occurrences of Warning events with reason VolumeFailedDelete, by volume mode and delete type.',
};
export const DELETE_DURATION: FamilyInfo = {
  name: 'local_volume_provisioner_persistentvolume_delete_duration_seconds',
  description: 'Time from a PersistentVolume of this node entering phase Released to its deletion, by volume mode, delete type and capacity (rounded up to 500G steps).',
  unit: 's',
};
export const CAPACITY_BYTES: FamilyInfo = {
  name: 'local_volume_provisioner_persistentvolume_capacity_bytes',
  description: "Total capacity of this node's PersistentVolumes, by volume mode.",
  unit: 'By',
};
export const PERSISTENT_VOLUMES: FamilyInfo = {
  name: 'nodemeter_provisioner_persistentvolumes',
  description: "This node's PersistentVolumes by phase and storage class.",
};
export const PROVISIONING_LATENCY: FamilyInfo = {
  name: 'nodemeter_provisioner_provisioning_latency_seconds',
  description: 'Time from a claim\'s creation to Bound, for claims bound to a PersistentVolume of this node, by storage class and provisioner.',
  unit: 's',
};
export const EVENTS_TOTAL: FamilyInfo = {
  name: 'nodemeter_provisioner_events_total',
  description: "Occurrences of Kubernetes Events about this node's PersistentVolumes and their claims, by reason, type, reporting component and kind.",
};
export const STUCK_PERSISTENT_VOLUMES: FamilyInfo = {
  name: 'nodemeter_provisioner_stuck_persistentvolumes',
  description: "This node's PersistentVolumes in phase Failed or Pending for longer than stuck_threshold, by phase.",
};

// Local volume discovery in the static provisioner's shape (discovery_directories).
export const DISCOVERED_VOLUMES: FamilyInfo = {
  name: 'nodemeter_provisioner_discovered_volumes',
  description: 'Volumes found in the discovery directories (mount points for Filesystem, block devices for Block), by storage class, volume mode and state: claimed (a local PV of this node names the path) or unclaimed.',
};
export const UNCLAIMED_VOLUME_CAPACITY: FamilyInfo = {
  name: 'nodemeter_provisioner_unclaimed_volume_capacity_bytes',
  description: 'Capacity of each discovered volume no PV claims: statfs size (f_blocks × f_bsize) for Filesystem, the device size for Block; path is the host path.',
  unit: 'By',
};
export const DISCOVERY_IGNORED_ENTRIES: FamilyInfo = {
  name: 'nodemeter_provisioner_discovery_ignored_entries',
  description: 'Entries of the discovery directories matching the name pattern that are not volumes: not a mount point (Filesystem) or not a block device (Block).',
};

/** The discovery families of one collection. */
export function buildDiscoveryFamilies(samples: DiscoverySamples, time: HrTime): MetricData[] {
  const metrics: MetricData[] = [gauge(DISCOVERED_VOLUMES, samples.volumes, time), gauge(UNCLAIMED_VOLUME_CAPACITY, samples.unclaimedCapacity, time), gauge(DISCOVERY_IGNORED_ENTRIES, samples.ignored, time)];
  return metrics.filter((m) => m.dataPoints.length > 0);
}

/** Every family of one collection; counters and histograms count from `startTime`. */
export function buildProvisionerFamilies(ledger: LifecycleLedger, options: { startTime: HrTime; time: HrTime; stuckThresholdMs: number }): MetricData[] {
  const { startTime, time } = options;
  ledger.expire();
  const gauges = ledger.volumeGauges(options.stuckThresholdMs);
  const metrics: MetricData[] = [
    counter(DISCOVERY_TOTAL, ledger.discovered.samples(), startTime, time),
    counter(DELETE_TOTAL, ledger.deleted.samples(), startTime, time),
    counter(DELETE_FAILED_TOTAL, ledger.deleteFailed.samples(), startTime, time),
    histogram(DELETE_DURATION, ledger.deleteDuration.samples(), startTime, time),
    gauge(CAPACITY_BYTES, gauges.capacity, time),
    gauge(PERSISTENT_VOLUMES, gauges.phases, time),
    histogram(PROVISIONING_LATENCY, ledger.provisioningLatency.samples(), startTime, time),
    counter(EVENTS_TOTAL, ledger.events.samples(), startTime, time),
    gauge(STUCK_PERSISTENT_VOLUMES, gauges.stuck, time),
  ];
  return metrics.filter((m) => m.dataPoints.length > 0);
}
