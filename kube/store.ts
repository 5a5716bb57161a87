import { objectKey } from './strip.ts';
import type { ObjectMetaInfo, Store } from './types.ts';

/** A secondary index: each object maps to zero or more keys (IPs, container IDs, …). */
export interface IndexSpec<T> {
  readonly name: string;
  keys(object: T): Iterable<string>;
}

/**
 * Where a change came from, as the reflector labels the changes it hands on (the store itself
 * leaves it unset): `list` = the kind's first LIST (one `add` per object), `relist` = what a
 * later LIST (after 410 Gone) found different from the store, `watch` = one watch event.
 */
export type ChangeOrigin = 'list' | 'relist' | 'watch';

/** What changed in one store operation, for the cache's event hooks. */
export type StoreChange<T> =
  | { readonly type: 'add'; readonly object: T; readonly origin?: ChangeOrigin }
  | { readonly type: 'update'; readonly object: T; readonly old: T; readonly origin?: ChangeOrigin }
  | { readonly type: 'delete'; readonly object: T; readonly origin?: ChangeOrigin };

/**
 * One kind's objects, keyed by namespace/name and UID, with secondary indexes. Deleted
 * objects stay (with `deletedAt` set) until `purge()` finds their grace period over, so data
 * points that arrive late still resolve; a live object always wins a key over a deleted one.
 */
export class ObjectStore<T extends ObjectMetaInfo> implements Store<T> {
  readonly #byKey = new Map<string, T>();
  readonly #byUid = new Map<string, T>();
  /** Deleted objects by UID with the time they may be purged. */
  readonly #graveyard = new Map<string, { object: T; purgeAt: number }>();
  readonly #indexes: ReadonlyMap<string, { spec: IndexSpec<T>; map: Map<string, T> }>;
  #synced = false;

  constructor(indexes: ReadonlyArray<IndexSpec<T>> = []) {
    this.#indexes = new Map(indexes.map((spec) => [spec.name, { spec, map: new Map<string, T>() }]));
  }

  get(namespace: string, name: string): T | undefined {
    return this.#byKey.get(objectKey(namespace, name));
  }

  byUid(uid: string): T | undefined {
    return this.#byUid.get(uid);
  }

  /** Lookup through a secondary index by its name. */
  byIndex(index: string, key: string): T | undefined {
    return this.#indexes.get(index)?.map.get(key);
  }

  list(): readonly T[] {
    return [...this.#byKey.values()];
  }

  /** Objects by namespace/name, deleted ones in their grace period included. */
  get size(): number {
    return this.#byKey.size;
  }

  /** Deleted objects still held for their grace period. */
  get deletedSize(): number {
    return this.#graveyard.size;
  }

  /** True once a full list has been loaded (the first `replace()`). */
  get synced(): boolean {
    return this.#synced;
  }

  /** Adds or replaces the live object at its key. */
  upsert(object: T, now = Date.now(), graceMs = 0): Array<StoreChange<T>> {
    const key = objectKey(object.namespace, object.name);
    const old = this.#byKey.get(key);
    const changes: Array<StoreChange<T>> = [];
    if (old && !old.deletedAt && old.uid === object.uid && old.resourceVersion === object.resourceVersion) return changes;
    if (old && old.uid === object.uid) {
      this.#unindex(old);
      this.#graveyard.delete(old.uid);
    } else if (old && !old.deletedAt) {
      // Same name, new UID, no delete seen (missed while disconnected): the old one is gone.
      const change = this.markDeleted(old.namespace, old.name, now, graceMs);
      if (change) changes.push(change);
    }
    this.#byKey.set(key, object);
    this.#index(object);
    changes.push(old && !old.deletedAt && old.uid === object.uid ? { type: 'update', object, old } : { type: 'add', object });
    return changes;
  }

  /** Marks the object at (namespace, name) deleted; it is purged after `graceMs`. */
  markDeleted(namespace: string, name: string, now: number, graceMs: number, last?: T): StoreChange<T> | undefined {
    const key = objectKey(namespace, name);
    const current = this.#byKey.get(key);
    if (!current || current.deletedAt) return undefined;
    if (last && last.uid !== current.uid) return undefined;
    // The final state the API server sent is the freshest; keep it, flagged.
    const base = last ?? current;
    const deleted: T = { ...base, deletedAt: now };
    this.#unindex(current);
    this.#byKey.set(key, deleted);
    this.#index(deleted);
    this.#graveyard.set(deleted.uid, { object: deleted, purgeAt: now + graceMs });
    return { type: 'delete', object: deleted };
  }

  /**
   * Replaces the content with a fresh LIST: adds/updates what is listed, marks deleted what
   * is not, and marks the store synced. Returns the changes for the event hooks.
   */
  replace(objects: readonly T[], now: number, graceMs: number): Array<StoreChange<T>> {
    const changes: Array<StoreChange<T>> = [];
    const seen = new Set<string>();
    for (const object of objects) {
      seen.add(objectKey(object.namespace, object.name));
      changes.push(...this.upsert(object, now, graceMs));
    }
    for (const [key, object] of [...this.#byKey]) {
      if (seen.has(key) || object.deletedAt) continue;
      const change = this.markDeleted(object.namespace, object.name, now, graceMs);
      if (change) changes.push(change);
    }
    this.#synced = true;
    return changes;
  }

  /** Drops deleted objects whose grace period is over; returns how many. */
  purge(now: number): number {
    let purged = 0;
    for (const [uid, { object, purgeAt }] of this.#graveyard) {
      if (purgeAt > now) continue;
      this.#graveyard.delete(uid);
      this.#unindex(object);
      const key = objectKey(object.namespace, object.name);
      if (this.#byKey.get(key) === object) this.#byKey.delete(key);
      purged++;
    }
    return purged;
  }

  #index(object: T): void {
    this.#byUid.set(object.uid, object);
    for (const { spec, map } of this.#indexes.values()) {
      for (const key of spec.keys(object)) {
        const holder = map.get(key);
        // A live object keeps an index key (a reused pod IP) against a deleted one.
        if (holder && !holder.deletedAt && object.deletedAt && holder.uid !== object.uid) continue;
        map.set(key, object);
      }
    }
  }

  /** Removes the index entries that point at this very object (not at a newer holder). */
  #unindex(object: T): void {
    if (this.#byUid.get(object.uid) === object) this.#byUid.delete(object.uid);
    for (const { spec, map } of this.#indexes.values()) {
      for (const key of spec.keys(object)) if (map.get(key) === object) map.delete(key);
    }
  }
}
