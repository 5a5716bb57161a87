import { createHmac, randomBytes } from 'node:crypto';

/**
 * Basic-auth credentials that bcrypt has already accepted, so a Prometheus scraping every 15 s
 * pays for one bcrypt comparison (50–100 ms of CPU at cost 10), not one per scrape. Only
 * successes are kept; the key is an HMAC (per-process random key) of user, password and the
 * stored hash, so the cache never holds a password and a changed hash misses. Bounded: the
 * least recently used entry goes first.
 */
export class CredentialCache {
  readonly #key = randomBytes(32);
  readonly #entries = new Map<string, true>();
  readonly #max: number;

  constructor(max = 64) {
    this.#max = max;
  }

  #id(user: string, password: string, hash: string): string {
    // Lengths first, so ("a:b", "c") and ("a", "b:c") cannot collide.
    return createHmac('sha256', this.#key).update(`${user.length}:${password.length}:${user}:${password}:${hash}`, 'utf8').digest('base64');
  }

  has(user: string, password: string, hash: string): boolean {
    const id = this.#id(user, password, hash);
    if (!this.#entries.has(id)) return false;
    this.#entries.delete(id);
    this.#entries.set(id, true);
    return true;
  }

  add(user: string, password: string, hash: string): void {
    const id = this.#id(user, password, hash);
    this.#entries.delete(id);
    this.#entries.set(id, true);
    while (this.#entries.size > this.#max) {
      const oldest = this.#entries.keys().next().value;
      if (oldest === undefined) break;
      this.#entries.delete(oldest);
    }
  }

  get size(): number {
    return this.#entries.size;
  }
}
