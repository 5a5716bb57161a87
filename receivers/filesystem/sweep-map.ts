/**
 * A cache carried from one pass over a collection (a mount table, a collect's mounts) to the
 * next: a pass reads what the last pass kept and keeps what it uses, and `sweep()` ends the pass,
 * dropping every entry it did not keep. So entries of mounts that went away are gone after one
 * pass, and the cache never outgrows the collection. The two maps are reused, not reallocated.
 */
export class SweepMap<K, V> {
  #last = new Map<K, V>();
  #next = new Map<K, V>();

  /** The value the last pass kept for `key`. */
  get(key: K): V | undefined {
    return this.#last.get(key);
  }

  /** Keeps `value` for the next pass; returns it. */
  keep(key: K, value: V): V {
    this.#next.set(key, value);
    return value;
  }

  /** Ends the pass: only what it kept is left. */
  sweep(): void {
    const last = this.#last;
    last.clear();
    this.#last = this.#next;
    this.#next = last;
  }
}
