/** Thrown by {@link SerialGate.run} when too many callers are already waiting. */
export class GateFullError extends Error {
  constructor() {
    super('too many waiting');
    this.name = 'GateFullError';
  }
}

/**
 * Runs tasks one at a time with a bounded waiting line. bcrypt comparisons go through it: a
 * burst of wrong passwords then costs one core at most, and the line's bound turns a flood
 * into fast refusals instead of a growing backlog.
 */
export class SerialGate {
  readonly #maxWaiting: number;
  #tail: Promise<unknown> = Promise.resolve();
  #waiting = 0;

  constructor(maxWaiting: number) {
    this.#maxWaiting = maxWaiting;
  }

  run<T>(task: () => Promise<T>): Promise<T> {
    if (this.#waiting >= this.#maxWaiting) return Promise.reject(new GateFullError());
    this.#waiting++;
    const result = this.#tail.then(task, task);
    const settled = result.then(
      () => undefined,
      () => undefined,
    );
    this.#tail = settled;
    void settled.then(() => {
      this.#waiting--;
    });
    return result;
  }

  /** Tasks running or waiting. */
  get pending(): number {
    return this.#waiting;
  }
}
