import type { Attributes } from '@opentelemetry/api';
import type { ContainerInspect } from './engine-types.ts';

/** Docker's health states, plus `none` for a container without a health check. */
export const HEALTH_STATES = ['healthy', 'unhealthy', 'starting', 'none'] as const;
export type HealthState = (typeof HEALTH_STATES)[number];

/** What the receiver keeps about one container, from its inspect reply. */
export interface ContainerInfo {
  readonly id: string;
  /** Without Docker's leading slash. */
  readonly name: string;
  readonly image: string;
  readonly running: boolean;
  readonly health: HealthState;
  /** The main process on the host (0 when not running): its /proc entry gives cgroup and network. */
  readonly pid: number;
  /** HostConfig.Memory: 0 when there is no limit. */
  readonly memoryLimitBytes: number;
  /** State.StartedAt in ms since the epoch; the start time of the container's counters. */
  readonly startedAtMs: number | undefined;
  /** Labels of every series of this container. */
  readonly attributes: Attributes;
  /** Left out by excluded_images / excluded_names: kept only so events for it are recognised. */
  readonly excluded: boolean;
}

export interface InfoOptions {
  readonly labelsToMetricLabels: Readonly<Record<string, string>>;
  readonly envToMetricLabels: Readonly<Record<string, string>>;
  readonly isExcludedImage: (image: string) => boolean;
  readonly isExcludedName: (name: string) => boolean;
}

/** Kubernetes names the kubelet's dockershim (and cri-dockerd) put on every container. */
const KUBERNETES_LABELS: ReadonlyArray<readonly [string, string]> = [
  ['io.kubernetes.pod.namespace', 'namespace'],
  ['io.kubernetes.pod.name', 'pod'],
  ['io.kubernetes.container.name', 'container'],
];

function healthOf(status: string | undefined): HealthState {
  return status === 'healthy' || status === 'unhealthy' || status === 'starting' ? status : 'none';
}

function timeOf(iso: string | undefined): number | undefined {
  if (iso === undefined || iso.startsWith('0001-')) return undefined;
  const t = Date.parse(iso);
  return Number.isFinite(t) ? t : undefined;
}

/** The receiver's view of an inspect reply. */
export function containerInfo(inspect: ContainerInspect, options: InfoOptions): ContainerInfo {
  const name = (inspect.Name ?? '').replace(/^\//, '');
  const image = inspect.Config?.Image ?? '';
  const labels = inspect.Config?.Labels ?? {};
  const attributes: Attributes = { id: inspect.Id, name, image };
  for (const [label, attribute] of KUBERNETES_LABELS) {
    const value = labels[label];
    if (value !== undefined && value !== '') attributes[attribute] = value;
  }
  for (const [label, attribute] of Object.entries(options.labelsToMetricLabels)) {
    const value = labels[label];
    if (value !== undefined) attributes[attribute] = value;
  }
  const envNames = Object.keys(options.envToMetricLabels);
  if (envNames.length > 0) {
    for (const entry of inspect.Config?.Env ?? []) {
      const eq = entry.indexOf('=');
      const variable = eq < 0 ? entry : entry.slice(0, eq);
      const attribute = options.envToMetricLabels[variable];
      if (attribute !== undefined) attributes[attribute] = eq < 0 ? '' : entry.slice(eq + 1);
    }
  }
  const running = inspect.State?.Running === true;
  return {
    id: inspect.Id,
    name,
    image,
    running,
    health: healthOf(inspect.State?.Health?.Status),
    pid: running ? (inspect.State?.Pid ?? 0) : 0,
    memoryLimitBytes: inspect.HostConfig?.Memory ?? 0,
    startedAtMs: timeOf(inspect.State?.StartedAt),
    attributes,
    excluded: options.isExcludedImage(image) || options.isExcludedName(name),
  };
}
