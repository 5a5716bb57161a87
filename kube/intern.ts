/** Options of an {@link Interner}. */
export interface InternerOptions {
  /**
   * Entries kept before the table is cleared. Clearing only loses sharing for strings seen
   * afterwards; it bounds the table when values churn (pod-template-hash, resource versions).
   */
  readonly maxEntries?: number;
}

const EMPTY: Readonly<Record<string, string>> = Object.freeze({});

/**
 * Shares one copy of strings and string maps that repeat across thousands of objects (label
 * keys and values, namespaces, storage classes, whole label sets of PVCs made from one
 * template). JSON.parse gives every occurrence its own string; after interning the
 * duplicates become garbage.
 */
export class Interner {
  readonly #max: number;
  #strings = new Map<string, string>();
  #maps = new Map<string, Readonly<Record<string, string>>>();

  constructor(options: InternerOptions = {}) {
    this.#max = options.maxEntries ?? 100_000;
  }

  string(value: string): string {
    if (value === '') return '';
    const known = this.#strings.get(value);
    if (known !== undefined) return known;
    if (this.#strings.size >= this.#max) this.#strings = new Map();
    this.#strings.set(value, value);
    return value;
  }

  /** A frozen, shared copy of a string map; `omit` drops keys not worth keeping. */
  map(value: unknown, omit?: ReadonlySet<string>): Readonly<Record<string, string>> {
    if (value === null || typeof value !== 'object') return EMPTY;
    const entries: Array<[string, string]> = [];
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
      if (typeof v !== 'string' || omit?.has(k)) continue;
      entries.push([k, v]);
    }
    if (entries.length === 0) return EMPTY;
    entries.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
    const key = JSON.stringify(entries);
    const known = this.#maps.get(key);
    if (known !== undefined) return known;
    if (this.#maps.size >= this.#max) this.#maps = new Map();
    const out: Record<string, string> = {};
    for (const [k, v] of entries) out[this.string(k)] = this.string(v);
    const frozen = Object.freeze(out);
    this.#maps.set(key, frozen);
    return frozen;
  }

  get size(): number {
    return this.#strings.size + this.#maps.size;
  }
}
