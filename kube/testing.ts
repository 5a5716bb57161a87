import type { KubeChange, KubeListener, KubeLookup, KubeProvider } from './lookup.ts';
import { ObjectStore, type ChangeOrigin } from './store.ts';
import { objectKey } from './strip.ts';
import type {
  EventInfo,
  KindMap,
  KindName,
  NamespaceInfo,
  NodeInfo,
  ObjectMetaInfo,
  PersistentVolumeClaimInfo,
  PersistentVolumeInfo,
  PodInfo,
  StorageClassInfo,
} from './types.ts';

/** Test builders and an in-memory KubeLookup, for components' unit tests. */

export function meta(name: string, namespace = '', labels: Record<string, string> = {}, annotations: Record<string, string> = {}): ObjectMetaInfo {
  return { uid: `uid-${namespace}-${name}`, name, namespace, labels, annotations, resourceVersion: '1' };
}

export function pod(overrides: Partial<PodInfo> & { name: string; namespace: string }): PodInfo {
  return {
    ...meta(overrides.name, overrides.namespace),
    nodeName: 'node-a',
    podIPs: [],
    containers: [],
    claims: {},
    phase: 'Running',
    ports: [],
    ...overrides,
  };
}

export function pv(name: string, overrides: Partial<PersistentVolumeInfo> = {}): PersistentVolumeInfo {
  return { ...meta(name), storageClass: 'standard', sourceType: 'csi', volumeMode: 'Filesystem', phase: 'Bound', nodeAffinity: {}, ...overrides };
}

export function pvc(namespace: string, name: string, overrides: Partial<PersistentVolumeClaimInfo> = {}): PersistentVolumeClaimInfo {
  return { ...meta(name, namespace), volumeName: '', storageClass: 'standard', phase: 'Bound', ...overrides };
}

export function namespace(name: string, labels: Record<string, string> = {}): NamespaceInfo {
  return meta(name, '', labels);
}

export function storageClass(name: string, provisioner: string, overrides: Partial<StorageClassInfo> = {}): StorageClassInfo {
  return { ...meta(name), provisioner, volumeBindingMode: 'Immediate', reclaimPolicy: 'Delete', ...overrides };
}

/** 2025-01-15T10:00:00Z, the time test objects are made at unless a test says otherwise. */
export const T0 = Date.UTC(2025, 0, 15, 10);

/**
 * An Event about `involved` (a PV when it has no namespace: its events live in `default`),
 * named `<involved>.<reason>` so repeats of one reason are one object, as recorders do.
 */
export function event(involved: { kind: string; name: string; namespace?: string; uid?: string }, reason: string, overrides: Partial<EventInfo> = {}): EventInfo {
  const ns = involved.namespace ?? '';
  const name = `${involved.name}.${reason.toLowerCase()}`;
  return {
    ...meta(name, ns === '' ? 'default' : ns),
    reason,
    type: 'Normal',
    reportingComponent: 'persistentvolume-controller',
    reportingInstance: '',
    involvedObject: { kind: involved.kind, namespace: ns, name: involved.name, uid: involved.uid ?? `uid-${ns}-${involved.name}` },
    count: 1,
    firstTimestampMs: T0,
    lastTimestampMs: T0,
    message: '',
    ...overrides,
  };
}

type Arrays = { [K in KindName]: KindMap[K][] };

/**
 * An in-memory KubeLookup over plain arrays, with the kinds a component required recorded.
 * Tests fill the arrays directly, or drive changes through `add`/`update`/`remove`/`relist`,
 * which change the arrays and then call the `on` listeners as the cache would (synchronously,
 * in subscription order, with `origin`). Unlike the cache, a listener that throws is not
 * caught: the test sees the bug.
 */
export class FakeKube implements KubeProvider, KubeLookup {
  pods: PodInfo[] = [];
  pvs: PersistentVolumeInfo[] = [];
  pvcs: PersistentVolumeClaimInfo[] = [];
  namespaces: NamespaceInfo[] = [];
  nodes: NodeInfo[] = [];
  storageClasses: StorageClassInfo[] = [];
  pvEvents: EventInfo[] = [];
  pvcEvents: EventInfo[] = [];
  synced = true;
  required = new Set<KindName>();
  readonly #listeners = new Map<KindName, Set<KubeListener<KindName>>>();

  require(kinds: readonly KindName[]): KubeLookup {
    kinds.forEach((k) => this.required.add(k));
    return this;
  }
  podByUid(uid: string) {
    return this.pods.find((p) => p.uid === uid);
  }
  podByIp(ip: string) {
    return this.pods.find((p) => p.podIPs.includes(ip));
  }
  podByContainerId(id: string) {
    return this.pods.find((p) => p.containers.some((c) => c.id === id));
  }
  pod(ns: string, name: string) {
    return this.pods.find((p) => p.namespace === ns && p.name === name);
  }
  persistentVolume(name: string) {
    return this.pvs.find((p) => p.name === name);
  }
  persistentVolumeClaim(ns: string, name: string) {
    return this.pvcs.find((p) => p.namespace === ns && p.name === name);
  }
  namespace(name: string) {
    return this.namespaces.find((n) => n.name === name);
  }
  node(name: string) {
    return this.nodes.find((n) => n.name === name);
  }
  storageClass(name: string) {
    return this.storageClasses.find((s) => s.name === name);
  }
  list<K extends KindName>(kind: K): readonly KindMap[K][] {
    return this.#arrays()[kind];
  }

  /** As the cache's lookups: throws for a kind never required (the cache would never deliver it). */
  on<K extends KindName>(kind: K, listener: KubeListener<K>): () => void {
    if (!this.required.has(kind)) throw new Error(`Kubernetes kind "${kind}" was not required by this component; its changes are never delivered`);
    let set = this.#listeners.get(kind);
    if (!set) this.#listeners.set(kind, (set = new Set()));
    const l = listener as unknown as KubeListener<KindName>;
    set.add(l);
    return () => set.delete(l);
  }

  /** Listeners of a kind still subscribed (a component unsubscribes in shutdown). */
  listenerCount(kind: KindName): number {
    return this.#listeners.get(kind)?.size ?? 0;
  }

  /** Delivers a change to the listeners as given, touching no array. */
  emit<K extends KindName>(kind: K, change: KubeChange<K>): void {
    for (const listener of [...(this.#listeners.get(kind) ?? [])]) (listener as unknown as KubeListener<K>)(change);
  }

  /**
   * A watch ADDED: stores the object at its namespace/name and delivers `add` — or, as the
   * cache does, `update` when the same UID is there live, and `delete` of the old object
   * first when a live one with another UID held the name.
   */
  add<K extends KindName>(kind: K, object: KindMap[K], options: { at?: number } = {}): void {
    const old = this.#put(kind, object);
    if (old && old.uid === object.uid) {
      this.emit(kind, { type: 'update', object, old, origin: 'watch' });
      return;
    }
    if (old) this.emit(kind, { type: 'delete', object: { ...old, deletedAt: options.at ?? Date.now() }, origin: 'watch' });
    this.emit(kind, { type: 'add', object, origin: 'watch' });
  }

  /** A watch MODIFIED: replaces the object at its namespace/name and delivers `update` with the old one (which must exist). */
  update<K extends KindName>(kind: K, object: KindMap[K]): void {
    const live = this.#arrays()[kind].some((o) => o.namespace === object.namespace && o.name === object.name && o.deletedAt === undefined);
    if (!live) throw new Error(`FakeKube.update: no ${kind} ${objectKey(object.namespace, object.name)} to update`);
    const old = this.#put(kind, object) as KindMap[K];
    this.emit(kind, { type: 'update', object, old, origin: 'watch' });
  }

  /**
   * A watch DELETED: the object stays listed with `deletedAt` (as in the cache's grace period;
   * `purge()` drops it) and `delete` is delivered. `last` is the final state the server sent.
   */
  remove<K extends KindName>(kind: K, namespace: string, name: string, options: { at?: number; last?: KindMap[K] } = {}): void {
    const current = this.#arrays()[kind].find((o) => o.namespace === namespace && o.name === name && o.deletedAt === undefined);
    if (!current) throw new Error(`FakeKube.remove: no live ${kind} ${objectKey(namespace, name)}`);
    const object = { ...(options.last ?? current), deletedAt: options.at ?? Date.now() };
    this.#put(kind, object);
    this.emit(kind, { type: 'delete', object, origin: 'watch' });
  }

  /**
   * A LIST replacing the kind's content, delivered exactly as the cache's store computes it
   * (kube/store.ts `replace()`: only differences, by resourceVersion and UID; deletes for what
   * vanished, with `deletedAt` = `at`). `origin` `list` plays the initial list, `relist` one after 410 Gone.
   */
  relist<K extends KindName>(kind: K, objects: readonly KindMap[K][], options: { origin?: Exclude<ChangeOrigin, 'watch'>; at?: number } = {}): void {
    const store = new ObjectStore<KindMap[K]>();
    const array = this.#arrays()[kind];
    for (const o of array) store.upsert(o);
    const changes = store.replace(objects, options.at ?? Date.now(), 0);
    array.splice(0, array.length, ...store.list());
    for (const change of changes) this.emit(kind, { ...change, origin: options.origin ?? 'relist' });
  }

  /** Drops deleted objects (`deletedAt` set) of every kind, as the cache does after the grace period. */
  purge(): void {
    for (const array of Object.values(this.#arrays()) as ObjectMetaInfo[][]) {
      const live = array.filter((o) => o.deletedAt === undefined);
      array.splice(0, array.length, ...live);
    }
  }

  /** Puts an object at its namespace/name in its kind's array; returns the live one it replaced. */
  #put<K extends KindName>(kind: K, object: KindMap[K]): KindMap[K] | undefined {
    const array = this.#arrays()[kind];
    const at = array.findIndex((o) => o.namespace === object.namespace && o.name === object.name);
    const old = at < 0 ? undefined : array[at];
    if (at < 0) array.push(object);
    else array[at] = object;
    return old?.deletedAt === undefined ? old : undefined;
  }

  #arrays(): Arrays {
    return {
      pods: this.pods,
      persistentvolumes: this.pvs,
      persistentvolumeclaims: this.pvcs,
      namespaces: this.namespaces,
      nodes: this.nodes,
      storageclasses: this.storageClasses,
      persistentvolumeevents: this.pvEvents,
      persistentvolumeclaimevents: this.pvcEvents,
    };
  }
}
