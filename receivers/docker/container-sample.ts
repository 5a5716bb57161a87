/**
 * One container's resource usage at one moment, the same whichever source read it (the Engine
 * API's stats or the cgroup files). A field that the source could not read is undefined and its
 * series is left out; it is never reported as 0.
 */
export interface ContainerSample {
  /** CPU time, seconds since the container started: all, user, system. */
  readonly cpuUsageSeconds?: number;
  readonly cpuUserSeconds?: number;
  readonly cpuSystemSeconds?: number;
  /** CFS periods in which the container was throttled, and the time it spent throttled (seconds). */
  readonly cpuThrottledPeriods?: number;
  readonly cpuThrottledSeconds?: number;
  /** cgroup v1 memory.usage_in_bytes, v2 memory.current. */
  readonly memoryUsageBytes?: number;
  /** Usage − inactive file pages (v1 total_inactive_file, v2 inactive_file), floored at 0. */
  readonly memoryWorkingSetBytes?: number;
  /** Anonymous memory: v1 total_rss, v2 anon. */
  readonly memoryRssBytes?: number;
  /** Page cache: v1 total_cache, v2 file. */
  readonly memoryCacheBytes?: number;
  /** The memory limit in bytes; 0 when there is none (cAdvisor's convention). */
  readonly memoryLimitBytes?: number;
  /** Tasks in the container (pids.current). */
  readonly pids?: number;
  /** Per network interface of the container's network namespace, loopback excluded. */
  readonly networks?: readonly NetworkSample[];
  /** Per block device, bytes read and written through the block layer. */
  readonly blockIo?: readonly BlockIoSample[];
}

export interface NetworkSample {
  readonly interface: string;
  readonly receiveBytes: number;
  readonly receivePackets: number;
  readonly receiveErrors: number;
  readonly receiveDropped: number;
  readonly transmitBytes: number;
  readonly transmitPackets: number;
  readonly transmitErrors: number;
  readonly transmitDropped: number;
}

export interface BlockIoSample {
  readonly major: number;
  readonly minor: number;
  readonly readBytes: number;
  readonly writeBytes: number;
}

/** A problem met while reading one container's sample: the sample is still returned, without the fields concerned. */
export interface SampleProblem {
  /** The file or API field, e.g. `/sys/fs/cgroup/memory/docker/<id>/memory.stat`. */
  readonly source: string;
  readonly message: string;
}
