// Property tests for the exposition parser: random valid models survive format → parse in both
// formats, and no input whatsoever (random bytes, random strings over the syntax characters,
// mutations of valid bodies) makes the parser throw anything but ExpositionParseError. Bodies that
// do parse must come back unchanged through the canonical writer.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { formatExposition } from './format-exposition.ts';
import { createLabels, type ExpositionFormat, type FamilyType, type Labels, type ParsedExemplar, type ParsedFamily, type ParsedSample } from './model.ts';
import { ExpositionParseError } from './parse-error.ts';
import { parseExposition } from './parse-exposition.ts';

const FORMATS: readonly ExpositionFormat[] = ['prometheus', 'openmetrics'];
const TYPES: Record<ExpositionFormat, readonly FamilyType[]> = {
  prometheus: ['counter', 'gauge', 'histogram', 'summary', 'untyped'],
  openmetrics: ['counter', 'gauge', 'histogram', 'gaugehistogram', 'summary', 'info', 'stateset', 'unknown'],
};

// ---- models ----

// Names from character lists rather than fc.stringMatching, which is far slower to generate.
const NAME_FIRST = [...'abcdefghijklmnopqrstuvwxyzABCXYZ_'];
const NAME_REST = [...NAME_FIRST, ...'0123456789'];
const nameArb = (first: readonly string[], maxRest: number) =>
  fc.tuple(fc.constantFrom(...first), fc.string({ unit: fc.constantFrom(...NAME_REST), maxLength: maxRest })).map(([a, b]) => a + b);
const labelName = nameArb(NAME_FIRST, 6).filter((n) => n !== 'le' && n !== 'quantile' && n !== '__name__');
/**
 * Text over any code points, weighted towards the ones escaping is about: quotes, backslashes,
 * line feeds, carriage returns, NUL, then anything from U+0080 up to astral planes (surrogate
 * halves excluded). Cheaper to generate than fast-check's 'binary' unit, which matters for run time.
 */
const textUnit = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom('a', 'b', 'Z', '0', ' ', '_', '-', '/', '.') },
  { weight: 3, arbitrary: fc.constantFrom('"', '\\', '\n', '\r', '\t', '\0', '#', '{', '}', '=', ',') },
  { weight: 1, arbitrary: fc.integer({ min: 0x80, max: 0x10ffff - 0x800 }).map((c) => String.fromCodePoint(c >= 0xd800 ? c + 0x800 : c)) },
);
const anyText = (maxLength: number) => fc.string({ unit: textUnit, maxLength });
const labelPairs = (maxLength: number) => fc.uniqueArray(fc.tuple(labelName, anyText(10)), { selector: ([name]) => name, maxLength });
const floatText = fc.oneof(fc.constantFrom('+Inf', '0.005', '1', '2.5', '1e-05', '-Inf', 'NaN'), fc.double().map(String));

function labels(pairs: ReadonlyArray<readonly [string, string]>, extra?: readonly [string, string]): Labels {
  const out = createLabels(pairs);
  if (extra !== undefined) out[extra[0]] = extra[1];
  return out;
}

function sample(name: string, sampleLabels: Labels, value: number, timestampMs?: number, exemplar?: ParsedExemplar): ParsedSample {
  const out: ParsedSample = { name, labels: sampleLabels, value };
  if (timestampMs !== undefined) out.timestampMs = timestampMs;
  if (exemplar !== undefined) out.exemplar = exemplar;
  return out;
}

function timestampArb(format: ExpositionFormat): fc.Arbitrary<number | undefined> {
  // Prometheus: integer milliseconds; OpenMetrics: any finite float of milliseconds (written as seconds).
  const ms = format === 'prometheus' ? fc.maxSafeInteger() : fc.double({ noNaN: true, noDefaultInfinity: true }).map((x) => (x === 0 ? 0 : x));
  return fc.option(ms, { nil: undefined });
}

function exemplarArb(format: ExpositionFormat): fc.Arbitrary<ParsedExemplar | undefined> {
  if (format === 'prometheus') return fc.constant(undefined);
  return fc.option(
    fc.record({ pairs: labelPairs(2), value: fc.double(), ts: timestampArb('openmetrics') }).map(({ pairs, value, ts }) => {
      const exemplar: ParsedExemplar = { labels: labels(pairs), value };
      if (ts !== undefined) exemplar.timestampMs = ts;
      return exemplar;
    }),
    { nil: undefined },
  );
}

interface Series {
  pairs: Array<[string, string]>;
  value: number;
  values: number[];
  floats: string[];
  states: string[];
  ts: number | undefined;
  exemplars: Array<ParsedExemplar | undefined>;
  created: number | undefined;
}

function seriesArb(format: ExpositionFormat): fc.Arbitrary<Series> {
  return fc.record({
    pairs: labelPairs(3),
    value: fc.double(),
    values: fc.array(fc.double(), { minLength: 6, maxLength: 6 }),
    floats: fc.uniqueArray(floatText, { minLength: 1, maxLength: 3 }),
    states: fc.uniqueArray(anyText(6), { minLength: 1, maxLength: 3 }),
    ts: timestampArb(format),
    exemplars: fc.array(exemplarArb(format), { minLength: 3, maxLength: 3 }),
    created: fc.option(fc.double(), { nil: undefined }),
  });
}

/** The samples a series of a family of `type` has in `format`. */
function seriesSamples(name: string, type: FamilyType, format: ExpositionFormat, s: Series): ParsedSample[] {
  const om = format === 'openmetrics';
  const own = () => labels(s.pairs.filter(([n]) => n !== name));
  const v = (i: number) => s.values[i] as number;
  const created = (): ParsedSample[] => (om && s.created !== undefined ? [sample(`${name}_created`, own(), s.created)] : []);
  switch (type) {
    case 'counter':
      return om ? [sample(`${name}_total`, own(), s.value, s.ts, s.exemplars[0]), ...created()] : [sample(name, own(), s.value, s.ts)];
    case 'gauge':
    case 'untyped':
    case 'unknown':
      return [sample(name, own(), s.value, s.ts)];
    case 'info':
      return [sample(`${name}_info`, own(), 1, s.ts)];
    case 'stateset':
      return s.states.map((state, i) => sample(name, labels(s.pairs.filter(([n]) => n !== name), [name, state]), v(i) > 0 ? 1 : 0, s.ts));
    case 'histogram':
    case 'gaugehistogram': {
      const buckets = s.floats.map((le, i) => sample(`${name}_bucket`, labels(s.pairs, ['le', le]), v(i), s.ts, s.exemplars[i]));
      if (type === 'gaugehistogram') return [...buckets, sample(`${name}_gcount`, own(), v(3)), sample(`${name}_gsum`, own(), v(4))];
      return [...buckets, sample(`${name}_count`, own(), v(3)), sample(`${name}_sum`, own(), v(4), s.ts), ...created()];
    }
    case 'summary': {
      const quantiles = s.floats.map((q, i) => sample(name, labels(s.pairs, ['quantile', q]), v(i), s.ts));
      return [...quantiles, sample(`${name}_sum`, own(), v(3)), sample(`${name}_count`, own(), v(4)), ...created()];
    }
  }
}

function familyArb(index: number, format: ExpositionFormat): fc.Arbitrary<ParsedFamily> {
  const om = format === 'openmetrics';
  return fc
    .record({
      // A distinct m<index>_ prefix keeps family names from clashing with each other's sample names.
      base: nameArb([...'abcxyz'], 8),
      type: fc.constantFrom(...TYPES[format]),
      unit: om ? fc.option(fc.constantFrom('seconds', 'bytes', 'ratio'), { nil: undefined }) : fc.constant(undefined),
      help: fc.option(anyText(14).filter((h) => h !== ''), { nil: undefined }),
      series: fc.array(seriesArb(format), { maxLength: 3 }),
    })
    .map(({ base, type, unit, help, series }) => {
      const withUnit = unit !== undefined && type !== 'info' && type !== 'stateset';
      const name = withUnit ? `m${index}_${base}_${unit}` : `m${index}_${base}`;
      const family: ParsedFamily = { name, type, samples: series.flatMap((s) => seriesSamples(name, type, format, s)) };
      if (help !== undefined) family.help = help;
      if (withUnit) family.unit = unit;
      return family;
    });
}

function modelArb(format: ExpositionFormat): fc.Arbitrary<ParsedFamily[]> {
  return fc.integer({ min: 0, max: 5 }).chain((n) => (n === 0 ? fc.constant([]) : fc.tuple(...Array.from({ length: n }, (_, i) => familyArb(i, format)))));
}

// ---- properties ----

for (const format of FORMATS) {
  test(`${format}: random valid models survive format → parse unchanged`, () => {
    fc.assert(
      fc.property(modelArb(format), (families) => {
        const text = formatExposition({ families }, format);
        const parsed = parseExposition(text, { format });
        assert.deepStrictEqual(parsed.families, families);
        assert.equal(parsed.sampleCount, families.reduce((n, f) => n + f.samples.length, 0));
        // The same body as UTF-8 bytes parses to the same model.
        assert.deepStrictEqual(parseExposition(Buffer.from(text, 'utf8'), { format }).families, families);
      }),
      { numRuns: 600 },
    );
  });
}

/** Run the parser; pass when it returns or throws ExpositionParseError, and return the result or null. */
function parseOrReject(input: Uint8Array | string, format: ExpositionFormat) {
  try {
    return parseExposition(input, { format });
  } catch (error) {
    if (!(error instanceof ExpositionParseError)) throw error;
    // Messages stay short whatever the input (the excerpt is bounded and escaped).
    assert.ok(error.message.length < 600, `message too long: ${error.message.length}`);
    assert.ok(error.line >= 1 && error.column >= 1);
    assert.doesNotMatch(error.message, /[\n\r]/);
    return null;
  }
}

test('random bytes never throw anything but ExpositionParseError', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
      for (const format of FORMATS) parseOrReject(bytes, format);
    }),
    { numRuns: 1500 },
  );
});

/** The characters the grammars care about, plus some that they do not. */
const SYNTAX_CHARS = ['a', 'b', '_', ':', '0', '1', '.', 'e', '+', '-', 'I', 'n', 'f', 'N', '{', '}', '"', '\\', '=', ',', ' ', '\t', '\n', '\r', '#', 'H', 'E', 'L', 'P', 'T', 'Y', 'O', 'F', 'é', '\u{1F600}', '\0'];

test('random strings over the syntax characters never throw anything but ExpositionParseError', () => {
  fc.assert(
    fc.property(fc.string({ unit: fc.constantFrom(...SYNTAX_CHARS), maxLength: 120 }), (text) => {
      for (const format of FORMATS) parseOrReject(text, format);
    }),
    { numRuns: 2000 },
  );
});

interface Mutation {
  at: number;
  kind: 'insert' | 'delete' | 'replace';
  text: string;
}

function mutate(text: string, mutations: readonly Mutation[]): string {
  let out = text;
  for (const m of mutations) {
    const at = out.length === 0 ? 0 : m.at % (out.length + 1);
    if (m.kind === 'insert') out = out.slice(0, at) + m.text + out.slice(at);
    else if (m.kind === 'delete') out = out.slice(0, at) + out.slice(at + 1);
    else out = out.slice(0, at) + m.text + out.slice(at + 1);
  }
  return out;
}

const mutationArb = fc.record({
  at: fc.nat(),
  kind: fc.constantFrom<Mutation['kind']>('insert', 'delete', 'replace'),
  text: fc.oneof(fc.constantFrom(...SYNTAX_CHARS), fc.constantFrom('# EOF\n', '# TYPE m0_x counter\n', '_total', '_bucket', '{le="1"}', ' # {a="b"} 1')),
});

for (const format of FORMATS) {
  test(`${format}: mutated valid bodies only fail with ExpositionParseError, and what parses re-parses identically`, () => {
    let accepted = 0;
    fc.assert(
      fc.property(modelArb(format), fc.array(mutationArb, { minLength: 1, maxLength: 4 }), fc.constantFrom(...FORMATS), (families, mutations, parseAs) => {
        const text = mutate(formatExposition({ families }, format), mutations);
        const parsed = parseOrReject(text, parseAs);
        if (parsed === null) return;
        accepted++;
        // The canonical writer is a fixed point for anything the parser accepts.
        const again = parseExposition(formatExposition(parsed, parseAs), { format: parseAs });
        assert.deepStrictEqual(again.families, parsed.families);
      }),
      { numRuns: 1200 },
    );
    // Some mutants must parse, or the second half of the property tested nothing.
    assert.ok(accepted > 0, 'no mutated body parsed');
  });
}
