interface Shared<T> {
  readonly result: Promise<T>;
  readonly controller: AbortController;
  waiting: number;
}

/**
 * Lets pulls that ask for the same thing while it is being produced share one production: the
 * first starts it, the ones arriving before it ends get the same result. Several Prometheus
 * servers (or an HA pair) pulling at the same moment then cost one collection and one render
 * instead of one each; without it, pulls arriving faster than one takes pile up until none
 * finishes in time.
 *
 * The production gets its own abort signal, aborted only once every pull waiting for it has
 * gone (one puller leaving must not cut the answer of the others short).
 */
export class PullCoalescer<T> {
  readonly #inFlight = new Map<string, Shared<T>>();

  /** Productions under way (for tests and diagnostics). */
  get inFlight(): number {
    return this.#inFlight.size;
  }

  /**
   * The result of the production for `key` under way, or of a new one made by `produce`.
   * `gone` is this puller's signal: when every puller of a production has gone, it is aborted.
   */
  run(key: string, gone: AbortSignal, produce: (signal: AbortSignal) => Promise<T>): Promise<T> {
    let shared = this.#inFlight.get(key);
    if (!shared) {
      const controller = new AbortController();
      const result = Promise.resolve().then(() => produce(controller.signal));
      const entry: Shared<T> = { result, controller, waiting: 0 };
      const forget = (): void => {
        if (this.#inFlight.get(key) === entry) this.#inFlight.delete(key);
      };
      result.then(forget, forget);
      this.#inFlight.set(key, entry);
      shared = entry;
    }
    const entry = shared;
    entry.waiting++;
    const leave = (): void => {
      entry.waiting--;
      if (entry.waiting > 0) return;
      entry.controller.abort();
      // A pull arriving after everyone left starts afresh rather than joining an aborted one.
      if (this.#inFlight.get(key) === entry) this.#inFlight.delete(key);
    };
    if (gone.aborted) leave();
    else {
      gone.addEventListener('abort', leave, { once: true });
      const stopListening = (): void => gone.removeEventListener('abort', leave);
      entry.result.then(stopListening, stopListening);
    }
    return entry.result;
  }
}
