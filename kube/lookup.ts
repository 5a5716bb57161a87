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
import type { StoreChange } from './store.ts';

/**
 * One change of a kind in the shared cache: `add` (object), `update` (object and its previous
 * state `old`), `delete` (the last state known, `deletedAt` set). `origin` says where it came
 * from (`list`, `relist`, `watch`); see {@link KubeLookup.on}. The same type as the cache's
 * `KubeEvent`.
 */
export type KubeChange<K extends KindName> = StoreChange<KindMap[K]>;

/** A change listener; see {@link KubeLookup.on}. */
export type KubeListener<K extends KindName> = (change: KubeChange<K>) => void;

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
  /**
   * Listens for changes of one kind this component required (another kind throws); returns
   * the unsubscribe function, to call in `shutdown()`. Present on every lookup the cache and
   * FakeKube hand out; optional in the type only so hand-written lookups stay valid.
   *
   * - Listeners run synchronously on the cache's loop, right after the store changed (a
   *   lookup inside sees the new state), in subscription order. They must not throw and must
   *   not block: the cache catches and logs a throw, and the next listener still runs.
   * - No replay: subscribing delivers nothing that already happened. A component that starts
   *   after the kind synced takes the current state from `list()` (in the same synchronous
   *   step, so nothing falls between).
   * - The kind's first LIST is delivered as one `add` per object (`origin: 'list'`), after the
   *   whole list is in the store and `synced` is already true.
   * - Watch events are delivered one by one (`origin: 'watch'`): ADDED/MODIFIED → `update`
   *   (with `old`) when the store holds the object live, else `add`; DELETED → `delete`
   *   carrying the final state the server sent. An event that repeats the stored
   *   resourceVersion delivers nothing; one that reuses a name under a new UID delivers
   *   `delete` of the old object, then `add`.
   * - A relist (after 410 Gone; `origin: 'relist'`) replaces the store and delivers only the
   *   differences, by the same rules: `add` for objects the store did not hold live, `update`
   *   for those whose resourceVersion changed, `delete` + `add` for a name recreated under a
   *   new UID, then `delete` for live objects the list no longer holds — with the last state
   *   the cache had and `deletedAt` = the relist time, as the real deletion time is unknown.
   *   Unchanged objects deliver nothing.
   * - Objects leaving the grace period (purged) deliver nothing.
   */
  on?<K extends KindName>(kind: K, listener: KubeListener<K>): () => void;
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
