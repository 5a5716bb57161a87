// The parts of the Docker Engine API's JSON that the receiver reads. Every field is optional:
// daemons of different versions and cgroup setups leave different ones out (or send null).

export interface EngineVersion {
  readonly Version?: string;
  readonly ApiVersion?: string;
  readonly MinAPIVersion?: string;
}

/** An entry of GET /containers/json. */
export interface ContainerSummary {
  readonly Id: string;
  readonly Names?: readonly string[] | null;
  readonly Image?: string;
  readonly State?: string;
  readonly Labels?: Readonly<Record<string, string>> | null;
}

/** GET /containers/{id}/json. */
export interface ContainerInspect {
  readonly Id: string;
  readonly Name?: string;
  readonly State?: {
    readonly Status?: string;
    readonly Running?: boolean;
    readonly Pid?: number;
    readonly StartedAt?: string;
    readonly Health?: { readonly Status?: string } | null;
  };
  readonly Config?: {
    readonly Image?: string;
    readonly Env?: readonly string[] | null;
    readonly Labels?: Readonly<Record<string, string>> | null;
  };
  readonly HostConfig?: { readonly Memory?: number; readonly CgroupParent?: string };
}

interface CpuUsage {
  readonly total_usage?: number;
  readonly usage_in_kernelmode?: number;
  readonly usage_in_usermode?: number;
}

export interface BlkioEntry {
  readonly major?: number;
  readonly minor?: number;
  readonly op?: string;
  readonly value?: number;
}

export interface NetworkStats {
  readonly rx_bytes?: number;
  readonly rx_packets?: number;
  readonly rx_errors?: number;
  readonly rx_dropped?: number;
  readonly tx_bytes?: number;
  readonly tx_packets?: number;
  readonly tx_errors?: number;
  readonly tx_dropped?: number;
}

/** GET /containers/{id}/stats?stream=false. */
export interface EngineStats {
  readonly read?: string;
  readonly pids_stats?: { readonly current?: number } | null;
  readonly cpu_stats?: {
    readonly cpu_usage?: CpuUsage;
    readonly throttling_data?: { readonly periods?: number; readonly throttled_periods?: number; readonly throttled_time?: number };
  } | null;
  readonly memory_stats?: {
    readonly usage?: number;
    readonly limit?: number;
    readonly stats?: Readonly<Record<string, number>> | null;
  } | null;
  readonly blkio_stats?: { readonly io_service_bytes_recursive?: readonly BlkioEntry[] | null } | null;
  readonly networks?: Readonly<Record<string, NetworkStats>> | null;
}

/** One message of GET /events. */
export interface EngineEvent {
  readonly Type?: string;
  readonly Action?: string;
  readonly id?: string;
  readonly Actor?: { readonly ID?: string; readonly Attributes?: Readonly<Record<string, string>> };
  readonly time?: number;
}
