import '../../config/formats.ts';
// Registers the `http-header-map` format this schema shares with the pushgateway exporter.
import { RESERVED_HEADERS } from '../pushgateway/config.ts';
import convict from 'convict';

export type OtlpProtocol = 'http/json' | 'http/protobuf';
export type OtlpCompression = 'gzip' | 'none';

export interface OtlpHttpExporterConfig {
  /** Full URL of the receiver's metrics path, e.g. `http://collector:4318/v1/metrics`. */
  readonly endpoint: string;
  readonly protocol: OtlpProtocol;
  readonly headers: Readonly<Record<string, string>>;
  readonly compression: OtlpCompression;
  /** Milliseconds one collection, and one export with its retries, may take. */
  readonly timeout: number;
  /** Milliseconds between the starts of two exports. */
  readonly interval: number;
  /** `k8s.cluster.name` resource attribute; empty: not set. */
  readonly cluster_name: string;
}

const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

let formatsRegistered = false;
function registerFormats(): void {
  if (formatsRegistered) return;
  formatsRegistered = true;
  convict.addFormat({
    // The default is empty, which this refuses: a config that leaves the endpoint out is an error.
    name: 'otlp-http-endpoint',
    validate(value: unknown) {
      if (typeof value !== 'string') throw new Error('must be an http:// or https:// URL');
      if (value === '') throw new Error('is required: the OTLP/HTTP metrics URL, e.g. http://collector:4318/v1/metrics');
      let url: URL;
      try {
        url = new URL(value);
      } catch {
        throw new Error(`must be an http:// or https:// URL, got ${JSON.stringify(value.slice(0, 200))}`);
      }
      if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error(`must be an http:// or https:// URL, got scheme "${url.protocol}"`);
      if (url.username !== '' || url.password !== '') throw new Error('must not hold credentials: use headers (with ${env:…})');
    },
  });
}
registerFormats();

/** Convict schema; every key documented and defaulted. */
export const schema = {
  endpoint: {
    doc: 'Full OTLP/HTTP metrics URL, path included, e.g. `http://otel-collector.monitoring:4318/v1/metrics`. Required.',
    format: 'otlp-http-endpoint',
    default: '',
  },
  protocol: {
    doc: 'Encoding of the request body: `http/json` or `http/protobuf`.',
    format: ['http/json', 'http/protobuf'],
    default: 'http/json' as OtlpProtocol,
  },
  headers: {
    doc: 'Extra HTTP headers sent with every export (header name to value; values may come from `${env:…}` and are never logged). Content-Type, Content-Length, Content-Encoding, Host and the connection headers are refused.',
    format: 'http-header-map',
    default: {} as Record<string, string>,
  },
  compression: {
    doc: 'Compress request bodies: `gzip` or `none`.',
    format: ['gzip', 'none'],
    default: 'gzip' as OtlpCompression,
  },
  timeout: {
    doc: 'Longest the collection of the pipelines may take, and separately one export including its retries (429, 502, 503, 504 and network errors are retried with backoff until this runs out). At most interval.',
    format: 'duration',
    default: 10_000,
  },
  interval: {
    doc: 'Time between the starts of two exports. An export still in flight delays the next one; exports never overlap or queue.',
    format: 'duration',
    default: 30_000,
  },
  cluster_name: {
    doc: 'Sets the `k8s.cluster.name` resource attribute of every export (e.g. `${env:CLUSTER_NAME}`); empty: not set. service.name, service.instance.id and k8s.node.name come from the agent.',
    format: String,
    default: '',
  },
};

export function validate(config: Readonly<OtlpHttpExporterConfig>): Array<{ path: string; message: string }> {
  const problems: Array<{ path: string; message: string }> = [];
  // Messages name the header, never its value (a value may be a secret from ${env:…}).
  for (const [name, value] of Object.entries(config.headers)) {
    const at = `headers::${name}`;
    if (!TOKEN.test(name)) problems.push({ path: at, message: `"${name}" is not a valid header name` });
    else if (RESERVED_HEADERS.includes(name.toLowerCase())) problems.push({ path: at, message: `"${name}" is set by the exporter itself` });
    else if (typeof value !== 'string') problems.push({ path: at, message: 'must be a string' });
    else if (/[\r\n\0]/.test(value)) problems.push({ path: at, message: 'holds a line break or NUL' });
  }
  if (config.timeout > config.interval) problems.push({ path: 'timeout', message: `must not exceed interval (${config.interval} ms)` });
  return problems;
}

export function createDefaultConfig(): OtlpHttpExporterConfig {
  return Object.freeze({
    endpoint: schema.endpoint.default,
    protocol: schema.protocol.default,
    headers: Object.freeze({}),
    compression: schema.compression.default,
    timeout: schema.timeout.default,
    interval: schema.interval.default,
    cluster_name: schema.cluster_name.default,
  });
}
