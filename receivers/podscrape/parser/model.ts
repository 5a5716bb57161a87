// The parsed form of one scrape body (Prometheus text 0.0.4 or OpenMetrics 1.0 text). It stays
// close to the wire: sample names keep their suffixes and labels stay strings, so the receiver
// decides how to map families onto OpenTelemetry data points and nothing is lost on the way.

/** Which text format a body is in. */
export type ExpositionFormat = 'prometheus' | 'openmetrics';

/**
 * A family's type as the input declared it. Prometheus text 0.0.4 knows `counter`, `gauge`,
 * `histogram`, `summary` and `untyped` (the default without a TYPE line); OpenMetrics adds `info`,
 * `stateset` and `gaugehistogram` and calls the default `unknown`. The parser keeps the word the
 * input used rather than folding `untyped` into `unknown`.
 */
export type FamilyType = 'counter' | 'gauge' | 'histogram' | 'summary' | 'untyped' | 'info' | 'stateset' | 'gaugehistogram' | 'unknown';

/** TYPE words valid in Prometheus text 0.0.4 (lower case only, as the Prometheus server reads them). */
export const PROMETHEUS_TYPES: readonly FamilyType[] = ['counter', 'gauge', 'histogram', 'summary', 'untyped'];

/** TYPE words valid in OpenMetrics 1.0. */
export const OPENMETRICS_TYPES: readonly FamilyType[] = ['counter', 'gauge', 'histogram', 'gaugehistogram', 'summary', 'info', 'stateset', 'unknown'];

/**
 * Label name → value, in the order the input wrote them. The object has no Object.prototype in
 * its chain (its prototype is an empty object whose own prototype is null), so label names such as
 * `__proto__`, `constructor` or `toString` are ordinary own properties and a missing label reads as
 * undefined. A shared prototype (rather than Object.create(null) per sample) keeps the objects in
 * V8's fast mode: creating them is several times cheaper, which matters at a million samples/s.
 */
export type Labels = Record<string, string>;

const LABELS_PROTOTYPE: object = Object.create(null) as object;
const LabelsObject = function LabelsObject() {} as unknown as new () => Labels;
(LabelsObject as unknown as { prototype: object }).prototype = LABELS_PROTOTYPE;

/** A new, empty label set (see {@link Labels}); pass entries to fill it in order. */
export function createLabels(entries?: Iterable<readonly [string, string]> | Readonly<Record<string, string>>): Labels {
  const labels = new LabelsObject();
  if (entries === undefined) return labels;
  const pairs = Symbol.iterator in entries ? entries : Object.entries(entries);
  for (const [name, value] of pairs) labels[name] = value;
  return labels;
}

/** An OpenMetrics exemplar: `# {labels} value [timestamp]` after a counter total or a bucket. */
export interface ParsedExemplar {
  labels: Labels;
  value: number;
  /** Milliseconds since the epoch (OpenMetrics writes seconds; converted exactly, may be fractional). */
  timestampMs?: number;
}

/** One sample line. */
export interface ParsedSample {
  /** The full sample name as written, suffix included (`foo_bucket`, `foo_total`, …). */
  name: string;
  /** The sample's own labels as written, `le` / `quantile` / a stateset's state label included. */
  labels: Labels;
  /** The value; NaN and ±Infinity are valid. */
  value: number;
  /**
   * Milliseconds since the epoch, only when the line has a timestamp. Prometheus text writes
   * integer milliseconds (exact up to 2^53); OpenMetrics writes float seconds, converted by
   * shifting the decimal point, so `1520879607.789` becomes exactly 1520879607789 (a finer
   * fraction stays as a fractional millisecond).
   */
  timestampMs?: number;
  /** OpenMetrics only. */
  exemplar?: ParsedExemplar;
}

/** A metric family: its metadata and its samples, in input order. */
export interface ParsedFamily {
  /** The family name: the name on HELP/TYPE/UNIT lines, or the sample name for a family with no metadata. */
  name: string;
  type: FamilyType;
  /** Unescaped HELP text; absent when there was no HELP line or it was empty. */
  help?: string;
  /** OpenMetrics UNIT; absent when there was no UNIT line or it was empty. */
  unit?: string;
  /** May be empty: metadata without samples is a valid family in both formats. */
  samples: ParsedSample[];
}

export interface ParseResult {
  /** Families in order of first appearance. */
  families: ParsedFamily[];
  /** Number of sample lines (exemplars not counted). */
  sampleCount: number;
  format: ExpositionFormat;
}
