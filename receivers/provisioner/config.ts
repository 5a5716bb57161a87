import '../../config/formats.ts';
import { schemaDefaults } from '../../pipeline/schema-defaults.ts';

export interface ProvisionerReceiverConfig {
  node_affinity_key: string;
  delete_type: string;
  /** Milliseconds, like every duration. */
  stuck_threshold: number;
  /** Seconds. */
  latency_buckets: number[];
  /** Seconds. */
  delete_duration_buckets: number[];
}

/** Prometheus' default buckets (client_golang `DefBuckets`), which the local volume provisioner's histograms use. */
export const PROMETHEUS_DEFAULT_BUCKETS: readonly number[] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/**
 * Convict schema; every key documented and defaulted. The static provisioner's discovery
 * directories are a later step: they will be their own key (a list per storage class) beside these.
 */
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
  return problems;
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
