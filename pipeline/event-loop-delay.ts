import { performance } from 'node:perf_hooks';

export interface EventLoopDelayWindowOptions {
  /** How far back the reported maximum reaches, at least; default 60 s. */
  readonly windowMs?: number;
  /** Granularity of the window: one stored maximum per slot; default 1 s. */
  readonly slotMs?: number;
}

/**
 * The longest event-loop delay over a trailing window: delays are recorded into the slot of
 * the time they were seen, and a read reports the largest slot still in the window. Reading
 * changes nothing, so every reader (a Prometheus pull, a Pushgateway push) sees the same stall;
 * a reset-on-read maximum would let one reader swallow what another should see.
 */
export class EventLoopDelayWindow {
  readonly #windowMs: number;
  readonly #slotMs: number;
  /** Oldest first; `slot` is the time divided by slotMs, `maxMs` the largest delay seen in it. */
  readonly #slots: Array<{ slot: number; maxMs: number }> = [];

  constructor(options: EventLoopDelayWindowOptions = {}) {
    this.#windowMs = options.windowMs ?? 60_000;
    this.#slotMs = options.slotMs ?? 1_000;
    if (!(this.#slotMs > 0) || !(this.#windowMs >= this.#slotMs)) {
      throw new RangeError(`event-loop delay window: windowMs (${this.#windowMs}) must be at least slotMs (${this.#slotMs}) > 0`);
    }
  }

  /** Notes a delay of `delayMs` seen at `nowMs`. */
  record(delayMs: number, nowMs: number): void {
    const slot = Math.floor(nowMs / this.#slotMs);
    const last = this.#slots.at(-1);
    // A clock that went backwards lands in the newest slot rather than being lost.
    if (last && last.slot >= slot) last.maxMs = Math.max(last.maxMs, delayMs);
    else this.#slots.push({ slot, maxMs: delayMs });
    this.#prune(nowMs);
  }

  /** The longest delay in seconds recorded in the `windowMs` before `nowMs` (0 if none). */
  maxSeconds(nowMs: number): number {
    this.#prune(nowMs);
    let maxMs = 0;
    for (const s of this.#slots) maxMs = Math.max(maxMs, s.maxMs);
    return maxMs / 1000;
  }

  /** Drops the slots that ended, at (slot + 1) * slotMs, before the window began. */
  #prune(nowMs: number): void {
    const oldestKept = Math.floor((nowMs - this.#windowMs) / this.#slotMs);
    while (this.#slots.length > 0 && this.#slots[0]!.slot < oldestKept) this.#slots.shift();
  }
}

/**
 * Measures the event loop with a repeating timer: a tick that comes late by d ms means the
 * loop was busy for about d ms. Our own timer rather than perf_hooks.monitorEventLoopDelay,
 * whose reset() forgets the interval it falls in: a stall right after a read (say, rendering
 * the scrape that read it) would never be counted. The timer is unref'd, so it never keeps
 * the process alive. Returns a function that stops it.
 */
export function sampleEventLoopDelay(window: EventLoopDelayWindow, intervalMs: number, now: () => number = () => performance.now()): () => void {
  let previous = now();
  const timer = setInterval(() => {
    const at = now();
    window.record(Math.max(0, at - previous - intervalMs), Date.now());
    previous = at;
  }, intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}

let shared: EventLoopDelayWindow | undefined;

/**
 * The process's one event-loop window (one event loop, so one sampler however many graphs a
 * test builds). It runs for the life of the process.
 */
export function sharedEventLoopDelayWindow(): EventLoopDelayWindow {
  if (!shared) {
    shared = new EventLoopDelayWindow();
    // 20 ms: 50 cheap ticks a second, fine enough for the 100 ms stalls worth alerting on.
    sampleEventLoopDelay(shared, 20);
  }
  return shared;
}
