import '../../config/formats.ts';
import { schemaDefaults } from '../../pipeline/schema-defaults.ts';

/** node_exporter's defaults (collector/filesystem_linux.go), so its flags carry over unchanged. */
export const DEFAULT_MOUNT_POINTS_EXCLUDE =
  '^/(dev|proc|run/credentials/.+|sys|var/lib/docker/.+|var/lib/containers/storage/.+)($|/)';
export const DEFAULT_FS_TYPES_EXCLUDE =
  '^(autofs|binfmt_misc|bpf|cgroup2?|configfs|debugfs|devpts|devtmpfs|fusectl|hugetlbfs|iso9660|mqueue|nsfs|overlay|proc|procfs|pstore|rpc_pipefs|securityfs|selinuxfs|squashfs|erofs|sysfs|tracefs)$';
/** Service-account tokens, ConfigMaps and Secrets: one tiny tmpfs per pod, not storage. */
export const DEFAULT_VOLUME_PLUGINS_EXCLUDE = '^(configmap|secret|projected|downward-api)$';

export interface NodeFilesystemsConfig {
  enabled: boolean;
  mount_points_exclude: string;
  mount_points_include: string;
  fs_types_exclude: string;
  fs_types_include: string;
  devices_exclude: string;
  devices_include: string;
}

export interface FilesystemReceiverConfig {
  root_path: string;
  mountinfo_path: string;
  kubelet_root: string;
  /** Milliseconds (the `duration` format coerces `5s` to 5000). */
  statfs_timeout: number;
  concurrency: number;
  max_stuck: number;
  volume_plugins_include: string;
  volume_plugins_exclude: string;
  node_filesystems: NodeFilesystemsConfig;
}

const regex = (doc: string, def = '') => ({ doc, format: 'regex', default: def });

/** Convict schema; every key documented and defaulted. */
export const schema = {
  root_path: {
    doc: 'Where the host root filesystem is mounted in the agent container (e.g. /host); empty when the agent runs on the host. Stripped from reported mount points, prefixed to statfs paths.',
    format: String,
    default: '',
  },
  mountinfo_path: {
    doc: 'Mount table to read. Empty: <root_path>/proc/1/mountinfo, falling back to /proc/self/mountinfo.',
    format: String,
    default: '',
  },
  kubelet_root: {
    doc: "The kubelet's root directory on the host (--root-dir); volume mounts are recognised under it.",
    format: String,
    default: '/var/lib/kubelet',
  },
  statfs_timeout: {
    doc: 'How long one statfs may take before its mount is marked stuck and skipped until it answers.',
    format: 'duration',
    default: 5000,
  },
  concurrency: {
    doc: 'statfs worker threads; they share each collect\'s mounts, and a hung mount blocks only the thread in it while the others finish the rest.',
    format: 'nat',
    // Batched rounds make 1,000 mounts a few ms of work; a second thread keeps them moving past a hang.
    default: 2,
  },
  max_stuck: {
    doc: 'Most threads left blocked in a hung statfs at once; past it, further hangs shrink the pool instead of adding threads.',
    format: 'nat',
    default: 8,
  },
  volume_plugins_include: regex('Regexp of volume plugins (csi, local-volume, empty-dir, vendor/driver, …) to report; empty: all.'),
  volume_plugins_exclude: regex('Regexp of volume plugins not to report.', DEFAULT_VOLUME_PLUGINS_EXCLUDE),
  node_filesystems: {
    enabled: {
      doc: 'Also report node_exporter-compatible node_filesystem_* for mounts that are not kubelet volumes.',
      format: Boolean,
      default: true,
    },
    mount_points_exclude: regex('Regexp (searched, as node_exporter does; anchor it yourself) of mount points to leave out.', DEFAULT_MOUNT_POINTS_EXCLUDE),
    mount_points_include: regex('Regexp of mount points to report; empty: all. Applied together with the exclude.'),
    fs_types_exclude: regex('Regexp of filesystem types to leave out.', DEFAULT_FS_TYPES_EXCLUDE),
    fs_types_include: regex('Regexp of filesystem types to report; empty: all.'),
    devices_exclude: regex('Regexp of devices (mount sources) to leave out; empty: none.'),
    devices_include: regex('Regexp of devices to report; empty: all.'),
  },
};

/** Cross-field and range checks convict's formats cannot express. */
export function validateConfig(config: Readonly<FilesystemReceiverConfig>): Array<{ path: string; message: string }> {
  const problems: Array<{ path: string; message: string }> = [];
  if (!Number.isInteger(config.concurrency) || config.concurrency < 1) {
    problems.push({ path: 'concurrency', message: 'must be an integer of at least 1' });
  }
  if (typeof config.statfs_timeout !== 'number' || config.statfs_timeout <= 0) {
    problems.push({ path: 'statfs_timeout', message: 'must be a positive duration' });
  }
  if (config.kubelet_root !== '' && !config.kubelet_root.startsWith('/')) {
    problems.push({ path: 'kubelet_root', message: 'must be an absolute path' });
  }
  if (config.root_path !== '' && !config.root_path.startsWith('/')) {
    problems.push({ path: 'root_path', message: 'must be an absolute path or empty' });
  }
  return problems;
}

/** The schema's defaults as a frozen plain object. */
export function defaultConfig(): FilesystemReceiverConfig {
  return schemaDefaults(schema) as FilesystemReceiverConfig;
}
