/**
 * Pulls an agent's /metrics back to back (with a pause) in the background while a fault test
 * does its damage, so the test can say afterwards how fast every pull was answered and what the
 * pulls saw. A pull that fails or answers other than 200 is recorded, not thrown: `failures`
 * lists them.
 */
import type { Agent } from './agent.ts';
import { parseExposition, type Sample } from './exposition.ts';
import { sleep } from './proc.ts';

export interface ProbedPull {
  /** `performance.now()` when it was sent. */
  readonly startedAt: number;
  readonly ms: number;
  /** HTTP status, or the error message when there was no answer. */
  readonly status: number | string;
  readonly samples: readonly Sample[];
}

export class PullProbe {
  readonly pulls: ProbedPull[] = [];
  readonly #agent: Agent;
  readonly #pauseMs: number;
  readonly #timeoutMs: number;
  #stopped = false;
  #loop: Promise<void> | undefined;

  /** Starts pulling at once; `pauseMs` between the end of one pull and the next (default 100). */
  constructor(agent: Agent, options: { pauseMs?: number; timeoutMs?: number } = {}) {
    this.#agent = agent;
    this.#pauseMs = options.pauseMs ?? 100;
    this.#timeoutMs = options.timeoutMs ?? 10_000;
    this.#loop = this.#run();
  }

  /** Stops after the pull under way; resolves with every pull made. */
  async stop(): Promise<ProbedPull[]> {
    this.#stopped = true;
    await this.#loop;
    this.#loop = undefined;
    return this.pulls;
  }

  /** Pulls that failed or did not answer 200. */
  get failures(): ProbedPull[] {
    return this.pulls.filter((p) => p.status !== 200);
  }

  /** The slowest pull, ms (0 before any). */
  get maxMs(): number {
    return this.pulls.reduce((max, p) => Math.max(max, p.ms), 0);
  }

  /** One line for a diagnostic: count, median and slowest. */
  describe(): string {
    const sorted = this.pulls.map((p) => p.ms).sort((a, b) => a - b);
    const median = sorted[Math.floor(sorted.length / 2)] ?? NaN;
    return `${sorted.length} pulls, median ${median.toFixed(1)} ms, slowest ${this.maxMs.toFixed(1)} ms, ${this.failures.length} failed`;
  }

  async #run(): Promise<void> {
    while (!this.#stopped && !this.#agent.exited) {
      const startedAt = performance.now();
      try {
        const res = await this.#agent.get('/metrics', { timeoutMs: this.#timeoutMs });
        this.pulls.push({ startedAt, ms: res.elapsedMs, status: res.status, samples: res.status === 200 ? parseExposition(res.body) : [] });
      } catch (err) {
        this.pulls.push({ startedAt, ms: performance.now() - startedAt, status: (err as Error).message, samples: [] });
      }
      await sleep(this.#pauseMs);
    }
  }
}
