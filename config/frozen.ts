/** A Map that refuses changes: Object.freeze alone leaves set/delete/clear working. */
export class FrozenMap<K, V> extends Map<K, V> {
  constructor(entries: Iterable<readonly [K, V]> = []) {
    super();
    for (const [k, v] of entries) super.set(k, v);
    Object.freeze(this);
  }

  override set(key: K, _value: V): never {
    throw new TypeError(`cannot set ${String(key)}: the map is frozen`);
  }

  override delete(key: K): never {
    throw new TypeError(`cannot delete ${String(key)}: the map is frozen`);
  }

  override clear(): never {
    throw new TypeError('cannot clear: the map is frozen');
  }
}

/** Freezes plain objects and arrays all the way down; returns its argument for chaining. */
export function deepFreeze<T>(value: T): T {
  if (typeof value !== 'object' || value === null || Object.isFrozen(value)) return value;
  if (value instanceof Map) {
    for (const v of value.values()) deepFreeze(v);
  } else {
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return Object.freeze(value);
}
