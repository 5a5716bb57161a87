import { setTimeout as delay } from 'node:timers/promises';

/** Options of a {@link Backoff}. */
export interface BackoffOptions {
  /** Ceiling of the first delay, ms (default 200). */
  readonly initialMs?: number;
  /** Cap of the ceiling, ms (default 30 000). */
  readonly maxMs?: number;
  /** Source of randomness in [0, 1); tests pass a fixed one. */
  readonly random?: () => number;
}

/**
 * Capped exponential backoff with full jitter: the n-th consecutive failure waits a uniform
 * random time in [0, min(max, initial·2ⁿ)]. Full jitter spreads the reconnects of every
 * agent in a DaemonSet after an API server restart instead of having them arrive in waves.
 */
export class Backoff {
  readonly #initialMs: number;
  readonly #maxMs: number;
  readonly #random: () => number;
  #failures = 0;

  constructor(options: BackoffOptions = {}) {
    this.#initialMs = Math.max(1, options.initialMs ?? 200);
    this.#maxMs = Math.max(this.#initialMs, options.maxMs ?? 30_000);
    this.#random = options.random ?? Math.random;
  }

  /** Ceiling of the next delay. */
  get ceilingMs(): number {
    return Math.min(this.#maxMs, this.#initialMs * 2 ** this.#failures);
  }

  get failures(): number {
    return this.#failures;
  }

  /** The delay before the next attempt; counts one more failure. */
  next(): number {
    const delay = Math.floor(this.#random() * (this.ceilingMs + 1));
    // Stop growing once capped so the exponent cannot overflow to Infinity.
    if (this.#initialMs * 2 ** this.#failures < this.#maxMs) this.#failures++;
    return Math.min(delay, this.#maxMs);
  }

  /** After a success the next failure starts from the initial delay again. */
  reset(): void {
    this.#failures = 0;
  }
}

/** Resolves after `ms`, or at once when `signal` aborts; never rejects. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return delay(ms, undefined, { signal }).catch(() => undefined);
}
