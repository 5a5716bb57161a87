/**
 * At most `limit` scrapes at once across every round and on-demand pull; the rest wait in order.
 * Shared by all of them so that overlapping rounds (a slow target still running when the next
 * round starts) and pulls never exceed the receiver's `concurrency`.
 */
export class ScrapeSlots {
  readonly #limit: number;
  #running = 0;
  readonly #waiting: Array<() => void> = [];

  constructor(limit: number) {
    this.#limit = Math.max(1, limit);
  }

  async run<T>(task: () => Promise<T>): Promise<T> {
    if (this.#running >= this.#limit) await new Promise<void>((resolve) => this.#waiting.push(resolve));
    else this.#running++;
    try {
      return await task();
    } finally {
      // Hand the slot straight to the next waiter (the count stays), or give it back.
      const next = this.#waiting.shift();
      if (next) next();
      else this.#running--;
    }
  }
}
