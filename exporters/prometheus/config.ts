import '../../config/formats.ts';
import { AGENT_PATHS } from '../../pipeline/route-table.ts';

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
  /** Pulls answered at once; one more gets 503 at once. */
  readonly max_concurrent_pulls: number;
}

export const schema = {
  path: {
    doc: 'HTTP path the exposition is served on, on the agent listen address (not /, /healthz or /readyz).',
    format: 'http-path',
    default: '/metrics',
  },
  metric_prefix: {
    doc: 'Prefix for every metric name, joined with "_" (empty: none).',
    format: 'metric-prefix',
    default: '',
  },
  const_labels: {
    doc: 'Labels added to every series served by this exporter (map of label name to value); a series label of the same name wins.',
    format: 'label-map',
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
  max_concurrent_pulls: {
    doc: 'Pulls answered at once by this exporter; a pull beyond them gets 503 with Retry-After at once instead of queueing (each pull holds its batch in memory until it is sent). Plain pulls that arrive while another is being collected share its collection and answer, and each still counts here.',
    format: 'nat',
    default: 8,
  },
};

export function validate(config: Readonly<PrometheusExporterConfig>): Array<{ path: string; message: string }> {
  const problems: Array<{ path: string; message: string }> = [];
  if (AGENT_PATHS.includes(config.path)) problems.push({ path: 'path', message: `"${config.path}" is reserved by the agent (${AGENT_PATHS.join(', ')})` });
  if (config.max_concurrent_pulls < 1) problems.push({ path: 'max_concurrent_pulls', message: 'must be at least 1' });
  return problems;
}

export function createDefaultConfig(): PrometheusExporterConfig {
  return Object.freeze({
    path: schema.path.default,
    metric_prefix: schema.metric_prefix.default,
    const_labels: Object.freeze({}),
    target_info: schema.target_info.default,
    scope_info: schema.scope_info.default,
    collect_timeout: schema.collect_timeout.default,
    max_concurrent_pulls: schema.max_concurrent_pulls.default,
  });
}
