/**
 * An etcd-like store: one cluster-wide revision counter (every write of any kind bumps it, so
 * resourceVersions are global and increasing, as with etcd), the current objects per kind, and a
 * bounded history of change events. The history is what watches resume from and what
 * `resourceVersion` + `Exact` lists and continue tokens are served from; anything older than the
 * history's start is "compacted" and answered with 410 Gone.
 */
import { randomUUID } from 'node:crypto';
import { apiVersionOf, resourceFor, type KubeObject, type Resource } from './resources.ts';

export type EventType = 'ADDED' | 'MODIFIED' | 'DELETED';

export type StoreEvent = {
  rv: number;
  resource: Resource;
  type: EventType;
  /** The object after the change (for DELETED: the last state, carrying the deletion's RV). */
  object: KubeObject;
  /** The object before the change (MODIFIED and DELETED). */
  prev?: KubeObject;
};

export class ExpiredError extends Error {}

function keyOf(namespace: string | undefined, name: string): string {
  return `${namespace ?? ''}/${name}`;
}

function clone<T>(value: T): T {
  return structuredClone(value);
}

export class Store {
  private revision = 0;
  /** Events with rv > compactedRv are all in `history`; older ones are gone. */
  private compactedRv = 0;
  private readonly history: StoreEvent[] = [];
  private readonly objects = new Map<string, Map<string, KubeObject>>();
  private readonly listeners = new Set<(e: StoreEvent) => void>();
  private readonly historyLimit: number;

  constructor(historyLimit: number) {
    this.historyLimit = historyLimit;
  }

  get currentRv(): number {
    return this.revision;
  }

  get oldestRv(): number {
    return this.compactedRv;
  }

  subscribe(listener: (e: StoreEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private table(resource: Resource): Map<string, KubeObject> {
    let t = this.objects.get(resource.name);
    if (!t) {
      t = new Map();
      this.objects.set(resource.name, t);
    }
    return t;
  }

  private record(event: StoreEvent): void {
    this.history.push(event);
    while (this.history.length > this.historyLimit) this.compactedRv = this.history.shift()!.rv;
    for (const l of [...this.listeners]) l(event);
  }

  private resourceOf(obj: KubeObject): Resource {
    if (!obj.kind) throw new Error('test API server: object has no kind');
    return resourceFor(obj.kind);
  }

  add(input: KubeObject): KubeObject {
    const resource = this.resourceOf(input);
    const obj = clone(input);
    const table = this.table(resource);
    const key = keyOf(obj.metadata.namespace, obj.metadata.name);
    if (table.has(key)) throw new Error(`test API server: ${resource.name} ${key} already exists`);
    if (!resource.namespaced) delete obj.metadata.namespace;
    obj.apiVersion = apiVersionOf(resource);
    obj.metadata.uid ??= randomUUID();
    obj.metadata.creationTimestamp ??= new Date().toISOString().replace(/\.\d+Z$/, 'Z');
    obj.metadata.resourceVersion = String(++this.revision);
    table.set(key, obj);
    this.record({ rv: this.revision, resource, type: 'ADDED', object: obj });
    return clone(obj);
  }

  update(input: KubeObject): KubeObject {
    const resource = this.resourceOf(input);
    const table = this.table(resource);
    const key = keyOf(resource.namespaced ? input.metadata.namespace : undefined, input.metadata.name);
    const prev = table.get(key);
    if (!prev) throw new Error(`test API server: ${resource.name} ${key} does not exist`);
    const obj = clone(input);
    if (!resource.namespaced) delete obj.metadata.namespace;
    obj.apiVersion = apiVersionOf(resource);
    // Identity fields survive a full replace, as they do on a real server.
    obj.metadata.uid = prev.metadata.uid;
    obj.metadata.creationTimestamp = prev.metadata.creationTimestamp;
    obj.metadata.resourceVersion = String(++this.revision);
    table.set(key, obj);
    this.record({ rv: this.revision, resource, type: 'MODIFIED', object: obj, prev });
    return clone(obj);
  }

  delete(kind: string, namespace: string, name: string): void {
    const resource = resourceFor(kind);
    const table = this.table(resource);
    const key = keyOf(resource.namespaced ? namespace : undefined, name);
    const prev = table.get(key);
    if (!prev) throw new Error(`test API server: ${resource.name} ${key} does not exist`);
    table.delete(key);
    const last = clone(prev);
    last.metadata.resourceVersion = String(++this.revision);
    this.record({ rv: this.revision, resource, type: 'DELETED', object: last, prev });
  }

  get(kind: string, namespace: string, name: string): KubeObject | undefined {
    const resource = resourceFor(kind);
    const obj = this.table(resource).get(keyOf(resource.namespaced ? namespace : undefined, name));
    return obj && clone(obj);
  }

  /**
   * Every object of a kind as of `atRv` (default: now), sorted by namespace/name like etcd keys.
   * Older states are rebuilt by undoing the history newest-first; an `atRv` before the
   * compacted revision throws ExpiredError.
   */
  snapshot(resource: Resource, atRv?: number): KubeObject[] {
    const state = new Map(this.table(resource));
    if (atRv !== undefined && atRv < this.revision) {
      if (atRv < this.compactedRv) throw new ExpiredError(`too old resource version: ${atRv} (${this.compactedRv})`);
      for (let i = this.history.length - 1; i >= 0 && this.history[i]!.rv > atRv; i--) {
        const e = this.history[i]!;
        if (e.resource !== resource) continue;
        const key = keyOf(e.object.metadata.namespace, e.object.metadata.name);
        if (e.type === 'ADDED') state.delete(key);
        else state.set(key, e.prev!);
      }
    }
    return [...state.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, o]) => o);
  }

  /** Events after `rv`, oldest first; ExpiredError if some of them were compacted away. */
  eventsSince(rv: number): StoreEvent[] {
    if (rv < this.compactedRv) throw new ExpiredError(`too old resource version: ${rv} (${this.compactedRv})`);
    return this.history.filter((e) => e.rv > rv);
  }

  /**
   * Compacts everything: the revision moves on by one (as if something this server does not
   * serve was written; etcd revisions are cluster-wide) and the history is emptied, so every
   * resourceVersion a client holds is now too old.
   */
  expire(): void {
    this.revision++;
    this.compactedRv = this.revision;
    this.history.length = 0;
  }
}
