import '../../config/formats.ts';
import convict from 'convict';
import { checkHttpEndpoint, headerProblems } from '../push-config.ts';

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

// Module code runs once, so each format is registered once.
convict.addFormat({
  // The default is empty, which this refuses: a config that leaves the endpoint out is an error.
  name: 'otlp-http-endpoint',
  validate(value: unknown) {
    checkHttpEndpoint(value, 'is required: the OTLP/HTTP metrics URL, e.g. http://collector:4318/v1/metrics', 'must not hold credentials: use headers (with ${env:…})');
  },
});

/** Convict schema; every key documented and defaulted. */
export const schema = {
  endpoint: {
    doc: 'Full OTLP/HTTP metrics URL, path included, e.g. `http://otel-collector.monitoring:4318/v1/metrics`. Required.',
    format: 'otlp-http-endpoint',
    default: '',
    // Keeps convict from quoting the value in its error: a URL may hold a password by mistake.
    sensitive: true,
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
    sensitive: true,
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
  // Messages name the header, never its value (a value may be a secret from ${env:…}).
  const problems = headerProblems(config.headers);
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
