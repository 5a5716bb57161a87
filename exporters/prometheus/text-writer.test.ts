import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ValueType, type Attributes } from '@opentelemetry/api';
import type { InstrumentationScope } from '@opentelemetry/core';
import { PrometheusSerializer } from '@opentelemetry/exporter-prometheus';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { AggregationTemporality, DataPointType, type Histogram, type MetricData, type ResourceMetrics } from '@opentelemetry/sdk-metrics';
import fc from 'fast-check';
import { counter as dpCounter, gauge as dpGauge } from '../../pipeline/datapoints.ts';
import type { PrometheusFamily } from '../../pipeline/prometheus-family.ts';
import { renderExposition, writeExposition, type TextWriterOptions } from './text-writer.ts';

const T: [number, number] = [1_700_000_000, 0];

interface Desc {
  name: string;
  help?: string;
  unit?: string;
}

function descriptor(d: Desc) {
  return { name: d.name, description: d.help ?? '', unit: d.unit ?? '', valueType: ValueType.DOUBLE };
}

function points<V>(samples: ReadonlyArray<readonly [Attributes, V]>) {
  return samples.map(([attributes, value]) => ({ startTime: T, endTime: T, attributes, value }));
}

function gauge(d: Desc, samples: ReadonlyArray<readonly [Attributes, number]>): MetricData {
  return {
    descriptor: descriptor(d),
    aggregationTemporality: AggregationTemporality.CUMULATIVE,
    dataPointType: DataPointType.GAUGE,
    dataPoints: points(samples),
  };
}

function sum(d: Desc, isMonotonic: boolean, samples: ReadonlyArray<readonly [Attributes, number]>): MetricData {
  return {
    descriptor: descriptor(d),
    aggregationTemporality: AggregationTemporality.CUMULATIVE,
    dataPointType: DataPointType.SUM,
    isMonotonic,
    dataPoints: points(samples),
  };
}

function histogram(d: Desc, samples: ReadonlyArray<readonly [Attributes, Histogram]>): MetricData {
  return {
    descriptor: descriptor(d),
    aggregationTemporality: AggregationTemporality.CUMULATIVE,
    dataPointType: DataPointType.HISTOGRAM,
    dataPoints: points(samples),
  };
}

function expHistogram(d: Desc): MetricData {
  const value = { count: 1, sum: 1, scale: 0, zeroCount: 0, positive: { offset: 0, bucketCounts: [1] }, negative: { offset: 0, bucketCounts: [] } };
  return {
    descriptor: descriptor(d),
    aggregationTemporality: AggregationTemporality.CUMULATIVE,
    dataPointType: DataPointType.EXPONENTIAL_HISTOGRAM,
    dataPoints: points([[{}, value]]),
  };
}

function batch(scopes: ReadonlyArray<readonly [InstrumentationScope, MetricData[]]>, resource: Attributes = { 'service.name': 'nodemeter' }): ResourceMetrics {
  return { resource: resourceFromAttributes(resource), scopeMetrics: scopes.map(([scope, metrics]) => ({ scope, metrics })) };
}

const OFF: TextWriterOptions = { prefix: '', targetInfo: false, scopeInfo: false };

function sdk(b: ResourceMetrics, o: TextWriterOptions): string {
  return new PrometheusSerializer(o.prefix, false, undefined, !o.targetInfo, !o.scopeInfo).serialize(b);
}

/** Our output, asserted byte-equal to the SDK serializer's. */
function same(b: ResourceMetrics, o: TextWriterOptions = OFF): string {
  const ours = writeExposition(b, o);
  assert.equal(ours, sdk(b, o));
  return ours;
}

const A = { name: 'a' };

describe('writeExposition: byte-identical to PrometheusSerializer', () => {
  it('writes "# no registered metrics" for an empty batch, after target_info when on', () => {
    assert.equal(same(batch([])), '# no registered metrics');
    assert.equal(same(batch([[A, []]]), { ...OFF, targetInfo: true }), '# HELP target_info Target metadata\n# TYPE target_info gauge\ntarget_info{service_name="nodemeter"} 1\n# no registered metrics');
  });

  it('writes target_info first, unprefixed, from resource attributes', () => {
    const b = batch([[A, [gauge({ name: 'g', help: 'G.' }, [[{}, 1]])]]], { 'k8s.node.name': 'n"1', n: 3, ok: true });
    const text = same(b, { ...OFF, prefix: 'nm', targetInfo: true });
    assert.equal(
      text,
      '# HELP target_info Target metadata\n# TYPE target_info gauge\ntarget_info{k8s_node_name="n\\"1",n="3",ok="true"} 1\n' + '# HELP nm_g G.\n# TYPE nm_g gauge\nnm_g 1\n',
    );
  });

  it('types gauges and sums, appending _total to monotonic sums only when missing', () => {
    const text = same(
      batch([[A, [gauge({ name: 'g' }, [[{}, 1]]), sum({ name: 'c' }, true, [[{}, 2]]), sum({ name: 'd_total' }, true, [[{}, 3]]), sum({ name: 'u' }, false, [[{}, 4]])]]]),
    );
    assert.match(text, /^# TYPE g gauge\ng 1$/m);
    assert.match(text, /^# TYPE c_total counter\nc_total 2$/m);
    assert.match(text, /^# TYPE d_total counter\nd_total 3$/m);
    assert.match(text, /^# TYPE u gauge\nu 4$/m);
  });

  it('writes histogram _count, _sum, then cumulative _bucket lines with le last', () => {
    const h: Histogram = { count: 6, sum: 12.5, buckets: { boundaries: [1, 2.5], counts: [1, 2, 3] } };
    const text = same(batch([[A, [histogram({ name: 'h', help: 'H.' }, [[{ x: 'y' }, h], [{}, h]])]]]), { ...OFF, scopeInfo: true });
    assert.equal(
      text,
      '# HELP h H.\n# TYPE h histogram\n' +
        'h_count{x="y",otel_scope_name="a"} 6\nh_sum{x="y",otel_scope_name="a"} 12.5\n' +
        'h_bucket{x="y",otel_scope_name="a",le="1"} 1\nh_bucket{x="y",otel_scope_name="a",le="2.5"} 3\nh_bucket{x="y",otel_scope_name="a",le="+Inf"} 6\n' +
        'h_count{otel_scope_name="a"} 6\nh_sum{otel_scope_name="a"} 12.5\n' +
        'h_bucket{otel_scope_name="a",le="1"} 1\nh_bucket{otel_scope_name="a",le="2.5"} 3\nh_bucket{otel_scope_name="a",le="+Inf"} 6\n',
    );
  });

  it('handles histograms without sum, with an explicit Infinity boundary, and with extra counts', () => {
    same(
      batch([
        [
          A,
          [
            histogram({ name: 'nosum' }, [[{}, { count: 1, buckets: { boundaries: [1], counts: [0, 1] } }]]),
            histogram({ name: 'inf' }, [[{}, { count: 3, sum: 1, buckets: { boundaries: [1, Infinity], counts: [1, 2, 7] } }]]),
            histogram({ name: 'extra' }, [[{}, { count: 3, sum: 1, buckets: { boundaries: [1], counts: [1, 1, 1, 1] } }]]),
            histogram({ name: 'neg' }, [[{}, { count: 3, sum: -Infinity, buckets: { boundaries: [-Infinity, NaN, -0], counts: [1, 1, 1] } }]]),
          ],
        ],
      ]),
    );
  });

  it('sanitises metric names: invalid chars, repeated underscores, leading digit, escape-then-sanitise', () => {
    const names = ['a.b-c', 'a..b', '1abc', 'a\nb', 'a\\b', 'métrique', '😀x', '__x__'];
    const text = same(batch([[A, names.map((name) => gauge({ name }, [[{}, 1]]))]]));
    for (const expected of ['a_b_c 1', 'a_b 1', '_1abc 1', 'a_nb 1', 'm_trique 1', '_x 1', '_x_ 1']) assert.match(text, new RegExp(`^${expected}$`, 'm'));
    same(batch([[A, names.map((name) => gauge({ name }, [[{}, 1]]))]]), { ...OFF, prefix: 'node:meter' });
  });

  it('drops metrics whose name sanitises to "" or "_" (only without a prefix)', () => {
    const b = batch([[A, [gauge({ name: '' }, [[{}, 1]]), gauge({ name: '.' }, [[{}, 2]]), gauge({ name: 'é' }, [[{}, 3]])]]]);
    assert.equal(same(b), '# no registered metrics');
    assert.match(same(b, { ...OFF, prefix: 'nm' }), /^nm__ 2$/m);
  });

  it('sanitises label names without the leading-digit rule and escapes values', () => {
    const attrs: Attributes = { 'k8s.pod-name': 'p', 'a\nb': 'x', '9x': 'y', q: 'a"b\\c\nd', n: 1.5, b: false, arr: ['x"y', 2, null], none: undefined };
    const text = same(batch([[A, [gauge({ name: 'g' }, [[attrs, 1]])]]]));
    assert.match(text, /^g\{k8s_pod_name="p",a_b="x",9x="y",q="a\\"b\\\\c\\nd",n="1.5",b="false",arr="\[\\"x\\\\\\"y\\",2,null\]",none=""\} 1$/m);
  });

  it('formats values as the SDK does: +Inf, -Inf, NaN, -0, exponents', () => {
    const values = [Infinity, -Infinity, NaN, -0, 1e21, 1e-7, 0.1 + 0.2, Number.MAX_SAFE_INTEGER];
    const text = same(batch([[A, [gauge({ name: 'v' }, values.map((v, i) => [{ i: String(i) }, v] as const))]]]));
    assert.match(text, /v\{i="0"\} \+Inf\nv\{i="1"\} -Inf\nv\{i="2"\} NaN\nv\{i="3"\} 0\nv\{i="4"\} 1e\+21\n/);
  });

  it('groups a family across scopes in first-seen order with one HELP/UNIT/TYPE and scope labels', () => {
    const scopeB = { name: 'b', version: '1.0', schemaUrl: 'https://x/"s"' };
    const b = batch([
      [A, [gauge({ name: 'x' }, [[{ k: '1' }, 1]]), gauge({ name: 'y', unit: 'By' }, [[{}, 2]])]],
      [scopeB, [gauge({ name: 'x', help: 'X.', unit: 's' }, [[{ k: '2' }, 3]])]],
    ]);
    const text = same(b, { ...OFF, scopeInfo: true });
    assert.equal(
      text,
      '# HELP x X.\n# UNIT x s\n# TYPE x gauge\nx{k="1",otel_scope_name="a"} 1\n' +
        'x{k="2",otel_scope_name="b",otel_scope_schema_url="https://x/\\"s\\"",otel_scope_version="1.0"} 3\n' +
        '# HELP y description missing\n# UNIT y By\n# TYPE y gauge\ny{otel_scope_name="a"} 2\n',
    );
  });

  it('keeps the first non-empty HELP and UNIT and escapes them', () => {
    const b = batch([[A, [gauge({ name: 'x', help: 'one\\two\nthree "q"', unit: 'a\nb' }, [[{}, 1]])]], [{ name: 'b' }, [gauge({ name: 'x', help: 'other', unit: 'c' }, [[{}, 2]])]]]);
    assert.match(same(b), /^# HELP x one\\\\two\\nthree "q"\n# UNIT x a\\nb\n/);
  });

  it('drops a whole family on a type conflict but keeps its place', () => {
    const b = batch([
      [A, [gauge({ name: 'first' }, [[{}, 0]]), gauge({ name: 'x' }, [[{}, 1]]), gauge({ name: 'x_total' }, [[{}, 1]])]],
      [{ name: 'b' }, [sum({ name: 'x' }, true, [[{}, 2]]), histogram({ name: 'x' }, []), gauge({ name: 'x' }, [[{}, 3]]), gauge({ name: 'last' }, [[{}, 4]])]],
    ]);
    const text = same(b);
    assert.doesNotMatch(text, /x_total/);
    assert.equal(text, '# HELP first description missing\n# TYPE first gauge\nfirst 0\n# HELP last description missing\n# TYPE last gauge\nlast 4\n');
  });

  it('writes HELP/TYPE for a metric without points, and untyped HELP/TYPE only for exponential histograms', () => {
    const text = same(batch([[A, [gauge({ name: 'empty' }, []), expHistogram({ name: 'e', help: 'E.' })]]]));
    assert.equal(text, '# HELP empty description missing\n# TYPE empty gauge\n# HELP e E.\n# TYPE e untyped\n');
  });

  it('joins a user gauge named target_info to the resource family; a histogram named so drops it', () => {
    const on = { ...OFF, targetInfo: true };
    const text = same(batch([[A, [gauge({ name: 'target.info', help: 'mine', unit: 'u' }, [[{ x: '1' }, 5]])]]]), on);
    assert.equal(text, '# HELP target_info Target metadata\n# UNIT target_info u\n# TYPE target_info gauge\ntarget_info{service_name="nodemeter"} 1\ntarget_info{x="1"} 5\n');
    assert.equal(same(batch([[A, [histogram({ name: 'target_info' }, [])]]]), on), '# no registered metrics');
    assert.match(same(batch([[A, [histogram({ name: 'target_info' }, [])]]])), /^# TYPE target_info histogram$/m);
  });

  it('gives the same output on a second render (cached names)', () => {
    const b = batch([[A, [gauge({ name: 'k8s.volume-used' }, [[{ 'pod.name': 'p' }, 1]])]]]);
    assert.equal(same(b, { ...OFF, prefix: 'nm' }), same(b, { ...OFF, prefix: 'nm' }));
  });
});

describe('writeExposition: constant labels and dedupe', () => {
  const g = (attrs: Attributes, v = 1) => gauge({ name: 'g' }, [[attrs, v]]);

  it('writes constant labels first; a series label of the same key takes the constant place', () => {
    const text = writeExposition(batch([[A, [g({ pv: 'p', cluster: 'mine' }), g({})]]]), { ...OFF, constLabels: { cluster: 'c1', env: 'prod' } });
    assert.match(text, /^g\{cluster="mine",env="prod",pv="p"\} 1\ng\{cluster="c1",env="prod"\} 1$/m);
  });

  it('lets a series label that sanitises to a constant label name win over it', () => {
    const text = writeExposition(batch([[A, [g({ 'clus.ter': 'mine', a: 'b' })]]]), { ...OFF, constLabels: { clus_ter: 'c1', env: 'e"' } });
    assert.match(text, /^g\{env="e\\"",clus_ter="mine",a="b"\} 1$/m);
  });

  it('drops repeated series whatever their label order, keeps distinct ones', () => {
    const b = batch([
      [A, [g({ a: '1', b: '2' }, 1), g({ a: '1', b: '3' }, 2)]],
      [A, [g({ b: '2', a: '1' }, 9), sum({ name: 'g' }, false, [[{ a: '1', b: '3' }, 9]])]],
    ]);
    assert.equal(writeExposition(b, { ...OFF, dedupe: true }), '# HELP g description missing\n# TYPE g gauge\ng{a="1",b="2"} 1\ng{a="1",b="3"} 2\n');
  });

  it('treats the same labels under different scope labels as different series', () => {
    const b = batch([[A, [g({ a: '1' })]], [{ name: 'b' }, [g({ a: '1' })]], [A, [g({ a: '1' })]]]);
    assert.equal(writeExposition(b, { ...OFF, scopeInfo: true, dedupe: true }).match(/^g\{/gm)?.length, 2);
    assert.equal(writeExposition(b, { ...OFF, dedupe: true }).match(/^g\{/gm)?.length, 1);
  });

  it('dedupes histogram points as a whole and never touches target_info', () => {
    const h: Histogram = { count: 1, sum: 1, buckets: { boundaries: [1], counts: [1, 0] } };
    const b = batch([[A, [histogram({ name: 'h' }, [[{ a: '1' }, h], [{ a: '1' }, h]])]]]);
    const text = writeExposition(b, { ...OFF, targetInfo: true, dedupe: true, constLabels: { c: 'x' } });
    assert.equal(text.match(/^h_count/gm)?.length, 1);
    assert.equal(text.match(/^h_bucket/gm)?.length, 2);
    assert.match(text, /^target_info\{service_name="nodemeter"\} 1$/m);
  });
});

// ---------------------------------------------------------------------------------------------
// Property: random batches render byte-identically to the SDK serializer.

const nameArb = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom('disk.used', 'disk_used', 'disk-used', 'disk__used', 'x', 'x_total', 'x.total', '1abc', 'target_info', 'target.info', 'é', '.', '', 'a\nb', 'a\\b', 'h_count') },
  { weight: 1, arbitrary: fc.string({ maxLength: 8 }) },
  { weight: 1, arbitrary: fc.string({ unit: 'grapheme', maxLength: 6 }) },
);
const keyArb = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom('pod', 'k8s.pod.name', 'k8s_pod_name', 'le', 'a-b', '0', '12', '1a', 'otel_scope_name', '') },
  { weight: 1, arbitrary: fc.string({ maxLength: 6 }) },
  { weight: 1, arbitrary: fc.string({ unit: 'grapheme', maxLength: 4 }) },
);
const tricky = fc.string({ unit: fc.constantFrom('a', '"', '\\', '\n', 'é', '😀', ' ', ','), maxLength: 6 });
const scalarArb = fc.oneof(tricky, fc.string({ maxLength: 6 }), fc.double(), fc.integer(), fc.boolean());
const attrValueArb: fc.Arbitrary<Attributes[string]> = fc.oneof(
  { weight: 6, arbitrary: scalarArb },
  { weight: 1, arbitrary: fc.array(fc.oneof(tricky, fc.double(), fc.boolean(), fc.constant(null)), { maxLength: 3 }) },
  { weight: 1, arbitrary: fc.constant(undefined) },
);
const attrsArb: fc.Arbitrary<Attributes> = fc.dictionary(keyArb, attrValueArb, { maxKeys: 4 });
const numberArb = fc.oneof(fc.double(), fc.integer(), fc.constantFrom(Infinity, -Infinity, NaN, -0, 0));
const descArb = fc.record({
  name: nameArb,
  help: fc.constantFrom('', 'Help A.', 'Help B', 'back\\slash\nnewline "q"'),
  unit: fc.constantFrom('', 'By', 's', 'a\nb'),
});
const histogramArb: fc.Arbitrary<Histogram> = fc
  .record({
    boundaries: fc.array(fc.double({ noNaN: true }), { maxLength: 4 }).map((b) => b.sort((x, y) => x - y)),
    infinity: fc.boolean(),
    extraCounts: fc.integer({ min: -1, max: 2 }),
    sum: fc.option(numberArb, { nil: undefined }),
    count: fc.nat(),
  })
  .chain(({ boundaries, infinity, extraCounts, sum, count }) => {
    const bounds = infinity ? [...boundaries, Infinity] : boundaries;
    return fc
      .array(fc.nat(100), { minLength: Math.max(0, boundaries.length + 1 + extraCounts), maxLength: Math.max(0, boundaries.length + 1 + extraCounts) })
      .map((counts) => ({ count, sum, buckets: { boundaries: bounds, counts } }));
  });

function metricArb(attributes: fc.Arbitrary<Attributes>): fc.Arbitrary<MetricData> {
  return fc.oneof(
    fc.tuple(descArb, fc.array(fc.tuple(attributes, numberArb), { maxLength: 4 })).map(([d, s]) => gauge(d, s)),
    fc.tuple(descArb, fc.boolean(), fc.array(fc.tuple(attributes, numberArb), { maxLength: 4 })).map(([d, m, s]) => sum(d, m, s)),
    fc.tuple(descArb, fc.array(fc.tuple(attributes, histogramArb), { maxLength: 3 })).map(([d, s]) => histogram(d, s)),
    { weight: 1, arbitrary: descArb.map((d) => expHistogram(d)) },
  );
}

const scopeArb: fc.Arbitrary<InstrumentationScope> = fc.record(
  { name: fc.constantFrom('filesystem', 'docker', 'a"b', ''), version: fc.constantFrom('1.0', '', 'v\n2'), schemaUrl: fc.constantFrom('https://s/1', '') },
  { requiredKeys: ['name'] },
);

function batchArb(attributes: fc.Arbitrary<Attributes>): fc.Arbitrary<ResourceMetrics> {
  return fc
    .tuple(fc.array(fc.tuple(scopeArb, fc.array(metricArb(attributes), { maxLength: 6 })), { maxLength: 4 }), attrsArb)
    .map(([scopes, resource]) => batch(scopes, resource));
}

const optionsArb: fc.Arbitrary<TextWriterOptions> = fc.record({
  prefix: fc.oneof(fc.constantFrom('', 'nm', 'node:meter', '_x'), fc.stringMatching(/^[a-zA-Z_:][a-zA-Z0-9_:]{0,5}$/)),
  targetInfo: fc.boolean(),
  scopeInfo: fc.boolean(),
});

describe('writeExposition property', () => {
  it('equals PrometheusSerializer.serialize() byte for byte on random batches', () => {
    fc.assert(
      fc.property(batchArb(attrsArb), optionsArb, (b, o) => {
        assert.equal(writeExposition(b, o), sdk(b, o));
      }),
      { numRuns: 1500 },
    );
  });

  // Constant labels and dedupe against their definition: the SDK serializer on a batch with the
  // constant labels merged in (series labels win, also by sanitised name) and repeated series
  // (same family, same rendered label set in any order, same scope labels) removed beforehand.
  const plainKeyArb = keyArb.map((k) => (/^[0-9]/.test(k) ? `k${k}` : k)); // integer keys reorder objects
  const smallAttrsArb: fc.Arbitrary<Attributes> = fc.oneof(
    fc.constantFrom<Attributes>({ a: '1', b: '2' }, { b: '2', a: '1' }, { a: '1' }, { cluster: 'own' }, { 'clus.ter': 'x', a: '1' }, {}),
    fc.dictionary(plainKeyArb, attrValueArb, { maxKeys: 3 }),
  );
  const constArb = fc.constantFrom<Record<string, string>>({}, { cluster: 'c"1' }, { clus_ter: 'c', env: 'prod' }, { a: 'const' });

  it('equals the SDK on batches with constant labels merged and repeated series removed', () => {
    fc.assert(
      fc.property(batchArb(smallAttrsArb), optionsArb, constArb, fc.boolean(), (b, o, constLabels, dedupe) => {
        assert.equal(writeExposition(b, { ...o, constLabels, dedupe }), sdk(reference(b, o, constLabels, dedupe), o));
      }),
      { numRuns: 1000 },
    );
  });
});

const refSanitize = (s: string) => s.replace(/[^a-z0-9_]/gi, '_').replace(/_{2,}/g, '_');
const refValue = (v: unknown) =>
  (typeof v === 'string' ? v : v === undefined ? '' : JSON.stringify(v)).replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');

function refName(m: MetricData, prefix: string): string {
  let name = (prefix ? prefix + '_' : '') + refSanitize(m.descriptor.name.replace(/\\/g, '\\\\').replace(/\n/g, '\\n'));
  if (/^[0-9]/.test(name)) name = '_' + name;
  if (m.dataPointType === DataPointType.SUM && m.isMonotonic && !name.endsWith('_total')) name += '_total';
  return name;
}

function reference(b: ResourceMetrics, o: TextWriterOptions, constLabels: Record<string, string>, dedupe: boolean): ResourceMetrics {
  const seen = new Set<string>();
  const scopeMetrics = b.scopeMetrics.map(({ scope, metrics }) => {
    const scopeLabels = o.scopeInfo ? `${scope.name}|${scope.schemaUrl ?? ''}|${scope.version ?? ''}` : '';
    return {
      scope,
      metrics: metrics.map((m) => {
        const dataPoints = [];
        for (const p of m.dataPoints) {
          const own = new Set(Object.keys(p.attributes).map(refSanitize));
          const merged: Attributes = {};
          for (const [k, v] of Object.entries(constLabels)) if (k in p.attributes || !own.has(k)) merged[k] = v;
          Object.assign(merged, p.attributes);
          if (dedupe) {
            const pairs = Object.entries(merged).map(([k, v]) => `${refSanitize(k)}="${refValue(v)}"`);
            const key = `${refName(m, o.prefix)} ${pairs.sort().join(',')} ${scopeLabels}`;
            if (seen.has(key)) continue;
            seen.add(key);
          }
          dataPoints.push({ ...p, attributes: merged });
        }
        return { ...m, dataPoints } as MetricData;
      }),
    };
  });
  return { resource: b.resource, scopeMetrics };
}

const base: TextWriterOptions = { prefix: '', constLabels: {}, targetInfo: false, scopeInfo: false, dedupe: false };
const t0: [number, number] = [1_700_000_000, 0];

function volumeBatch(): ResourceMetrics {
  const used = { name: 'kubelet_volume_stats_used_bytes', description: 'Used bytes.' };
  return {
    resource: resourceFromAttributes({ 'service.name': 'nodemeter', 'k8s.node.name': 'n1' }),
    scopeMetrics: [
      { scope: { name: 'a' }, metrics: [dpGauge(used, [{ attributes: { persistentvolume: 'pv-1', mountpoint: '/x y' }, value: 1024 }])] },
      {
        scope: { name: 'b' },
        metrics: [
          dpGauge(used, [{ attributes: { persistentvolume: 'pv-2', mountpoint: 'a"b\\c\nd' }, value: 2048 }]),
          dpCounter({ name: 'nodemeter_things', description: 'Things.' }, [{ attributes: {}, value: 3 }], t0),
        ],
      },
    ],
  };
}

describe('writeExposition: metrics scraped from Prometheus endpoints', () => {
  const scraped = (m: MetricData, prometheus: PrometheusFamily): MetricData => Object.assign({}, m, { descriptor: { ...m.descriptor, prometheus } });

  it('writes each sample under its scraped name, the family’s TYPE, HELP only when it had one, no _total added', () => {
    const text = writeExposition(
      batch([
        [
          A,
          [
            scraped(sum({ name: 'http_requests' }, true, [[{ code: '200' }, 5]]), { family: 'http_requests', type: 'counter' }),
            scraped(gauge({ name: 'node:cpu:ratio', help: 'Recorded.' }, [[{ a: '' }, 0.5]]), { family: 'node:cpu:ratio', type: 'gauge' }),
            scraped(gauge({ name: 'mystery' }, [[{}, 7]]), { family: 'mystery', type: 'untyped' }),
          ],
        ],
      ]),
      OFF,
    );
    assert.equal(
      text,
      '# TYPE http_requests counter\nhttp_requests{code="200"} 5\n' +
        '# HELP node:cpu:ratio Recorded.\n# TYPE node:cpu:ratio gauge\nnode:cpu:ratio{a=""} 0.5\n' +
        '# TYPE mystery untyped\nmystery 7\n',
    );
  });

  it('joins a summary’s quantiles, _sum and _count under one header, and keeps a histogram’s own shape', () => {
    const family: PrometheusFamily = { family: 'rpc_seconds', type: 'summary' };
    const h: Histogram = { count: 3, sum: 1.5, buckets: { boundaries: [0.1, Infinity], counts: [1, 2] } };
    const text = writeExposition(
      batch([
        [
          A,
          [
            scraped(gauge({ name: 'rpc_seconds', help: 'RPC latency.' }, [[{ quantile: '0.5' }, 0.2], [{ quantile: '0.99' }, 0.9]]), family),
            scraped(sum({ name: 'rpc_seconds_sum' }, true, [[{}, 12]]), family),
            scraped(sum({ name: 'rpc_seconds_count' }, true, [[{}, 40]]), family),
            scraped(histogram({ name: 'req_seconds' }, [[{ path: '/' }, h]]), { family: 'req_seconds', type: 'histogram' }),
          ],
        ],
      ]),
      { ...OFF, prefix: 'pod' },
    );
    assert.equal(
      text,
      '# HELP pod_rpc_seconds RPC latency.\n# TYPE pod_rpc_seconds summary\n' +
        'pod_rpc_seconds{quantile="0.5"} 0.2\npod_rpc_seconds{quantile="0.99"} 0.9\npod_rpc_seconds_sum 12\npod_rpc_seconds_count 40\n' +
        '# TYPE pod_req_seconds histogram\n' +
        'pod_req_seconds_count{path="/"} 3\npod_req_seconds_sum{path="/"} 1.5\npod_req_seconds_bucket{path="/",le="0.1"} 1\npod_req_seconds_bucket{path="/",le="+Inf"} 3\n',
    );
  });

  it('a scraped family and an own metric of the same name but another type: the family is dropped, as any type conflict', () => {
    const text = writeExposition(batch([[A, [scraped(gauge({ name: 'up' }, [[{}, 1]]), { family: 'up', type: 'untyped' }), gauge({ name: 'up' }, [[{ job: 'x' }, 1]])]]]), OFF);
    assert.equal(text, '# no registered metrics');
  });
});

describe('writeExposition as the exporter uses it', () => {
  it('groups one family across scopes under a single HELP/TYPE and escapes label values', () => {
    const text = writeExposition(volumeBatch(), base);
    assert.equal(text.match(/^# TYPE kubelet_volume_stats_used_bytes gauge$/gm)?.length, 1);
    const lines = text.split('\n');
    const typeAt = lines.indexOf('# TYPE kubelet_volume_stats_used_bytes gauge');
    assert.equal(lines[typeAt + 1], 'kubelet_volume_stats_used_bytes{persistentvolume="pv-1",mountpoint="/x y"} 1024');
    assert.equal(lines[typeAt + 2], 'kubelet_volume_stats_used_bytes{persistentvolume="pv-2",mountpoint="a\\"b\\\\c\\nd"} 2048');
    assert.match(text, /^# TYPE nodemeter_things_total counter$/m);
    assert.match(text, /^nodemeter_things_total 3$/m);
    assert.doesNotMatch(text, /otel_scope_name|target_info/);
  });

  it('applies prefix, constant labels (series labels win) and target_info when asked', () => {
    const text = writeExposition(volumeBatch(), { ...base, prefix: 'nm', constLabels: { cluster: 'c1', persistentvolume: 'ignored' }, targetInfo: true });
    assert.match(text, /^nm_kubelet_volume_stats_used_bytes\{cluster="c1",persistentvolume="pv-1",mountpoint="\/x y"\} 1024$/m);
    assert.match(text, /^target_info\{service_name="nodemeter",k8s_node_name="n1"\} 1$/m);
  });

  it('adds scope labels only when asked', () => {
    assert.match(writeExposition(volumeBatch(), { ...base, scopeInfo: true }), /otel_scope_name="a"/);
  });

  it('drops repeated series when several pipelines carry the same receiver', () => {
    const b = volumeBatch();
    const doubled = { resource: b.resource, scopeMetrics: [...b.scopeMetrics, ...volumeBatch().scopeMetrics] };
    const text = writeExposition(doubled, { ...base, dedupe: true });
    assert.equal(text.match(/persistentvolume="pv-1"/g)?.length, 1);
    assert.equal(text.match(/^nodemeter_things_total /gm)?.length, 1);
  });
});

describe('renderExposition: lazy pieces', () => {
  const manySeries = (n: number, tag: string): ResourceMetrics =>
    batch([
      [A, [gauge({ name: 'wide' }, Array.from({ length: n }, (_, i) => [{ series: `${tag}-${i}` }, i] as const))]],
      [{ name: 'b' }, [gauge({ name: 'wide' }, [[{ series: `${tag}-0` }, 0]])]],
    ]);

  it('yields pieces of about 64 K characters that join to writeExposition’s text', () => {
    const b = manySeries(20_000, 'x');
    const pieces = [...renderExposition(b, { ...OFF, dedupe: true })];
    assert.ok(pieces.length > 5, `${pieces.length} pieces`);
    for (const p of pieces.slice(0, -1)) assert.ok(p.length >= 64 * 1024 && p.length < 64 * 1024 + 200, `piece of ${p.length}`);
    assert.equal(pieces.join(''), writeExposition(b, { ...OFF, dedupe: true }));
  });

  it('two renders interleaved (two pulls sending at once) each equal their render alone, dedupe ids included', () => {
    // More distinct names and values than the id cache keeps: a render started meanwhile must not
    // reset the ids of one in progress.
    const a = manySeries(60_000, 'a');
    const b = manySeries(60_000, 'b');
    const options = { ...OFF, dedupe: true };
    const alone = [writeExposition(a, options), writeExposition(b, options)];
    const ga = renderExposition(a, options);
    const gb = renderExposition(b, options);
    let outA = ga.next().value ?? '';
    let outB = '';
    for (let doneA = false, doneB = false; !doneA || !doneB; ) {
      if (!doneB) {
        const r = gb.next();
        if (r.done) doneB = true;
        else outB += r.value;
      }
      if (!doneA) {
        const r = ga.next();
        if (r.done) doneA = true;
        else outA += r.value;
      }
    }
    assert.equal(outA, alone[0]);
    assert.equal(outB, alone[1]);
    assert.equal(outA.split('\n').filter((l) => l.startsWith('wide{')).length, 60_000, 'the repeated series of scope b dropped, no other');
  });
});
