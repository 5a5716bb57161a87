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
}

export interface PersistentVolumeClaimInfo extends ObjectMetaInfo {
  readonly volumeName: string;
  readonly storageClass: string;
  /** spec.resources.requests.storage as written (a Kubernetes quantity). */
  readonly requestStorage?: string;
  readonly phase: string;
}

export type NamespaceInfo = ObjectMetaInfo;
export type NodeInfo = ObjectMetaInfo;

export interface StorageClassInfo extends ObjectMetaInfo {
  readonly provisioner: string;
}

/** The stripped type of each kind the cache can watch; its keys are the kind names. */
export interface KindMap {
  pods: PodInfo;
  persistentvolumes: PersistentVolumeInfo;
  persistentvolumeclaims: PersistentVolumeClaimInfo;
  namespaces: NamespaceInfo;
  nodes: NodeInfo;
  storageclasses: StorageClassInfo;
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
