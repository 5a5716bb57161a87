import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { DataPointType, type MetricData } from '@opentelemetry/sdk-metrics';

import { writeExposition } from '../../exporters/prometheus/text-writer.ts';
import type { ExpositionFormat } from './parser/model.ts';
import { parseExposition } from './parser/parse-exposition.ts';
import { familiesToMetrics, type ConvertOptions } from './to-otel.ts';

const T: [number, number] = [1_700_000_000, 0];
const TARGET = { job: 'kubernetes-pods', instance: '10.4.1.7:9100', namespace: 'shop', pod: 'web-0' };
const OPTS: ConvertOptions = { targetLabels: TARGET, honorLabels: false, startTime: T, time: T };

function convert(text: string, format: ExpositionFormat = 'prometheus', opts: ConvertOptions = OPTS): MetricData[] {
  return familiesToMetrics(parseExposition(text, { format }).families, opts);
}

/** What the Prometheus exporter would serve for these metrics. */
function reexpose(metrics: MetricData[]): string {
  return writeExposition({ resource: resourceFromAttributes({}), scopeMetrics: [{ scope: { name: 'podscrape' }, metrics }] }, { prefix: '', targetInfo: false, scopeInfo: false });
}

/** Samples as `name{sorted labels} value` lines, sorted: equal sets of samples compare equal. */
function sampleSet(text: string, extra: Record<string, string> = {}): string[] {
  const lines: string[] = [];
  for (const family of parseExposition(text, { format: 'prometheus' }).families) {
    for (const s of family.samples) {
      const labels = { ...s.labels, ...extra };
      if (labels.le !== undefined) labels.le = String(Number(labels.le === '+Inf' ? Infinity : labels.le));
      const pairs = Object.keys(labels)
        .sort()
        .map((k) => `${k}=${JSON.stringify(labels[k])}`);
      lines.push(`${s.name}{${pairs.join(',')}} ${Object.is(s.value, -0) ? '0' : String(s.value)}`);
    }
  }
  return lines.sort();
}

/** The TYPE of every family, by name. */
function types(text: string): Record<string, string> {
  return Object.fromEntries(parseExposition(text, { format: 'prometheus' }).families.map((f) => [f.name, f.type]));
}

const NODE_EXPORTER_LIKE = `# HELP go_gc_duration_seconds A summary of the pause duration of garbage collection cycles.
# TYPE go_gc_duration_seconds summary
go_gc_duration_seconds{quantile="0"} 2.1e-05
go_gc_duration_seconds{quantile="0.5"} 4.3e-05
go_gc_duration_seconds{quantile="1"} 0.000312
go_gc_duration_seconds_sum 0.0123
go_gc_duration_seconds_count 187
# HELP node_cpu_seconds_total Seconds the CPUs spent in each mode.
# TYPE node_cpu_seconds_total counter
node_cpu_seconds_total{cpu="0",mode="idle"} 2.3189e+06
node_cpu_seconds_total{cpu="0",mode="user"} 4112.5
# HELP node_filesystem_avail_bytes Filesystem space available to non-root users in bytes.
# TYPE node_filesystem_avail_bytes gauge
node_filesystem_avail_bytes{device="/dev/sda1",fstype="ext4",mountpoint="/"} 1.2e+10
node_filesystem_avail_bytes{device="tmpfs",fstype="tmpfs",mountpoint="/run",note=""} 0
# HELP prometheus_http_request_duration_seconds Histogram of latencies for HTTP requests.
# TYPE prometheus_http_request_duration_seconds histogram
prometheus_http_request_duration_seconds_bucket{handler="/metrics",le="0.1"} 7
prometheus_http_request_duration_seconds_bucket{handler="/metrics",le="0.2"} 9
prometheus_http_request_duration_seconds_bucket{handler="/metrics",le="+Inf"} 10
prometheus_http_request_duration_seconds_sum{handler="/metrics"} 0.71
prometheus_http_request_duration_seconds_count{handler="/metrics"} 10
# TYPE legacy_untyped untyped
legacy_untyped{path="a\\\\b \\"q\\"\\nx"} NaN
counter_without_suffix_help_less 3
# TYPE counter_without_suffix counter
counter_without_suffix 12
`;

describe('scraped families to OpenTelemetry metrics and back', () => {
  it('re-exposes a node_exporter-like body sample for sample, target labels added, each family with its type', () => {
    const out = reexpose(convert(NODE_EXPORTER_LIKE));
    assert.deepEqual(sampleSet(out), sampleSet(NODE_EXPORTER_LIKE, TARGET));
    assert.deepEqual(types(out), {
      go_gc_duration_seconds: 'summary',
      node_cpu_seconds_total: 'counter',
      node_filesystem_avail_bytes: 'gauge',
      prometheus_http_request_duration_seconds: 'histogram',
      legacy_untyped: 'untyped',
      counter_without_suffix_help_less: 'untyped',
      counter_without_suffix: 'counter',
    });
    assert.match(out, /^# HELP node_cpu_seconds_total Seconds the CPUs spent in each mode\.$/m);
    assert.doesNotMatch(out, /# HELP legacy_untyped/, 'no HELP invented');
  });

  it('maps each type to the OpenTelemetry point a consumer expects', () => {
    const byName = new Map(convert(NODE_EXPORTER_LIKE).map((m) => [m.descriptor.name, m]));
    const kind = (name: string): string => {
      const m = byName.get(name);
      if (m === undefined) return 'missing';
      return m.dataPointType === DataPointType.SUM ? (m.isMonotonic ? 'monotonic sum' : 'sum') : DataPointType[m.dataPointType].toLowerCase();
    };
    assert.equal(kind('node_cpu_seconds_total'), 'monotonic sum');
    assert.equal(kind('counter_without_suffix'), 'monotonic sum');
    assert.equal(kind('node_filesystem_avail_bytes'), 'gauge');
    assert.equal(kind('legacy_untyped'), 'gauge');
    assert.equal(kind('prometheus_http_request_duration_seconds'), 'histogram');
    assert.equal(kind('go_gc_duration_seconds'), 'gauge');
    assert.equal(kind('go_gc_duration_seconds_sum'), 'monotonic sum');
    assert.equal(kind('go_gc_duration_seconds_count'), 'monotonic sum');
    const h = byName.get('prometheus_http_request_duration_seconds');
    assert.equal(h?.dataPointType, DataPointType.HISTOGRAM);
    const point = h.dataPoints[0];
    assert.deepEqual(point?.value, { buckets: { boundaries: [0.1, 0.2], counts: [7, 2, 1] }, count: 10, sum: 0.71 });
    assert.deepEqual({ ...point?.attributes }, { handler: '/metrics', ...TARGET });
  });

  it('a scraped label named like a target label becomes exported_<name>; with honor_labels the scraped value wins', () => {
    const text = '# TYPE up gauge\nup{job="inner",exported_job="x",pod="p"} 1\n';
    const [m] = convert(text);
    assert.deepEqual({ ...m?.dataPoints[0]?.attributes }, { exported_exported_job: 'inner', exported_job: 'x', exported_pod: 'p', ...TARGET });
    const [h] = convert(text, 'prometheus', { ...OPTS, honorLabels: true });
    assert.deepEqual({ ...h?.dataPoints[0]?.attributes }, { job: 'inner', exported_job: 'x', pod: 'p', instance: TARGET.instance, namespace: TARGET.namespace });
  });

  it('labels named __proto__ or constructor survive the merge', () => {
    const [m] = convert('weird{__proto__="a",constructor="b"} 1\n');
    const attributes = m?.dataPoints[0]?.attributes ?? {};
    assert.equal(attributes['__proto__'], 'a');
    assert.equal(attributes['constructor'], 'b');
    assert.match(reexpose(convert('weird{__proto__="a",constructor="b"} 1\n')), /weird\{__proto__="a",constructor="b",job=/);
  });

  it('histogram le values come back as the target wrote them (1e+06, 0.25, 1.0)', () => {
    const body = '# TYPE h histogram\nh_bucket{le="0.25"} 1\nh_bucket{le="1.0"} 2\nh_bucket{le="1e+06"} 3\nh_bucket{le="+Inf"} 4\nh_count 4\nh_sum 9\n';
    const metrics = convert(body);
    assert.equal(metrics[0]?.dataPointType, DataPointType.HISTOGRAM);
    const out = reexpose(metrics);
    for (const le of ['0.25', '1.0', '1e+06', '+Inf']) assert.match(out, new RegExp(`^h_bucket\\{[^}]*le="${le.replace(/[.+]/g, '\\$&')}"\\} \\d$`, 'm'), le);
  });

  it('a malformed histogram (no +Inf bucket, or counts going down) is passed on sample by sample', () => {
    for (const body of [
      '# TYPE h histogram\nh_bucket{le="1"} 1\nh_bucket{le="2"} 2\nh_count 2\nh_sum 3\n',
      '# TYPE h histogram\nh_bucket{le="1"} 5\nh_bucket{le="+Inf"} 2\nh_count 2\n',
      '# TYPE h histogram\nh_bucket{le="1"} 1\nh_bucket{le="+Inf"} 2\nh_count 3\n',
    ]) {
      const metrics = convert(body);
      assert.ok(
        metrics.every((m) => m.dataPointType !== DataPointType.HISTOGRAM),
        body,
      );
      const out = reexpose(metrics);
      assert.deepEqual(sampleSet(out), sampleSet(body, TARGET), body);
      assert.equal(types(out).h, 'histogram', body);
    }
  });

  it('OpenMetrics: info, stateset, gaugehistogram and _created are written as text 0.0.4 that parses', () => {
    const body = [
      '# TYPE build info',
      'build_info{version="1.2"} 1',
      '# TYPE state stateset',
      'state{state="a"} 1',
      'state{state="b"} 0',
      '# TYPE queue gaugehistogram',
      'queue_bucket{le="1"} 2',
      'queue_bucket{le="+Inf"} 3',
      'queue_gcount 3',
      'queue_gsum 2.5',
      '# TYPE requests counter',
      'requests_total 7',
      'requests_created 1.7e9',
      '# EOF',
      '',
    ].join('\n');
    const out = reexpose(convert(body, 'openmetrics'));
    const want = sampleSet(out);
    assert.ok(want.includes('build_info{instance="10.4.1.7:9100",job="kubernetes-pods",namespace="shop",pod="web-0",version="1.2"} 1'));
    assert.ok(want.includes('requests_total{instance="10.4.1.7:9100",job="kubernetes-pods",namespace="shop",pod="web-0"} 7'));
    assert.ok(!want.some((l) => l.startsWith('requests_created')), 'a start time, not a sample');
    assert.equal(want.filter((l) => l.startsWith('queue_')).length, 4);
    assert.equal(types(out).requests_total, 'counter');
    assert.equal(types(out).build_info, 'gauge');
  });

  it('what it keeps does not keep the scrape bodies alive (values, names and HELP are copies)', () => {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    // Long values shared by many series (a user agent, a query), as real targets have them.
    const agent = `Mozilla/5.0 (X11; Linux x86_64) ${'AppleWebKit/537.36 (KHTML, like Gecko) '.repeat(120)}`;
    const makeBody = (target: number): Buffer =>
      Buffer.from(
        [
          '# HELP http_requests_total Requests served, by handler and status code, since the process started.',
          '# TYPE http_requests_total counter',
          ...Array.from({ length: 200 }, (_, i) => `http_requests_total{handler="/api/v1/namespaces/{namespace}/pods/${target}",agent="${agent}${i % 4}"} ${i}`),
          '',
        ].join('\n'),
      );
    const convertBody = (target: number): MetricData[] => familiesToMetrics(parseExposition(makeBody(target), { format: 'prometheus' }).families, OPTS);
    // Once first, so that compiled code and the parser's caches are not counted below.
    convertBody(-1);
    gc();
    const before = process.memoryUsage().heapUsed;
    const kept = Array.from({ length: 20 }, (_, target) => convertBody(target));
    gc();
    const retained = process.memoryUsage().heapUsed - before;
    const bodiesBytes = 20 * makeBody(0).length;
    assert.equal(kept.flat().reduce((n, m) => n + m.dataPoints.length, 0), 20 * 200);
    // 4,000 points and 80 distinct long values need a fraction of the 20 MB of bodies they came from.
    assert.ok(bodiesBytes > 15_000_000, `bodies ${bodiesBytes} bytes`);
    assert.ok(retained < bodiesBytes / 4, `retained ${retained} bytes after conversion of ${bodiesBytes} bytes of bodies: the bodies are still referenced`);
  });
});
