import type { BlockIoSample, ContainerSample, NetworkSample, SampleProblem } from './container-sample.ts';
import type { EngineStats } from './engine-types.ts';

const NS_PER_S = 1e9;

function num(v: unknown): number | undefined {
  return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
}

function seconds(ns: unknown): number | undefined {
  const n = num(ns);
  return n === undefined ? undefined : n / NS_PER_S;
}

/**
 * The Engine API's stats reply as a ContainerSample, with cAdvisor's semantics. The daemon fills
 * `memory_stats.stats` from the cgroup's memory.stat, so its keys tell v1 (`total_inactive_file`,
 * `total_rss`, `total_cache`) from v2 (`inactive_file`, `anon`, `file`). The memory limit comes
 * from the container's HostConfig.Memory (0 = none), because the stats' `limit` is the host's
 * memory when there is no limit.
 */
export function sampleFromStats(stats: EngineStats, memoryLimit: number | undefined): { sample: ContainerSample; problems: SampleProblem[] } {
  const problems: SampleProblem[] = [];
  const cpu = stats.cpu_stats ?? undefined;
  const usage = cpu?.cpu_usage;
  const throttling = cpu?.throttling_data;
  const mem = stats.memory_stats ?? undefined;
  const memStats = mem?.stats ?? undefined;
  const v1 = memStats !== undefined && 'total_inactive_file' in memStats;
  const memoryUsageBytes = num(mem?.usage);
  const inactiveFile = num(v1 ? memStats?.total_inactive_file : memStats?.inactive_file);
  let memoryWorkingSetBytes: number | undefined;
  if (memoryUsageBytes !== undefined && inactiveFile !== undefined) memoryWorkingSetBytes = Math.max(0, memoryUsageBytes - inactiveFile);

  const networks: NetworkSample[] = [];
  for (const [name, n] of Object.entries(stats.networks ?? {})) {
    if (name === 'lo') continue;
    networks.push({
      interface: name,
      receiveBytes: num(n.rx_bytes) ?? 0,
      receivePackets: num(n.rx_packets) ?? 0,
      receiveErrors: num(n.rx_errors) ?? 0,
      receiveDropped: num(n.rx_dropped) ?? 0,
      transmitBytes: num(n.tx_bytes) ?? 0,
      transmitPackets: num(n.tx_packets) ?? 0,
      transmitErrors: num(n.tx_errors) ?? 0,
      transmitDropped: num(n.tx_dropped) ?? 0,
    });
  }

  const devices = new Map<string, { major: number; minor: number; readBytes: number; writeBytes: number }>();
  for (const entry of stats.blkio_stats?.io_service_bytes_recursive ?? []) {
    const major = num(entry.major);
    const minor = num(entry.minor);
    const value = num(entry.value);
    // v1 daemons say Read/Write, v2 daemons read/write.
    const op = entry.op?.toLowerCase();
    if (major === undefined || minor === undefined || value === undefined || (op !== 'read' && op !== 'write')) continue;
    const key = `${major}:${minor}`;
    let d = devices.get(key);
    if (!d) devices.set(key, (d = { major, minor, readBytes: 0, writeBytes: 0 }));
    if (op === 'read') d.readBytes += value;
    else d.writeBytes += value;
  }
  const blockIo: BlockIoSample[] = [...devices.values()];

  if (usage === undefined) problems.push({ source: 'cpu_stats.cpu_usage', message: 'missing from the stats reply' });
  if (mem === undefined || memoryUsageBytes === undefined) problems.push({ source: 'memory_stats.usage', message: 'missing from the stats reply' });

  const sample: ContainerSample = {
    cpuUsageSeconds: seconds(usage?.total_usage),
    cpuUserSeconds: seconds(usage?.usage_in_usermode),
    cpuSystemSeconds: seconds(usage?.usage_in_kernelmode),
    cpuThrottledPeriods: num(throttling?.throttled_periods),
    cpuThrottledSeconds: seconds(throttling?.throttled_time),
    memoryUsageBytes,
    memoryWorkingSetBytes,
    memoryRssBytes: num(v1 ? memStats?.total_rss : memStats?.anon),
    memoryCacheBytes: num(v1 ? memStats?.total_cache : memStats?.file),
    memoryLimitBytes: memoryLimit,
    pids: num(stats.pids_stats?.current),
    networks,
    blockIo,
  };
  return { sample, problems };
}
