// Our own Prometheus text exposition writer.
//
// Why not PrometheusSerializer from @opentelemetry/exporter-prometheus: it re-sanitises the
// metric name and every label name for every data point, runs three regex replaces on every
// label value, allocates per-point objects, and at 6,000 series it took 43% of the agent's main
// thread per scrape. This writer caches sanitised names across scrapes (names repeat), escapes a
// value only when it holds `\`, newline or `"`, and appends to one string.
//
// Its output is BYTE-IDENTICAL to `new PrometheusSerializer(prefix, false, undefined,
// !targetInfo, !scopeInfo).serialize(batch)` (exporter-prometheus 0.301.0), quirks included;
// text-writer.test.ts proves it with hand-written cases and a fast-check property test. Keep it
// that way when upgrading the SDK: the property test will say if the serializer changed.
// Assumes a prefix that config validation accepts (no leading whitespace, which the SDK's trim()
// would strip from some lines).
//
// On top of the SDK's behaviour it adds what the exporter needs: constant labels (written first;
// a series' own label of the same name wins), dropping repeated series, and writing metrics
// scraped from Prometheus endpoints back as they came (pipeline/prometheus-family.ts): the
// family's name and type, each sample under its own scraped name, HELP only when there was one.
import { diag, type Attributes } from '@opentelemetry/api';
import type { InstrumentationScope } from '@opentelemetry/core';
import { DataPointType, type Histogram, type MetricData, type ResourceMetrics } from '@opentelemetry/sdk-metrics';
import { prometheusFamilyOf } from '../../pipeline/prometheus-family.ts';

export interface TextWriterOptions {
  /** Joined to every metric name with `_`; empty for none. */
  readonly prefix: string;
  readonly targetInfo: boolean;
  readonly scopeInfo: boolean;
  /** Labels added before every series' own labels; an own label of the same name wins. */
  readonly constLabels?: Readonly<Record<string, string>>;
  /** Drop a series (name and label set, in any order) already written in this exposition. */
  readonly dedupe?: boolean;
}

/** Prometheus text format 0.0.4, what writeExposition produces. */
export const EXPOSITION_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

const NO_REGISTERED_METRICS = '# no registered metrics';
const TARGET_INFO = 'target_info';

// The SDK's own patterns; without the `u` flag, `i` cannot fold a non-ASCII letter into a-z.
const INVALID_NAME_CHARS = /[^a-z0-9_]/gi;
const REPEATED_UNDERSCORES = /_{2,}/g;
const NEEDS_LABEL_ESCAPE = /[\\\n"]/;
const LABEL_ESCAPES = /[\\\n"]/g;
const NEEDS_TEXT_ESCAPE = /[\\\n]/;
const TEXT_ESCAPES = /[\\\n]/g;

function sanitize(name: string): string {
  return name.replace(INVALID_NAME_CHARS, '_').replace(REPEATED_UNDERSCORES, '_');
}

function escapeChar(c: string): string {
  return c === '\n' ? '\\n' : c === '\\' ? '\\\\' : '\\"';
}

/** HELP and UNIT text: backslash and newline only, like the SDK's escapeString. */
function escapeText(s: string): string {
  return NEEDS_TEXT_ESCAPE.test(s) ? s.replace(TEXT_ESCAPES, escapeChar) : s;
}

/** A label value: strings as they are, anything else JSON-encoded, then escaped. */
function labelValue(value: unknown): string {
  const s = typeof value === 'string' ? value : value === undefined ? '' : JSON.stringify(value);
  return NEEDS_LABEL_ESCAPE.test(s) ? s.replace(LABEL_ESCAPES, escapeChar) : s;
}

function sampleValue(value: number): string {
  return value === Infinity ? '+Inf' : value === -Infinity ? '-Inf' : `${value}`;
}

// Names repeat every scrape, so their sanitised forms are cached. The bound only guards against
// a source that invents names without end; clearing costs one re-sanitising pass.
const CACHE_LIMIT = 50_000;
/** Raw label key → `sanitised="`, the part of a label pair before its value. */
const labelKeyCache = new Map<string, string>();
const rawLabelKeyCache = new Map<string, string>();
/** Raw metric name → the SDK's escape-then-sanitise form, before prefix and `_total`. */
const metricNameCache = new Map<string, string>();

/**
 * Small ids for the strings in dedupe keys (family names, scope labels, label names and
 * values), kept across scrapes like the name caches; cleared only before a render starts, so
 * ids stay unique within one.
 */
const seriesIds = new Map<string, number>();
/** Renders started and not finished (a lazy one spans the sending of its exposition). */
let activeRenders = 0;

function seriesId(s: string): number {
  let id = seriesIds.get(s);
  if (id === undefined) {
    id = seriesIds.size;
    seriesIds.set(s, id);
  }
  return id;
}

/** An id as two UTF-16 code units. */
function pushId(codes: number[], id: number): void {
  codes.push(id & 0xffff, id >>> 16);
}

function labelKey(key: string): string {
  let cached = labelKeyCache.get(key);
  if (cached === undefined) {
    if (labelKeyCache.size >= CACHE_LIMIT) labelKeyCache.clear();
    cached = sanitize(key) + '="';
    labelKeyCache.set(key, cached);
  }
  return cached;
}

/** A scraped label's name is valid as it is: sanitising would fold `__name` into `_name`. */
function rawLabelKey(key: string): string {
  let cached = rawLabelKeyCache.get(key);
  if (cached === undefined) {
    if (rawLabelKeyCache.size >= CACHE_LIMIT) rawLabelKeyCache.clear();
    cached = key + '="';
    rawLabelKeyCache.set(key, cached);
  }
  return cached;
}

function baseMetricName(name: string): string {
  let cached = metricNameCache.get(name);
  if (cached === undefined) {
    if (metricNameCache.size >= CACHE_LIMIT) metricNameCache.clear();
    // The SDK escapes before sanitising, so a newline in a metric name becomes `_n`.
    cached = sanitize(escapeText(name));
    metricNameCache.set(name, cached);
  }
  return cached;
}

/** The SDK's family name for a metric, or undefined when it drops the metric. */
function prometheusName(metric: MetricData, prefix: string): string | undefined {
  let name = prefix + baseMetricName(metric.descriptor.name);
  if (name === '' || name === '_') {
    diag.error(`Prometheus exposition: metric "${metric.descriptor.name}" has no usable name; dropped`);
    return undefined;
  }
  const first = name.charCodeAt(0);
  if (first >= 48 && first <= 57) name = '_' + name;
  if (metric.dataPointType === DataPointType.SUM && metric.isMonotonic && !name.endsWith('_total')) name += '_total';
  return name;
}

function prometheusType(metric: MetricData): string {
  switch (metric.dataPointType) {
    case DataPointType.SUM:
      return metric.isMonotonic ? 'counter' : 'gauge';
    case DataPointType.GAUGE:
      return 'gauge';
    case DataPointType.HISTOGRAM:
      return 'histogram';
    default:
      return 'untyped';
  }
}

interface Member {
  readonly metric: MetricData;
  readonly scope: InstrumentationScope;
}

interface Family {
  help: string;
  unit: string;
  readonly type: string;
  /** Scraped from a Prometheus endpoint: written back as it came. */
  readonly scraped: boolean;
  /** Undefined once a type conflict dropped the family (its place in the order stays taken). */
  members: Member[] | undefined;
}

// Conflict warnings are repeated only when a conflict comes back after a scrape without it.
let previousConflicts = new Set<string>();

function warnConflict(current: Set<string>, message: string): void {
  if (current.has(message)) return;
  current.add(message);
  if (!previousConflicts.has(message)) diag.warn(`Prometheus exposition: ${message}`);
}

/** Families by name in first-seen order, with the SDK's rules for type, HELP and UNIT conflicts. */
function collectFamilies(batch: ResourceMetrics, prefix: string, targetInfo: boolean): Map<string, Family> {
  const families = new Map<string, Family>();
  const conflicts = new Set<string>();
  if (targetInfo) families.set(TARGET_INFO, { help: 'Target metadata', unit: '', type: 'gauge', scraped: false, members: [] });
  for (const scopeMetrics of batch.scopeMetrics) {
    for (const metric of scopeMetrics.metrics) {
      const scraped = prometheusFamilyOf(metric);
      const name = scraped === undefined ? prometheusName(metric, prefix) : prefix + scraped.family;
      if (name === undefined) continue;
      const type = scraped === undefined ? prometheusType(metric) : scraped.type;
      const family = families.get(name);
      if (family === undefined) {
        const { description, unit } = metric.descriptor;
        families.set(name, { help: description, unit, type, scraped: scraped !== undefined, members: [{ metric, scope: scopeMetrics.scope }] });
      } else if (family.members !== undefined) {
        if (family.type === type) {
          family.members.push({ metric, scope: scopeMetrics.scope });
        } else {
          warnConflict(conflicts, `metric "${name}" has types ${family.type} and ${type}; dropping the family`);
          family.members = undefined;
        }
      }
    }
  }
  // First non-empty HELP and UNIT win, as in the SDK (it also looks at the first member again).
  for (const [name, family] of families) {
    if (family.members === undefined) continue;
    for (const { metric } of family.members) {
      const { description, unit } = metric.descriptor;
      if (description) {
        if (!family.help) family.help = description;
        else if (family.help !== description) warnConflict(conflicts, `metric "${name}" has conflicting HELP; keeping ${JSON.stringify(family.help)}`);
      }
      if (unit) {
        if (!family.unit) family.unit = unit;
        else if (family.unit !== unit) warnConflict(conflicts, `metric "${name}" has conflicting UNIT; keeping ${JSON.stringify(family.unit)}`);
      }
    }
  }
  previousConflicts = conflicts;
  return families;
}

function header(name: string, help: string, unit: string, type: string): string {
  return `# HELP ${name} ${escapeText(help)}\n${unit ? `# UNIT ${name} ${escapeText(unit)}\n` : ''}# TYPE ${name} ${type}\n`;
}

/** A scraped family's header: HELP only if it had one, no UNIT (text 0.0.4 has none). */
function scrapedHeader(name: string, help: string, type: string): string {
  return `${help ? `# HELP ${name} ${escapeText(help)}\n` : ''}# TYPE ${name} ${type}\n`;
}

/**
 * Renders one scrape. State that lives for one render (constant-label slots, the dedupe set)
 * sits in fields so the per-point methods need no closures or per-point objects.
 */
class Render {
  // One `+=` string: measured against pushing lines and one join('') (either way followed by
  // res.end's byteLength and encode), it was ~1.5 ms faster per 2 MB scrape.
  out = '';
  /** Finished pieces of `out`, each about CHUNK_CHARS long (see renderExposition). */
  readonly chunks: string[] = [];
  readonly #constKeys: string[] = [];
  readonly #constPairs: string[] = [];
  /** `sanitised="` of each constant label → its index; a series label rendering the same wins. */
  readonly #constIndex = new Map<string, number>();
  /** Per point: a series' own value for a constant label's exact key, written in its place. */
  readonly #ownValue: string[] = [];
  readonly #hasOwn: boolean[] = [];
  readonly #shadowed: boolean[] = [];
  /** Dedupe: the first series seen per key hash, as ids; collisions go to #collided. */
  readonly #seen: Map<number, number[]> | undefined;
  readonly #collided = new Set<string>();
  /** Ids of the current point's label names and values, pairwise, for the dedupe key. */
  readonly #ids: number[] = [];
  readonly #constIds: number[] = [];
  /** Code units of the current point's dedupe key. */
  readonly #codes: number[] = [];

  constructor(constLabels: Readonly<Record<string, string>> | undefined, dedupe: boolean) {
    // Renders are lazy (renderExposition) and may overlap: the ids of one in progress must stay valid.
    if (dedupe && seriesIds.size > CACHE_LIMIT && activeRenders === 0) seriesIds.clear();
    if (constLabels) {
      for (const key of Object.keys(constLabels)) {
        const keyEq = labelKey(key);
        const value = labelValue(constLabels[key]);
        this.#constIndex.set(keyEq, this.#constKeys.length);
        this.#constKeys.push(key);
        this.#constPairs.push(keyEq + value + '"');
        if (dedupe) this.#constIds.push(seriesId(keyEq), seriesId(value));
        this.#ownValue.push('');
        this.#hasOwn.push(false);
        this.#shadowed.push(false);
      }
    }
    this.#seen = dedupe ? new Map() : undefined;
  }

  /** `k="v",…` for a point's own labels (constant labels first), without braces; '' for none. */
  labels(attributes: Attributes, raw = false): string {
    const ids = this.#seen ? this.#ids : undefined;
    if (ids) ids.length = 0;
    const keyOf = raw ? rawLabelKey : labelKey;
    if (this.#constKeys.length > 0) return this.#labelsWithConst(attributes, ids, keyOf);
    let s = '';
    for (const key in attributes) {
      const keyEq = keyOf(key);
      const value = labelValue(attributes[key]);
      const pair = keyEq + value + '"';
      s = s === '' ? pair : s + ',' + pair;
      if (ids) ids.push(seriesId(keyEq), seriesId(value));
    }
    return s;
  }

  #labelsWithConst(attributes: Attributes, ids: number[] | undefined, keyOf: (key: string) => string): string {
    const n = this.#constKeys.length;
    for (let i = 0; i < n; i++) {
      this.#hasOwn[i] = false;
      this.#shadowed[i] = false;
    }
    let own = '';
    for (const key in attributes) {
      const keyEq = keyOf(key);
      const value = labelValue(attributes[key]);
      const i = this.#constIndex.get(keyEq);
      if (i !== undefined) {
        if (key === this.#constKeys[i]) {
          // Same key as the constant label: its value goes in the constant's place, as a spread did.
          this.#hasOwn[i] = true;
          this.#ownValue[i] = value;
          continue;
        }
        this.#shadowed[i] = true;
      }
      const pair = keyEq + value + '"';
      own = own === '' ? pair : own + ',' + pair;
      if (ids) ids.push(seriesId(keyEq), seriesId(value));
    }
    let s = '';
    for (let i = 0; i < n; i++) {
      let pair: string;
      if (this.#hasOwn[i]) {
        const keyEq = labelKey(this.#constKeys[i] as string);
        const value = this.#ownValue[i] as string;
        pair = keyEq + value + '"';
        if (ids) ids.push(seriesId(keyEq), seriesId(value));
      } else if (!this.#shadowed[i]) {
        pair = this.#constPairs[i] as string;
        if (ids) ids.push(this.#constIds[2 * i] as number, this.#constIds[2 * i + 1] as number);
      } else continue;
      s = s === '' ? pair : s + ',' + pair;
    }
    return own === '' ? s : s === '' ? own : s + ',' + own;
  }

  /**
   * False when dedupe is on and this series was written already. A series is the family, the
   * scope labels and the label pairs in any order, as ids (sorted) hashed to a number: a Set of
   * whole rendered label strings cost more than rendering them (hashing fresh ~300-character
   * strings), while the names and values behind the ids are mostly the same strings every
   * scrape, whose hashes V8 has cached. Equal hashes are confirmed by comparing the ids.
   */
  firstSighting(name: string, scopeLabels: string): boolean {
    const seen = this.#seen;
    if (seen === undefined) return true;
    const ids = this.#ids;
    // Insertion sort of (name id, value id) pairs: a handful of them, no comparator closure.
    for (let i = 2; i < ids.length; i += 2) {
      const k = ids[i] as number;
      const v = ids[i + 1] as number;
      let j = i - 2;
      while (j >= 0 && ((ids[j] as number) > k || ((ids[j] as number) === k && (ids[j + 1] as number) > v))) {
        ids[j + 2] = ids[j] as number;
        ids[j + 3] = ids[j + 1] as number;
        j -= 2;
      }
      ids[j + 2] = k;
      ids[j + 3] = v;
    }
    const nameId = seriesId(name);
    const scopeId = seriesId(scopeLabels);
    let hash = Math.imul(nameId, 0x9e3779b1) ^ scopeId;
    for (let i = 0; i < ids.length; i++) hash = (Math.imul(hash, 0x01000193) + (ids[i] as number)) | 0;
    const first = seen.get(hash);
    if (first === undefined) {
      seen.set(hash, [nameId, scopeId, ...ids]);
      return true;
    }
    if (first.length === ids.length + 2 && first[0] === nameId && first[1] === scopeId && ids.every((id, i) => first[i + 2] === id)) return false;
    // A hash collision between different series (rare): settle it with the exact key.
    const codes = this.#codes;
    codes.length = 0;
    pushId(codes, nameId);
    pushId(codes, scopeId);
    for (let i = 0; i < ids.length; i++) pushId(codes, ids[i] as number);
    const key = String.fromCharCode(...codes);
    if (this.#collided.has(key)) return false;
    this.#collided.add(key);
    return true;
  }

  /** `name` is the family's; a scraped gauge or sum writes its samples under their own names. */
  metric(name: string, metric: MetricData, scope: InstrumentationScope, scopeInfo: boolean, samplePrefix: string | undefined): void {
    const scopeLabels = scopeInfo ? scopeLabelString(scope) : '';
    switch (metric.dataPointType) {
      case DataPointType.GAUGE:
      case DataPointType.SUM:
        if (samplePrefix !== undefined) name = samplePrefix + metric.descriptor.name;
        for (const point of metric.dataPoints) {
          const own = this.labels(point.attributes, samplePrefix !== undefined);
          if (!this.firstSighting(name, scopeLabels)) continue;
          const labels = scopeLabels === '' ? own : own === '' ? scopeLabels : own + ',' + scopeLabels;
          this.out += (labels === '' ? name : name + '{' + labels + '}') + ' ' + sampleValue(point.value) + '\n';
          if (this.out.length >= CHUNK_CHARS) this.flush();
        }
        break;
      case DataPointType.HISTOGRAM:
        for (const point of metric.dataPoints) {
          const own = this.labels(point.attributes, samplePrefix !== undefined);
          if (!this.firstSighting(name, scopeLabels)) continue;
          const labels = scopeLabels === '' ? own : own === '' ? scopeLabels : own + ',' + scopeLabels;
          this.#histogram(name, labels, point.value, samplePrefix === undefined ? undefined : prometheusFamilyOf(metric)?.le);
        }
        break;
      default:
        // The SDK writes HELP/TYPE (as untyped) and no samples for exponential histograms.
        diag.error(`Prometheus exposition: metric "${name}" has an unsupported data point type ${metric.dataPointType}`);
    }
  }

  /** `leText`: a scraped histogram's `le` values as written by its target. */
  #histogram(name: string, labels: string, histogram: Histogram, leText?: ReadonlyMap<number, string>): void {
    const braced = labels === '' ? ' ' : '{' + labels + '} ';
    let out = this.out;
    // `!= null` as in the SDK: a histogram without a sum has no _sum line.
    if (histogram.count != null) out += name + '_count' + braced + sampleValue(histogram.count) + '\n';
    if (histogram.sum != null) out += name + '_sum' + braced + sampleValue(histogram.sum) + '\n';
    const bucketStart = name + (labels === '' ? '_bucket{le="' : '_bucket{' + labels + ',le="');
    const { boundaries, counts } = histogram.buckets;
    let cumulative = 0;
    let infinityBoundary = false;
    for (let i = 0; i < counts.length; i++) {
      cumulative += counts[i] as number;
      const bound = boundaries[i];
      // Boundaries may or may not end with Infinity; the SDK writes one +Inf bucket either way.
      if (bound === undefined && infinityBoundary) break;
      if (bound === Infinity) infinityBoundary = true;
      const le = bound === undefined || bound === Infinity ? '+Inf' : (leText?.get(bound) ?? String(bound));
      out += bucketStart + le + '"} ' + sampleValue(cumulative) + '\n';
    }
    this.out = out;
    if (out.length >= CHUNK_CHARS) this.flush();
  }

  /** Moves what was written so far to `chunks`. */
  flush(): void {
    if (this.out === '') return;
    this.chunks.push(this.out);
    this.out = '';
  }
}

function scopeLabelString(scope: InstrumentationScope): string {
  let s = 'otel_scope_name="' + labelValue(scope.name) + '"';
  if (scope.schemaUrl) s += ',otel_scope_schema_url="' + labelValue(scope.schemaUrl) + '"';
  if (scope.version) s += ',otel_scope_version="' + labelValue(scope.version) + '"';
  return s;
}

/**
 * A render's output is cut into pieces of about this many characters: a large exposition
 * (tens of MB from scraped pods) is then sent piece by piece instead of as one string that must
 * be flattened and copied whole before the first byte leaves.
 */
const CHUNK_CHARS = 64 * 1024;

/** Prometheus text exposition (format 0.0.4) of one collection. */
export function writeExposition(batch: ResourceMetrics, options: TextWriterOptions): string {
  return [...renderExposition(batch, options)].join('');
}

/**
 * The exposition rendered lazily, a piece of about 64 K characters at a time (a family with many
 * points may give several at once): a caller that sends each piece before asking for the next
 * holds only a piece of a large exposition at a time, not all of it.
 */
export function* renderExposition(batch: ResourceMetrics, options: TextWriterOptions): Generator<string, void, undefined> {
  const prefix = options.prefix ? options.prefix + '_' : '';
  const families = collectFamilies(batch, prefix, options.targetInfo);
  const render = new Render(options.constLabels, options.dedupe === true);
  activeRenders++;
  try {
    let wroteAny = false;
    for (const [name, family] of families) {
      const members = family.members;
      if (members === undefined) continue;
      let writeHeader = true;
      if (name === TARGET_INFO && options.targetInfo) {
        // Only the resource's own labels: no constant labels, no scope labels, never deduped.
        // target_info is the first family, so its block leads the exposition, as in the SDK.
        const labels = new Render(undefined, false).labels(batch.resource.attributes);
        yield header(name, family.help, family.unit, family.type) + name + (labels === '' ? '' : '{' + labels + '}') + ' 1\n';
        writeHeader = false;
      }
      for (const { metric, scope } of members) {
        if (writeHeader) {
          // The SDK writes the header with the family's first metric even if it has no points.
          render.out += family.scraped ? scrapedHeader(name, family.help, family.type) : header(name, family.help || 'description missing', family.unit, family.type);
          writeHeader = false;
        }
        render.metric(name, metric, scope, options.scopeInfo, family.scraped ? prefix : undefined);
        for (const chunk of render.chunks) {
          wroteAny = true;
          yield chunk;
        }
        render.chunks.length = 0;
      }
    }
    render.flush();
    for (const chunk of render.chunks) {
      wroteAny = true;
      yield chunk;
    }
    if (!wroteAny) yield NO_REGISTERED_METRICS;
  } finally {
    activeRenders--;
  }
}
