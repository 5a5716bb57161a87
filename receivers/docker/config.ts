import '../../config/formats.ts';
import { schemaDefaults } from '../../pipeline/schema-defaults.ts';
import { parseEndpoint, resolveEndpointUrl } from './engine-endpoint.ts';
import { compilePatterns } from './name-patterns.ts';

export type StatsSource = 'api' | 'cgroup';

export interface DockerReceiverConfig {
  endpoint: string;
  source: StatsSource;
  /** Milliseconds, like every duration. */
  collection_interval: number;
  container_refresh_interval: number;
  timeout: number;
  concurrency: number;
  cgroup_root: string;
  proc_root: string;
  include_stopped: boolean;
  container_labels_to_metric_labels: Record<string, string>;
  env_vars_to_metric_labels: Record<string, string>;
  excluded_images: string[];
  excluded_names: string[];
}

/** Labels the receiver sets itself; a mapping onto one of them would clash. */
export const RESERVED_LABELS = ['id', 'name', 'image', 'namespace', 'pod', 'container', 'interface', 'device', 'status'];

/** Convict schema; every key documented and defaulted. */
export const schema = {
  endpoint: {
    doc: 'Docker Engine API address: unix:///path or tcp://host:port. Empty: $DOCKER_HOST, else unix:///var/run/docker.sock.',
    format: String,
    default: '',
  },
  source: {
    doc: 'Where container usage is read: `api` (the Engine API\'s stats, one request per container) or `cgroup` (the container\'s cgroup v1/v2 files and /proc/<pid>/net/dev, read directly). The container list, names and labels always come from the API.',
    format: ['api', 'cgroup'],
    default: 'api' as StatsSource,
  },
  collection_interval: {
    doc: 'How often every running container\'s usage is read; scrapes are answered from the last complete round in between.',
    format: 'duration',
    default: 15_000,
  },
  container_refresh_interval: {
    doc: 'How often the container list is read again in full; between refreshes the /events stream keeps it current (start, die, destroy, health).',
    format: 'duration',
    default: 60_000,
  },
  timeout: {
    doc: 'Time limit of each Engine API request.',
    format: 'duration',
    default: 5_000,
  },
  concurrency: {
    doc: 'Stats requests in flight at once; 0 (the default) asks for every running container at once. dockerd answers the pending one-shot requests together, in one pass of its stats collector about once a second, so every batch beyond the first costs about a second more per round (100 containers 8 at a time: 13 s instead of 1.2 s). Set a limit only for a daemon that must not see that many connections at once.',
    format: 'nat',
    default: 0,
  },
  cgroup_root: {
    doc: 'Where the cgroup hierarchy is mounted (in a container: the host\'s, e.g. /host/sys/fs/cgroup). Used with source: cgroup.',
    format: String,
    default: '/sys/fs/cgroup',
  },
  proc_root: {
    doc: 'The host\'s /proc (in a container, e.g. /host/proc): the containers\' network counters and block device names are read there.',
    format: String,
    default: '/proc',
  },
  include_stopped: {
    doc: 'Also list stopped containers, with container_running 0 and their health; their usage series are never reported.',
    format: Boolean,
    default: true,
  },
  container_labels_to_metric_labels: {
    doc: 'Docker container labels to add as metric labels: {docker label: metric label}.',
    format: 'to-label-map',
    default: {} as Record<string, string>,
  },
  env_vars_to_metric_labels: {
    doc: 'Container environment variables to add as metric labels: {variable: metric label}. None by default: environments hold secrets; list only variables that do not.',
    format: 'to-label-map',
    default: {} as Record<string, string>,
  },
  excluded_images: {
    doc: 'Containers whose image matches one of these are not reported: a glob (`*`, `?`) matched against the whole image name, or /regexp/ (searched).',
    format: 'string-array',
    default: [] as string[],
  },
  excluded_names: {
    doc: 'Containers whose name (no leading slash) matches one of these are not reported; same pattern forms as excluded_images.',
    format: 'string-array',
    default: [] as string[],
  },
};

/** Checks convict's formats cannot express. */
export function validateConfig(config: Readonly<DockerReceiverConfig>): Array<{ path: string; message: string }> {
  const problems: Array<{ path: string; message: string }> = [];
  const positive = (path: keyof DockerReceiverConfig, value: number, what: string): void => {
    if (typeof value !== 'number' || !(value > 0)) problems.push({ path, message: `must be ${what}` });
  };
  positive('collection_interval', config.collection_interval, 'a positive duration');
  positive('container_refresh_interval', config.container_refresh_interval, 'a positive duration');
  positive('timeout', config.timeout, 'a positive duration');
  try {
    parseEndpoint(resolveEndpointUrl(config.endpoint));
  } catch (err) {
    problems.push({ path: config.endpoint === '' ? 'endpoint (from DOCKER_HOST)' : 'endpoint', message: (err as Error).message });
  }
  for (const [key, path] of [
    ['cgroup_root', config.cgroup_root],
    ['proc_root', config.proc_root],
  ] as const) {
    if (!path.startsWith('/')) problems.push({ path: key, message: `must be an absolute path, got "${path}"` });
  }
  for (const key of ['container_labels_to_metric_labels', 'env_vars_to_metric_labels'] as const) {
    for (const [from, label] of Object.entries(config[key] ?? {})) {
      if (RESERVED_LABELS.includes(label)) problems.push({ path: `${key}::${from}`, message: `"${label}" is a label the receiver sets itself; choose another name` });
    }
  }
  for (const key of ['excluded_images', 'excluded_names'] as const) {
    (config[key] ?? []).forEach((pattern, i) => {
      try {
        compilePatterns([pattern]);
      } catch (err) {
        problems.push({ path: `${key}::${i}`, message: (err as Error).message });
      }
    });
  }
  return problems;
}

/** The schema's defaults as a frozen plain object. */
export function defaultConfig(): DockerReceiverConfig {
  return schemaDefaults(schema) as DockerReceiverConfig;
}
