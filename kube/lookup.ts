import type {
  KindMap,
  KindName,
  NamespaceInfo,
  NodeInfo,
  PersistentVolumeClaimInfo,
  PersistentVolumeInfo,
  PodInfo,
  StorageClassInfo,
} from './types.ts';

/** Point lookups components make against the shared cache (all O(1), all synchronous). */
export interface KubeLookup {
  podByUid(uid: string): PodInfo | undefined;
  podByIp(ip: string): PodInfo | undefined;
  podByContainerId(containerId: string): PodInfo | undefined;
  pod(namespace: string, name: string): PodInfo | undefined;
  persistentVolume(name: string): PersistentVolumeInfo | undefined;
  persistentVolumeClaim(namespace: string, name: string): PersistentVolumeClaimInfo | undefined;
  namespace(name: string): NamespaceInfo | undefined;
  node(name: string): NodeInfo | undefined;
  storageClass(name: string): StorageClassInfo | undefined;
  /** Every cached object of a kind, deleted ones in their grace period included (`deletedAt` set). */
  list<K extends KindName>(kind: K): readonly KindMap[K][];
  /** True once every kind this component asked for has loaded its initial list. */
  readonly synced: boolean;
}

/**
 * What components get in their settings when the agent talks to Kubernetes: they declare the
 * kinds they need at creation (only required kinds are watched) and get the one shared cache.
 */
export interface KubeProvider {
  require(kinds: readonly KindName[]): KubeLookup;
}

/** The shared cache as the agent runs it: provider for components, plus a lifecycle. */
export interface KubeService extends KubeProvider {
  start(): Promise<void>;
  shutdown(): Promise<void>;
  /** Resolves true once every required kind has synced, false after `timeoutMs`; never throws. */
  waitForSync(timeoutMs: number): Promise<boolean>;
}
