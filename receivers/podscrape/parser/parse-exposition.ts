// Parser for the Prometheus text exposition format 0.0.4 and OpenMetrics 1.0 text, built for
// scraping untrusted targets at a high rate. One pass with index arithmetic: no regular
// expressions, no splitting, no per-sample closures. Character loops read the body's code units
// from a typed array (source-text.ts); line ends and closing quotes are found with the native
// String#indexOf, so every token loop is bounded by the line end. Names that repeat from line to
// line (the last few sample names, label names at the same position) are compared in place
// against their previous occurrence and reused instead of sliced and looked up again.
//
// Where the two Prometheus reference parsers disagree, the Prometheus server's scrape parser
// (prometheus/prometheus model/textparse) wins over prometheus/common expfmt, because this
// receiver should accept what a Prometheus server scraping the same target accepts. The decisions
// are listed in README.md beside this file.

import { firstLoneSurrogate } from './decode-utf8.ts';
import { allowedRoles, describeRoles, hasRole, ROLE_BUCKET, ROLE_COUNT, ROLE_NONE, ROLE_SUFFIX, ROLE_SUM, ROLE_TOTAL, roleOf } from './family-rules.ts';
import { createLabels, OPENMETRICS_TYPES, PROMETHEUS_TYPES, type ExpositionFormat, type FamilyType, type Labels, type ParsedExemplar, type ParsedFamily, type ParsedSample, type ParseResult } from './model.ts';
import { errorAt, quoteForMessage, type ExpositionParseError, type ParseErrorCode, type ParseLimit } from './parse-error.ts';
import { secondsTextToMs } from './om-timestamp.ts';
import { isFloatText, NOT_A_NUMBER, OUT_OF_RANGE, scanNumber, type NumberSink } from './scan-number.ts';
import { sourceFromBytes, sourceFromString, type CodeUnits, type SourceText } from './source-text.ts';

export { formatFromContentType } from './content-type.ts';

export interface ParseOptions {
  format: ExpositionFormat;
  /** Stop with NM_PARSE_LIMIT on the first sample past this many (default: no limit). */
  maxSamples?: number;
  /** Families, with or without samples: bounds what metadata lines alone can create (default: no limit). */
  maxFamilies?: number;
  /** Characters (UTF-16 units) per line, newline excluded (default: no limit). */
  maxLineLength?: number;
  /** Characters in a metric or label name (default: no limit). */
  maxNameLength?: number;
  /** Characters in a label value after unescaping (default: no limit). */
  maxLabelValueLength?: number;
  /** Labels on one sample, `le`/`quantile` included (default: no limit). */
  maxLabelsPerSample?: number;
}

const TAB = 0x09;
const SPACE = 0x20;
const QUOTE = 0x22;
const HASH = 0x23;
const PLUS = 0x2b;
const COMMA = 0x2c;
const MINUS = 0x2d;
const EQUALS = 0x3d;
const BACKSLASH = 0x5c;
const LOWER_N = 0x6e;
const LEFT_BRACE = 0x7b;
const RIGHT_BRACE = 0x7d;
const CR = 0x0d;

const NAME_START = 1; // [a-zA-Z_:]
const NAME_CHAR = 2; // [a-zA-Z0-9_:]
const LABEL_START = 4; // [a-zA-Z_]
const LABEL_CHAR = 8; // [a-zA-Z0-9_]

const CHAR_CLASS = new Uint8Array(128);
for (let c = 0; c < 128; c++) {
  const letter = (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || c === 0x5f;
  const digit = c >= 0x30 && c <= 0x39;
  if (letter) CHAR_CLASS[c] = NAME_START | NAME_CHAR | LABEL_START | LABEL_CHAR;
  else if (digit) CHAR_CLASS[c] = NAME_CHAR | LABEL_CHAR;
  else if (c === 0x3a) CHAR_CLASS[c] = NAME_START | NAME_CHAR;
}

/** Whether code unit `c` is in `mask`'s class (false for anything non-ASCII, and for undefined past the end). */
function isClass(c: number, mask: number): boolean {
  return c < 128 && ((CHAR_CLASS[c] as number) & mask) !== 0;
}

function isBlank(c: number): boolean {
  return c === SPACE || c === TAB;
}

const PROMETHEUS_TYPE_WORDS = new Map<string, FamilyType>(PROMETHEUS_TYPES.map((t) => [t, t]));
const OPENMETRICS_TYPE_WORDS = new Map<string, FamilyType>(OPENMETRICS_TYPES.map((t) => [t, t]));

// Per-family checks beyond the suffix, decided once when the type is known.
const CHECK_NONE = 0;
const CHECK_QUANTILE = 1; // summary: the unsuffixed samples need a float `quantile`
const CHECK_STATESET = 2; // OpenMetrics stateset: a label named after the family, value 0 or 1
const CHECK_INFO = 3; // OpenMetrics info: value 1

/** A family under construction plus what the parser must remember about it. */
/**
 * Makes the parser's samples with `new` rather than an object literal. V8 tracks how long the
 * objects of each literal live and, once most of them outlive a young-generation collection,
 * allocates that literal's objects in the old generation from then on. A body's samples all live
 * until it is converted, so that happened during some large pulls, and every later sample (dead a
 * moment after) went straight to the old generation: the resident size grew by 3.7 times the
 * payload instead of 1.6 times (bench/README.md, "Memory"). Objects made by a constructor are
 * not tracked that way. The prototype is Object.prototype: a sample is a plain record.
 */
const SampleRecord = function SampleRecord(this: ParsedSample, name: string, labels: Labels, value: number): void {
  this.name = name;
  this.labels = labels;
  this.value = value;
} as unknown as new (name: string, labels: Labels, value: number) => ParsedSample;
(SampleRecord as unknown as { prototype: object }).prototype = Object.prototype;

class FamilyState {
  readonly out: ParsedFamily;
  /** Role bit mask (family-rules.ts) of the sample names this family owns. */
  roles: number;
  check: number;
  typeSeen = false;
  helpSeen = false;
  unitSeen = false;
  hasSamples = false;

  constructor(name: string, type: FamilyType, openMetrics: boolean) {
    this.out = { name, type, samples: [] };
    this.roles = allowedRoles(type, openMetrics);
    this.check = FamilyState.checkFor(type, openMetrics);
  }

  setType(type: FamilyType, openMetrics: boolean): void {
    this.out.type = type;
    this.roles = allowedRoles(type, openMetrics);
    this.check = FamilyState.checkFor(type, openMetrics);
  }

  private static checkFor(type: FamilyType, openMetrics: boolean): number {
    if (type === 'summary') return CHECK_QUANTILE;
    if (!openMetrics) return CHECK_NONE;
    if (type === 'stateset') return CHECK_STATESET;
    if (type === 'info') return CHECK_INFO;
    return CHECK_NONE;
  }
}

const NO_FAMILY = new FamilyState('', 'untyped', false);

function limit(value: number | undefined, name: string): number {
  if (value === undefined) return Infinity;
  if (!(value === Infinity || (Number.isInteger(value) && value >= 0))) throw new RangeError(`parseExposition: ${name} must be a non-negative integer, got ${String(value)}`);
  return value;
}

/** Code points in `text` (surrogate pairs count once), for the exemplar label limit. */
function codePoints(text: string): number {
  let n = text.length;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff) n--;
  }
  return n;
}

/** OpenMetrics caps an exemplar's label names and values at 128 code points together. */
const EXEMPLAR_MAX_CODE_POINTS = 128;

/** Whether the `length` code units at `a` and at `b` are the same (in-place string comparison). */
function sameCodes(codes: CodeUnits, a: number, b: number, length: number): boolean {
  for (let i = 0; i < length; i++) if (codes[a + i] !== codes[b + i]) return false;
  return true;
}

/** Whether the ASCII `word` is at `pos`, not past `end`. */
function wordAt(codes: CodeUnits, pos: number, end: number, word: string): boolean {
  if (end - pos < word.length) return false;
  for (let i = 0; i < word.length; i++) if (codes[pos + i] !== word.charCodeAt(i)) return false;
  return true;
}

/** Recently resolved sample names kept (a power of two). */
const RECENT_NAMES = 4;

/** Label names of one sample checked for duplicates by comparison up to here, by lookup beyond. */
const SMALL_LABEL_SET = 16;

class ExpositionParser implements NumberSink {
  /** Output of scanNumber. */
  num = 0;
  /** Second return value of helpers that also report a position. */
  private pos = 0;

  private readonly text: string;
  private readonly codes: CodeUnits;
  private readonly format: ExpositionFormat;
  private readonly om: boolean;
  private readonly maxSamples: number;
  private readonly maxFamilies: number;
  private readonly maxLineLength: number;
  private readonly maxNameLength: number;
  private readonly maxLabelValueLength: number;
  private readonly maxLabelsPerSample: number;

  private line = 0;
  private lineStart = 0;
  private lineEnd = 0;
  private sampleCount = 0;
  private readonly families: ParsedFamily[] = [];
  private readonly byName = new Map<string, FamilyState>();
  /** Interned label names and suffixed sample names (a family's own name is its samples' name). */
  private readonly names = new Map<string, string>();

  /** The current sample's name and what it resolved to. */
  private lastName = '';
  private lastFamily = NO_FAMILY;
  private lastRole = ROLE_NONE;
  /**
   * The last few distinct sample names, where one was last seen, and what each resolved to: a
   * histogram cycles through _bucket, _sum and _count, so one entry would miss a quarter of the time.
   */
  private readonly recentNames: string[] = ['', '', '', ''];
  private readonly recentStarts: number[] = [0, 0, 0, 0];
  private readonly recentFamilies: FamilyState[] = [NO_FAMILY, NO_FAMILY, NO_FAMILY, NO_FAMILY];
  private readonly recentRoles: number[] = [0, 0, 0, 0];
  private lastSlot = 0;
  private nextSlot = 0;
  /** Label names of the previous sample by position, and where they were, to reuse without slicing. */
  private readonly cachedLabelNames: string[] = [];
  private readonly cachedLabelStarts: number[] = [];
  /** Label names of the current sample (duplicate check). */
  private readonly sampleLabelNames: string[] = [];
  /** Position of the next backslash at or after the last label value (text length when none). */
  private nextBackslash = -1;
  /** Whether the current sample had its valid `le` (bucket) or `quantile` (summary) label. */
  private floatLabelSeen = false;

  /** OpenMetrics: the family samples and metadata currently belong to. */
  private current: FamilyState | null = null;
  /** OpenMetrics: every sample name some earlier family owns (to find clashing family names). */
  private readonly claimed = new Set<string>();
  private eof = false;

  constructor(source: SourceText, options: ParseOptions) {
    this.text = source.text;
    this.codes = source.codes;
    this.format = options.format;
    this.om = options.format === 'openmetrics';
    this.maxSamples = limit(options.maxSamples, 'maxSamples');
    this.maxFamilies = limit(options.maxFamilies, 'maxFamilies');
    this.maxLineLength = limit(options.maxLineLength, 'maxLineLength');
    this.maxNameLength = limit(options.maxNameLength, 'maxNameLength');
    this.maxLabelValueLength = limit(options.maxLabelValueLength, 'maxLabelValueLength');
    this.maxLabelsPerSample = limit(options.maxLabelsPerSample, 'maxLabelsPerSample');
  }

  parse(): ParseResult {
    const text = this.text;
    const length = text.length;
    let pos = 0;
    while (pos < length) {
      let end = text.indexOf('\n', pos);
      if (end === -1) end = length;
      this.line++;
      this.lineStart = pos;
      this.lineEnd = end;
      if (end - pos > this.maxLineLength) throw this.failLimit('lineLength', pos + this.maxLineLength, `line longer than ${this.maxLineLength} characters`);
      if (this.om) {
        this.openMetricsLine(pos);
        if (this.eof) {
          // `# EOF` may be followed by one line feed and nothing else.
          if (end + 1 < length) this.failNextLine(end + 1, 'text after "# EOF"');
          break;
        }
      } else {
        this.prometheusLine(pos);
      }
      pos = end + 1;
    }
    if (this.om) {
      if (!this.eof) this.failNextLine(length, 'missing "# EOF" at the end of an OpenMetrics body');
      if (this.current !== null) this.claim(this.current);
    }
    return { families: this.families, sampleCount: this.sampleCount, format: this.format };
  }

  // ---- lines ----

  private prometheusLine(pos: number): void {
    const end = this.lineEnd;
    // Blanks around tokens are free in this format, leading ones included.
    if (pos < end && isBlank(this.codes[pos]!)) pos = this.skipBlanks(pos + 1);
    if (pos === end) return;
    if (this.codes[pos] === HASH) this.prometheusComment(pos);
    else this.sample(pos);
  }

  private openMetricsLine(pos: number): void {
    if (pos === this.lineEnd) throw this.fail('NM_PARSE_SYNTAX', pos, 'empty line (OpenMetrics has no blank lines)');
    if (this.codes[pos] === HASH) this.openMetricsComment(pos);
    else this.sample(pos);
  }

  // ---- samples ----

  private sample(pos: number): void {
    if (++this.sampleCount > this.maxSamples) throw this.failLimit('samples', pos, `more than ${this.maxSamples} samples`);
    const codes = this.codes;
    const end = this.lineEnd;
    const nameStart = pos;
    // A recent name whose code units are here and end here: no scan, no slice, no lookup.
    let slot = -1;
    for (let k = 0; k < RECENT_NAMES; k++) {
      const candidate = (this.lastSlot + k) & (RECENT_NAMES - 1);
      const length = this.recentNames[candidate]!.length;
      if (length !== 0 && pos + length <= end && sameCodes(codes, pos, this.recentStarts[candidate]!, length) && (pos + length === end || !isClass(codes[pos + length]!, NAME_CHAR))) {
        // In OpenMetrics a name seen before belongs to the current family or is an error; let the slow path say which.
        if (!this.om || this.recentFamilies[candidate] === this.current) slot = candidate;
        break;
      }
    }
    if (slot >= 0) {
      this.lastName = this.recentNames[slot]!;
      this.lastFamily = this.recentFamilies[slot]!;
      this.lastRole = this.recentRoles[slot]!;
      pos += this.lastName.length;
    } else {
      if (!isClass(codes[pos]!, NAME_START)) throw this.unexpected(pos, this.om ? 'expected a metric name or "#"' : 'expected a metric name, "#" or an empty line');
      pos++;
      while (pos < end && isClass(codes[pos]!, NAME_CHAR)) pos++;
      if (pos - nameStart > this.maxNameLength) throw this.failLimit('nameLength', nameStart, `metric name longer than ${this.maxNameLength} characters`);
      // Resolution settles on one string per distinct name (the family's own, or interned).
      const name = this.text.slice(nameStart, pos);
      if (this.om) this.resolveOpenMetricsSample(name, nameStart);
      else this.resolvePrometheusSample(name, nameStart);
      slot = this.nextSlot;
      this.nextSlot = (slot + 1) & (RECENT_NAMES - 1);
      this.recentNames[slot] = name;
      this.recentFamilies[slot] = this.lastFamily;
      this.recentRoles[slot] = this.lastRole;
    }
    this.lastSlot = slot;
    this.recentStarts[slot] = nameStart;
    this.floatLabelSeen = false;
    const labels = createLabels();
    if (this.om) this.openMetricsSampleRest(pos, nameStart, labels);
    else this.prometheusSampleRest(pos, nameStart, labels);
  }

  /** Forget resolved names: metadata can change which family a sample name belongs to. */
  private forgetNames(): void {
    for (let k = 0; k < RECENT_NAMES; k++) this.recentNames[k] = '';
  }

  /** After the name: [blanks] [{labels}] [blanks] value [blanks timestamp] [blanks]. */
  private prometheusSampleRest(pos: number, nameStart: number, labels: Labels): void {
    const codes = this.codes;
    const end = this.lineEnd;
    let c = pos < end ? codes[pos]! : -1;
    if (isBlank(c)) {
      pos = this.skipBlanks(pos + 1);
      c = pos < end ? codes[pos]! : -1;
    } else if (c !== LEFT_BRACE && c !== -1) {
      throw this.unexpected(pos, 'invalid character in metric name');
    }
    if (c === LEFT_BRACE) pos = this.skipBlanks(this.labelSet(pos, labels, false));
    if (pos >= end) throw this.fail('NM_PARSE_SYNTAX', pos, 'missing sample value');
    const valueEnd = this.number(pos, 'sample value');
    const value = this.num;
    let timestampMs: number | undefined;
    pos = this.skipBlanks(valueEnd);
    if (pos < end) {
      timestampMs = this.prometheusTimestamp(pos);
      pos = this.skipBlanks(this.pos);
      if (pos < end) throw this.unexpected(pos, 'unexpected text after the timestamp');
    }
    this.addSample(nameStart, labels, value, timestampMs, undefined);
  }

  /** After the name, single spaces only: [{labels}] SP value [SP timestamp] [SP # SP {labels} SP value [SP timestamp]]. */
  private openMetricsSampleRest(pos: number, nameStart: number, labels: Labels): void {
    const codes = this.codes;
    const end = this.lineEnd;
    let c = pos < end ? codes[pos]! : -1;
    if (c === LEFT_BRACE) {
      pos = this.labelSet(pos, labels, false);
      c = pos < end ? codes[pos]! : -1;
    }
    if (c !== SPACE) throw this.unexpected(pos, c === -1 ? 'missing sample value' : c === TAB ? 'expected a single space, not a tab' : 'invalid character in metric name');
    pos = this.number(pos + 1, 'sample value');
    const value = this.num;
    let timestampMs: number | undefined;
    let exemplar: ParsedExemplar | undefined;
    if (pos < end) {
      // A space follows the value: a timestamp, an exemplar, or both.
      pos++;
      if (pos < end && codes[pos] !== HASH) {
        timestampMs = this.openMetricsTimestamp(pos, 'timestamp');
        pos = this.pos < end ? this.pos + 1 : -1;
      }
      if (pos !== -1) exemplar = this.exemplar(pos);
    }
    this.addSample(nameStart, labels, value, timestampMs, exemplar);
  }

  private addSample(nameStart: number, labels: Labels, value: number, timestampMs: number | undefined, exemplar: ParsedExemplar | undefined): void {
    const family = this.lastFamily;
    const role = this.lastRole;
    if (role === ROLE_BUCKET) {
      if (!this.floatLabelSeen) throw this.fail('NM_PARSE_TYPE', nameStart, `bucket sample without an "le" label in ${family.out.type} ${quoteForMessage(family.out.name)}`);
    } else if (family.check !== CHECK_NONE) {
      this.checkSample(family, role, nameStart, labels, value);
    }
    const name = this.lastName;
    const sample: ParsedSample = new SampleRecord(name, labels, value);
    if (timestampMs !== undefined) sample.timestampMs = timestampMs;
    if (exemplar !== undefined) sample.exemplar = exemplar;
    family.out.samples.push(sample);
    family.hasSamples = true;
  }

  private checkSample(family: FamilyState, role: number, nameStart: number, labels: Labels, value: number): void {
    const familyName = family.out.name;
    if (family.check === CHECK_QUANTILE) {
      if (role === ROLE_NONE && !this.floatLabelSeen) throw this.fail('NM_PARSE_TYPE', nameStart, `summary sample without a "quantile" label in ${quoteForMessage(familyName)}`);
    } else if (family.check === CHECK_STATESET) {
      if (labels[familyName] === undefined) throw this.fail('NM_PARSE_TYPE', nameStart, `stateset sample without a label named after the family ${quoteForMessage(familyName)}`);
      if (value !== 0 && value !== 1) throw this.fail('NM_PARSE_TYPE', nameStart, `stateset value must be 0 or 1, got ${String(value)}`);
    } else if (family.check === CHECK_INFO) {
      if (value !== 1) throw this.fail('NM_PARSE_TYPE', nameStart, `info value must be 1, got ${String(value)}`);
    }
  }

  /** Prometheus text: `name` is its own family, or a histogram's/summary's suffixed sample, or a new untyped family. */
  private resolvePrometheusSample(name: string, nameStart: number): void {
    let family = this.byName.get(name);
    let role = ROLE_NONE;
    if (family === undefined) {
      // As expfmt: _count and _sum go to a summary or histogram of the base name, _bucket to a histogram.
      let base: FamilyState | undefined;
      if (name.endsWith('_bucket')) {
        base = this.byName.get(name.slice(0, -7));
        role = ROLE_BUCKET;
        if (base !== undefined && base.out.type !== 'histogram') base = undefined;
      } else if (name.endsWith('_count') || name.endsWith('_sum')) {
        role = name.endsWith('_sum') ? ROLE_SUM : ROLE_COUNT;
        base = this.byName.get(name.slice(0, role === ROLE_SUM ? -4 : -6));
        if (base !== undefined && base.out.type !== 'histogram' && base.out.type !== 'summary') base = undefined;
      }
      if (base === undefined) {
        family = this.createFamily(name, 'untyped', nameStart);
        role = ROLE_NONE;
      } else {
        family = base;
      }
    }
    if (!hasRole(family.roles, role)) {
      throw this.fail('NM_PARSE_TYPE', nameStart, `sample ${quoteForMessage(name)} does not fit ${family.out.type} family ${quoteForMessage(family.out.name)} (its samples use: ${describeRoles(family.out.type, false)})`);
    }
    this.lastName = role === ROLE_NONE ? family.out.name : this.intern(name);
    this.lastFamily = family;
    this.lastRole = role;
  }

  /** OpenMetrics: `name` belongs to the current family or starts a new one; families never come back. */
  private resolveOpenMetricsSample(name: string, nameStart: number): void {
    const current = this.current;
    let family: FamilyState;
    let role = ROLE_NONE;
    const currentRole = current === null ? -1 : roleOf(name, current.out.name);
    if (current !== null && currentRole >= 0 && hasRole(current.roles, currentRole)) {
      family = current;
      role = currentRole;
    } else {
      if (current !== null && currentRole === ROLE_NONE) {
        throw this.fail('NM_PARSE_TYPE', nameStart, `sample ${quoteForMessage(name)} does not fit ${current.out.type} family ${quoteForMessage(current.out.name)} (its samples use: ${describeRoles(current.out.type, true)})`);
      }
      family = this.startOpenMetricsFamily(name, nameStart);
    }
    this.lastName = role === ROLE_NONE ? family.out.name : this.intern(name);
    this.lastFamily = family;
    this.lastRole = role;
  }

  /** `{…}` at `pos` (the brace) into `labels`; returns the position after the closing brace. */
  private labelSet(pos: number, labels: Labels, exemplar: boolean): number {
    const codes = this.codes;
    const text = this.text;
    const end = this.lineEnd;
    const om = this.om;
    const openBrace = pos;
    const sampleNames = this.sampleLabelNames;
    // The label whose value must be a float: `le` on buckets, `quantile` on a summary's quantiles.
    let floatLabel = '';
    if (!exemplar) {
      if (this.lastRole === ROLE_BUCKET) floatLabel = 'le';
      else if (this.lastRole === ROLE_NONE && this.lastFamily.check === CHECK_QUANTILE) floatLabel = 'quantile';
    }
    pos++;
    if (!om) pos = this.skipBlanks(pos);
    if (pos < end && codes[pos] === RIGHT_BRACE) return pos + 1;
    for (let index = 0; ; index++) {
      // Label name: the previous sample's name at this position when the code units match.
      const nameStart = pos;
      if (pos >= end) throw this.fail('NM_PARSE_SYNTAX', openBrace, 'unterminated label set');
      const cached = exemplar || index >= this.cachedLabelNames.length ? '' : this.cachedLabelNames[index]!;
      const cachedLength = cached.length;
      let name: string;
      if (
        cachedLength !== 0 &&
        pos + cachedLength < end &&
        sameCodes(codes, pos, this.cachedLabelStarts[index]!, cachedLength) &&
        !isClass(codes[pos + cachedLength]!, LABEL_CHAR)
      ) {
        name = cached;
        pos += cachedLength;
        this.cachedLabelStarts[index] = nameStart;
      } else {
        if (!isClass(codes[pos]!, LABEL_START)) {
          throw this.unexpected(pos, om && codes[pos] === RIGHT_BRACE ? 'expected a label name (OpenMetrics allows no trailing comma)' : 'expected a label name');
        }
        pos++;
        while (pos < end && isClass(codes[pos]!, LABEL_CHAR)) pos++;
        if (pos - nameStart > this.maxNameLength) throw this.failLimit('nameLength', nameStart, `label name longer than ${this.maxNameLength} characters`);
        name = this.intern(text.slice(nameStart, pos));
        if (name === '__name__') throw this.fail('NM_PARSE_SYNTAX', nameStart, 'label name "__name__" is reserved for the metric name');
        if (!exemplar) {
          this.cachedLabelNames[index] = name;
          this.cachedLabelStarts[index] = nameStart;
        }
      }
      if (!om) pos = this.skipBlanks(pos);
      if (pos >= end || codes[pos] !== EQUALS) throw this.unexpected(pos, om ? 'expected "=" right after the label name' : 'expected "=" after the label name');
      pos++;
      if (!om) pos = this.skipBlanks(pos);
      if (pos >= end || codes[pos] !== QUOTE) throw this.unexpected(pos, 'expected \'"\' to open the label value');
      pos++;

      // Label value: up to the next quote (native search) unless a backslash comes first.
      const close = text.indexOf('"', pos);
      if (close === -1 || close >= end) throw this.fail('NM_PARSE_SYNTAX', pos - 1, 'unterminated label value');
      let backslash = this.nextBackslash;
      if (backslash < pos) {
        backslash = text.indexOf('\\', pos);
        if (backslash === -1) backslash = text.length;
        this.nextBackslash = backslash;
      }
      let value: string;
      if (backslash > close) {
        if (close - pos > this.maxLabelValueLength) throw this.failLimit('labelValueLength', pos, `label value longer than ${this.maxLabelValueLength} characters`);
        value = text.slice(pos, close);
        if (name === floatLabel) this.checkFloatLabel(name, value, scanNumber(codes, text, pos, close, this) === close && close > pos, pos);
        pos = close + 1;
      } else {
        const valueStart = pos;
        value = this.escapedLabelValue(pos, backslash);
        if (name === floatLabel) this.checkFloatLabel(name, value, isFloatText(value), valueStart);
        pos = this.pos;
      }

      if (index < SMALL_LABEL_SET) {
        for (let j = 0; j < index; j++) if (sampleNames[j] === name) throw this.fail('NM_PARSE_DUPLICATE', nameStart, `duplicate label name ${quoteForMessage(name)}`);
        sampleNames[index] = name;
      } else if (labels[name] !== undefined) {
        throw this.fail('NM_PARSE_DUPLICATE', nameStart, `duplicate label name ${quoteForMessage(name)}`);
      }
      labels[name] = value;
      if (index >= this.maxLabelsPerSample) throw this.failLimit('labelsPerSample', nameStart, `more than ${this.maxLabelsPerSample} labels`);

      // Separator.
      if (!om) pos = this.skipBlanks(pos);
      const c = pos < end ? codes[pos]! : -1;
      if (c === COMMA) {
        pos++;
        if (!om) {
          // Prometheus text allows a trailing comma.
          pos = this.skipBlanks(pos);
          if (pos < end && codes[pos] === RIGHT_BRACE) return pos + 1;
        }
        continue;
      }
      if (c === RIGHT_BRACE) return pos + 1;
      if (c === -1) throw this.fail('NM_PARSE_SYNTAX', openBrace, 'unterminated label set');
      throw this.unexpected(pos, 'expected "," or "}" after a label value');
    }
  }

  private checkFloatLabel(name: string, value: string, valid: boolean, pos: number): void {
    if (!valid) throw this.fail('NM_PARSE_TYPE', pos, `"${name}" label value ${quoteForMessage(value)} is not a float`);
    this.floatLabelSeen = true;
  }

  /**
   * A label value with a backslash at `backslash`. `\\`, `\"` and `\n` are escapes; any other
   * backslash is kept as written, as the Prometheus server and the OpenMetrics ABNF
   * (escaped-char =/ BS normal-char) have it. Sets this.pos after the closing quote.
   */
  private escapedLabelValue(start: number, backslash: number): string {
    const codes = this.codes;
    const text = this.text;
    const end = this.lineEnd;
    let out = text.slice(start, backslash);
    let chunk = backslash;
    let i = backslash;
    while (i < end) {
      const c = codes[i]!;
      if (c === QUOTE) {
        out += text.slice(chunk, i);
        if (out.length > this.maxLabelValueLength) throw this.failLimit('labelValueLength', start, `label value longer than ${this.maxLabelValueLength} characters`);
        this.pos = i + 1;
        return out;
      }
      if (c === BACKSLASH && i + 1 < end) {
        const next = codes[i + 1]!;
        if (next === LOWER_N || next === BACKSLASH || next === QUOTE) {
          out += text.slice(chunk, i) + (next === LOWER_N ? '\n' : next === BACKSLASH ? '\\' : '"');
          if (out.length > this.maxLabelValueLength) throw this.failLimit('labelValueLength', start, `label value longer than ${this.maxLabelValueLength} characters`);
          i += 2;
          chunk = i;
          continue;
        }
      }
      i++;
    }
    throw this.fail('NM_PARSE_SYNTAX', start - 1, 'unterminated label value');
  }

  /** A float at `pos` that must end at a blank (a space in OpenMetrics) or the line end; returns its end, value in this.num. */
  private number(pos: number, what: string): number {
    const codes = this.codes;
    const end = this.lineEnd;
    const stop = scanNumber(codes, this.text, pos, end, this);
    if (stop === OUT_OF_RANGE) throw this.fail('NM_PARSE_SYNTAX', pos, `${what} ${this.token(pos)} is out of the float64 range`);
    if (stop === NOT_A_NUMBER || (stop < end && !(this.om ? codes[stop] === SPACE : isBlank(codes[stop]!)))) {
      throw this.unexpected(stop === NOT_A_NUMBER ? pos : stop, `${what} ${this.token(pos)} is not a number`);
    }
    return stop;
  }

  /** Prometheus text: an int64 of milliseconds (Go's ParseInt: optional sign, decimal digits). Sets this.pos. */
  private prometheusTimestamp(pos: number): number {
    const codes = this.codes;
    const end = this.lineEnd;
    const start = pos;
    const c = codes[pos]!;
    const negative = c === MINUS;
    if (c === PLUS || c === MINUS) pos++;
    const digitsStart = pos;
    let value = 0;
    while (pos < end) {
      const d = codes[pos]! - 0x30;
      if (d < 0 || d > 9) break;
      value = value * 10 + d;
      pos++;
    }
    if (pos === digitsStart || (pos < end && !isBlank(codes[pos]!))) {
      throw this.unexpected(pos === digitsStart ? start : pos, `timestamp ${this.token(start)} is not an integer number of milliseconds`);
    }
    if (pos - digitsStart > 15) {
      // Past 15 digits the running value may be inexact: re-read, and bound it like ParseInt(…, 64).
      let first = digitsStart;
      while (first < pos - 1 && codes[first] === 0x30) first++;
      const digits = this.text.slice(first, pos);
      if (digits.length > 19 || (digits.length === 19 && digits > (negative ? '9223372036854775808' : '9223372036854775807'))) {
        throw this.fail('NM_PARSE_SYNTAX', start, `timestamp ${this.token(start)} is out of the int64 range`);
      }
      value = Number(digits);
    }
    this.pos = pos;
    return negative && value !== 0 ? -value : value;
  }

  /** OpenMetrics: float seconds (a realnumber: no inf/nan) ending at a space or the line end; sets this.pos. */
  private openMetricsTimestamp(pos: number, what: string): number {
    const stop = this.number(pos, what);
    if (!Number.isFinite(this.num)) throw this.fail('NM_PARSE_SYNTAX', pos, `${what} ${this.token(pos)} must be a finite number of seconds`);
    const ms = secondsTextToMs(this.text.slice(pos, stop));
    if (!Number.isFinite(ms)) throw this.fail('NM_PARSE_SYNTAX', pos, `${what} ${this.token(pos)} is out of range in milliseconds`);
    this.pos = stop;
    return ms;
  }

  /** OpenMetrics exemplar at `pos` (the '#'): `# {labels} value [timestamp]` to the end of the line. */
  private exemplar(pos: number): ParsedExemplar {
    const codes = this.codes;
    const end = this.lineEnd;
    const role = this.lastRole;
    if (pos + 2 >= end || codes[pos] !== HASH || codes[pos + 1] !== SPACE || codes[pos + 2] !== LEFT_BRACE) {
      throw this.unexpected(pos, 'expected a timestamp or "# {" to start an exemplar');
    }
    if (role !== ROLE_TOTAL && role !== ROLE_BUCKET) {
      throw this.fail('NM_PARSE_TYPE', pos, `exemplars are allowed only on counter _total and histogram/gaugehistogram _bucket samples, not on ${this.lastFamily.out.type} sample ${quoteForMessage(this.lastName)}`);
    }
    const labels = createLabels();
    pos = this.labelSet(pos + 2, labels, true);
    let size = 0;
    for (const name of Object.keys(labels)) size += codePoints(name) + codePoints(labels[name]!);
    if (size > EXEMPLAR_MAX_CODE_POINTS) throw this.fail('NM_PARSE_TYPE', pos, `exemplar labels have ${size} code points, more than the ${EXEMPLAR_MAX_CODE_POINTS} OpenMetrics allows`);
    if (pos >= end || codes[pos] !== SPACE) throw this.unexpected(pos, 'expected a space and the exemplar value');
    pos = this.number(pos + 1, 'exemplar value');
    const exemplar: ParsedExemplar = { labels, value: this.num };
    if (pos < end) {
      exemplar.timestampMs = this.openMetricsTimestamp(pos + 1, 'exemplar timestamp');
      if (this.pos < end) throw this.unexpected(this.pos, 'unexpected text after the exemplar timestamp');
    }
    return exemplar;
  }

  // ---- metadata ----

  /** `#` lines in Prometheus text: `# HELP name text`, `# TYPE name type`, anything else is a comment. */
  private prometheusComment(pos: number): void {
    const codes = this.codes;
    const end = this.lineEnd;
    let i = pos + 1;
    // Like the Prometheus server: "#HELP" (no blank after '#') and "# HELP" with nothing after are comments.
    if (i >= end || !isBlank(codes[i]!)) return;
    i = this.skipBlanks(i + 1);
    const help = wordAt(codes, i, end, 'HELP');
    if (!help && !wordAt(codes, i, end, 'TYPE')) return;
    i += 4;
    if (i >= end || !isBlank(codes[i]!)) return;
    this.forgetNames();
    i = this.skipBlanks(i + 1);
    const nameStart = i;
    if (i >= end || !isClass(codes[i]!, NAME_START)) throw this.unexpected(i, `expected a metric name after ${help ? 'HELP' : 'TYPE'}`);
    i++;
    while (i < end && isClass(codes[i]!, NAME_CHAR)) i++;
    if (i < end && !isBlank(codes[i]!)) throw this.unexpected(i, 'invalid character in metric name');
    if (i - nameStart > this.maxNameLength) throw this.failLimit('nameLength', nameStart, `metric name longer than ${this.maxNameLength} characters`);
    const name = this.text.slice(nameStart, i);
    if (help) {
      // Exactly one blank separates name and text, as the Prometheus server reads it.
      const text = i < end ? this.prometheusHelpText(i + 1) : '';
      const family = this.byName.get(name) ?? this.createFamily(name, 'untyped', nameStart);
      if (family.helpSeen) throw this.fail('NM_PARSE_DUPLICATE', pos, `second HELP line for ${quoteForMessage(name)}`);
      family.helpSeen = true;
      if (text !== '') family.out.help = text;
      return;
    }
    i = this.skipBlanks(i);
    const typeStart = i;
    while (i < end && !isBlank(codes[i]!)) i++;
    const word = this.text.slice(typeStart, i);
    i = this.skipBlanks(i);
    if (i < end) throw this.unexpected(i, 'unexpected text after the type');
    const type = PROMETHEUS_TYPE_WORDS.get(word);
    if (type === undefined) throw this.unexpected(typeStart, `unknown metric type ${quoteForMessage(word)} (Prometheus text has ${PROMETHEUS_TYPES.join(', ')})`);
    const family = this.byName.get(name) ?? this.createFamily(name, type, nameStart);
    if (family.typeSeen) throw this.fail('NM_PARSE_DUPLICATE', pos, `second TYPE line for ${quoteForMessage(name)}`);
    if (family.hasSamples) throw this.fail('NM_PARSE_ORDER', pos, `TYPE line for ${quoteForMessage(name)} after its samples`);
    family.typeSeen = true;
    family.setType(type, false);
  }

  /** HELP text in Prometheus text: `\\` and `\n` are escapes, other backslashes stay as written. */
  private prometheusHelpText(start: number): string {
    const codes = this.codes;
    const text = this.text;
    const end = this.lineEnd;
    let i = start;
    while (i < end && codes[i] !== BACKSLASH) i++;
    if (i === end) return text.slice(start, end);
    let out = '';
    let chunk = start;
    for (; i < end; i++) {
      if (codes[i] !== BACKSLASH || i + 1 >= end) continue;
      const next = codes[i + 1];
      if (next !== BACKSLASH && next !== LOWER_N) continue;
      out += text.slice(chunk, i) + (next === LOWER_N ? '\n' : '\\');
      i++;
      chunk = i + 1;
    }
    return out + text.slice(chunk, end);
  }

  /** `#` lines in OpenMetrics: exactly `# HELP|TYPE|UNIT name text` or `# EOF`. */
  private openMetricsComment(pos: number): void {
    const codes = this.codes;
    const text = this.text;
    const end = this.lineEnd;
    if (pos + 1 >= end || codes[pos + 1] !== SPACE) throw this.unexpected(pos + 1, 'expected "# " (OpenMetrics has only # HELP, # TYPE, # UNIT and # EOF lines)');
    let i = pos + 2;
    if (end - i === 3 && wordAt(codes, i, end, 'EOF')) {
      this.eof = true;
      return;
    }
    const keyword = wordAt(codes, i, end, 'TYPE ') ? 'TYPE' : wordAt(codes, i, end, 'HELP ') ? 'HELP' : wordAt(codes, i, end, 'UNIT ') ? 'UNIT' : '';
    if (keyword === '') throw this.unexpected(i, 'expected HELP, TYPE, UNIT or EOF (OpenMetrics has no other comments)');
    this.forgetNames();
    i += 5;
    const nameStart = i;
    if (i >= end || !isClass(codes[i]!, NAME_START)) throw this.unexpected(i, `expected a metric name after ${keyword}`);
    i++;
    while (i < end && isClass(codes[i]!, NAME_CHAR)) i++;
    if (i >= end || codes[i] !== SPACE) throw this.unexpected(i, i >= end ? `expected a space and the ${keyword.toLowerCase()} after the metric name` : 'invalid character in metric name');
    if (i - nameStart > this.maxNameLength) throw this.failLimit('nameLength', nameStart, `metric name longer than ${this.maxNameLength} characters`);
    const name = text.slice(nameStart, i);
    const current = this.current;
    let family: FamilyState;
    if (current !== null && current.out.name === name) {
      if (current.hasSamples) throw this.fail('NM_PARSE_ORDER', pos, `${keyword} line for ${quoteForMessage(name)} after its samples`);
      family = current;
    } else {
      family = this.startOpenMetricsFamily(name, nameStart);
    }
    const textStart = i + 1;
    if (keyword === 'TYPE') {
      const word = text.slice(textStart, end);
      const type = OPENMETRICS_TYPE_WORDS.get(word);
      if (type === undefined) throw this.unexpected(textStart, `unknown metric type ${quoteForMessage(word)} (OpenMetrics has ${OPENMETRICS_TYPES.join(', ')})`);
      if (family.typeSeen) throw this.fail('NM_PARSE_DUPLICATE', pos, `second TYPE line for ${quoteForMessage(name)}`);
      if (family.out.unit !== undefined && (type === 'info' || type === 'stateset')) throw this.fail('NM_PARSE_TYPE', pos, `${type} families have no unit`);
      family.typeSeen = true;
      family.setType(type, true);
    } else if (keyword === 'UNIT') {
      for (let k = textStart; k < end; k++) if (!isClass(codes[k]!, NAME_CHAR)) throw this.unexpected(k, 'invalid character in unit');
      if (family.unitSeen) throw this.fail('NM_PARSE_DUPLICATE', pos, `second UNIT line for ${quoteForMessage(name)}`);
      family.unitSeen = true;
      if (textStart < end) {
        const unit = text.slice(textStart, end);
        if (!name.endsWith(`_${unit}`)) throw this.fail('NM_PARSE_TYPE', textStart, `unit ${quoteForMessage(unit)} is not a suffix of the family name ${quoteForMessage(name)}`);
        if (family.out.type === 'info' || family.out.type === 'stateset') throw this.fail('NM_PARSE_TYPE', pos, `${family.out.type} families have no unit`);
        family.out.unit = unit;
      }
    } else {
      const help = this.openMetricsHelpText(textStart);
      if (family.helpSeen) throw this.fail('NM_PARSE_DUPLICATE', pos, `second HELP line for ${quoteForMessage(name)}`);
      family.helpSeen = true;
      if (help !== '') family.out.help = help;
    }
  }

  /** HELP text in OpenMetrics: an escaped-string (`\\`, `\"`, `\n`; other backslashes kept; none may end the line). */
  private openMetricsHelpText(start: number): string {
    const codes = this.codes;
    const text = this.text;
    const end = this.lineEnd;
    let i = start;
    while (i < end && codes[i] !== BACKSLASH) i++;
    if (i === end) return text.slice(start, end);
    let out = '';
    let chunk = start;
    for (; i < end; i++) {
      if (codes[i] !== BACKSLASH) continue;
      if (i + 1 >= end) throw this.fail('NM_PARSE_SYNTAX', i, 'backslash at the end of a HELP text');
      const next = codes[i + 1];
      if (next === LOWER_N || next === BACKSLASH || next === QUOTE) {
        out += text.slice(chunk, i) + (next === LOWER_N ? '\n' : next === BACKSLASH ? '\\' : '"');
        chunk = i + 2;
      }
      i++;
    }
    return out + text.slice(chunk, end);
  }

  // ---- families ----

  private createFamily(name: string, type: FamilyType, pos: number): FamilyState {
    if (this.families.length >= this.maxFamilies) throw this.failLimit('families', pos, `more than ${this.maxFamilies} metric families`);
    const family = new FamilyState(name, type, this.om);
    this.families.push(family.out);
    this.byName.set(name, family);
    return family;
  }

  /** OpenMetrics: a new family `name` (unknown until a TYPE line says otherwise) becomes the current one. */
  private startOpenMetricsFamily(name: string, pos: number): FamilyState {
    if (this.byName.has(name)) throw this.fail('NM_PARSE_DUPLICATE', pos, `family ${quoteForMessage(name)} appears again (OpenMetrics families must be unique and not interleaved)`);
    if (this.current !== null) this.claim(this.current);
    if (this.claimed.has(name)) throw this.fail('NM_PARSE_DUPLICATE', pos, `family name ${quoteForMessage(name)} clashes with a sample name of an earlier family`);
    const family = this.createFamily(name, 'unknown', pos);
    this.current = family;
    return family;
  }

  /** OpenMetrics: record the sample names a finished family owns; one that is another family's name is a clash. */
  private claim(family: FamilyState): void {
    const name = family.out.name;
    for (let role = 0; role < ROLE_SUFFIX.length; role++) {
      if (!hasRole(family.roles, role)) continue;
      const sampleName = name + ROLE_SUFFIX[role]!;
      if (sampleName !== name && this.byName.has(sampleName)) {
        throw this.fail('NM_PARSE_DUPLICATE', this.lineStart, `sample name ${quoteForMessage(sampleName)} of ${family.out.type} family ${quoteForMessage(name)} clashes with the family of that name`);
      }
      this.claimed.add(sampleName);
    }
  }

  // ---- helpers ----

  private intern(text: string): string {
    const known = this.names.get(text);
    if (known !== undefined) return known;
    this.names.set(text, text);
    return text;
  }

  private skipBlanks(pos: number): number {
    const codes = this.codes;
    const end = this.lineEnd;
    while (pos < end) {
      const c = codes[pos];
      if (c !== SPACE && c !== TAB) break;
      pos++;
    }
    return pos;
  }

  /** A token at `pos` (up to the next blank) for a message, bounded. */
  private token(pos: number): string {
    const text = this.text;
    const end = Math.min(this.lineEnd, pos + 41);
    let i = pos;
    while (i < end && !isBlank(text.charCodeAt(i))) i++;
    return quoteForMessage(text.slice(pos, i));
  }

  private fail(code: ParseErrorCode, pos: number, detail: string): ExpositionParseError {
    return errorAt(code, detail, this.text, this.line, this.lineStart, this.lineEnd, pos);
  }

  private failLimit(limit: ParseLimit, pos: number, detail: string): ExpositionParseError {
    return errorAt('NM_PARSE_LIMIT', detail, this.text, this.line, this.lineStart, this.lineEnd, pos, limit);
  }

  /** A syntax error at an unexpected character; points out a CRLF line ending, the likely cause when there is one. */
  private unexpected(pos: number, detail: string): ExpositionParseError {
    const crlf = this.lineEnd > this.lineStart && this.codes[this.lineEnd - 1] === CR;
    return this.fail('NM_PARSE_SYNTAX', pos, crlf ? `${detail} (the line ends with a carriage return: lines must end with \\n alone, not \\r\\n)` : detail);
  }

  /** Throw at the start of the line beginning at `pos` (after the last line parsed). */
  private failNextLine(pos: number, detail: string): never {
    const text = this.text;
    if (pos >= text.length && text.length > 0 && text.charCodeAt(text.length - 1) !== 0x0a) {
      // No final newline: report the end of the last line.
      throw this.fail('NM_PARSE_EOF', this.lineEnd, detail);
    }
    let end = text.indexOf('\n', pos);
    if (end === -1) end = text.length;
    this.line++;
    this.lineStart = pos;
    this.lineEnd = end;
    throw this.fail('NM_PARSE_EOF', pos, detail);
  }
}

/**
 * Parse one scrape body. Byte input is decoded as strict UTF-8; string input must be well-formed
 * UTF-16. Throws {@link ExpositionParseError} (and nothing else for any input) on the first problem:
 * a partial body is never returned, as OpenMetrics requires ("partial or invalid expositions MUST
 * be considered erroneous in their entirety") and Prometheus does for a scrape.
 */
export function parseExposition(input: Uint8Array | string, options: ParseOptions): ParseResult {
  if (options.format !== 'prometheus' && options.format !== 'openmetrics') {
    throw new TypeError(`parseExposition: format must be "prometheus" or "openmetrics", got ${String(options.format)}`);
  }
  let source: SourceText;
  if (typeof input === 'string') {
    if (!input.isWellFormed()) throw loneSurrogateError(input, firstLoneSurrogate(input));
    source = sourceFromString(input);
  } else {
    source = sourceFromBytes(input);
  }
  return new ExpositionParser(source, options).parse();
}

function loneSurrogateError(text: string, at: number): ExpositionParseError {
  let line = 1;
  let lineStart = 0;
  for (let i = text.indexOf('\n'); i !== -1 && i < at; i = text.indexOf('\n', i + 1)) {
    line++;
    lineStart = i + 1;
  }
  let lineEnd = text.indexOf('\n', at);
  if (lineEnd === -1) lineEnd = text.length;
  return errorAt('NM_PARSE_UTF8', 'lone UTF-16 surrogate (not representable in UTF-8)', text, line, lineStart, lineEnd, at);
}
