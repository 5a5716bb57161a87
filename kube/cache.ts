import { createNoopMeter, type Meter, type ObservableGauge, type ObservableResult } from '@opentelemetry/api';
import type { Logger } from 'pino';
import { errorMessage } from '../pipeline/errors.ts';
import { sleep } from './backoff.ts';
import { KubeHttpClient } from './client.ts';
import type { KubeConnection } from './connection.ts';
import { Interner } from './intern.ts';
import { fieldSelectorFor, KIND_NAMES, KINDS, POD_BY_CONTAINER_ID, POD_BY_IP } from './kinds.ts';
import type { KubeLookup, KubeProvider } from './lookup.ts';
import { KubeMetrics } from './metrics.ts';
import { Reflector, type ReflectorTuning } from './reflector.ts';
import { ObjectStore, type ChangeOrigin, type StoreChange } from './store.ts';
import { bareContainerId, type StripOptions } from './strip.ts';
import type {
  KindMap,
  KindName,
  NamespaceInfo,
  NodeInfo,
  ObjectMetaInfo,
  PersistentVolumeClaimInfo,
  PersistentVolumeInfo,
  PodInfo,
  Store,
  StorageClassInfo,
} from './types.ts';

/** Options of {@link KubeCache.create}. */
export interface KubeCacheOptions {
  /** From `resolveKubeConnection()`. */
  readonly connection: KubeConnection;
  /** This agent's node: pods are watched with `spec.nodeName=<node>`, nodes with `metadata.name=<node>`. */
  readonly nodeName: string;
  readonly logger: Logger;
  /** Self-telemetry meter for the `nodemeter_kube_*` instruments; none recorded when absent. */
  readonly meter?: Meter;
  /**
   * How long a deleted object stays resolvable, ms. Default 120 000 (2 min). Kinds with their
   * own grace period (events: 0, see kube/kinds.ts) keep it.
   */
  readonly graceMs?: number;
  /** List/watch tuning shared by every kind (tests shorten it). */
  readonly tuning?: ReflectorTuning;
}

/** One change in the cache, as handed to {@link KubeCache.on} listeners (the same type as lookup.ts `KubeChange`). */
export type KubeEvent<K extends KindName> = StoreChange<KindMap[K]>;

/** Per-kind state for diagnostics (`status()`). */
export interface KindStatus {
  readonly kind: KindName;
  readonly synced: boolean;
  /** Objects held, deleted ones in their grace period included. */
  readonly objects: number;
  /** Deleted objects still held. */
  readonly deleted: number;
  readonly resourceVersion: string;
  readonly lastError?: string;
}

const DEFAULT_GRACE_MS = 120_000;

type Listener = (event: KubeEvent<KindName>) => void;
type Stores = { readonly [K in KindName]: ObjectStore<KindMap[K]> };

/**
 * THE Kubernetes cache of the agent: one list/watch loop per kind that some component
 * required, shared by all of them, holding only stripped objects (kube/types.ts). Components
 * call `require()` when they are created, the agent calls `start()` once (it returns at once;
 * the loops run in the background and never throw) and `shutdown()` at the end. Read-only:
 * the only requests it makes are GETs (list, watch).
 */
export class KubeCache implements KubeProvider, KubeLookup {
  readonly #options: KubeCacheOptions;
  readonly #graceMs: number;
  readonly #client: KubeHttpClient;
  readonly #metrics: KubeMetrics;
  readonly #strip: StripOptions;
  readonly #stores: Stores;
  readonly #required = new Set<KindName>();
  readonly #reflectors = new Map<KindName, Reflector<ObjectMetaInfo>>();
  readonly #listeners = new Map<KindName, Set<Listener>>();
  readonly #log: Logger;
  #state: 'new' | 'started' | 'stopped' = 'new';
  #purgeTimer: NodeJS.Timeout | undefined;
  #gauges: { objects: ObservableGauge; synced: ObservableGauge } | undefined;
  readonly #observeObjects = (result: ObservableResult) => {
    for (const kind of this.#required) result.observe(this.#stores[kind].size, { kind });
  };
  readonly #observeSynced = (result: ObservableResult) => {
    for (const kind of this.#required) result.observe(this.#stores[kind].synced ? 1 : 0, { kind });
  };

  private constructor(options: KubeCacheOptions) {
    this.#options = options;
    this.#graceMs = options.graceMs ?? DEFAULT_GRACE_MS;
    this.#log = options.logger;
    this.#metrics = new KubeMetrics(options.meter ?? createNoopMeter());
    this.#client = new KubeHttpClient(options.connection, this.#metrics);
    this.#strip = { interner: new Interner() };
    this.#stores = Object.fromEntries(KIND_NAMES.map((kind) => [kind, new ObjectStore(KINDS[kind].indexes)])) as unknown as Stores;
  }

  static create(options: KubeCacheOptions): KubeCache {
    return new KubeCache(options);
  }

  /**
   * Declares kinds a component needs and returns its view of the cache, whose `synced` covers
   * just those kinds. Called before `start()`; a kind required later starts its own loop then.
   */
  require(kinds: KindName | readonly KindName[]): KubeLookup {
    const wanted = typeof kinds === 'string' ? [kinds] : [...kinds];
    for (const kind of wanted) {
      if (!KIND_NAMES.includes(kind)) throw new Error(`unknown Kubernetes kind "${String(kind)}"`);
      if (this.#required.has(kind)) continue;
      this.#required.add(kind);
      if (this.#state === 'started') this.#startKind(kind);
    }
    return this.#lookup(wanted);
  }

  /** Starts one loop per required kind and returns at once. */
  start(): Promise<void> {
    if (this.#state !== 'new') return Promise.resolve();
    this.#state = 'started';
    const meter = this.#metrics.meter;
    const objects = meter.createObservableGauge('nodemeter_kube_cache_objects', {
      description: 'Objects in the Kubernetes cache by kind, deleted ones in their grace period included.',
    });
    const synced = meter.createObservableGauge('nodemeter_kube_cache_synced', {
      description: '1 once the kind has loaded its initial list from the API server, else 0.',
    });
    objects.addCallback(this.#observeObjects);
    synced.addCallback(this.#observeSynced);
    this.#gauges = { objects, synced };
    for (const kind of this.#required) this.#startKind(kind);
    const every = Math.min(10_000, Math.max(50, Math.floor(this.#graceMs / 4)));
    this.#purgeTimer = setInterval(() => this.#purge(), every);
    this.#purgeTimer.unref();
    this.#log.info({ server: this.#options.connection.server, kinds: [...this.#required], node: this.#options.nodeName }, 'Kubernetes cache started');
    return Promise.resolve();
  }

  /** Aborts every watch and waits for the loops to end. Idempotent, safe without start. */
  async shutdown(): Promise<void> {
    if (this.#state === 'stopped') return;
    this.#state = 'stopped';
    clearInterval(this.#purgeTimer);
    this.#gauges?.objects.removeCallback(this.#observeObjects);
    this.#gauges?.synced.removeCallback(this.#observeSynced);
    await Promise.all([...this.#reflectors.values()].map((r) => r.stop()));
  }

  /** True once every required kind has loaded its initial list. */
  get synced(): boolean {
    for (const kind of this.#required) if (!this.#stores[kind].synced) return false;
    return true;
  }

  /** Resolves true once synced, false after `timeoutMs` or on shutdown; never rejects. */
  async waitForSync(timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (!this.synced) {
      if (this.#state === 'stopped' || Date.now() >= deadline) return false;
      await sleep(Math.min(25, Math.max(1, deadline - Date.now())));
    }
    return true;
  }

  /**
   * Listens for add/update/delete of one kind; returns the unsubscribe function. Delivery
   * rules (initial list, relists, ordering): {@link KubeLookup.on}.
   */
  on<K extends KindName>(kind: K, listener: (event: KubeEvent<K>) => void): () => void {
    let set = this.#listeners.get(kind);
    if (!set) this.#listeners.set(kind, (set = new Set()));
    const l = listener as unknown as Listener;
    set.add(l);
    return () => set.delete(l);
  }

  /** Every cached object of a kind (empty when the kind was never required). */
  list<K extends KindName>(kind: K): readonly KindMap[K][] {
    return this.#stores[kind].list();
  }

  /** The store of one kind (empty and unsynced when the kind was never required). */
  store<K extends KindName>(kind: K): Store<KindMap[K]> {
    return this.#stores[kind];
  }

  podByUid(uid: string): PodInfo | undefined {
    return this.#stores.pods.byUid(uid);
  }
  podByIp(ip: string): PodInfo | undefined {
    return this.#stores.pods.byIndex(POD_BY_IP, ip);
  }
  /** By container ID, with or without the runtime prefix. */
  podByContainerId(containerId: string): PodInfo | undefined {
    return this.#stores.pods.byIndex(POD_BY_CONTAINER_ID, bareContainerId(containerId));
  }
  pod(namespace: string, name: string): PodInfo | undefined {
    return this.#stores.pods.get(namespace, name);
  }
  persistentVolume(name: string): PersistentVolumeInfo | undefined {
    return this.#stores.persistentvolumes.get('', name);
  }
  persistentVolumeClaim(namespace: string, name: string): PersistentVolumeClaimInfo | undefined {
    return this.#stores.persistentvolumeclaims.get(namespace, name);
  }
  namespace(name: string): NamespaceInfo | undefined {
    return this.#stores.namespaces.get('', name);
  }
  node(name: string): NodeInfo | undefined {
    return this.#stores.nodes.get('', name);
  }
  storageClass(name: string): StorageClassInfo | undefined {
    return this.#stores.storageclasses.get('', name);
  }

  /** Per required kind: sync state, sizes, resume point, request counts, last error. */
  status(): KindStatus[] {
    return [...this.#required].map((kind) => {
      const store = this.#stores[kind];
      const r = this.#reflectors.get(kind);
      return {
        kind,
        synced: store.synced,
        objects: store.size,
        deleted: store.deletedSize,
        resourceVersion: r?.resourceVersion ?? '',
        lastError: r?.lastError,
      };
    });
  }

  #startKind<K extends KindName>(kind: K): void {
    if (this.#reflectors.has(kind)) return;
    const spec = KINDS[kind];
    const reflector = new Reflector<KindMap[K]>({
      ...this.#options.tuning,
      kind,
      path: spec.path,
      fieldSelector: fieldSelectorFor(spec, this.#options.nodeName),
      client: this.#client,
      store: this.#stores[kind],
      strip: (object) => spec.strip(object, this.#strip),
      logger: this.#log,
      metrics: this.#metrics,
      graceMs: spec.graceMs ?? this.#graceMs,
      onChange: (change, origin) => this.#emit(kind, change, origin),
    });
    this.#reflectors.set(kind, reflector as unknown as Reflector<ObjectMetaInfo>);
    reflector.start();
  }

  #emit(kind: KindName, bare: StoreChange<ObjectMetaInfo>, origin: ChangeOrigin): void {
    const set = this.#listeners.get(kind);
    if (!set || set.size === 0) return;
    const change = { ...bare, origin };
    for (const listener of set) {
      try {
        listener(change);
      } catch (err) {
        this.#log.warn({ kind, err: errorMessage(err) }, 'Kubernetes cache listener threw');
      }
    }
  }

  #purge(): void {
    const now = Date.now();
    for (const kind of this.#required) {
      const purged = this.#stores[kind].purge(now);
      if (purged > 0) this.#log.debug({ kind, purged }, 'purged deleted objects after their grace period');
    }
  }

  #lookup(kinds: readonly KindName[]): KubeLookup {
    // eslint-disable-next-line @typescript-eslint/no-this-alias -- the view delegates to this cache
    const cache = this;
    return {
      podByUid: (uid) => cache.podByUid(uid),
      podByIp: (ip) => cache.podByIp(ip),
      podByContainerId: (id) => cache.podByContainerId(id),
      pod: (namespace, name) => cache.pod(namespace, name),
      persistentVolume: (name) => cache.persistentVolume(name),
      persistentVolumeClaim: (namespace, name) => cache.persistentVolumeClaim(namespace, name),
      namespace: (name) => cache.namespace(name),
      node: (name) => cache.node(name),
      storageClass: (name) => cache.storageClass(name),
      list: (kind) => cache.list(kind),
      get synced() {
        return kinds.every((kind) => cache.#stores[kind].synced);
      },
      on: (kind, listener) => {
        // A kind this component did not require is never watched: listening would wait forever.
        if (!kinds.includes(kind)) throw new Error(`Kubernetes kind "${kind}" was not required by this component; its changes are never delivered`);
        return cache.on(kind, listener);
      },
    };
  }
}
