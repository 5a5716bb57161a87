/**
 * The web config's `rate_limit`: a token bucket that holds up to `burst` requests and gains one
 * every `intervalMs`, as exporter-toolkit's limiter does. One bucket for the whole endpoint, not
 * one per client: its job is to cap the agent's own work, whoever asks.
 */
export class TokenBucket {
  readonly intervalMs: number;
  readonly burst: number;
  readonly #now: () => number;
  #tokens: number;
  #updatedAt: number;

  /** `now`: a monotonic clock in ms (performance.now by default; tests pass their own). */
  constructor(intervalMs: number, burst: number, now: () => number = () => performance.now()) {
    if (!(intervalMs > 0) || !Number.isFinite(intervalMs)) throw new RangeError(`TokenBucket: intervalMs must be a positive number of ms, got ${intervalMs}`);
    if (!Number.isSafeInteger(burst) || burst < 1) throw new RangeError(`TokenBucket: burst must be a positive integer, got ${burst}`);
    this.intervalMs = intervalMs;
    this.burst = burst;
    this.#now = now;
    this.#tokens = burst;
    this.#updatedAt = now();
  }

  /** Takes one token: true when there was one, false when the request is over the rate. */
  take(): boolean {
    this.#refill();
    if (this.#tokens < 1) return false;
    this.#tokens -= 1;
    return true;
  }

  /** Whole seconds until a token is free again (for Retry-After), at least 1. */
  retryAfterSeconds(): number {
    this.#refill();
    const waitMs = this.#tokens >= 1 ? 0 : (1 - this.#tokens) * this.intervalMs;
    return Math.max(1, Math.ceil(waitMs / 1000));
  }

  #refill(): void {
    const now = this.#now();
    const elapsed = now - this.#updatedAt;
    this.#updatedAt = now;
    if (elapsed > 0) this.#tokens = Math.min(this.burst, this.#tokens + elapsed / this.intervalMs);
  }
}
