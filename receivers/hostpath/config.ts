import '../../config/formats.ts';
import { schemaDefaults } from '../../pipeline/schema-defaults.ts';
import { chooseScanner, type ScannerKind } from './native-scanner.ts';

export type SizeMode = 'blocks' | 'apparent';

export interface HostpathReceiverConfig {
  root_path: string;
  node_affinity_key: string;
  persistent_volumes: boolean;
  local_path_base_dirs: string[];
  size_mode: SizeMode;
  /** Milliseconds, like every duration. */
  collection_interval: number;
  jitter: number;
  walk_timeout: number;
  max_entries: number;
  concurrency: number;
  threads: number;
  max_stuck: number;
  scanner: 'auto' | ScannerKind;
  compat_metrics: boolean;
}

/** Convict schema; every key documented and defaulted. */
export const schema = {
  root_path: {
    doc: 'Where the host root filesystem is mounted in the agent container (e.g. /host); empty when the agent runs on the host. Prefixed to every volume path before it is walked, never shown in labels.',
    format: String,
    default: '',
  },
  node_affinity_key: {
    doc: "Node label key of the PV's required nodeAffinity (`In`) that names its node; matched against this node's name and this node's own label value for the key.",
    format: String,
    default: 'kubernetes.io/hostname',
  },
  persistent_volumes: {
    doc: 'With a Kubernetes API: measure the Bound PVs with a hostPath or local source that are on this node (by node affinity, the local-path selected-node annotation, the PVC selected-node annotation, or a pod of this node using the claim).',
    format: Boolean,
    default: true,
  },
  local_path_base_dirs: {
    doc: 'Without a Kubernetes API: base directories (e.g. /opt/local-path-provisioner) whose entries named pvc-<uid>_<namespace>_<claim> (local-path-provisioner\'s layout) are measured and labelled from the name. Ignored when the agent has an API server (the PVs name the directories then).',
    format: 'string-array',
    default: [] as string[],
  },
  size_mode: {
    doc: 'Used bytes as allocated blocks × 512 (`blocks`, like `du -s` and the kubelet) or as the sum of file sizes (`apparent`, like `du -sb`).',
    format: ['blocks', 'apparent'],
    default: 'blocks' as SizeMode,
  },
  collection_interval: {
    doc: 'How often each volume is walked; scrapes are answered from the last complete walk in between.',
    format: 'duration',
    default: 60_000,
  },
  jitter: {
    doc: 'Fraction of collection_interval by which each walk is moved at random, so volumes (and nodes) do not walk in step.',
    format: Number,
    default: 0.1,
  },
  walk_timeout: {
    doc: 'Time budget of one volume\'s walk; past it the walk stops, is counted as failed and the last good result is kept.',
    format: 'duration',
    default: 300_000,
  },
  max_entries: {
    doc: 'Entry budget of one volume\'s walk (directory entries read); past it the walk stops as failed. 0: no limit.',
    format: 'nat',
    default: 20_000_000,
  },
  concurrency: {
    doc: 'Volumes walked at once.',
    format: 'nat',
    default: 2,
  },
  threads: {
    doc: 'Walk threads shared by all volumes; one volume\'s walk spreads over every idle thread.',
    format: 'nat',
    default: 2,
  },
  max_stuck: {
    doc: 'Walk threads that may stay blocked in a hung filesystem (and be replaced) at once; past it no more are added.',
    format: 'nat',
    default: 4,
  },
  scanner: {
    doc: 'How a walk thread reads a directory: native (getdents64 and fstatat relative to the directory, like du; built from C by npm ci), node-fs (Node\'s own readdir and lstat: no compiler needed, about 1.7 times du\'s CPU) or auto (native when it is built, else node-fs, with a warning in the log).',
    format: ['auto', 'native', 'node-fs'],
    default: 'auto' as 'auto' | ScannerKind,
  },
  compat_metrics: {
    doc: 'Also emit the local-path metrics exporter\'s local_volume_stats_capacity_bytes and local_volume_stats_used_bytes (apparent bytes, as its `du -sb` did), labelled persistentvolumeclaim, namespace and node.',
    format: Boolean,
    default: false,
  },
};

/** Cross-field and range checks convict's formats cannot express. */
export function validateConfig(config: Readonly<HostpathReceiverConfig>): Array<{ path: string; message: string }> {
  const problems: Array<{ path: string; message: string }> = [];
  const positive = (path: keyof HostpathReceiverConfig, value: number, what: string): void => {
    if (typeof value !== 'number' || !(value > 0)) problems.push({ path, message: `must be ${what}` });
  };
  positive('collection_interval', config.collection_interval, 'a positive duration');
  positive('walk_timeout', config.walk_timeout, 'a positive duration');
  positive('concurrency', config.concurrency, 'an integer of at least 1');
  positive('threads', config.threads, 'an integer of at least 1');
  if (typeof config.jitter !== 'number' || !(config.jitter >= 0 && config.jitter <= 1)) {
    problems.push({ path: 'jitter', message: 'must be a fraction between 0 and 1' });
  }
  if (config.root_path !== '' && !config.root_path.startsWith('/')) {
    problems.push({ path: 'root_path', message: 'must be an absolute path or empty' });
  }
  config.local_path_base_dirs.forEach((dir, i) => {
    if (!dir.startsWith('/')) problems.push({ path: `local_path_base_dirs::${i}`, message: `must be an absolute path, got "${dir}"` });
  });
  if (config.node_affinity_key === '') problems.push({ path: 'node_affinity_key', message: 'must not be empty' });
  if (config.scanner === 'native') {
    const available = chooseScanner();
    if (available.kind !== 'native') problems.push({ path: 'scanner', message: `native is not available: ${available.reason ?? 'unknown reason'}; use auto or node-fs` });
  }
  return problems;
}

/** The schema's defaults as a frozen plain object. */
export function defaultConfig(): HostpathReceiverConfig {
  return schemaDefaults(schema) as HostpathReceiverConfig;
}
