import '../../config/formats.ts';
import { posix } from 'node:path';
import convict from 'convict';
import { nonEmptyString, objectList, oneOf, onlyKeys } from '../../config/object-list.ts';
import { schemaDefaults } from '../../pipeline/schema-defaults.ts';
import { namePatternProblem } from './name-pattern.ts';

/** A PersistentVolume's `volumeMode`, as a discovery directory's entries are published. */
export type VolumeMode = 'Filesystem' | 'Block';
export const VOLUME_MODES: readonly VolumeMode[] = ['Filesystem', 'Block'];

/** One discovery directory as written in the config (the static provisioner's `storageClassMap` entry). */
export interface DiscoveryDirectoryConfig {
  storage_class: string;
  /** Path on the host: the `local.path` of the PVs made for its entries is `<host_dir>/<name>`. */
  host_dir: string;
  /** Path the agent reads the directory at; default `<root_path><host_dir>`. */
  mount_dir?: string;
  /** Default `Filesystem`. */
  volume_mode?: VolumeMode;
  /** Default `*`. */
  name_pattern?: string;
}

const DISCOVERY_KEYS = ['storage_class', 'host_dir', 'mount_dir', 'volume_mode', 'name_pattern'] as const;

function absolutePath(item: Record<string, unknown>, at: string, key: string, required: boolean): void {
  nonEmptyString(item, at, key, required);
  const value = item[key];
  if (typeof value === 'string' && !value.startsWith('/')) throw new Error(`${at}: "${key}" must be an absolute path, got ${JSON.stringify(value)}`);
  if (typeof value === 'string' && value.includes('\0')) throw new Error(`${at}: "${key}" must not contain a NUL byte`);
}

// Module code runs once, so each format is registered once.
convict.addFormat({
  name: 'provisioner-discovery-directories',
  validate: objectList('discovery directories', (item, at) => {
    onlyKeys(item, at, DISCOVERY_KEYS);
    nonEmptyString(item, at, 'storage_class', true);
    absolutePath(item, at, 'host_dir', true);
    absolutePath(item, at, 'mount_dir', false);
    if (item['volume_mode'] !== undefined) oneOf(item, at, 'volume_mode', VOLUME_MODES);
    nonEmptyString(item, at, 'name_pattern', false);
    const problem = typeof item['name_pattern'] === 'string' ? namePatternProblem(item['name_pattern']) : undefined;
    if (problem) throw new Error(`${at}: "name_pattern" is not a pattern: ${problem}`);
  }),
});

export interface ProvisionerReceiverConfig {
  node_affinity_key: string;
  delete_type: string;
  /** Milliseconds, like every duration. */
  stuck_threshold: number;
  /** Seconds. */
  latency_buckets: number[];
  /** Seconds. */
  delete_duration_buckets: number[];
  discovery_directories: DiscoveryDirectoryConfig[];
  root_path: string;
  mountinfo_path: string;
  /** Milliseconds. */
  statfs_timeout: number;
}

/** Prometheus' default buckets (client_golang `DefBuckets`), which the local volume provisioner's histograms use. */
export const PROMETHEUS_DEFAULT_BUCKETS: readonly number[] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** Convict schema; every key documented and defaulted. */
export const schema = {
  node_affinity_key: {
    doc: "Node label key of the PV's required nodeAffinity (`In`) that names its node; matched against this node's name and this node's own label value for the key. PVs without such affinity are this node's when local-path's `local.path.provisioner/selected-node` or their claim's `volume.kubernetes.io/selected-node` names it (as the hostpath receiver decides).",
    format: String,
    default: 'kubernetes.io/hostname',
  },
  delete_type: {
    doc: 'Value of the `type` label on the delete families: how volumes are cleaned up, `process` (in the provisioner) or `job` (a cleanup Job), as the local volume provisioner labels them.',
    format: String,
    default: 'process',
  },
  stuck_threshold: {
    doc: 'A PV of this node in phase Failed or Pending for longer than this counts in nodemeter_provisioner_stuck_persistentvolumes.',
    format: 'duration',
    default: 600_000,
  },
  latency_buckets: {
    doc: 'Bucket upper bounds, in seconds, of nodemeter_provisioner_provisioning_latency_seconds (claim created → Bound; WaitForFirstConsumer claims include the wait for their pod).',
    format: Array,
    default: [0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600] as number[],
  },
  delete_duration_buckets: {
    doc: "Bucket upper bounds, in seconds, of local_volume_provisioner_persistentvolume_delete_duration_seconds (Released → deleted). The provisioner's own buckets (Prometheus' defaults, up to 10 s) extended to an hour, since the time waited before the cleanup starts is included.",
    format: Array,
    default: [...PROMETHEUS_DEFAULT_BUCKETS, 30, 60, 300, 600, 1800, 3600] as number[],
  },
  discovery_directories: {
    doc: "Local volume discovery in the static provisioner's shape: a list of `{storage_class, host_dir, mount_dir, volume_mode, name_pattern}`. Entries of `host_dir` whose names match `name_pattern` (a glob as the provisioner's namePattern: `*`, `?`, `[a-z]`; default `*`) are volumes: with `volume_mode` `Filesystem` (the default) when they are mount points, with `Block` when they are (symbolic links to) block devices. Each is claimed when a `local` PV of this node has `local.path` = `<host_dir>/<name>`, else unclaimed and reported with its capacity. `mount_dir` is where the agent reads the directory (default `<root_path><host_dir>`). Nothing is created, changed or deleted. Empty: no discovery.",
    format: 'provisioner-discovery-directories',
    default: [] as DiscoveryDirectoryConfig[],
  },
  root_path: {
    doc: "Where the host root filesystem is mounted in the agent container (e.g. /host); empty when the agent runs on the host. Discovery reads the host's mount table and sysfs under it, resolves block device links under it, and reads a directory's entries at `<root_path><host_dir>` unless the directory names a `mount_dir`.",
    format: String,
    default: '',
  },
  mountinfo_path: {
    doc: 'Mount table that says which discovery entries are mount points. Empty: <root_path>/proc/1/mountinfo, falling back to /proc/self/mountinfo (as the filesystem receiver reads it).',
    format: String,
    default: '',
  },
  statfs_timeout: {
    doc: 'How long the statfs of one discovered Filesystem entry (its capacity) may take before the mount is marked stuck and skipped until it answers.',
    format: 'duration',
    default: 5000,
  },
};

/** Checks convict's formats cannot express. */
export function validateConfig(config: Readonly<ProvisionerReceiverConfig>): Array<{ path: string; message: string }> {
  const problems: Array<{ path: string; message: string }> = [];
  if (typeof config.stuck_threshold !== 'number' || !(config.stuck_threshold > 0)) problems.push({ path: 'stuck_threshold', message: 'must be a positive duration' });
  if (config.node_affinity_key === '') problems.push({ path: 'node_affinity_key', message: 'must not be empty' });
  if (!/^[a-zA-Z0-9_:.-]+$/.test(config.delete_type)) problems.push({ path: 'delete_type', message: `must be a non-empty label value of letters, digits, "_", ":", "." or "-", got ${JSON.stringify(config.delete_type)}` });
  for (const key of ['latency_buckets', 'delete_duration_buckets'] as const) {
    const message = bucketProblem(config[key]);
    if (message) problems.push({ path: key, message });
  }
  if (config.root_path !== '' && !config.root_path.startsWith('/')) problems.push({ path: 'root_path', message: 'must be an absolute path or empty' });
  if (typeof config.statfs_timeout !== 'number' || !(config.statfs_timeout > 0)) problems.push({ path: 'statfs_timeout', message: 'must be a positive duration' });
  // The same entry found twice would be counted twice.
  const seen = new Map<string, number>();
  for (const [index, dir] of (config.discovery_directories ?? []).entries()) {
    const hostDir = normaliseDir(dir.host_dir);
    const first = seen.get(hostDir);
    if (first === undefined) seen.set(hostDir, index);
    else problems.push({ path: 'discovery_directories', message: `item ${index}: "host_dir" ${hostDir} is item ${first}'s too` });
  }
  return problems;
}

/** A directory path without `.`/`..` segments or a trailing slash (`/` stays `/`). */
export function normaliseDir(path: string): string {
  const normal = posix.normalize(path);
  return normal.length > 1 ? normal.replace(/\/+$/, '') : normal;
}

/** Why a bucket list is unusable, or undefined: it must be a non-empty list of increasing positive finite numbers. */
function bucketProblem(buckets: unknown): string | undefined {
  if (!Array.isArray(buckets) || buckets.length === 0) return 'must be a non-empty list of bucket upper bounds in seconds';
  for (const [i, b] of buckets.entries()) {
    if (typeof b !== 'number' || !Number.isFinite(b) || b <= 0) return `entry ${i} (${JSON.stringify(b)}) must be a positive number of seconds`;
    if (i > 0 && b <= (buckets[i - 1] as number)) return `must be strictly increasing (entry ${i}: ${b} after ${String(buckets[i - 1])})`;
  }
  return undefined;
}

/** The schema's defaults as a frozen plain object. */
export function defaultConfig(): ProvisionerReceiverConfig {
  return schemaDefaults(schema) as ProvisionerReceiverConfig;
}
