/**
 * What the agent keeps of each Kubernetes object: only the fields some component uses, so
 * 10,000 PVs cost kilobytes each, not the full object. Informers strip API objects to these.
 */

export interface OwnerRef {
  readonly kind: string;
  readonly name: string;
}

export interface ObjectMetaInfo {
  readonly uid: string;
  readonly name: string;
  /** '' for cluster-scoped kinds. */
  readonly namespace: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly annotations: Readonly<Record<string, string>>;
  readonly resourceVersion: string;
  /**
   * Set (epoch ms) once the object was deleted from the API server: it stays resolvable for
   * the cache's grace period so late data points still get names, then it is purged.
   */
  readonly deletedAt?: number;
}

export interface PodInfo extends ObjectMetaInfo {
  readonly nodeName: string;
  readonly podIPs: readonly string[];
  /** A hostNetwork pod's IP is its node's: the cache does not index it by IP. */
  readonly hostNetwork?: boolean;
  readonly owner?: OwnerRef;
  /** Container IDs without the runtime prefix (`docker://`, `containerd://`), with their names. */
  readonly containers: ReadonlyArray<{ readonly name: string; readonly id: string }>;
  /** Pod volume name → PVC claim name, for `persistentVolumeClaim` volumes. */
  readonly claims: Readonly<Record<string, string>>;
  /** status.phase: `Pending`, `Running`, `Succeeded`, `Failed`, `Unknown` ('' when not reported yet). */
  readonly phase: string;
  /** Ports the containers declare (spec.containers[].ports), in order; scrape targets come from them. */
  readonly ports: readonly ContainerPort[];
}

export interface ContainerPort {
  readonly container: string;
  /** '' when unnamed. */
  readonly name: string;
  readonly port: number;
  /** `TCP` (the default), `UDP` or `SCTP`. */
  readonly protocol: string;
}

export interface PersistentVolumeInfo extends ObjectMetaInfo {
  readonly storageClass: string;
  /** Bound claim, when there is one. */
  readonly claimRef?: { readonly namespace: string; readonly name: string; readonly uid?: string };
  /** `csi`, `hostPath`, `local`, `gcePersistentDisk`, `nfs`, … — the key of the PV's source. */
  readonly sourceType: string;
  /** hostPath.path or local.path. */
  readonly path?: string;
  readonly csiDriver?: string;
  readonly volumeHandle?: string;
  readonly capacityBytes?: string;
  readonly volumeMode: string;
  readonly phase: string;
  /** Required node affinity: label key → values allowed by its `In` expressions (all terms). */
  readonly nodeAffinity: Readonly<Record<string, readonly string[]>>;
  /** metadata.creationTimestamp, epoch ms (undefined when absent or unreadable). */
  readonly creationTimestampMs?: number;
  /**
   * status.lastPhaseTransitionTime, epoch ms: when `phase` was last entered (Released → deletion
   * latency). Alpha in Kubernetes 1.28, on by default from 1.29, GA in 1.31; undefined on older
   * API servers and for PVs that have not changed phase since the field appeared.
   */
  readonly lastPhaseTransitionTimeMs?: number;
  /** spec.persistentVolumeReclaimPolicy: `Delete`, `Retain` or `Recycle` (undefined when absent). */
  readonly reclaimPolicy?: string;
}

export interface PersistentVolumeClaimInfo extends ObjectMetaInfo {
  readonly volumeName: string;
  readonly storageClass: string;
  /** spec.resources.requests.storage as written (a Kubernetes quantity). */
  readonly requestStorage?: string;
  readonly phase: string;
  /** metadata.creationTimestamp, epoch ms (undefined when absent or unreadable): provisioning latency starts here. */
  readonly creationTimestampMs?: number;
}

export type NamespaceInfo = ObjectMetaInfo;
export type NodeInfo = ObjectMetaInfo;

export interface StorageClassInfo extends ObjectMetaInfo {
  readonly provisioner: string;
  /** `Immediate` or `WaitForFirstConsumer` (the API server defaults it to `Immediate`; undefined when absent). */
  readonly volumeBindingMode?: string;
  /** Reclaim policy of the PVs this class provisions: `Delete` or `Retain` (API default `Delete`; undefined when absent). */
  readonly reclaimPolicy?: string;
}

/** The object a Kubernetes Event is about (core `involvedObject`, events.k8s.io `regarding`). */
export interface EventObjectRef {
  /** `PersistentVolume`, `PersistentVolumeClaim`, … */
  readonly kind: string;
  /** '' for cluster-scoped objects (a PV's events live in namespace `default` but name no namespace here). */
  readonly namespace: string;
  readonly name: string;
  /** '' when the writer did not set it. */
  readonly uid: string;
}

/**
 * A Kubernetes Event, as kept by the `persistentvolumeevents` and `persistentvolumeclaimevents`
 * kinds. Both writers are read: the old recorder (core/v1 `source.component`, `count`,
 * `firstTimestamp`/`lastTimestamp`) and the events.k8s.io/v1 one (`reportingController`,
 * `eventTime`, `series`), which the API server serves through core/v1 as `reportingComponent`,
 * `eventTime` and `series` with empty deprecated fields. Labels and annotations are kept as for
 * every kind (events rarely carry any).
 */
export interface EventInfo extends ObjectMetaInfo {
  /** Machine-readable reason: `ProvisioningSucceeded`, `ProvisioningFailed`, `VolumeFailedDelete`, … ('' when absent). */
  readonly reason: string;
  /** `Normal` or `Warning` ('' when absent). */
  readonly type: string;
  /**
   * Who wrote it: core `reportingComponent` (events.k8s.io `reportingController`), else
   * `source.component` (the old recorder's only field), else ''.
   */
  readonly reportingComponent: string;
  /** core `reportingInstance`, else `source.host`, else '' (a node for kubelet events, a pod or host for controllers). */
  readonly reportingInstance: string;
  readonly involvedObject: EventObjectRef;
  /**
   * Occurrences so far, at least 1: the larger of core `count` (events.k8s.io `deprecatedCount`)
   * and `series.count` (the new recorder's running total, 2 on the first repeat).
   */
  readonly count: number;
  /**
   * First occurrence, epoch ms: `firstTimestamp` (old recorder), else `eventTime` (new
   * recorder), else metadata.creationTimestamp; 0 only for an object with none of them.
   */
  readonly firstTimestampMs: number;
  /**
   * Latest occurrence, epoch ms: the latest of `lastTimestamp`, `series.lastObservedTime` and
   * `eventTime`, else `firstTimestampMs`.
   */
  readonly lastTimestampMs: number;
  /** Human-readable message (events.k8s.io `note`), cut to `EVENT_MESSAGE_MAX` (512, kube/strip.ts) characters; a trailing `…` marks a cut. */
  readonly message: string;
}

/** The stripped type of each kind the cache can watch; its keys are the kind names. */
export interface KindMap {
  pods: PodInfo;
  persistentvolumes: PersistentVolumeInfo;
  persistentvolumeclaims: PersistentVolumeClaimInfo;
  namespaces: NamespaceInfo;
  nodes: NodeInfo;
  storageclasses: StorageClassInfo;
  /** Events whose involvedObject.kind is `PersistentVolume` (a filtered view of /api/v1/events). */
  persistentvolumeevents: EventInfo;
  /** Events whose involvedObject.kind is `PersistentVolumeClaim` (a filtered view of /api/v1/events). */
  persistentvolumeclaimevents: EventInfo;
}

export type KindName = keyof KindMap;

/** A read-only view of one kind's cache. Deleted objects stay visible for a short grace period. */
export interface Store<T extends ObjectMetaInfo> {
  get(namespace: string, name: string): T | undefined;
  byUid(uid: string): T | undefined;
  list(): readonly T[];
  readonly size: number;
  /** True once the initial list has been loaded. */
  readonly synced: boolean;
}
