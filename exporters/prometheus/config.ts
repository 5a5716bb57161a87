import '../../config/formats.ts';

export interface PrometheusExporterConfig {
  /** HTTP path on the agent's server. */
  readonly path: string;
  /** Prepended with `_` to every metric name. */
  readonly metric_prefix: string;
  /** Labels added to every series; a series' own label of the same name wins. */
  readonly const_labels: Readonly<Record<string, string>>;
  /** Serve `target_info` with the agent's resource attributes. */
  readonly target_info: boolean;
  /** Add `otel_scope_name`/`otel_scope_version` labels to every series. */
  readonly scope_info: boolean;
  /** Longest a scrape may take when Prometheus sends no scrape-timeout header, in ms. */
  readonly collect_timeout: number;
}

const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

export const schema = {
  path: {
    doc: 'HTTP path the exposition is served on, on the agent listen address.',
    format: (value: unknown) => {
      if (typeof value !== 'string' || !value.startsWith('/')) throw new Error('must be a path starting with "/"');
      if (['/healthz', '/readyz', '/'].includes(value)) throw new Error(`"${value}" is reserved by the agent`);
    },
    default: '/metrics',
  },
  metric_prefix: {
    doc: 'Prefix for every metric name, joined with "_" (empty: none).',
    format: (value: unknown) => {
      if (typeof value !== 'string' || (value !== '' && !/^[a-zA-Z_:][a-zA-Z0-9_:]*$/.test(value))) {
        throw new Error('must be empty or a valid Prometheus metric name prefix');
      }
    },
    default: '',
  },
  const_labels: {
    doc: 'Labels added to every series served by this exporter (map of label name to value).',
    format: (value: unknown) => {
      if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new Error('must be a map of label names to string values');
      for (const [name, labelValue] of Object.entries(value)) {
        if (!LABEL_NAME.test(name) || name.startsWith('__')) throw new Error(`"${name}" is not a valid label name`);
        if (typeof labelValue !== 'string') throw new Error(`value of "${name}" must be a string`);
      }
    },
    default: {} as Record<string, string>,
  },
  target_info: {
    doc: 'Serve the target_info series carrying the agent resource attributes (service, node).',
    format: Boolean,
    default: true,
  },
  scope_info: {
    doc: 'Add otel_scope_name/otel_scope_version labels naming the receiver to every series.',
    format: Boolean,
    default: false,
  },
  collect_timeout: {
    doc: 'Longest a scrape may take when the scraper sends no X-Prometheus-Scrape-Timeout-Seconds header.',
    format: 'duration',
    default: 10_000,
  },
};

export function createDefaultConfig(): PrometheusExporterConfig {
  return Object.freeze({
    path: schema.path.default,
    metric_prefix: schema.metric_prefix.default,
    const_labels: Object.freeze({}),
    target_info: schema.target_info.default,
    scope_info: schema.scope_info.default,
    collect_timeout: schema.collect_timeout.default,
  });
}
