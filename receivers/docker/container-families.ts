import type { Attributes, HrTime } from '@opentelemetry/api';
import { millisToHrTime } from '@opentelemetry/core';
import type { MetricData } from '@opentelemetry/sdk-metrics';
import { counter, gauge, type FamilyInfo, type Sample } from '../../pipeline/datapoints.ts';
import type { BlockDevices } from './block-devices.ts';
import { HEALTH_STATES, type ContainerInfo } from './container-info.ts';
import type { ContainerSample, NetworkSample } from './container-sample.ts';
import type { RoundSummary, TimedSample } from './stats-rounds.ts';

// cAdvisor's names and meanings, so dashboards built for the kubelet's cAdvisor work unchanged.
const CPU_USAGE: FamilyInfo = { name: 'container_cpu_usage_seconds_total', description: 'Cumulative cpu time consumed in seconds.', unit: 's' };
const CPU_USER: FamilyInfo = { name: 'container_cpu_user_seconds_total', description: 'Cumulative user cpu time consumed in seconds.', unit: 's' };
const CPU_SYSTEM: FamilyInfo = { name: 'container_cpu_system_seconds_total', description: 'Cumulative system cpu time consumed in seconds.', unit: 's' };
const THROTTLED_PERIODS: FamilyInfo = { name: 'container_cpu_cfs_throttled_periods_total', description: 'Number of throttled period intervals.' };
const THROTTLED_SECONDS: FamilyInfo = { name: 'container_cpu_cfs_throttled_seconds_total', description: 'Total time duration the container has been throttled.', unit: 's' };
const MEM_USAGE: FamilyInfo = { name: 'container_memory_usage_bytes', description: 'Current memory usage in bytes, including all memory regardless of when it was accessed.', unit: 'By' };
const MEM_WORKING_SET: FamilyInfo = { name: 'container_memory_working_set_bytes', description: 'Current working set in bytes: usage minus inactive file pages.', unit: 'By' };
const MEM_RSS: FamilyInfo = { name: 'container_memory_rss', description: 'Size of RSS (anonymous memory) in bytes.', unit: 'By' };
const MEM_CACHE: FamilyInfo = { name: 'container_memory_cache', description: 'Number of bytes of page cache memory.', unit: 'By' };
const MEM_LIMIT: FamilyInfo = { name: 'container_spec_memory_limit_bytes', description: 'Memory limit for the container; 0 when it has none.', unit: 'By' };
const PIDS: FamilyInfo = { name: 'container_pids', description: 'Number of tasks (processes and threads) in the container.' };
const FS_READS: FamilyInfo = { name: 'container_fs_reads_bytes_total', description: 'Cumulative count of bytes read from the block device.', unit: 'By' };
const FS_WRITES: FamilyInfo = { name: 'container_fs_writes_bytes_total', description: 'Cumulative count of bytes written to the block device.', unit: 'By' };
const RUNNING: FamilyInfo = { name: 'container_running', description: 'Whether the container is running (1) or stopped (0).' };
const HEALTH: FamilyInfo = { name: 'container_health_status', description: 'The container\'s health check status: 1 for the current one of healthy, unhealthy, starting and none (no health check).' };
const UP: FamilyInfo = { name: 'nodemeter_docker_up', description: 'Whether the Docker daemon answered the receiver\'s last request (1) or not (0).' };
const ROUND_DURATION: FamilyInfo = { name: 'nodemeter_docker_stats_round_duration_seconds', description: 'How long the last round of reading every running container\'s usage took.', unit: 's' };
const ROUND_AGE: FamilyInfo = { name: 'nodemeter_docker_stats_age_seconds', description: 'Age of the container usage being served: time since its round finished.', unit: 's' };
const ERRORS: FamilyInfo = { name: 'nodemeter_docker_errors_total', description: 'Failed Docker operations by operation (version, list, inspect, events, stats).' };

type NetworkField = Exclude<keyof NetworkSample, 'interface'>;
const NETWORK: ReadonlyArray<readonly [NetworkField, FamilyInfo]> = [
  ['receiveBytes', { name: 'container_network_receive_bytes_total', description: 'Cumulative count of bytes received.', unit: 'By' }],
  ['receivePackets', { name: 'container_network_receive_packets_total', description: 'Cumulative count of packets received.' }],
  ['receiveErrors', { name: 'container_network_receive_errors_total', description: 'Cumulative count of errors encountered while receiving.' }],
  ['receiveDropped', { name: 'container_network_receive_packets_dropped_total', description: 'Cumulative count of packets dropped while receiving.' }],
  ['transmitBytes', { name: 'container_network_transmit_bytes_total', description: 'Cumulative count of bytes transmitted.', unit: 'By' }],
  ['transmitPackets', { name: 'container_network_transmit_packets_total', description: 'Cumulative count of packets transmitted.' }],
  ['transmitErrors', { name: 'container_network_transmit_errors_total', description: 'Cumulative count of errors encountered while transmitting.' }],
  ['transmitDropped', { name: 'container_network_transmit_packets_dropped_total', description: 'Cumulative count of packets dropped while transmitting.' }],
];

type ScalarField = Exclude<keyof ContainerSample, 'networks' | 'blockIo'>;
const COUNTERS: ReadonlyArray<readonly [ScalarField, FamilyInfo]> = [
  ['cpuUsageSeconds', CPU_USAGE],
  ['cpuUserSeconds', CPU_USER],
  ['cpuSystemSeconds', CPU_SYSTEM],
  ['cpuThrottledPeriods', THROTTLED_PERIODS],
  ['cpuThrottledSeconds', THROTTLED_SECONDS],
];
const GAUGES: ReadonlyArray<readonly [ScalarField, FamilyInfo]> = [
  ['memoryUsageBytes', MEM_USAGE],
  ['memoryWorkingSetBytes', MEM_WORKING_SET],
  ['memoryRssBytes', MEM_RSS],
  ['memoryCacheBytes', MEM_CACHE],
  ['memoryLimitBytes', MEM_LIMIT],
  ['pids', PIDS],
];

/** A counter's samples with their own start times (each container counts from its start). */
interface TimedCounterSample extends Sample {
  readonly startTime: HrTime;
}

function counterFamily(info: FamilyInfo, samples: readonly TimedCounterSample[], time: HrTime): MetricData {
  const family = counter(info, samples, time, time);
  return { ...family, dataPoints: family.dataPoints.map((p, i) => ({ ...p, startTime: (samples[i] as TimedCounterSample).startTime })) };
}

export interface FamilyInput {
  readonly containers: Iterable<ContainerInfo>;
  readonly samples: ReadonlyMap<string, TimedSample>;
  readonly devices: BlockDevices;
  readonly up: boolean;
  readonly lastRound: RoundSummary | undefined;
  readonly errors: ReadonlyMap<string, number>;
  readonly receiverStart: HrTime;
}

/** Every family of one collection: usage of running containers, state of all, and the receiver's own. */
export function buildContainerFamilies(input: FamilyInput, time: HrTime): MetricData[] {
  const counters = new Map<FamilyInfo, TimedCounterSample[]>();
  const gauges = new Map<FamilyInfo, Sample[]>();
  const push = <T extends Sample>(map: Map<FamilyInfo, T[]>, info: FamilyInfo, sample: T): void => {
    let list = map.get(info);
    if (!list) map.set(info, (list = []));
    list.push(sample);
  };
  const running: Sample[] = [];
  const health: Sample[] = [];

  for (const c of input.containers) {
    if (c.excluded) continue;
    running.push({ attributes: c.attributes, value: c.running ? 1 : 0 });
    for (const state of HEALTH_STATES) health.push({ attributes: { ...c.attributes, status: state }, value: c.health === state ? 1 : 0 });
    if (!c.running) continue;
    const timed = input.samples.get(c.id);
    if (!timed) continue;
    const s = timed.sample;
    const startTime = c.startedAtMs === undefined ? input.receiverStart : millisToHrTime(c.startedAtMs);
    for (const [field, info] of COUNTERS) {
      const value = s[field];
      if (value !== undefined) push(counters, info, { attributes: c.attributes, value, startTime });
    }
    for (const [field, info] of GAUGES) {
      const value = s[field];
      if (value !== undefined) push(gauges, info, { attributes: c.attributes, value });
    }
    for (const n of s.networks ?? []) {
      const attributes: Attributes = { ...c.attributes, interface: n.interface };
      for (const [field, info] of NETWORK) push(counters, info, { attributes, value: n[field], startTime });
    }
    for (const b of s.blockIo ?? []) {
      const attributes: Attributes = { ...c.attributes, device: input.devices.name(b.major, b.minor) };
      push(counters, FS_READS, { attributes, value: b.readBytes, startTime });
      push(counters, FS_WRITES, { attributes, value: b.writeBytes, startTime });
    }
  }

  const metrics: MetricData[] = [];
  for (const [info, samples] of counters) metrics.push(counterFamily(info, samples, time));
  for (const [info, samples] of gauges) metrics.push(gauge(info, samples, time));
  if (running.length > 0) metrics.push(gauge(RUNNING, running, time), gauge(HEALTH, health, time));
  metrics.push(gauge(UP, [{ attributes: {}, value: input.up ? 1 : 0 }], time));
  const last = input.lastRound;
  if (last) {
    metrics.push(gauge(ROUND_DURATION, [{ attributes: {}, value: last.durationMs / 1000 }], time));
    metrics.push(gauge(ROUND_AGE, [{ attributes: {}, value: Math.max(0, Date.now() - last.finishedAtMs) / 1000 }], time));
  }
  const errors = [...input.errors].map(([operation, value]) => ({ attributes: { operation }, value }));
  if (errors.length > 0) metrics.push(counter(ERRORS, errors, input.receiverStart, time));
  return metrics;
}
