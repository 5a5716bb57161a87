// The test support's OTLP protobuf decoder, against bodies built here byte by byte.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { decodeExportMetricsServiceRequest, OtlpProtobufError, plainAttributes } from './otlp-protobuf.ts';

// A minimal writer: each helper returns the bytes of one field.
type Bytes = number[];
function varint(n: bigint | number): Bytes {
  let v = BigInt.asUintN(64, BigInt(n));
  const out: Bytes = [];
  do {
    const low = Number(v & 0x7fn);
    v >>= 7n;
    out.push(v === 0n ? low : low | 0x80);
  } while (v !== 0n);
  return out;
}
const tag = (field: number, wire: number): Bytes => varint((field << 3) | wire);
const vint = (field: number, v: bigint | number): Bytes => [...tag(field, 0), ...varint(v)];
const msg = (field: number, ...parts: Bytes[]): Bytes => {
  const body = parts.flat();
  return [...tag(field, 2), ...varint(body.length), ...body];
};
const str = (field: number, s: string): Bytes => msg(field, [...Buffer.from(s, 'utf8')]);
function le64(write: (b: Buffer) => void): Bytes {
  const b = Buffer.alloc(8);
  write(b);
  return [...b];
}
const dbl = (v: number): Bytes => le64((b) => b.writeDoubleLE(v));
const u64 = (v: bigint): Bytes => le64((b) => b.writeBigUInt64LE(v));
const i64 = (v: bigint): Bytes => le64((b) => b.writeBigInt64LE(v));
const f64 = (field: number, bytes: Bytes): Bytes => [...tag(field, 1), ...bytes];
const f32 = (field: number): Bytes => [...tag(field, 5), 1, 2, 3, 4];

// common.proto: KeyValue{key=1, value=2}; AnyValue{string=1, bool=2, int=3, double=4, array=5, kvlist=6, bytes=7}
const kv = (key: string, value: Bytes): Bytes => [...str(1, key), ...msg(2, value)];
const sv = (s: string): Bytes => str(1, s);

function decodeBytes(bytes: Bytes): ReturnType<typeof decodeExportMetricsServiceRequest> {
  return decodeExportMetricsServiceRequest(Uint8Array.from(bytes));
}

describe('decodeExportMetricsServiceRequest', () => {
  test('decodes resource, scope, gauge, sum and histograms, skipping unknown fields', () => {
    const resource = [
      ...msg(1, kv('service.name', sv('svc'))),
      ...msg(1, kv('flag', vint(2, 1))),
      ...msg(1, kv('n', vint(3, -5n))),
      ...msg(1, kv('d', f64(4, dbl(1.5)))),
      ...msg(1, kv('arr', msg(5, msg(1, sv('x')), msg(1, vint(3, 7))))),
      ...msg(1, kv('map', msg(6, msg(1, kv('inner', sv('y')))))),
      ...msg(1, kv('raw', msg(7, [1, 2, 3]))),
      ...vint(2, 2),
    ];
    const scope = [...str(1, 'sc'), ...str(2, '1.2'), ...msg(3, kv('a', sv('b'))), ...vint(4, 1)];
    // NumberDataPoint{attributes=7, start=2, time=3, as_double=4, as_int=6, flags=8}
    const gaugeMetric = [
      ...str(1, 'g'),
      ...str(2, 'a gauge'),
      ...str(3, 'By'),
      ...msg(5, msg(1, msg(7, kv('volume', sv('a'))), f64(2, u64(1n)), f64(3, u64(2n ** 63n + 5n)), f64(4, dbl(100.5))), msg(1, f64(6, i64(-42n)), vint(8, 1))),
      ...msg(12, kv('meta', sv('ignored'))),
      ...vint(99, 1),
      ...f32(100),
      ...f64(101, u64(7n)),
      ...str(102, 'ignored'),
    ];
    // Sum{data_points=1, aggregation_temporality=2, is_monotonic=3}
    const sumMetric = [...str(1, 's'), ...msg(7, msg(1, f64(6, i64(3n))), vint(2, 2), vint(3, 1))];
    // HistogramDataPoint{attributes=9, start=2, time=3, count=4, sum=5, bucket_counts=6, explicit_bounds=7, flags=10, min=11, max=12}
    const packed = [...msg(9, kv('le', sv('x'))), ...f64(3, u64(9n)), ...f64(4, u64(6n)), ...f64(5, dbl(12.5)), ...msg(6, u64(1n), u64(2n), u64(3n)), ...msg(7, dbl(0.5), dbl(1)), ...f64(11, dbl(0.1)), ...f64(12, dbl(9))];
    const unpacked = [...f64(4, u64(3n)), ...f64(6, u64(1n)), ...f64(6, u64(2n)), ...f64(7, dbl(10))];
    const histogramMetric = [...str(1, 'h'), ...msg(9, msg(1, packed), msg(1, unpacked), vint(2, 1))];
    const request = msg(1, msg(1, resource), msg(2, msg(1, scope), msg(2, gaugeMetric), msg(2, sumMetric), msg(2, histogramMetric), str(3, 'scope-schema')), str(3, 'resource-schema'));

    const decoded = decodeBytes([...request, ...vint(2, 1)]);
    assert.equal(decoded.resourceMetrics.length, 1);
    const rm = decoded.resourceMetrics[0]!;
    assert.equal(rm.schemaUrl, 'resource-schema');
    assert.equal(rm.resource.droppedAttributesCount, 2);
    assert.deepEqual(plainAttributes(rm.resource.attributes), {
      'service.name': 'svc',
      flag: true,
      n: '-5',
      d: 1.5,
      arr: ['x', '7'],
      map: { inner: 'y' },
      raw: Buffer.from([1, 2, 3]).toString('base64'),
    });
    const sm = rm.scopeMetrics[0]!;
    assert.deepEqual(sm.scope, { name: 'sc', version: '1.2', attributes: [{ key: 'a', value: { stringValue: 'b' } }], droppedAttributesCount: 1 });
    assert.equal(sm.schemaUrl, 'scope-schema');
    const [g, s, h] = sm.metrics;
    assert.deepEqual(g, {
      name: 'g',
      description: 'a gauge',
      unit: 'By',
      gauge: {
        dataPoints: [
          { attributes: [{ key: 'volume', value: { stringValue: 'a' } }], startTimeUnixNano: '1', timeUnixNano: (2n ** 63n + 5n).toString(), asDouble: 100.5, flags: 0 },
          { attributes: [], startTimeUnixNano: '0', timeUnixNano: '0', asInt: '-42', flags: 1 },
        ],
      },
    });
    assert.deepEqual(s, { name: 's', description: '', unit: '', sum: { dataPoints: [{ attributes: [], startTimeUnixNano: '0', timeUnixNano: '0', asInt: '3', flags: 0 }], aggregationTemporality: 2, isMonotonic: true } });
    assert.equal(h?.histogram?.aggregationTemporality, 1);
    assert.deepEqual(h.histogram.dataPoints[0], {
      attributes: [{ key: 'le', value: { stringValue: 'x' } }],
      startTimeUnixNano: '0',
      timeUnixNano: '9',
      count: '6',
      sum: 12.5,
      bucketCounts: ['1', '2', '3'],
      explicitBounds: [0.5, 1],
      min: 0.1,
      max: 9,
      flags: 0,
    });
    assert.deepEqual(h.histogram.dataPoints[1], { attributes: [], startTimeUnixNano: '0', timeUnixNano: '0', count: '3', bucketCounts: ['1', '2'], explicitBounds: [10], flags: 0 });
  });

  test('an empty body is an empty request; the last member of a oneof wins', () => {
    assert.deepEqual(decodeBytes([]), { resourceMetrics: [] });
    const metric = [...str(1, 'm'), ...msg(5, msg(1, f64(4, dbl(1)))), ...msg(7, vint(2, 2))];
    const decoded = decodeBytes(msg(1, msg(2, msg(2, metric))));
    const m = decoded.resourceMetrics[0]!.scopeMetrics[0]!.metrics[0]!;
    assert.equal(m.gauge, undefined);
    assert.deepEqual(m.sum, { dataPoints: [], aggregationTemporality: 2, isMonotonic: false });
  });

  const malformed: Array<[string, Bytes, RegExp]> = [
    ['a varint cut short (a length)', [0x0a, 0x80], /^ExportMetricsServiceRequest: truncated varint .* at byte 1$/],
    ['a varint cut short (a tag)', [0x8a], /^ExportMetricsServiceRequest: truncated varint .* at byte 0$/],
    ['a varint longer than 10 bytes', [0x0a, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01], /varint longer than 10 bytes at byte 1$/],
    ['a length past the end of the body', [0x0a, 0x05, 0x12, 0x00], /^ExportMetricsServiceRequest: length 5 runs past the end of the message \(2 bytes left\) at byte 1$/],
    // The inner length fits the body but not its parent message.
    ['a length past the end of the enclosing message', [0x0a, 0x03, 0x0a, 0x05, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00], /^ExportMetricsServiceRequest\.resource_metrics\[0\]: length 5 runs past the end of the message \(1 bytes left\) at byte 3$/],
    ['a 64-bit value cut short', msg(1, msg(2, msg(2, msg(5, msg(1, [...tag(3, 1), 1, 2, 3]))))), /data_points\[0\]: truncated 64-bit value: needs 8 bytes, 3 left in the message at byte \d+$/],
    ['a 32-bit value cut short', [...tag(9, 5), 1, 2], /truncated 32-bit value: needs 4 bytes, 2 left/],
    ['a known field with the wrong wire type', vint(1, 1), /field resource_metrics has wire type 0 \(varint\), expected 2 \(length-delimited\) at byte 0$/],
    ['a scalar with the wrong wire type', msg(1, msg(2, msg(2, vint(1, 3)))), /metrics\[0\]: field name has wire type 0 \(varint\), expected 2/],
    ['field number 0', [0x00], /invalid field number 0 at byte 0$/],
    ['a group wire type', tag(5, 3), /unsupported wire type 3 \(start-group\) at byte 0$/],
    ['an unknown wire type', tag(5, 7), /unsupported wire type 7 \(unknown\)/],
    ['a string that is not UTF-8', msg(1, msg(2, msg(2, msg(1, [0xc3, 0x28])))), /metrics\[0\]: string is not valid UTF-8 at byte \d+$/],
  ];
  for (const [what, bytes, message] of malformed) {
    test(`rejects ${what}`, () => {
      assert.throws(() => decodeBytes(bytes), (err: unknown) => {
        assert.ok(err instanceof OtlpProtobufError, `an OtlpProtobufError, not ${String(err)}`);
        assert.match(err.message, message);
        return true;
      });
    });
  }

  test('refuses AnyValue nesting past its depth limit instead of overflowing the stack', () => {
    let value = sv('leaf');
    for (let i = 0; i < 100; i++) value = msg(5, msg(1, value));
    assert.throws(() => decodeBytes(msg(1, msg(1, msg(1, kv('deep', value))))), /AnyValue nested deeper than 64 levels/);
    let shallow = sv('leaf');
    for (let i = 0; i < 3; i++) shallow = msg(5, msg(1, shallow));
    const ok = decodeBytes(msg(1, msg(1, msg(1, kv('deep', shallow)))));
    assert.deepEqual(plainAttributes(ok.resourceMetrics[0]!.resource.attributes), { deep: [[['leaf']]] });
  });
});
