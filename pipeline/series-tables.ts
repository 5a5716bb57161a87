import type { Attributes } from '@opentelemetry/api';
import type { HistogramSample, Sample } from './datapoints.ts';

/** A stable key for an attribute set, whatever order its labels were written in. */
export function attributesKey(attributes: Attributes): string {
  return JSON.stringify(Object.keys(attributes).sort().map((k) => [k, attributes[k]]));
}

/** Monotonic counters keyed by their attribute set, for receivers that count what they observe. */
export class CounterTable {
  readonly #rows = new Map<string, { attributes: Attributes; value: number }>();

  /** Adds `n` (≥ 0) to the series, creating it at 0 first. */
  add(attributes: Attributes, n = 1): void {
    const key = attributesKey(attributes);
    const row = this.#rows.get(key);
    if (row) row.value += n;
    else this.#rows.set(key, { attributes, value: n });
  }

  /** Makes the series exist at 0 so its first increment is visible to `rate()` and `increase()`. */
  ensure(attributes: Attributes): void {
    this.add(attributes, 0);
  }

  value(attributes: Attributes): number | undefined {
    return this.#rows.get(attributesKey(attributes))?.value;
  }

  samples(): Sample[] {
    return [...this.#rows.values()].map((r) => ({ attributes: r.attributes, value: r.value }));
  }
}

/** Explicit-bucket histograms keyed by their attribute set, all with the same boundaries. */
export class HistogramTable {
  readonly #boundaries: readonly number[];
  readonly #rows = new Map<string, { attributes: Attributes; counts: number[]; sum: number; count: number }>();

  /** `boundaries`: increasing finite upper bounds (`le`); a value equal to a bound falls in that bucket, as Prometheus counts. */
  constructor(boundaries: readonly number[]) {
    this.#boundaries = [...boundaries];
  }

  observe(attributes: Attributes, value: number): void {
    const key = attributesKey(attributes);
    let row = this.#rows.get(key);
    if (!row) this.#rows.set(key, (row = { attributes, counts: new Array<number>(this.#boundaries.length + 1).fill(0), sum: 0, count: 0 }));
    let i = this.#boundaries.findIndex((b) => value <= b);
    if (i < 0) i = this.#boundaries.length;
    row.counts[i] = (row.counts[i] ?? 0) + 1;
    row.sum += value;
    row.count += 1;
  }

  samples(): HistogramSample[] {
    return [...this.#rows.values()].map((r) => ({ attributes: r.attributes, boundaries: this.#boundaries, counts: [...r.counts], sum: r.sum, count: r.count }));
  }
}
