/**
 * Whether a resource sampled over a long run (RSS, open descriptors) stayed flat.
 *
 * The samples taken after the warm-up are cut in thirds. The baseline is the median of the first
 * third, the final level the median of the last third, and the growth final / baseline − 1. A
 * leak raises the whole last third, so its median moves by the leak; a garbage-collection peak,
 * a burst of sockets in flight or one slow sample moves a median by at most one rank, so noise
 * does not fail a run that is flat, while a steady leak of more than the tolerance over the run
 * does. Thirds (not a fixed count) make the same rule hold for a 3-minute and a 30-minute run:
 * the longer the run, the longer the stretch between the two medians, the smaller the leak rate
 * it catches. The maximum is reported alongside, for the log, not judged.
 */
export interface Flatness {
  readonly samples: number;
  readonly baseline: number;
  readonly final: number;
  readonly max: number;
  /** final / baseline − 1 (0.1 = 10 %). */
  readonly growth: number;
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** `what` names the resource in the error for too few samples (at least 3 are needed, one per third). */
export function flatness(what: string, values: readonly number[]): Flatness {
  if (values.length < 3) throw new Error(`${what}: ${values.length} samples after the warm-up; at least 3 are needed to compare the first and last thirds`);
  const third = Math.max(1, Math.floor(values.length / 3));
  const baseline = median(values.slice(0, third));
  const final = median(values.slice(values.length - third));
  return { samples: values.length, baseline, final, max: Math.max(...values), growth: baseline === 0 ? (final === 0 ? 0 : Infinity) : final / baseline - 1 };
}
