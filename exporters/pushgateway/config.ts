import '../../config/formats.ts';
import convict from 'convict';
import { checkHttpEndpoint, headerProblems } from '../push-config.ts';

export interface PushgatewayExporterConfig {
  /** Base URL of the Pushgateway (`http(s)://host:port`, optionally with a path prefix). */
  readonly endpoint: string;
  /** The group's `job`. */
  readonly job: string;
  /** The other labels of the grouping key; `instance` is added with the node name when absent. */
  readonly grouping_key: Readonly<Record<string, string>>;
  /** Milliseconds between the starts of two pushes. */
  readonly interval: number;
  /** Milliseconds one collection and one HTTP request may take. */
  readonly timeout: number;
  readonly delete_on_shutdown: boolean;
  readonly headers: Readonly<Record<string, string>>;
  readonly basic_auth: { readonly username: string; readonly password: string };
  readonly bearer_token_file: string;
  readonly tls: { readonly ca_file: string; readonly insecure_skip_verify: boolean };
}

// Module code runs once, so each format is registered once.
convict.addFormat({
  // The default is empty, which this refuses: a config that leaves the endpoint out is an error.
  name: 'pushgateway-endpoint',
  validate(value: unknown) {
    const url = checkHttpEndpoint(value, 'is required: the Pushgateway\'s URL, e.g. http://pushgateway:9091', 'must not hold credentials: use basic_auth');
    if (url.search !== '' || url.hash !== '') throw new Error('must not have a query or fragment (the group path is appended to it)');
  },
});
convict.addFormat({
  name: 'non-empty-string',
  validate(value: unknown) {
    if (typeof value !== 'string' || value === '') throw new Error('must be a non-empty string');
  },
});

/** Convict schema; every key documented and defaulted. */
export const schema = {
  endpoint: {
    doc: 'Pushgateway base URL, e.g. `http://pushgateway.monitoring:9091` (a path prefix is kept; no query, no credentials). Required.',
    format: 'pushgateway-endpoint',
    default: '',
    // Keeps convict from quoting the value in its error: a URL may hold a password by mistake.
    sensitive: true,
  },
  job: {
    doc: 'The `job` of the pushed group (and the `job` label of every pushed series).',
    format: 'non-empty-string',
    default: 'nodemeter',
  },
  grouping_key: {
    doc: 'The other labels of the grouping key (label name to value). `instance` is added with the agent\'s node name (`NODE_NAME`, else the host name) unless the map sets it; give `instance: ""` for a group without one. Every pushed series gets these labels from the Pushgateway, replacing its own of the same name. Values are URL-encoded; an empty value or one with `/` goes base64url-encoded (`<name>@base64/<value>`).',
    format: 'label-map',
    default: {} as Record<string, string>,
  },
  interval: {
    doc: 'Time between the starts of two pushes. Retries of a failed push happen within it; the next push is never started while one is in flight.',
    format: 'duration',
    default: 30_000,
  },
  timeout: {
    doc: 'Longest the collection of the pipelines, and each HTTP request to the Pushgateway, may take (also capped by interval). Bounds the DELETE on shutdown.',
    format: 'duration',
    default: 10_000,
  },
  delete_on_shutdown: {
    doc: 'DELETE the group from the Pushgateway when the agent shuts down, so its series do not outlive the agent.',
    format: Boolean,
    default: false,
  },
  headers: {
    doc: 'Extra HTTP headers sent with every request (header name to value; values may come from `${env:…}` and are never logged). Content-Type, Content-Length, Host and the connection headers are refused; Authorization only without basic_auth and bearer_token_file.',
    format: 'http-header-map',
    default: {} as Record<string, string>,
    sensitive: true,
  },
  basic_auth: {
    username: {
      doc: 'HTTP basic authentication user name; empty: no basic authentication.',
      format: String,
      default: '',
    },
    password: {
      doc: 'HTTP basic authentication password (use `${env:…}`); never logged.',
      format: String,
      default: '',
      sensitive: true,
    },
  },
  bearer_token_file: {
    doc: 'Send `Authorization: Bearer <contents>` read from this file before every push (so a rotated token is picked up). Empty: no token.',
    format: String,
    default: '',
  },
  tls: {
    ca_file: {
      doc: 'CA bundle (PEM) to verify an https endpoint with, read before every push; empty: the system\'s CAs.',
      format: String,
      default: '',
    },
    insecure_skip_verify: {
      doc: 'Do not verify the https endpoint\'s certificate.',
      format: Boolean,
      default: false,
    },
  },
};

export function validate(config: Readonly<PushgatewayExporterConfig>): Array<{ path: string; message: string }> {
  const problems = headerProblems(config.headers);
  if ('job' in config.grouping_key) problems.push({ path: 'grouping_key', message: '"job" is set by the `job` setting, not in the grouping key' });
  const auth = Object.keys(config.headers).some((name) => name.toLowerCase() === 'authorization');
  const basic = config.basic_auth.username !== '' || config.basic_auth.password !== '';
  if (config.basic_auth.username === '' && config.basic_auth.password !== '') problems.push({ path: 'basic_auth.username', message: 'is empty but a password is given' });
  if (basic && config.bearer_token_file !== '') problems.push({ path: 'bearer_token_file', message: 'give basic_auth or bearer_token_file, not both' });
  if (auth && (basic || config.bearer_token_file !== '')) problems.push({ path: 'headers', message: 'an Authorization header cannot be combined with basic_auth or bearer_token_file' });
  if (config.tls.insecure_skip_verify && config.tls.ca_file !== '') problems.push({ path: 'tls.ca_file', message: 'is not used with insecure_skip_verify: true; give one or the other' });
  if (config.endpoint !== '' && config.endpoint.startsWith('http:') && (config.tls.ca_file !== '' || config.tls.insecure_skip_verify)) {
    problems.push({ path: 'tls', message: 'is set but the endpoint is http://' });
  }
  return problems;
}

export function createDefaultConfig(): PushgatewayExporterConfig {
  return Object.freeze({
    endpoint: schema.endpoint.default,
    job: schema.job.default,
    grouping_key: Object.freeze({}),
    interval: schema.interval.default,
    timeout: schema.timeout.default,
    delete_on_shutdown: schema.delete_on_shutdown.default,
    headers: Object.freeze({}),
    basic_auth: Object.freeze({ username: '', password: '' }),
    bearer_token_file: '',
    tls: Object.freeze({ ca_file: '', insecure_skip_verify: false }),
  });
}
