interface Shared<T> {
  readonly result: Promise<T>;
  readonly controller: AbortController;
  waiting: number;
}

/**
 * Lets pulls that arrive while an answer is being produced share that production: the first
 * starts it, the ones arriving before it ends get the same result. Several Prometheus servers
 * (or an HA pair) pulling at the same moment then cost one collection and one render instead of
 * one each; without it, pulls arriving faster than one takes pile up until none finishes in time.
 *
 * The production gets its own abort signal, aborted only once every pull waiting for it has
 * gone (one puller leaving must not cut the answer of the others short).
 */
export class PullCoalescer<T> {
  #current: Shared<T> | undefined;

  /** Whether a production is under way (for tests and diagnostics). */
  get producing(): boolean {
    return this.#current !== undefined;
  }

  /**
   * The result of the production under way, or of a new one made by `produce`. `gone` is this
   * puller's signal: when every puller of a production has gone, it is aborted.
   */
  run(gone: AbortSignal, produce: (signal: AbortSignal) => Promise<T>): Promise<T> {
    let entry = this.#current;
    if (!entry) {
      const controller = new AbortController();
      const created: Shared<T> = { result: Promise.resolve().then(() => produce(controller.signal)), controller, waiting: 0 };
      const forget = (): void => this.#forget(created);
      created.result.then(forget, forget);
      this.#current = entry = created;
    }
    const shared = entry;
    shared.waiting++;
    const leave = (): void => {
      shared.waiting--;
      if (shared.waiting > 0) return;
      shared.controller.abort();
      // A pull arriving after everyone left starts afresh rather than joining an aborted one.
      this.#forget(shared);
    };
    if (gone.aborted) leave();
    else {
      gone.addEventListener('abort', leave, { once: true });
      const stopListening = (): void => gone.removeEventListener('abort', leave);
      shared.result.then(stopListening, stopListening);
    }
    return shared.result;
  }

  #forget(entry: Shared<T>): void {
    if (this.#current === entry) this.#current = undefined;
  }
}
