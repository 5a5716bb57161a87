// A strict decoder of OTLP/HTTP protobuf metrics bodies (ExportMetricsServiceRequest), for the
// loopback receivers of the tests. No dependency: it reads the protobuf wire format itself
// (varint, 64-bit, length-delimited and 32-bit wire types) and returns the same shape the
// OTLP/JSON encoding has (camelCase fields, 64-bit integers as decimal strings, enums as numbers),
// so one set of checks serves both encodings.
//
// Field numbers are those of opentelemetry-proto:
//   collector/metrics/v1/metrics_service.proto  ExportMetricsServiceRequest
//   metrics/v1/metrics.proto                    ResourceMetrics … HistogramDataPoint
//   resource/v1/resource.proto                  Resource
//   common/v1/common.proto                      InstrumentationScope, KeyValue, AnyValue…
// Unknown fields are skipped, as protobuf readers do; exponential histograms, summaries,
// exemplars and Metric.metadata are not decoded. Anything malformed (a truncated varint, a
// length running past its message, a known field with the wrong wire type, invalid UTF-8…)
// throws an OtlpProtobufError naming the field path and the byte offset.

export interface AnyValue {
  stringValue?: string;
  boolValue?: boolean;
  /** int64, as a decimal string (the JSON mapping's form). */
  intValue?: string;
  doubleValue?: number;
  arrayValue?: { values: AnyValue[] };
  kvlistValue?: { values: KeyValue[] };
  /** base64, as in the JSON mapping. */
  bytesValue?: string;
}

export interface KeyValue {
  key: string;
  value: AnyValue;
}

export interface NumberDataPoint {
  attributes: KeyValue[];
  startTimeUnixNano: string;
  timeUnixNano: string;
  asDouble?: number;
  /** sfixed64, as a decimal string. */
  asInt?: string;
  flags: number;
}

export interface HistogramDataPoint {
  attributes: KeyValue[];
  startTimeUnixNano: string;
  timeUnixNano: string;
  count: string;
  sum?: number;
  bucketCounts: string[];
  explicitBounds: number[];
  min?: number;
  max?: number;
  flags: number;
}

export interface Metric {
  name: string;
  description: string;
  unit: string;
  gauge?: { dataPoints: NumberDataPoint[] };
  sum?: { dataPoints: NumberDataPoint[]; aggregationTemporality: number; isMonotonic: boolean };
  histogram?: { dataPoints: HistogramDataPoint[]; aggregationTemporality: number };
}

export interface InstrumentationScope {
  name: string;
  version: string;
  attributes: KeyValue[];
  droppedAttributesCount: number;
}

export interface ScopeMetrics {
  scope: InstrumentationScope;
  metrics: Metric[];
  schemaUrl: string;
}

export interface ResourceMetrics {
  resource: { attributes: KeyValue[]; droppedAttributesCount: number };
  scopeMetrics: ScopeMetrics[];
  schemaUrl: string;
}

export interface ExportMetricsServiceRequest {
  resourceMetrics: ResourceMetrics[];
}

export class OtlpProtobufError extends Error {
  override name = 'OtlpProtobufError';
}

const VARINT = 0;
const I64 = 1;
const LEN = 2;
const I32 = 5;
const WIRE_NAMES: Record<number, string> = { 0: 'varint', 1: '64-bit', 2: 'length-delimited', 3: 'start-group', 4: 'end-group', 5: '32-bit' };

/** AnyValue nesting (arrays, kvlists) deeper than this is refused rather than recursed into. */
const MAX_DEPTH = 64;

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Reads one message: the bytes [start, end) of a buffer shared with its parent messages. */
class MessageReader {
  readonly #buf: Uint8Array;
  readonly #view: DataView;
  readonly #end: number;
  readonly path: string;
  readonly depth: number;
  pos: number;

  constructor(buf: Uint8Array, start: number, end: number, path: string, depth: number) {
    this.#buf = buf;
    this.#view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    this.pos = start;
    this.#end = end;
    this.path = path;
    this.depth = depth;
  }

  get done(): boolean {
    return this.pos >= this.#end;
  }

  fail(message: string, at = this.pos): never {
    throw new OtlpProtobufError(`${this.path}: ${message} at byte ${at}`);
  }

  varint(): bigint {
    const start = this.pos;
    let value = 0n;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.#end) this.fail(`truncated varint (${this.pos - start} of at most 10 bytes, message ends)`, start);
      const byte = this.#buf[this.pos++]!;
      value |= BigInt(byte & 0x7f) << BigInt(7 * i);
      if ((byte & 0x80) === 0) return BigInt.asUintN(64, value);
    }
    return this.fail('varint longer than 10 bytes', start);
  }

  /** The next field's number and wire type. */
  tag(): { field: number; wire: number; at: number } {
    const at = this.pos;
    const key = this.varint();
    const field = Number(key >> 3n);
    const wire = Number(key & 7n);
    if (field === 0 || field > 0x1fffffff) this.fail(`invalid field number ${field}`, at);
    return { field, wire, at };
  }

  #need(bytes: number, what: string): number {
    const at = this.pos;
    if (this.#end - at < bytes) this.fail(`truncated ${what}: needs ${bytes} bytes, ${this.#end - at} left in the message`, at);
    this.pos += bytes;
    return at;
  }

  fixed64(): bigint {
    return this.#view.getBigUint64(this.#need(8, '64-bit value'), true);
  }

  sfixed64(): bigint {
    return this.#view.getBigInt64(this.#need(8, '64-bit value'), true);
  }

  double(): number {
    return this.#view.getFloat64(this.#need(8, '64-bit value'), true);
  }

  /** The bounds of a length-delimited field's payload; the reader moves past it. */
  span(): { start: number; end: number } {
    const at = this.pos;
    const length = this.varint();
    const left = this.#end - this.pos;
    if (length > BigInt(left)) this.fail(`length ${length} runs past the end of the message (${left} bytes left)`, at);
    const start = this.pos;
    this.pos += Number(length);
    return { start, end: this.pos };
  }

  bytes(): Uint8Array {
    const { start, end } = this.span();
    return this.#buf.subarray(start, end);
  }

  string(): string {
    const at = this.pos;
    try {
      return utf8.decode(this.bytes());
    } catch (err) {
      if (err instanceof OtlpProtobufError) throw err;
      return this.fail('string is not valid UTF-8', at);
    }
  }

  /** A reader over an embedded message's payload. */
  message(path: string): MessageReader {
    const { start, end } = this.span();
    return new MessageReader(this.#buf, start, end, `${this.path}.${path}`, this.depth + 1);
  }

  passOverUnknownField(wire: number, at: number): void {
    switch (wire) {
      case VARINT:
        this.varint();
        return;
      case I64:
        this.#need(8, '64-bit value');
        return;
      case LEN:
        this.span();
        return;
      case I32:
        this.#need(4, '32-bit value');
        return;
      default:
        this.fail(`unsupported wire type ${wire} (${WIRE_NAMES[wire] ?? 'unknown'})`, at);
    }
  }
}

type Handler = (r: MessageReader, wire: number, at: number) => void;

/** Reads every field of a message, handing known ones to `handlers` and skipping the rest. */
function readFields(r: MessageReader, handlers: Record<number, Handler>): void {
  while (!r.done) {
    const { field, wire, at } = r.tag();
    const handler = handlers[field];
    if (handler) handler(r, wire, at);
    else r.passOverUnknownField(wire, at);
  }
}

function expectWire(r: MessageReader, name: string, wire: number, expected: number, at: number): void {
  if (wire !== expected) r.fail(`field ${name} has wire type ${wire} (${WIRE_NAMES[wire] ?? 'unknown'}), expected ${expected} (${WIRE_NAMES[expected]})`, at);
}

/** Handlers for scalar fields: each checks the wire type, then stores the value. */
const field = {
  string:
    (name: string, set: (v: string) => void): Handler =>
    (r, wire, at) => {
      expectWire(r, name, wire, LEN, at);
      set(r.string());
    },
  bool:
    (name: string, set: (v: boolean) => void): Handler =>
    (r, wire, at) => {
      expectWire(r, name, wire, VARINT, at);
      set(r.varint() !== 0n);
    },
  /** int32 / enum: a varint, two's complement truncated to 32 bits. */
  int32:
    (name: string, set: (v: number) => void): Handler =>
    (r, wire, at) => {
      expectWire(r, name, wire, VARINT, at);
      set(Number(BigInt.asIntN(32, r.varint())));
    },
  uint32:
    (name: string, set: (v: number) => void): Handler =>
    (r, wire, at) => {
      expectWire(r, name, wire, VARINT, at);
      set(Number(BigInt.asUintN(32, r.varint())));
    },
  fixed64:
    (name: string, set: (v: string) => void): Handler =>
    (r, wire, at) => {
      expectWire(r, name, wire, I64, at);
      set(r.fixed64().toString());
    },
  sfixed64:
    (name: string, set: (v: string) => void): Handler =>
    (r, wire, at) => {
      expectWire(r, name, wire, I64, at);
      set(r.sfixed64().toString());
    },
  double:
    (name: string, set: (v: number) => void): Handler =>
    (r, wire, at) => {
      expectWire(r, name, wire, I64, at);
      set(r.double());
    },
  /** A repeated 64-bit field, packed (one length-delimited run) or not (one value per tag). */
  repeated64:
    <T>(name: string, read: (r: MessageReader) => T, list: T[]): Handler =>
    (r, wire, at) => {
      if (wire === I64) {
        list.push(read(r));
        return;
      }
      expectWire(r, name, wire, LEN, at);
      const packed = r.message(name);
      while (!packed.done) list.push(read(packed));
    },
  message:
    <T>(name: string, decode: (r: MessageReader) => T, set: (v: T) => void): Handler =>
    (r, wire, at) => {
      expectWire(r, name, wire, LEN, at);
      set(decode(r.message(name)));
    },
  /** A repeated embedded message; each element's path carries its index. */
  repeated:
    <T>(name: string, decode: (r: MessageReader) => T, list: T[]): Handler =>
    (r, wire, at) => {
      expectWire(r, name, wire, LEN, at);
      list.push(decode(r.message(`${name}[${list.length}]`)));
    },
};

// common/v1/common.proto

function anyValue(r: MessageReader): AnyValue {
  if (r.depth > MAX_DEPTH) r.fail(`AnyValue nested deeper than ${MAX_DEPTH} levels`);
  // `value` is a oneof: the last one on the wire wins.
  let v: AnyValue = {};
  readFields(r, {
    1: field.string('string_value', (s) => (v = { stringValue: s })),
    2: field.bool('bool_value', (b) => (v = { boolValue: b })),
    3: (rr, wire, at) => {
      expectWire(rr, 'int_value', wire, VARINT, at);
      v = { intValue: BigInt.asIntN(64, rr.varint()).toString() };
    },
    4: field.double('double_value', (d) => (v = { doubleValue: d })),
    5: field.message('array_value', arrayValue, (a) => (v = { arrayValue: a })),
    6: field.message('kvlist_value', keyValueList, (l) => (v = { kvlistValue: l })),
    7: (rr, wire, at) => {
      expectWire(rr, 'bytes_value', wire, LEN, at);
      v = { bytesValue: Buffer.from(rr.bytes()).toString('base64') };
    },
  });
  return v;
}

function arrayValue(r: MessageReader): { values: AnyValue[] } {
  const values: AnyValue[] = [];
  readFields(r, { 1: field.repeated('values', anyValue, values) });
  return { values };
}

function keyValueList(r: MessageReader): { values: KeyValue[] } {
  const values: KeyValue[] = [];
  readFields(r, { 1: field.repeated('values', keyValue, values) });
  return { values };
}

function keyValue(r: MessageReader): KeyValue {
  const kv: KeyValue = { key: '', value: {} };
  readFields(r, {
    1: field.string('key', (s) => (kv.key = s)),
    2: field.message('value', anyValue, (v) => (kv.value = v)),
  });
  return kv;
}

function instrumentationScope(r: MessageReader): InstrumentationScope {
  const scope: InstrumentationScope = { name: '', version: '', attributes: [], droppedAttributesCount: 0 };
  readFields(r, {
    1: field.string('name', (s) => (scope.name = s)),
    2: field.string('version', (s) => (scope.version = s)),
    3: field.repeated('attributes', keyValue, scope.attributes),
    4: field.uint32('dropped_attributes_count', (n) => (scope.droppedAttributesCount = n)),
  });
  return scope;
}

// resource/v1/resource.proto

function resource(r: MessageReader): ResourceMetrics['resource'] {
  const res: ResourceMetrics['resource'] = { attributes: [], droppedAttributesCount: 0 };
  readFields(r, {
    1: field.repeated('attributes', keyValue, res.attributes),
    2: field.uint32('dropped_attributes_count', (n) => (res.droppedAttributesCount = n)),
  });
  return res;
}

// metrics/v1/metrics.proto

function numberDataPoint(r: MessageReader): NumberDataPoint {
  const p: NumberDataPoint = { attributes: [], startTimeUnixNano: '0', timeUnixNano: '0', flags: 0 };
  readFields(r, {
    7: field.repeated('attributes', keyValue, p.attributes),
    2: field.fixed64('start_time_unix_nano', (t) => (p.startTimeUnixNano = t)),
    3: field.fixed64('time_unix_nano', (t) => (p.timeUnixNano = t)),
    4: field.double('as_double', (d) => {
      p.asDouble = d;
      delete p.asInt;
    }),
    6: field.sfixed64('as_int', (i) => {
      p.asInt = i;
      delete p.asDouble;
    }),
    8: field.uint32('flags', (n) => (p.flags = n)),
  });
  return p;
}

function histogramDataPoint(r: MessageReader): HistogramDataPoint {
  const p: HistogramDataPoint = { attributes: [], startTimeUnixNano: '0', timeUnixNano: '0', count: '0', bucketCounts: [], explicitBounds: [], flags: 0 };
  readFields(r, {
    9: field.repeated('attributes', keyValue, p.attributes),
    2: field.fixed64('start_time_unix_nano', (t) => (p.startTimeUnixNano = t)),
    3: field.fixed64('time_unix_nano', (t) => (p.timeUnixNano = t)),
    4: field.fixed64('count', (c) => (p.count = c)),
    5: field.double('sum', (s) => (p.sum = s)),
    6: field.repeated64('bucket_counts', (rr) => rr.fixed64().toString(), p.bucketCounts),
    7: field.repeated64('explicit_bounds', (rr) => rr.double(), p.explicitBounds),
    10: field.uint32('flags', (n) => (p.flags = n)),
    11: field.double('min', (m) => (p.min = m)),
    12: field.double('max', (m) => (p.max = m)),
  });
  return p;
}

function gauge(r: MessageReader): NonNullable<Metric['gauge']> {
  const g: NonNullable<Metric['gauge']> = { dataPoints: [] };
  readFields(r, { 1: field.repeated('data_points', numberDataPoint, g.dataPoints) });
  return g;
}

function sum(r: MessageReader): NonNullable<Metric['sum']> {
  const s: NonNullable<Metric['sum']> = { dataPoints: [], aggregationTemporality: 0, isMonotonic: false };
  readFields(r, {
    1: field.repeated('data_points', numberDataPoint, s.dataPoints),
    2: field.int32('aggregation_temporality', (t) => (s.aggregationTemporality = t)),
    3: field.bool('is_monotonic', (b) => (s.isMonotonic = b)),
  });
  return s;
}

function histogram(r: MessageReader): NonNullable<Metric['histogram']> {
  const h: NonNullable<Metric['histogram']> = { dataPoints: [], aggregationTemporality: 0 };
  readFields(r, {
    1: field.repeated('data_points', histogramDataPoint, h.dataPoints),
    2: field.int32('aggregation_temporality', (t) => (h.aggregationTemporality = t)),
  });
  return h;
}

function metric(r: MessageReader): Metric {
  const m: Metric = { name: '', description: '', unit: '' };
  // `data` is a oneof: the last one on the wire wins.
  const data = (set: () => void): void => {
    delete m.gauge;
    delete m.sum;
    delete m.histogram;
    set();
  };
  readFields(r, {
    1: field.string('name', (s) => (m.name = s)),
    2: field.string('description', (s) => (m.description = s)),
    3: field.string('unit', (s) => (m.unit = s)),
    5: field.message('gauge', gauge, (g) => data(() => (m.gauge = g))),
    7: field.message('sum', sum, (s) => data(() => (m.sum = s))),
    9: field.message('histogram', histogram, (h) => data(() => (m.histogram = h))),
  });
  return m;
}

function scopeMetrics(r: MessageReader): ScopeMetrics {
  const sm: ScopeMetrics = { scope: { name: '', version: '', attributes: [], droppedAttributesCount: 0 }, metrics: [], schemaUrl: '' };
  readFields(r, {
    1: field.message('scope', instrumentationScope, (s) => (sm.scope = s)),
    2: field.repeated('metrics', metric, sm.metrics),
    3: field.string('schema_url', (s) => (sm.schemaUrl = s)),
  });
  return sm;
}

function resourceMetrics(r: MessageReader): ResourceMetrics {
  const rm: ResourceMetrics = { resource: { attributes: [], droppedAttributesCount: 0 }, scopeMetrics: [], schemaUrl: '' };
  readFields(r, {
    1: field.message('resource', resource, (res) => (rm.resource = res)),
    2: field.repeated('scope_metrics', scopeMetrics, rm.scopeMetrics),
    3: field.string('schema_url', (s) => (rm.schemaUrl = s)),
  });
  return rm;
}

/** Decodes an OTLP ExportMetricsServiceRequest; throws OtlpProtobufError on malformed input. */
export function decodeExportMetricsServiceRequest(body: Uint8Array): ExportMetricsServiceRequest {
  const r = new MessageReader(body, 0, body.byteLength, 'ExportMetricsServiceRequest', 0);
  const request: ExportMetricsServiceRequest = { resourceMetrics: [] };
  readFields(r, { 1: field.repeated('resource_metrics', resourceMetrics, request.resourceMetrics) });
  return request;
}

/** An AnyValue as a plain value: int64 stays a decimal string, arrays and kvlists nest. */
export function plainValue(v: AnyValue): unknown {
  if (v.stringValue !== undefined) return v.stringValue;
  if (v.boolValue !== undefined) return v.boolValue;
  if (v.intValue !== undefined) return v.intValue;
  if (v.doubleValue !== undefined) return v.doubleValue;
  if (v.arrayValue !== undefined) return v.arrayValue.values.map(plainValue);
  if (v.kvlistValue !== undefined) return plainAttributes(v.kvlistValue.values);
  if (v.bytesValue !== undefined) return v.bytesValue;
  return undefined;
}

/** A KeyValue list as a record of plain values. */
export function plainAttributes(list: readonly KeyValue[]): Record<string, unknown> {
  return Object.fromEntries(list.map((kv) => [kv.key, plainValue(kv.value)]));
}
