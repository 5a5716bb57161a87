// Corpus tests for the exposition parser: every family type in both formats, the escaping and
// number rules, the structural rules of each format, limits, hostile inputs, and real-world-looking
// bodies from node_exporter, a Prometheus server and a Python client.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { EXPOSITION_ACCEPT_HEADER } from './content-type.ts';
import { formatExposition, formatNumber } from './format-exposition.ts';
import { createLabels, type ExpositionFormat, type ParsedFamily, type ParseResult } from './model.ts';
import { msToSecondsText, secondsTextToMs } from './om-timestamp.ts';
import { ExpositionParseError, type ParseErrorCode } from './parse-error.ts';
import { formatFromContentType, parseExposition, type ParseOptions } from './parse-exposition.ts';

const prom = (text: string | Uint8Array, options: Omit<ParseOptions, 'format'> = {}): ParseResult => parseExposition(text, { format: 'prometheus', ...options });
const om = (text: string | Uint8Array, options: Omit<ParseOptions, 'format'> = {}): ParseResult => parseExposition(text, { format: 'openmetrics', ...options });

/** Families as plain data (labels spread into ordinary objects) for readable expectations. */
function plain(result: ParseResult): unknown[] {
  return result.families.map((f) => ({
    ...f,
    samples: f.samples.map((s) => ({ ...s, labels: { ...s.labels }, ...(s.exemplar === undefined ? {} : { exemplar: { ...s.exemplar, labels: { ...s.exemplar.labels } } }) })),
  }));
}

function family(result: ParseResult, name: string): ParsedFamily {
  const found = result.families.find((f) => f.name === name);
  assert.ok(found, `family ${name} not found in ${result.families.map((f) => f.name).join(', ')}`);
  return found;
}

function rejects(parse: () => unknown, code: ParseErrorCode, expect: { line?: number; column?: number; message?: RegExp } = {}): ExpositionParseError {
  try {
    parse();
  } catch (error) {
    assert.ok(error instanceof ExpositionParseError, `expected ExpositionParseError, got ${String(error)}`);
    assert.equal(error.code, code, error.message);
    if (expect.line !== undefined) assert.equal(error.line, expect.line, error.message);
    if (expect.column !== undefined) assert.equal(error.column, expect.column, error.message);
    if (expect.message !== undefined) assert.match(error.message, expect.message);
    assert.doesNotMatch(error.message, /[\n\r]/, 'messages are one line');
    return error;
  }
  assert.fail(`expected ${code}, but the body parsed`);
}

// ---- Prometheus text: the format's own example and every type ----

const PROMETHEUS_EXAMPLE = `# HELP http_requests_total The total number of HTTP requests.
# TYPE http_requests_total counter
http_requests_total{method="post",code="200"} 1027 1395066363000
http_requests_total{method="post",code="400"}    3 1395066363000

# Escaping in label values:
msdos_file_access_time_seconds{path="C:\\\\DIR\\\\FILE.TXT",error="Cannot find file:\\n\\"FILE.TXT\\""} 1.458255915e9

# Minimalistic line:
metric_without_timestamp_and_labels 12.47

# A weird metric from before the epoch:
something_weird{problem="division by zero"} +Inf -3982045

# A histogram, which has a pretty complex representation in the text format:
# HELP http_request_duration_seconds A histogram of the request duration.
# TYPE http_request_duration_seconds histogram
http_request_duration_seconds_bucket{le="0.05"} 24054
http_request_duration_seconds_bucket{le="0.1"} 33444
http_request_duration_seconds_bucket{le="+Inf"} 144320
http_request_duration_seconds_sum 53423
http_request_duration_seconds_count 144320

# Finally a summary, which has a complex representation, too:
# HELP rpc_duration_seconds A summary of the RPC duration in seconds.
# TYPE rpc_duration_seconds summary
rpc_duration_seconds{quantile="0.01"} 3102
rpc_duration_seconds{quantile="0.99"} 76656
rpc_duration_seconds_sum 1.7560473e+07
rpc_duration_seconds_count 2693
`;

test('prometheus: the exposition-formats example, every family and value', () => {
  const result = prom(PROMETHEUS_EXAMPLE);
  assert.equal(result.format, 'prometheus');
  assert.equal(result.sampleCount, 14);
  assert.deepStrictEqual(plain(result), [
    {
      name: 'http_requests_total',
      type: 'counter',
      help: 'The total number of HTTP requests.',
      samples: [
        { name: 'http_requests_total', labels: { method: 'post', code: '200' }, value: 1027, timestampMs: 1395066363000 },
        { name: 'http_requests_total', labels: { method: 'post', code: '400' }, value: 3, timestampMs: 1395066363000 },
      ],
    },
    {
      name: 'msdos_file_access_time_seconds',
      type: 'untyped',
      samples: [{ name: 'msdos_file_access_time_seconds', labels: { path: 'C:\\DIR\\FILE.TXT', error: 'Cannot find file:\n"FILE.TXT"' }, value: 1458255915 }],
    },
    { name: 'metric_without_timestamp_and_labels', type: 'untyped', samples: [{ name: 'metric_without_timestamp_and_labels', labels: {}, value: 12.47 }] },
    { name: 'something_weird', type: 'untyped', samples: [{ name: 'something_weird', labels: { problem: 'division by zero' }, value: Infinity, timestampMs: -3982045 }] },
    {
      name: 'http_request_duration_seconds',
      type: 'histogram',
      help: 'A histogram of the request duration.',
      samples: [
        { name: 'http_request_duration_seconds_bucket', labels: { le: '0.05' }, value: 24054 },
        { name: 'http_request_duration_seconds_bucket', labels: { le: '0.1' }, value: 33444 },
        { name: 'http_request_duration_seconds_bucket', labels: { le: '+Inf' }, value: 144320 },
        { name: 'http_request_duration_seconds_sum', labels: {}, value: 53423 },
        { name: 'http_request_duration_seconds_count', labels: {}, value: 144320 },
      ],
    },
    {
      name: 'rpc_duration_seconds',
      type: 'summary',
      help: 'A summary of the RPC duration in seconds.',
      samples: [
        { name: 'rpc_duration_seconds', labels: { quantile: '0.01' }, value: 3102 },
        { name: 'rpc_duration_seconds', labels: { quantile: '0.99' }, value: 76656 },
        { name: 'rpc_duration_seconds_sum', labels: {}, value: 17560473 },
        { name: 'rpc_duration_seconds_count', labels: {}, value: 2693 },
      ],
    },
  ]);
});

test('prometheus: gauge and explicitly untyped families; TYPE and HELP in either order', () => {
  const result = prom('# TYPE a gauge\n# HELP a Help of a.\na 1\n# HELP b Help of b.\n# TYPE b untyped\nb 2\n');
  assert.equal(family(result, 'a').type, 'gauge');
  assert.equal(family(result, 'a').help, 'Help of a.');
  assert.equal(family(result, 'b').type, 'untyped');
  assert.equal(family(result, 'b').help, 'Help of b.');
});

test('prometheus: metadata without samples is a family with no samples', () => {
  assert.deepStrictEqual(plain(prom('# HELP idle Nothing yet.\n# TYPE idle counter\n')), [{ name: 'idle', type: 'counter', help: 'Nothing yet.', samples: [] }]);
});

test('prometheus: _bucket/_sum/_count join a histogram or summary only when one was declared', () => {
  const result = prom('foo_bucket{le="1"} 1\nfoo_sum 2\n# TYPE bar summary\nbar_sum 3\nbar_count 4\nbar_bucket{le="1"} 5\n');
  assert.deepStrictEqual(
    result.families.map((f) => [f.name, f.type, f.samples.map((s) => s.name)]),
    [
      ['foo_bucket', 'untyped', ['foo_bucket']],
      ['foo_sum', 'untyped', ['foo_sum']],
      ['bar', 'summary', ['bar_sum', 'bar_count']],
      ['bar_bucket', 'untyped', ['bar_bucket']],
    ],
  );
});

test('prometheus: a counter keeps its name; foo_total and foo_created are families of their own', () => {
  const result = prom('# TYPE foo counter\nfoo 1\nfoo_total 2\nfoo_created 3\n');
  assert.deepStrictEqual(
    result.families.map((f) => [f.name, f.type]),
    [
      ['foo', 'counter'],
      ['foo_total', 'untyped'],
      ['foo_created', 'untyped'],
    ],
  );
});

test('prometheus: a family split by another one is merged, as expfmt does', () => {
  const result = prom('# TYPE a counter\na{x="1"} 1\nb 2\na{x="2"} 3\n');
  assert.deepStrictEqual(
    result.families.map((f) => [f.name, f.samples.map((s) => s.value)]),
    [
      ['a', [1, 3]],
      ['b', [2]],
    ],
  );
});

// ---- Prometheus text: whitespace, comments, line endings ----

test('prometheus: blanks and tabs between tokens are free, a trailing comma is allowed', () => {
  const result = prom('\n  \t\n \t metric_a {  a = "1" ,\tb="2",  } \t 3 \t 1000 \t \nmetric_b{a="1",} 4\nmetric_c{} 5\nmetric_d{a="x"}6\n');
  assert.deepStrictEqual(plain(result), [
    { name: 'metric_a', type: 'untyped', samples: [{ name: 'metric_a', labels: { a: '1', b: '2' }, value: 3, timestampMs: 1000 }] },
    { name: 'metric_b', type: 'untyped', samples: [{ name: 'metric_b', labels: { a: '1' }, value: 4 }] },
    { name: 'metric_c', type: 'untyped', samples: [{ name: 'metric_c', labels: {}, value: 5 }] },
    { name: 'metric_d', type: 'untyped', samples: [{ name: 'metric_d', labels: { a: 'x' }, value: 6 }] },
  ]);
});

test('prometheus: comments are ignored; only "# HELP " and "# TYPE " lines are metadata', () => {
  const result = prom('#\n# just a comment\n#HELP x not metadata\n# HELP\n# HELPER x y\n#\tTYPE  x \t gauge\n  # TYPE y counter\n# EOF\nx 1\ny 2\n');
  assert.deepStrictEqual(
    result.families.map((f) => [f.name, f.type, f.help]),
    [
      ['x', 'gauge', undefined],
      ['y', 'counter', undefined],
    ],
  );
});

test('prometheus: the last line needs no line feed (as the Prometheus server reads a body)', () => {
  assert.equal(prom('a 1\nb 2').sampleCount, 2);
  assert.equal(prom('').families.length, 0);
});

test('prometheus: CRLF line endings are rejected with a clear message', () => {
  rejects(() => prom('a 1\r\nb 2\r\n'), 'NM_PARSE_SYNTAX', { line: 1, column: 4, message: /carriage return/ });
  rejects(() => prom('# TYPE a gauge\r\na 1\n'), 'NM_PARSE_SYNTAX', { line: 1, message: /unknown metric type "gauge\\r".*carriage return/ });
  rejects(() => prom('a{b="c"}\r\n'), 'NM_PARSE_SYNTAX', { message: /carriage return/ });
  // A carriage return inside a label value or a HELP text is just a character.
  assert.equal(prom('a{b="x\ry"} 1\n').families[0]?.samples[0]?.labels.b, 'x\ry');
});

// ---- Prometheus text: escapes ----

test('prometheus: label value escapes \\\\ \\" \\n; other backslashes stay as written (as the Prometheus server)', () => {
  const labels = prom('a{x="\\\\",y="\\"",z="\\n",w="a\\tb\\u",v="\\\\n"} 1\n').families[0]?.samples[0]?.labels;
  assert.deepStrictEqual({ ...labels }, { x: '\\', y: '"', z: '\n', w: 'a\\tb\\u', v: '\\n' });
});

test('prometheus: HELP escapes only \\\\ and \\n; a quote and other backslashes stay as written', () => {
  const result = prom('# HELP a Line one\\nline two \\\\ backslash \\"quoted\\" \\t tab, "plain" quotes, trailing \\\n# HELP b  two spaces: one separates, one is text\n');
  assert.equal(family(result, 'a').help, 'Line one\nline two \\ backslash \\"quoted\\" \\t tab, "plain" quotes, trailing \\');
  assert.equal(family(result, 'b').help, ' two spaces: one separates, one is text');
});

test('empty label values are kept in both formats', () => {
  assert.deepStrictEqual({ ...prom('a{x="",y="1"} 1\n').families[0]?.samples[0]?.labels }, { x: '', y: '1' });
  assert.deepStrictEqual({ ...om('a{x="",y="1"} 1\n# EOF\n').families[0]?.samples[0]?.labels }, { x: '', y: '1' });
});

test('label names like __proto__, constructor and toString are ordinary labels', () => {
  const labels = prom('a{__proto__="p",constructor="c",toString="t",hasOwnProperty="h"} 1\nb{x="1"} 2\n').families.map((f) => f.samples[0]?.labels);
  assert.deepStrictEqual(Object.keys(labels[0] ?? {}), ['__proto__', 'constructor', 'toString', 'hasOwnProperty']);
  assert.equal(labels[0]?.['__proto__'], 'p');
  assert.equal(Reflect.get(labels[0] ?? {}, 'constructor'), 'c');
  // Nothing is inherited: absent names read as undefined.
  assert.equal(Reflect.get(labels[1] ?? {}, 'toString'), undefined);
  assert.equal(labels[1]?.['__proto__'], undefined);
  assert.equal('constructor' in (labels[1] ?? {}), false);
  assert.equal(Object.getPrototypeOf(Object.getPrototypeOf(labels[1])), null);
  assert.equal(JSON.stringify(labels[0]), '{"__proto__":"p","constructor":"c","toString":"t","hasOwnProperty":"h"}');
});

// ---- numbers ----

test('values: floats, exponents, NaN and the infinities in every spelling Go accepts', () => {
  const text = ['a 1', 'a -2.5', 'a 1e3', 'a 1E-3', 'a +7', 'a .5', 'a 5.', 'a -0', 'a 0001.100', 'a NaN', 'a nan', 'a +Inf', 'a -Inf', 'a Inf', 'a inf', 'a +infinity', 'a -Infinity', 'a 1.7976931348623157e308', 'a 4.9e-324', 'a 1e-400', 'a 12345678901234567890', 'a 0.1000000000000000055511151231257827'].join('\n');
  const values = prom(`${text}\n`).families[0]?.samples.map((s) => s.value);
  assert.deepStrictEqual(values, [1, -2.5, 1000, 0.001, 7, 0.5, 5, -0, 1.1, NaN, NaN, Infinity, -Infinity, Infinity, Infinity, Infinity, -Infinity, 1.7976931348623157e308, 5e-324, 0, 12345678901234567000, 0.1]);
  assert.ok(Object.is(values?.[7], -0));
});

test('values: the fast path agrees with Number() on many decimal forms', () => {
  const forms: string[] = [];
  for (let i = 0; i < 2000; i++) {
    const x = Math.sin(i) * 10 ** ((i % 40) - 20);
    forms.push(String(x), x.toFixed(i % 12), x.toExponential(i % 16), x.toPrecision((i % 21) + 1));
  }
  const values = prom(`${forms.map((f) => `a ${f}`).join('\n')}\n`).families[0]?.samples.map((s) => s.value);
  assert.deepStrictEqual(values, forms.map(Number));
});

test('values: what is not a Go float is rejected', () => {
  for (const bad of ['0x10', '0x1p3', '1_000', '1e', '1e+', '--1', '+-1', '1.2.3', '.', '+', 'e5', '+NaN', '-nan', 'Infinit', 'infinityy', '1,5', '١']) {
    rejects(() => prom(`a ${bad}\n`), 'NM_PARSE_SYNTAX', { line: 1, message: /is not a number/ });
    rejects(() => om(`a ${bad}\n# EOF\n`), 'NM_PARSE_SYNTAX', { line: 1, message: /is not a number/ });
  }
  rejects(() => prom('a 1e400\n'), 'NM_PARSE_SYNTAX', { message: /out of the float64 range/ });
  rejects(() => prom('a -1e309\n'), 'NM_PARSE_SYNTAX', { message: /out of the float64 range/ });
  rejects(() => prom('a\n'), 'NM_PARSE_SYNTAX', { message: /missing sample value/ });
  rejects(() => prom('a{b="c"}\n'), 'NM_PARSE_SYNTAX', { message: /missing sample value/ });
});

test('prometheus: timestamps are int64 milliseconds', () => {
  const samples = prom('a 1 0\na 1 -5\na 1 +5\na 1 1700000000123\na 1 9223372036854775807\na 1 -9223372036854775808\na 1 0009\n').families[0]?.samples;
  assert.deepStrictEqual(samples?.map((s) => s.timestampMs), [0, -5, 5, 1700000000123, 2 ** 63, -(2 ** 63), 9]);
  rejects(() => prom('a 1 9223372036854775808\n'), 'NM_PARSE_SYNTAX', { message: /int64 range/ });
  rejects(() => prom('a 1 1.5\n'), 'NM_PARSE_SYNTAX', { message: /integer number of milliseconds/ });
  rejects(() => prom('a 1 1e3\n'), 'NM_PARSE_SYNTAX', { message: /integer number of milliseconds/ });
  rejects(() => prom('a 1 123 456\n'), 'NM_PARSE_SYNTAX', { message: /unexpected text after the timestamp/ });
  rejects(() => prom('a 1 -\n'), 'NM_PARSE_SYNTAX');
});

// ---- Prometheus text: structure errors ----

test('prometheus: TYPE after the family\'s samples, and second TYPE/HELP lines, are errors', () => {
  rejects(() => prom('a 1\n# TYPE a counter\n'), 'NM_PARSE_ORDER', { line: 2, message: /TYPE line for "a" after its samples/ });
  rejects(() => prom('# TYPE a counter\n# TYPE a counter\n'), 'NM_PARSE_DUPLICATE', { line: 2, message: /second TYPE/ });
  rejects(() => prom('# HELP a x\n# HELP a y\n'), 'NM_PARSE_DUPLICATE', { line: 2, message: /second HELP/ });
  // HELP after samples is fine.
  assert.equal(prom('a 1\n# HELP a late help\n').families[0]?.help, 'late help');
});

test('prometheus: unknown or mis-cased TYPE words are errors', () => {
  rejects(() => prom('# TYPE a Counter\n'), 'NM_PARSE_SYNTAX', { message: /unknown metric type "Counter"/ });
  rejects(() => prom('# TYPE a stateset\n'), 'NM_PARSE_SYNTAX', { message: /unknown metric type/ });
  rejects(() => prom('# TYPE a\n'), 'NM_PARSE_SYNTAX', { message: /unknown metric type ""/ });
  rejects(() => prom('# TYPE a counter gauge\n'), 'NM_PARSE_SYNTAX', { message: /unexpected text after the type/ });
  rejects(() => prom('# TYPE 9a counter\n'), 'NM_PARSE_SYNTAX', { message: /expected a metric name after TYPE/ });
  rejects(() => prom('# HELP a-b text\n'), 'NM_PARSE_SYNTAX', { message: /invalid character in metric name/ });
});

test('histogram and summary samples must have their float le / quantile label', () => {
  rejects(() => prom('# TYPE h histogram\nh_bucket 1\n'), 'NM_PARSE_TYPE', { line: 2, message: /without an "le" label/ });
  rejects(() => prom('# TYPE h histogram\nh_bucket{le="fast"} 1\n'), 'NM_PARSE_TYPE', { message: /"le" label value "fast" is not a float/ });
  rejects(() => prom('# TYPE h histogram\nh_bucket{le=""} 1\n'), 'NM_PARSE_TYPE', { message: /not a float/ });
  rejects(() => prom('# TYPE h histogram\nh_bucket{le="1 "} 1\n'), 'NM_PARSE_TYPE', { message: /not a float/ });
  rejects(() => prom('# TYPE h histogram\nh 1\n'), 'NM_PARSE_TYPE', { message: /does not fit histogram family "h"/ });
  rejects(() => prom('# TYPE s summary\ns 1\n'), 'NM_PARSE_TYPE', { message: /without a "quantile" label/ });
  rejects(() => prom('# TYPE s summary\ns{quantile="p99"} 1\n'), 'NM_PARSE_TYPE', { message: /"quantile" label value "p99"/ });
  rejects(() => om('# TYPE h gaugehistogram\nh_bucket{le="\\u"} 1\n# EOF\n'), 'NM_PARSE_TYPE', { message: /not a float/ });
  // `le` and `quantile` mean nothing on other samples.
  assert.equal(prom('g{le="fast",quantile="high"} 1\n# TYPE h histogram\nh_count{le="x"} 1\n').sampleCount, 2);
});

// ---- names and label syntax (both formats) ----

test('invalid metric and label names are rejected', () => {
  rejects(() => prom('9lives 1\n'), 'NM_PARSE_SYNTAX', { line: 1, column: 1, message: /expected a metric name/ });
  rejects(() => prom('a-b 1\n'), 'NM_PARSE_SYNTAX', { column: 2, message: /invalid character in metric name/ });
  rejects(() => prom('ä 1\n'), 'NM_PARSE_SYNTAX', { message: /expected a metric name/ });
  rejects(() => prom('a{1x="y"} 1\n'), 'NM_PARSE_SYNTAX', { column: 3, message: /expected a label name/ });
  rejects(() => prom('a{x:y="z"} 1\n'), 'NM_PARSE_SYNTAX', { message: /expected "=" after the label name/ });
  rejects(() => prom('a{x-y="z"} 1\n'), 'NM_PARSE_SYNTAX');
  rejects(() => prom('a{__name__="b"} 1\n'), 'NM_PARSE_SYNTAX', { message: /"__name__" is reserved/ });
  rejects(() => prom('{__name__="a"} 1\n'), 'NM_PARSE_SYNTAX', { message: /expected a metric name/ });
  rejects(() => om('a:b{c:d="e"} 1\n# EOF\n'), 'NM_PARSE_SYNTAX');
  // Colons are fine in metric names, underscores and digits after the first character in both.
  assert.equal(prom('job:http_requests:rate5m{_a1="x"} 1\n').families[0]?.name, 'job:http_requests:rate5m');
});

test('duplicate label names in one sample are rejected, however many labels', () => {
  rejects(() => prom('foo{a="b",a="c"} 1\n'), 'NM_PARSE_DUPLICATE', { line: 1, column: 11, message: /duplicate label name "a"/ });
  rejects(() => om('foo{a="b",a="b"} 1\n# EOF\n'), 'NM_PARSE_DUPLICATE');
  const many = Array.from({ length: 40 }, (_, i) => `l${i}="${i}"`).join(',');
  assert.equal(Object.keys(prom(`foo{${many}} 1\n`).families[0]?.samples[0]?.labels ?? {}).length, 40);
  rejects(() => prom(`foo{${many},l33="again"} 1\n`), 'NM_PARSE_DUPLICATE', { message: /"l33"/ });
  rejects(() => prom(`foo{${many}} 1\nfoo{${many},l2="again"} 1\n`), 'NM_PARSE_DUPLICATE', { line: 2 });
});

test('unterminated label values and label sets are rejected', () => {
  rejects(() => prom('a{b="c} 1\n'), 'NM_PARSE_SYNTAX', { column: 5, message: /unterminated label value/ });
  rejects(() => prom('a{b="c\\"} 1\nd{e="f"} 2\n'), 'NM_PARSE_SYNTAX', { line: 1, message: /unterminated label value/ });
  rejects(() => prom('a{b="c"\n'), 'NM_PARSE_SYNTAX', { message: /unterminated label set/ });
  rejects(() => prom('a{b="c" d="e"} 1\n'), 'NM_PARSE_SYNTAX', { message: /expected "," or "}"/ });
  rejects(() => prom('a{b=c} 1\n'), 'NM_PARSE_SYNTAX', { message: /to open the label value/ });
  rejects(() => prom('a{,} 1\n'), 'NM_PARSE_SYNTAX', { message: /expected a label name/ });
  // A raw line feed cannot be inside a value: the line ends first.
  rejects(() => prom('a{b="x\ny"} 1\n'), 'NM_PARSE_SYNTAX', { line: 1, message: /unterminated label value/ });
});

test('error columns count code points and excerpts are escaped and bounded', () => {
  const error = rejects(() => prom('a{b="😀😀",c=} 1\n'), 'NM_PARSE_SYNTAX', { line: 1, column: 12 });
  assert.match(error.excerpt, /\\ud83d\\ude00/);
  const hostile = rejects(() => prom(`a{b="${'\u001b[31m'.repeat(1000)}"} 1 x\n`), 'NM_PARSE_SYNTAX');
  assert.ok(hostile.message.length < 400, `message is ${hostile.message.length} characters`);
  assert.ok(!hostile.message.includes('\u001b'), 'control characters are escaped');
});

// ---- OpenMetrics ----

const OPENMETRICS_EXAMPLE = `# TYPE acme_http_router_request_seconds summary
# UNIT acme_http_router_request_seconds seconds
# HELP acme_http_router_request_seconds Latency though all of ACME's HTTP request router.
acme_http_router_request_seconds_sum{path="/api/v1",method="GET"} 9036.32
acme_http_router_request_seconds_count{path="/api/v1",method="GET"} 807283.0
acme_http_router_request_seconds_created{path="/api/v1",method="GET"} 1605281325.0
acme_http_router_request_seconds_sum{path="/api/v2",method="POST"} 479.3
acme_http_router_request_seconds_count{path="/api/v2",method="POST"} 34.0
acme_http_router_request_seconds_created{path="/api/v2",method="POST"} 1605281325.0
# TYPE go_goroutines gauge
# HELP go_goroutines Number of goroutines that currently exist.
go_goroutines 69
# TYPE process_cpu_seconds counter
# UNIT process_cpu_seconds seconds
# HELP process_cpu_seconds Total user and system CPU time spent in seconds.
process_cpu_seconds_total 4.20072246e+06
# EOF
`;

test('openmetrics: the specification\'s example exposition', () => {
  const result = om(OPENMETRICS_EXAMPLE);
  assert.equal(result.format, 'openmetrics');
  assert.equal(result.sampleCount, 8);
  const summary = family(result, 'acme_http_router_request_seconds');
  assert.equal(summary.type, 'summary');
  assert.equal(summary.unit, 'seconds');
  assert.equal(summary.help, "Latency though all of ACME's HTTP request router.");
  assert.deepStrictEqual(
    summary.samples.map((s) => s.name),
    ['sum', 'count', 'created', 'sum', 'count', 'created'].map((suffix) => `acme_http_router_request_seconds_${suffix}`),
  );
  assert.deepStrictEqual(plain(result).slice(1), [
    { name: 'go_goroutines', type: 'gauge', help: 'Number of goroutines that currently exist.', samples: [{ name: 'go_goroutines', labels: {}, value: 69 }] },
    {
      name: 'process_cpu_seconds',
      type: 'counter',
      unit: 'seconds',
      help: 'Total user and system CPU time spent in seconds.',
      samples: [{ name: 'process_cpu_seconds_total', labels: {}, value: 4200722.46 }],
    },
  ]);
});

test('openmetrics: every family type with its sample names', () => {
  const text = `# TYPE c counter
c_total{a="1"} 1
c_created{a="1"} 1700000000
# TYPE g gauge
g 2
# TYPE h histogram
h_bucket{le="0.1"} 1
h_bucket{le="+Inf"} 2
h_count 2
h_sum 0.3
h_created 1700000000.5
# TYPE gh gaugehistogram
gh_bucket{le="1"} 1
gh_bucket{le="+Inf"} 2
gh_gcount 2
gh_gsum 1.5
# TYPE s summary
s{quantile="0.5"} 0.1
s_count 3
s_sum 0.4
s_created 1700000000
# TYPE i info
i_info{version="1.2.3"} 1
# TYPE st stateset
st{st="a"} 1
st{st="b"} 0.0
# TYPE u unknown
u 5
untyped_without_metadata 6
# EOF`;
  const result = om(text);
  assert.deepStrictEqual(
    result.families.map((f) => [f.name, f.type, f.samples.map((s) => s.name.slice(f.name.length) || '·')]),
    [
      ['c', 'counter', ['_total', '_created']],
      ['g', 'gauge', ['·']],
      ['h', 'histogram', ['_bucket', '_bucket', '_count', '_sum', '_created']],
      ['gh', 'gaugehistogram', ['_bucket', '_bucket', '_gcount', '_gsum']],
      ['s', 'summary', ['·', '_count', '_sum', '_created']],
      ['i', 'info', ['_info']],
      ['st', 'stateset', ['·', '·']],
      ['u', 'unknown', ['·']],
      ['untyped_without_metadata', 'unknown', ['·']],
    ],
  );
  assert.equal(result.sampleCount, 21);
});

test('openmetrics: a sample name that is not the current family\'s starts a new family; none may come back', () => {
  // gauge foo then foo_created: not a gauge sample, so a family of its own (allowed: a gauge owns no _created).
  assert.deepStrictEqual(
    om('# TYPE foo gauge\nfoo 1\nfoo_created 2\n# EOF\n').families.map((f) => [f.name, f.type]),
    [
      ['foo', 'gauge'],
      ['foo_created', 'unknown'],
    ],
  );
  rejects(() => om('a 1\nb 1\na 2\n# EOF\n'), 'NM_PARSE_DUPLICATE', { line: 3, message: /family "a" appears again/ });
  rejects(() => om('# TYPE a gauge\na 1\n# TYPE b gauge\n# HELP a late\n# EOF\n'), 'NM_PARSE_DUPLICATE', { line: 4 });
  rejects(() => om('# TYPE c counter\nc 1\n# EOF\n'), 'NM_PARSE_TYPE', { line: 2, message: /does not fit counter family "c" \(its samples use: _total, _created\)/ });
  rejects(() => om('# TYPE i info\ni 1\n# EOF\n'), 'NM_PARSE_TYPE');
});

test('openmetrics: family names must not clash with another family\'s sample names', () => {
  rejects(() => om('# TYPE foo counter\nfoo_total 1\n# TYPE foo_created gauge\nfoo_created 1\n# EOF\n'), 'NM_PARSE_DUPLICATE', { line: 3, message: /clashes/ });
  rejects(() => om('# TYPE foo_total gauge\nfoo_total 1\n# TYPE foo counter\n# EOF\n'), 'NM_PARSE_DUPLICATE', { message: /clashes/ });
  rejects(() => om('# TYPE h histogram\n# TYPE h_bucket gauge\n# EOF\n'), 'NM_PARSE_DUPLICATE', { message: /clashes/ });
});

test('openmetrics: metadata comes before samples, once per kind', () => {
  rejects(() => om('a 1\n# TYPE a gauge\n# EOF\n'), 'NM_PARSE_ORDER', { line: 2 });
  rejects(() => om('# TYPE a gauge\na 1\n# HELP a late\n# EOF\n'), 'NM_PARSE_ORDER');
  rejects(() => om('# TYPE a gauge\n# TYPE a gauge\n# EOF\n'), 'NM_PARSE_DUPLICATE', { message: /second TYPE/ });
  rejects(() => om('# HELP a x\n# HELP a y\n# EOF\n'), 'NM_PARSE_DUPLICATE', { message: /second HELP/ });
  rejects(() => om('# UNIT a_s s\n# UNIT a_s s\n# EOF\n'), 'NM_PARSE_DUPLICATE', { message: /second UNIT/ });
  rejects(() => om('# TYPE a untyped\n# EOF\n'), 'NM_PARSE_SYNTAX', { message: /unknown metric type "untyped"/ });
});

test('openmetrics: UNIT must be the name\'s suffix; empty UNIT and HELP count as absent', () => {
  rejects(() => om('# TYPE foo counter\n# UNIT foo seconds\n# EOF\n'), 'NM_PARSE_TYPE', { message: /unit "seconds" is not a suffix/ });
  rejects(() => om('# TYPE foo_bytes info\n# UNIT foo_bytes bytes\n# EOF\n'), 'NM_PARSE_TYPE', { message: /info families have no unit/ });
  rejects(() => om('# UNIT foo_bytes bytes\n# TYPE foo_bytes stateset\n# EOF\n'), 'NM_PARSE_TYPE', { message: /stateset families have no unit/ });
  rejects(() => om('# UNIT foo_b b-c\n# EOF\n'), 'NM_PARSE_SYNTAX', { message: /invalid character in unit/ });
  assert.deepStrictEqual(plain(om('# TYPE foo_seconds gauge\n# UNIT foo_seconds \n# HELP foo_seconds \n# EOF\n')), [{ name: 'foo_seconds', type: 'gauge', samples: [] }]);
});

test('openmetrics: strict spacing, no blank lines, no comments, no trailing comma', () => {
  rejects(() => om('a  1\n# EOF\n'), 'NM_PARSE_SYNTAX', { message: /is not a number/ });
  rejects(() => om('a\t1\n# EOF\n'), 'NM_PARSE_SYNTAX', { message: /single space, not a tab/ });
  rejects(() => om(' a 1\n# EOF\n'), 'NM_PARSE_SYNTAX', { message: /expected a metric name/ });
  rejects(() => om('a 1 \n# EOF\n'), 'NM_PARSE_SYNTAX');
  rejects(() => om('a { b="c"} 1\n# EOF\n'), 'NM_PARSE_SYNTAX');
  rejects(() => om('a{b = "c"} 1\n# EOF\n'), 'NM_PARSE_SYNTAX', { message: /"=" right after the label name/ });
  rejects(() => om('a{b="c", d="e"} 1\n# EOF\n'), 'NM_PARSE_SYNTAX');
  rejects(() => om('a{b="c",} 1\n# EOF\n'), 'NM_PARSE_SYNTAX', { message: /no trailing comma/ });
  rejects(() => om('a 1\n\nb 2\n# EOF\n'), 'NM_PARSE_SYNTAX', { line: 2, message: /empty line/ });
  rejects(() => om('# a comment\n# EOF\n'), 'NM_PARSE_SYNTAX', { message: /no other comments/ });
  rejects(() => om('#TYPE a gauge\n# EOF\n'), 'NM_PARSE_SYNTAX');
  rejects(() => om('# HELP a\n# EOF\n'), 'NM_PARSE_SYNTAX', { message: /expected a space and the help/ });
  rejects(() => om('a 1\r\n# EOF\r\n'), 'NM_PARSE_SYNTAX', { message: /carriage return/ });
  assert.equal(om('a{} 1\n# EOF\n').sampleCount, 1);
});

test('openmetrics: # EOF is required, ends the body, and may only be followed by one line feed', () => {
  assert.equal(om('a 1\n# EOF').sampleCount, 1);
  assert.equal(om('# EOF\n').families.length, 0);
  rejects(() => om('a 1\n'), 'NM_PARSE_EOF', { line: 2, message: /missing "# EOF"/ });
  rejects(() => om('a 1'), 'NM_PARSE_EOF', { line: 1, message: /missing "# EOF"/ });
  rejects(() => om(''), 'NM_PARSE_EOF', { line: 1 });
  rejects(() => om('a 1\n# EOF\nb 2\n'), 'NM_PARSE_EOF', { line: 3, message: /text after "# EOF"/ });
  rejects(() => om('a 1\n# EOF\n\n'), 'NM_PARSE_EOF', { line: 3 });
  rejects(() => om('# EOF \n'), 'NM_PARSE_SYNTAX');
});

test('openmetrics: label value and HELP escapes \\\\ \\" \\n; other backslashes stay as written', () => {
  const result = om('# HELP a Quote \\" backslash \\\\ newline \\n other \\q "raw quote"\na{x="\\"\\\\\\n",y="\\q"} 1\n# EOF\n');
  assert.equal(result.families[0]?.help, 'Quote " backslash \\ newline \n other \\q "raw quote"');
  assert.deepStrictEqual({ ...result.families[0]?.samples[0]?.labels }, { x: '"\\\n', y: '\\q' });
  rejects(() => om('# HELP a ends with \\\n# EOF\n'), 'NM_PARSE_SYNTAX', { message: /backslash at the end of a HELP text/ });
});

test('openmetrics: timestamps are float seconds, converted to milliseconds exactly', () => {
  const samples = om('a 1 1520879607.789\na 1 1520879607\na 1 -1.5\na 1 1.5e3\na 1 0.0000001\na 1 1604676851.123456789\na 1 -0.0\na 1 1.001\n# EOF\n').families[0]?.samples;
  assert.deepStrictEqual(samples?.map((s) => s.timestampMs), [1520879607789, 1520879607000, -1500, 1500000, 0.0001, 1604676851123.4568, 0, 1001]);
  for (const bad of ['NaN', '+Inf', 'inf', '1e999', '0x1']) rejects(() => om(`a 1 ${bad}\n# EOF\n`), 'NM_PARSE_SYNTAX', { message: /timestamp/ });
});

test('openmetrics: exemplars on counter totals and buckets, with or without timestamps', () => {
  const text = `# TYPE foo histogram
foo_bucket{le="0.01"} 0
foo_bucket{le="0.1"} 8 # {} 0.054
foo_bucket{le="1"} 11 # {trace_id="KOO5S4vxi0o"} 0.67
foo_bucket{le="10"} 17 # {trace_id="oHg5SJYRHA0"} 9.8 1520879607.789
foo_bucket{le="+Inf"} 17
foo_count 17
foo_sum 324789.3
foo_created 1520430000.123
# TYPE bar counter
bar_total 5 1520879607 # {span_id="a",trace_id="b"} 1 1520879606.5
# EOF
`;
  const result = om(text);
  const buckets = family(result, 'foo').samples;
  assert.equal(buckets[0]?.exemplar, undefined);
  assert.deepStrictEqual({ ...buckets[1]?.exemplar, labels: { ...buckets[1]?.exemplar?.labels } }, { labels: {}, value: 0.054 });
  assert.deepStrictEqual({ ...buckets[3]?.exemplar, labels: { ...buckets[3]?.exemplar?.labels } }, { labels: { trace_id: 'oHg5SJYRHA0' }, value: 9.8, timestampMs: 1520879607789 });
  assert.equal(family(result, 'foo').samples[7]?.value, 1520430000.123);
  const total = family(result, 'bar').samples[0];
  assert.equal(total?.timestampMs, 1520879607000);
  assert.deepStrictEqual({ ...total?.exemplar?.labels }, { span_id: 'a', trace_id: 'b' });
  assert.equal(total?.exemplar?.timestampMs, 1520879606500);
});

test('openmetrics: exemplars elsewhere, malformed, or over 128 code points are rejected', () => {
  rejects(() => om('# TYPE g gauge\ng 1 # {a="b"} 1\n# EOF\n'), 'NM_PARSE_TYPE', { message: /exemplars are allowed only/ });
  rejects(() => om('# TYPE c counter\nc_created 1 # {a="b"} 1\n# EOF\n'), 'NM_PARSE_TYPE');
  rejects(() => om('# TYPE c counter\nc_total 1 # {a="b"}\n# EOF\n'), 'NM_PARSE_SYNTAX', { message: /exemplar value/ });
  rejects(() => om('# TYPE c counter\nc_total 1 #{a="b"} 1\n# EOF\n'), 'NM_PARSE_SYNTAX', { message: /"# \{"/ });
  rejects(() => om('# TYPE c counter\nc_total 1 # a="b" 1\n# EOF\n'), 'NM_PARSE_SYNTAX');
  rejects(() => om('# TYPE c counter\nc_total 1 # {a="b"} 1 2 3\n# EOF\n'), 'NM_PARSE_SYNTAX', { message: /after the exemplar timestamp/ });
  rejects(() => om('# TYPE c counter\nc_total 1 # {a="b",a="c"} 1\n# EOF\n'), 'NM_PARSE_DUPLICATE');
  rejects(() => om('# TYPE c counter\nc_total 1 1 # {a="b"} inf inf\n# EOF\n'), 'NM_PARSE_SYNTAX', { message: /finite/ });
  const ok = `c_total 1 # {trace_id="${'x'.repeat(120)}"} 1`;
  assert.equal(om(`# TYPE c counter\n${ok}\n# EOF\n`).sampleCount, 1);
  rejects(() => om(`# TYPE c counter\nc_total 1 # {trace_id="${'x'.repeat(121)}"} 1\n# EOF\n`), 'NM_PARSE_TYPE', { message: /129 code points/ });
  // In Prometheus text there are no exemplars.
  rejects(() => prom('c_total 1 # {a="b"} 1\n'), 'NM_PARSE_SYNTAX');
});

test('openmetrics: stateset and info values', () => {
  rejects(() => om('# TYPE st stateset\nst{st="a"} 2\n# EOF\n'), 'NM_PARSE_TYPE', { message: /stateset value must be 0 or 1/ });
  rejects(() => om('# TYPE st stateset\nst{state="a"} 1\n# EOF\n'), 'NM_PARSE_TYPE', { message: /label named after the family/ });
  rejects(() => om('# TYPE i info\ni_info{v="1"} 0\n# EOF\n'), 'NM_PARSE_TYPE', { message: /info value must be 1/ });
  assert.equal(om('# TYPE i info\ni_info{v="1"} 1.0\n# EOF\n').sampleCount, 1);
});

// ---- limits and hostile inputs ----

test('maxSamples stops a 1,000,000-series body as soon as the limit is passed', () => {
  const body = 'series_with_labels{instance="10.0.0.1:9100",job="node"} 1\n'.repeat(1_000_000);
  const started = performance.now();
  const error = rejects(() => prom(body, { maxSamples: 1000 }), 'NM_PARSE_LIMIT', { line: 1001, message: /more than 1000 samples/ });
  const elapsed = performance.now() - started;
  assert.equal(error.limit, 'samples');
  // Parsing all of it takes hundreds of milliseconds; stopping at sample 1001 takes a few.
  assert.ok(elapsed < 250, `took ${elapsed.toFixed(0)} ms`);
  assert.equal(prom('a 1\nb 2\n', { maxSamples: 2 }).sampleCount, 2);
  rejects(() => om('a 1\n# EOF\n', { maxSamples: 0 }), 'NM_PARSE_LIMIT', { line: 1 });
});

test('a 10 MB label value fails fast with maxLabelValueLength, with a short message', () => {
  const body = `big{value="${'v'.repeat(10 * 1024 * 1024)}"} 1\n`;
  const error = rejects(() => prom(body, { maxLabelValueLength: 4096 }), 'NM_PARSE_LIMIT', { line: 1, column: 12, message: /label value longer than 4096 characters/ });
  assert.ok(error.message.length < 200, error.message);
  assert.equal(error.limit, 'labelValueLength');
  // An escaped value is measured after unescaping.
  rejects(() => prom(`a{b="${'\\n'.repeat(5000)}"} 1\n`, { maxLabelValueLength: 4096 }), 'NM_PARSE_LIMIT');
  assert.equal(prom(`a{b="${'\\n'.repeat(3000)}"} 1\n`, { maxLabelValueLength: 4096 }).families[0]?.samples[0]?.labels.b?.length, 3000);
  // Without the limit the value is kept whole.
  assert.equal(prom(body).families[0]?.samples[0]?.labels.value?.length, 10 * 1024 * 1024);
});

test('huge lines fail with maxLineLength; other limits', () => {
  const error = rejects(() => prom(`ok 1\n# HELP h ${'x'.repeat(5_000_000)}\n`, { maxLineLength: 65536 }), 'NM_PARSE_LIMIT', { line: 2, message: /line longer than 65536/ });
  assert.ok(error.message.length < 200);
  assert.equal(error.limit, 'lineLength');
  const limitOf = (parse: () => unknown, message: RegExp) => rejects(parse, 'NM_PARSE_LIMIT', { message }).limit;
  assert.equal(limitOf(() => prom(`${'n'.repeat(300)} 1\n`, { maxNameLength: 200 }), /metric name longer/), 'nameLength');
  assert.equal(limitOf(() => prom(`a{${'n'.repeat(300)}="x"} 1\n`, { maxNameLength: 200 }), /label name longer/), 'nameLength');
  assert.equal(limitOf(() => prom('a{a="1",b="2",c="3"} 1\n', { maxLabelsPerSample: 2 }), /more than 2 labels/), 'labelsPerSample');
  assert.equal(limitOf(() => prom('# TYPE a gauge\n# TYPE b gauge\n# TYPE c gauge\n', { maxFamilies: 2 }), /more than 2 metric families/), 'families');
  // Other errors carry no limit.
  assert.equal(rejects(() => prom('a{b="c} 1\n'), 'NM_PARSE_SYNTAX').limit, undefined);
  assert.throws(() => prom('a 1\n', { maxSamples: -1 }), RangeError);
  assert.throws(() => parseExposition('a 1\n', { format: 'json' as ExpositionFormat }), TypeError);
});

test('invalid UTF-8 is reported with its byte offset, line and column', () => {
  const bytes = Buffer.concat([Buffer.from('a 1\nb{x="ok'), Buffer.from([0xff]), Buffer.from('"} 1\n')]);
  const error = rejects(() => prom(bytes), 'NM_PARSE_UTF8', { line: 2, column: 8, message: /invalid UTF-8 at byte offset 11/ });
  assert.equal(error.offset, 11);
  assert.match(error.excerpt, /\\xff/);
  for (const bad of [[0xc0, 0x80], [0xed, 0xa0, 0x80], [0xf4, 0x90, 0x80, 0x80], [0xe2, 0x82], [0x80], [0xf8]]) {
    rejects(() => prom(Buffer.concat([Buffer.from('# HELP a é '), Buffer.from(bad), Buffer.from('\n')])), 'NM_PARSE_UTF8', { line: 1, column: 12 });
  }
  // String input with a lone surrogate cannot be UTF-8 either.
  rejects(() => prom('a{b="\ud800"} 1\n'), 'NM_PARSE_UTF8', { line: 1, column: 6 });
  // A BOM is not skipped.
  rejects(() => prom(Buffer.from('\ufeffa 1\n')), 'NM_PARSE_SYNTAX', { line: 1, column: 1 });
});

test('non-ASCII bodies parse the same from bytes and from a string', () => {
  const text = '# HELP temp Température in °C — 温度 😀\ntemp{room="Küche",emoji="😀",cjk="温度"} 21.5\n';
  const fromBytes = prom(Buffer.from(text, 'utf8'));
  assert.deepStrictEqual(fromBytes, prom(text));
  assert.deepStrictEqual({ ...fromBytes.families[0]?.samples[0]?.labels }, { room: 'Küche', emoji: '😀', cjk: '温度' });
  assert.equal(fromBytes.families[0]?.help, 'Température in °C — 温度 😀');
  // A Uint8Array that is a view into a larger buffer.
  const padded = Buffer.from(`xxxx${text}`, 'utf8');
  assert.deepStrictEqual(prom(new Uint8Array(padded.buffer, padded.byteOffset + 4, padded.length - 4)), prom(text));
});

// ---- real-world bodies ----

const NODE_EXPORTER = `# HELP go_gc_duration_seconds A summary of the pause duration of garbage collection cycles.
# TYPE go_gc_duration_seconds summary
go_gc_duration_seconds{quantile="0"} 2.3718e-05
go_gc_duration_seconds{quantile="0.25"} 3.1437e-05
go_gc_duration_seconds{quantile="0.5"} 3.7654e-05
go_gc_duration_seconds{quantile="0.75"} 4.7451e-05
go_gc_duration_seconds{quantile="1"} 0.000989121
go_gc_duration_seconds_sum 0.038210338
go_gc_duration_seconds_count 1042
# HELP node_cpu_seconds_total Seconds the CPUs spent in each mode.
# TYPE node_cpu_seconds_total counter
node_cpu_seconds_total{cpu="0",mode="idle"} 162394.07
node_cpu_seconds_total{cpu="0",mode="iowait"} 93.53
node_cpu_seconds_total{cpu="0",mode="system"} 1025.87
node_cpu_seconds_total{cpu="1",mode="idle"} 162532.86
node_cpu_seconds_total{cpu="1",mode="iowait"} 87.1
node_cpu_seconds_total{cpu="1",mode="system"} 1011.25
# HELP node_filesystem_avail_bytes Filesystem space available to non-root users in bytes.
# TYPE node_filesystem_avail_bytes gauge
node_filesystem_avail_bytes{device="/dev/sda1",fstype="ext4",mountpoint="/"} 2.4712404992e+10
node_filesystem_avail_bytes{device="tmpfs",fstype="tmpfs",mountpoint="/run"} 8.26974208e+08
# HELP node_load1 1m load average.
# TYPE node_load1 gauge
node_load1 0.21
# HELP node_network_info Non-numeric data from /sys/class/net/<iface>, value is always 1.
# TYPE node_network_info gauge
node_network_info{address="52:54:00:12:34:56",broadcast="ff:ff:ff:ff:ff:ff",device="eth0",duplex="full",ifalias="",operstate="up"} 1
# HELP node_scrape_collector_duration_seconds node_exporter: Duration of a collector scrape.
# TYPE node_scrape_collector_duration_seconds gauge
node_scrape_collector_duration_seconds{collector="cpu"} 0.000219381
node_scrape_collector_duration_seconds{collector="filesystem"} 0.001537465
# HELP node_textfile_scrape_error 1 if there was an error opening or reading a file, 0 otherwise
# TYPE node_textfile_scrape_error gauge
node_textfile_scrape_error 0
# HELP promhttp_metric_handler_requests_total Total number of scrapes by HTTP status code.
# TYPE promhttp_metric_handler_requests_total counter
promhttp_metric_handler_requests_total{code="200"} 2176
promhttp_metric_handler_requests_total{code="500"} 0
promhttp_metric_handler_requests_total{code="503"} 0
`;

test('real world: node_exporter output', () => {
  const result = prom(NODE_EXPORTER);
  assert.equal(result.sampleCount, 23);
  assert.deepStrictEqual(
    result.families.map((f) => `${f.name}:${f.type}:${f.samples.length}`),
    [
      'go_gc_duration_seconds:summary:7',
      'node_cpu_seconds_total:counter:6',
      'node_filesystem_avail_bytes:gauge:2',
      'node_load1:gauge:1',
      'node_network_info:gauge:1',
      'node_scrape_collector_duration_seconds:gauge:2',
      'node_textfile_scrape_error:gauge:1',
      'promhttp_metric_handler_requests_total:counter:3',
    ],
  );
  assert.equal(family(result, 'node_network_info').samples[0]?.labels.ifalias, '');
  assert.equal(family(result, 'node_filesystem_avail_bytes').samples[0]?.value, 24712404992);
  assert.equal(family(result, 'node_network_info').help, 'Non-numeric data from /sys/class/net/<iface>, value is always 1.');
});

const PROMETHEUS_SERVER = `# HELP prometheus_build_info A metric with a constant '1' value labeled by version, revision, branch, goversion from which prometheus was built, and the goos and goarch for the build.
# TYPE prometheus_build_info gauge
prometheus_build_info{branch="debian/sid",goarch="amd64",goos="linux",goversion="go1.19.8",revision="2.42.0+ds-1",tags="netgo,builtinassets,stringlabels",version="2.42.0"} 1
# HELP prometheus_engine_query_duration_seconds Query timings
# TYPE prometheus_engine_query_duration_seconds summary
prometheus_engine_query_duration_seconds{slice="inner_eval",quantile="0.5"} NaN
prometheus_engine_query_duration_seconds{slice="inner_eval",quantile="0.9"} NaN
prometheus_engine_query_duration_seconds{slice="inner_eval",quantile="0.99"} NaN
prometheus_engine_query_duration_seconds_sum{slice="inner_eval"} 0.001234
prometheus_engine_query_duration_seconds_count{slice="inner_eval"} 12
# HELP prometheus_http_request_duration_seconds Histogram of latencies for HTTP requests.
# TYPE prometheus_http_request_duration_seconds histogram
prometheus_http_request_duration_seconds_bucket{handler="/api/v1/query",le="0.1"} 1234
prometheus_http_request_duration_seconds_bucket{handler="/api/v1/query",le="0.2"} 1236
prometheus_http_request_duration_seconds_bucket{handler="/api/v1/query",le="0.4"} 1238
prometheus_http_request_duration_seconds_bucket{handler="/api/v1/query",le="1"} 1239
prometheus_http_request_duration_seconds_bucket{handler="/api/v1/query",le="3"} 1240
prometheus_http_request_duration_seconds_bucket{handler="/api/v1/query",le="8"} 1240
prometheus_http_request_duration_seconds_bucket{handler="/api/v1/query",le="20"} 1240
prometheus_http_request_duration_seconds_bucket{handler="/api/v1/query",le="60"} 1240
prometheus_http_request_duration_seconds_bucket{handler="/api/v1/query",le="120"} 1240
prometheus_http_request_duration_seconds_bucket{handler="/api/v1/query",le="+Inf"} 1240
prometheus_http_request_duration_seconds_sum{handler="/api/v1/query"} 12.345678901
prometheus_http_request_duration_seconds_count{handler="/api/v1/query"} 1240
# HELP prometheus_target_interval_length_seconds Actual intervals between scrapes.
# TYPE prometheus_target_interval_length_seconds summary
prometheus_target_interval_length_seconds{interval="15s",quantile="0.01"} 14.99877246
prometheus_target_interval_length_seconds{interval="15s",quantile="0.99"} 15.001023563
prometheus_target_interval_length_seconds_sum{interval="15s"} 31215.000123
prometheus_target_interval_length_seconds_count{interval="15s"} 2081
# HELP prometheus_tsdb_head_series Total number of series in the head block.
# TYPE prometheus_tsdb_head_series gauge
prometheus_tsdb_head_series 123456
`;

test('real world: Prometheus server output, NaN quantiles included', () => {
  const result = prom(PROMETHEUS_SERVER);
  assert.equal(result.sampleCount, 23);
  const summary = family(result, 'prometheus_engine_query_duration_seconds');
  assert.ok(summary.samples.slice(0, 3).every((s) => Number.isNaN(s.value)));
  assert.deepStrictEqual({ ...summary.samples[0]?.labels }, { slice: 'inner_eval', quantile: '0.5' });
  const histogram = family(result, 'prometheus_http_request_duration_seconds');
  assert.equal(histogram.samples.length, 12);
  assert.equal(histogram.samples[9]?.labels.le, '+Inf');
  assert.equal(family(result, 'prometheus_build_info').samples[0]?.labels.tags, 'netgo,builtinassets,stringlabels');
});

const PYTHON_CLIENT_OPENMETRICS = `# HELP python_gc_objects_collected Objects collected during gc
# TYPE python_gc_objects_collected counter
python_gc_objects_collected_total{generation="0"} 231.0
python_gc_objects_collected_total{generation="1"} 28.0
# HELP python_info Python platform information
# TYPE python_info gauge
python_info{implementation="CPython",major="3",minor="11",patchlevel="2",version="3.11.2"} 1.0
# HELP process_cpu_seconds Total user and system CPU time spent in seconds.
# TYPE process_cpu_seconds counter
# UNIT process_cpu_seconds seconds
process_cpu_seconds_total 4.2
# HELP request_latency_seconds Request latency
# TYPE request_latency_seconds histogram
# UNIT request_latency_seconds seconds
request_latency_seconds_bucket{le="0.005"} 0.0
request_latency_seconds_bucket{le="0.01"} 2.0 # {trace_id="4bf92f3577b34da6"} 0.0071 1.700000000123e+09
request_latency_seconds_bucket{le="+Inf"} 3.0
request_latency_seconds_count 3.0
request_latency_seconds_sum 0.0312
request_latency_seconds_created 1.700000000123e+09
# HELP worker_state Worker state
# TYPE worker_state stateset
worker_state{worker_state="idle"} 0.0
worker_state{worker_state="busy"} 1.0
# HELP build Build information
# TYPE build info
build_info{branch="main",revision="abc123"} 1.0
# EOF
`;

test('real world: OpenMetrics from a Python client', () => {
  const result = om(PYTHON_CLIENT_OPENMETRICS);
  assert.equal(result.sampleCount, 13);
  const histogram = family(result, 'request_latency_seconds');
  assert.equal(histogram.unit, 'seconds');
  assert.equal(histogram.samples[1]?.exemplar?.timestampMs, 1700000000123);
  assert.equal(histogram.samples[5]?.value, 1700000000.123);
  assert.deepStrictEqual(
    result.families.map((f) => f.type),
    ['counter', 'gauge', 'counter', 'histogram', 'stateset', 'info'],
  );
});

test('the same body parses the same as a string, a Buffer and a Uint8Array', () => {
  for (const [text, parse] of [
    [NODE_EXPORTER, prom],
    [PROMETHEUS_SERVER, prom],
    [PYTHON_CLIENT_OPENMETRICS, om],
  ] as const) {
    const expected = parse(text);
    assert.deepStrictEqual(parse(Buffer.from(text)), expected);
    assert.deepStrictEqual(parse(new TextEncoder().encode(text)), expected);
  }
});

// ---- the writer ----

test('formatExposition writes the canonical form of each format', () => {
  const result = prom('# TYPE h histogram\n# HELP h Help with \\\\ and\\nnewline.\nh_bucket{le="+Inf", a="x\\"y"} +Inf 123\nh_sum -0\nh_count NaN\nu{b=""} 1e21\n');
  assert.equal(
    formatExposition(result, 'prometheus'),
    '# HELP h Help with \\\\ and\\nnewline.\n# TYPE h histogram\nh_bucket{le="+Inf",a="x\\"y"} +Inf 123\nh_sum -0\nh_count NaN\n# TYPE u untyped\nu{b=""} 1e+21\n',
  );
  assert.equal(
    formatExposition(result, 'openmetrics'),
    '# TYPE h histogram\n# HELP h Help with \\\\ and\\nnewline.\nh_bucket{le="+Inf",a="x\\"y"} +Inf 0.123\nh_sum -0\nh_count NaN\n# TYPE u unknown\nu{b=""} 1e+21\n# EOF\n',
  );
  const openMetrics = om(PYTHON_CLIENT_OPENMETRICS);
  assert.deepStrictEqual(om(formatExposition(openMetrics, 'openmetrics')), openMetrics);
  // OpenMetrics-only types map to their nearest 0.0.4 reading.
  assert.match(formatExposition(openMetrics, 'prometheus'), /^# HELP build_info Build information\n# TYPE build_info gauge\nbuild_info\{branch="main",revision="abc123"\} 1$/m);
  assert.match(formatExposition(openMetrics, 'prometheus'), /^# TYPE worker_state gauge$/m);
});

test('formatExposition converts between the formats so that the other format parses it', () => {
  const fromPrometheus = prom(PROMETHEUS_EXAMPLE + NODE_EXPORTER.replace(/^go_gc.*\n|^# (HELP|TYPE) go_gc.*\n/gm, '') + PROMETHEUS_SERVER);
  const asOpenMetrics = om(formatExposition(fromPrometheus, 'openmetrics'));
  assert.equal(asOpenMetrics.sampleCount, fromPrometheus.sampleCount);
  // 0.0.4 counters become OpenMetrics counters named without _total, with the same sample names.
  assert.deepStrictEqual(plain(asOpenMetrics)[0], { ...(plain(fromPrometheus)[0] as ParsedFamily), name: 'http_requests' });
  assert.equal(family(asOpenMetrics, 'http_requests').samples[0]?.name, 'http_requests_total');
  assert.equal(family(asOpenMetrics, 'node_cpu_seconds').samples[0]?.name, 'node_cpu_seconds_total');
  assert.match(formatExposition(prom('# TYPE c counter\nc 1\n'), 'openmetrics'), /^# TYPE c counter\nc_total 1\n# EOF\n$/);
  // And back: counters under their _total name, _created series as gauges of their own.
  const fromOpenMetrics = om(PYTHON_CLIENT_OPENMETRICS);
  const asPrometheus = prom(formatExposition(fromOpenMetrics, 'prometheus'));
  assert.equal(asPrometheus.sampleCount, fromOpenMetrics.sampleCount);
  assert.deepStrictEqual(
    asPrometheus.families.map((f) => `${f.name}:${f.type}:${f.samples.length}`),
    [
      'python_gc_objects_collected_total:counter:2',
      'python_info:gauge:1',
      'process_cpu_seconds_total:counter:1',
      'request_latency_seconds:histogram:5',
      'request_latency_seconds_created:gauge:1',
      'worker_state:gauge:2',
      'build_info:gauge:1',
    ],
  );
});

test('formatNumber and the seconds/milliseconds conversions', () => {
  assert.deepStrictEqual([Infinity, -Infinity, NaN, 0, -0, 1.5, 1e21, 1e-7, 123456789012].map(formatNumber), ['+Inf', '-Inf', 'NaN', '0', '-0', '1.5', '1e+21', '1e-7', '123456789012']);
  assert.deepStrictEqual([1520879607789, 1000, 1, 0.5, -1500, 1e30, 1.7976931348623157e308, 5e-324, 1234.5].map(msToSecondsText), [
    '1520879607.789',
    '1',
    '0.001',
    '0.0005',
    '-1.5',
    '1e27',
    '1.7976931348623157e305',
    '5e-327',
    '1.2345',
  ]);
  for (const ms of [1520879607789, 0.1, 123.456, 1e-9, 2 ** 53 + 2, 1.7976931348623157e308, 5e-324]) assert.equal(secondsTextToMs(msToSecondsText(ms)), ms);
  assert.equal(secondsTextToMs('1.5E3'), 1500000);
  assert.throws(() => msToSecondsText(NaN), RangeError);
});

// ---- Content-Type ----

test('formatFromContentType chooses the parser the way Prometheus does', () => {
  assert.equal(formatFromContentType('application/openmetrics-text; version=1.0.0; charset=utf-8'), 'openmetrics');
  assert.equal(formatFromContentType('Application/OpenMetrics-Text;version=0.0.1'), 'openmetrics');
  assert.equal(formatFromContentType('application/openmetrics-text'), 'openmetrics');
  assert.equal(formatFromContentType('text/plain; version=0.0.4; charset=utf-8'), 'prometheus');
  assert.equal(formatFromContentType('text/plain'), 'prometheus');
  assert.equal(formatFromContentType('application/json'), 'prometheus');
  assert.equal(formatFromContentType(''), 'prometheus');
  assert.equal(formatFromContentType(undefined), 'prometheus');
  assert.equal(formatFromContentType(null), 'prometheus');
  assert.match(EXPOSITION_ACCEPT_HEADER, /^application\/openmetrics-text;version=1\.0\.0/);
});

test('createLabels builds label sets like the parser\'s', () => {
  const labels = createLabels([['__proto__', 'x'], ['b', 'y']]);
  assert.deepStrictEqual(labels, prom('a{__proto__="x",b="y"} 1\n').families[0]?.samples[0]?.labels);
  assert.deepStrictEqual(createLabels({ a: '1' }), createLabels([['a', '1']]));
});
