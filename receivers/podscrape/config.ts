import '../../config/formats.ts';
import convict from 'convict';

import { nonEmptyString, objectList, oneOf, onlyKeys } from '../../config/object-list.ts';
import { schemaDefaults } from '../../pipeline/schema-defaults.ts';
import type { DiscoveryRule, ScrapeMode } from './discovery.ts';

/** What a target label can be taken from. */
export type TargetLabelSource = 'namespace' | 'pod' | 'node' | 'pod_ip' | 'pod_uid';
export const TARGET_LABEL_SOURCES: readonly TargetLabelSource[] = ['namespace', 'pod', 'node', 'pod_ip', 'pod_uid'];

/** A discovery rule as written in the config. */
export type DiscoveryRuleConfig = { annotations: string; job: string; mode?: ScrapeMode } | { aggregator: string; mode?: ScrapeMode };

export interface PodScrapeReceiverConfig {
  discovery: DiscoveryRuleConfig[];
  /** Milliseconds, like every duration. */
  collection_interval: number;
  scrape_timeout: number;
  concurrency: number;
  max_body_bytes: number;
  max_decompressed_bytes: number;
  max_series: number;
  max_label_value_length: number;
  accept_openmetrics: boolean;
  honor_labels: boolean;
  instance_label: 'address' | 'pod';
  target_labels: Partial<Record<TargetLabelSource, string>>;
  bearer_token_file: string;
  tls_ca_file: string;
  tls_insecure_skip_verify: boolean;
}

const MODES: readonly ScrapeMode[] = ['interval', 'on_demand'];
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
/** An annotation or label key prefix: a DNS subdomain. */
const PREFIX = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

// Module code runs once, so each format is registered once.
convict.addFormat({
  name: 'podscrape-discovery',
  validate: objectList('discovery rules', (item, at) => {
    const kind = 'annotations' in item ? 'annotations' : 'aggregator' in item ? 'aggregator' : undefined;
    if (kind === undefined) throw new Error(`${at}: give "annotations: <prefix>" (with "job") or "aggregator: <prefix>"`);
    onlyKeys(item, at, kind === 'annotations' ? ['annotations', 'job', 'mode'] : ['aggregator', 'mode']);
    nonEmptyString(item, at, kind, true);
    if (!PREFIX.test(item[kind] as string)) throw new Error(`${at}: "${kind}" must be a key prefix such as prometheus.io, got ${JSON.stringify(item[kind])}`);
    if (kind === 'annotations') nonEmptyString(item, at, 'job', true);
    if (item['mode'] !== undefined) oneOf(item, at, 'mode', MODES);
  }),
});
convict.addFormat({
  name: 'podscrape-target-labels',
  validate(value: unknown) {
    if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new Error(`must be a map of ${TARGET_LABEL_SOURCES.join(', ')} to label names`);
    for (const [from, label] of Object.entries(value)) {
      if (!TARGET_LABEL_SOURCES.includes(from as TargetLabelSource)) throw new Error(`unknown key "${from}" (allowed: ${TARGET_LABEL_SOURCES.join(', ')})`);
      if (typeof label !== 'string' || (label !== '' && (!LABEL_NAME.test(label) || label.startsWith('__')))) {
        throw new Error(`"${from}" maps to ${JSON.stringify(label)}, which is not a label name (or "" to leave it out)`);
      }
      if (label === 'job' || label === 'instance') throw new Error(`"${from}" maps to "${label}", which the receiver sets itself`);
    }
  },
});

/** Convict schema; every key documented and defaulted. */
export const schema = {
  discovery: {
    doc:
      'Which of this node\'s running pods are scraped, by rules applied in order: `{annotations: <prefix>, job: <name>}` scrapes pods annotated `<prefix>/scrape: "true"` (with `/port`, `/path`, `/scheme`) as job <name>; `{aggregator: <prefix>}` scrapes pods labelled (or annotated) `<prefix>/job-name`, with `/endpoint`, `/port`, `/scrape-timeout-seconds`, `/tls-enabled`, `/tls-verify` (the kubernetes-metrics-aggregator\'s keys). Each rule\'s `mode`: `interval` (default) scrapes in the background every collection_interval; `on_demand` scrapes a job only when a pull asks for it with `?job=<name>`.',
    format: 'podscrape-discovery',
    default: [{ annotations: 'prometheus.io', job: 'kubernetes-pods' }] as DiscoveryRuleConfig[],
  },
  collection_interval: {
    doc: 'How often interval-mode targets are scraped; pulls are answered from the last scrape in between.',
    format: 'duration',
    default: 30_000,
  },
  scrape_timeout: {
    doc: 'Time limit of one scrape (connect, headers and body) unless the pod sets its own.',
    format: 'duration',
    default: 10_000,
  },
  concurrency: {
    doc: 'Scrapes in flight at once.',
    format: 'nat',
    default: 16,
  },
  max_body_bytes: {
    doc: 'Largest response body as received (compressed or not); a larger one fails the scrape with `up` 0.',
    format: 'nat',
    default: 16 * 1024 * 1024,
  },
  max_decompressed_bytes: {
    doc: 'Largest body after gzip decompression: the guard against compression bombs.',
    format: 'nat',
    default: 64 * 1024 * 1024,
  },
  max_series: {
    doc: 'Most samples one target may expose; a target with more fails its scrape (`up` 0, reason series_limit) and none of its series are kept.',
    format: 'nat',
    default: 50_000,
  },
  max_label_value_length: {
    doc: 'Longest label value (in characters) a target may send; a longer one fails its scrape.',
    format: 'nat',
    default: 16_384,
  },
  accept_openmetrics: {
    doc: 'Ask for the OpenMetrics text format (targets that do not speak it answer in the Prometheus text format).',
    format: Boolean,
    default: true,
  },
  honor_labels: {
    doc: 'When a scraped label has the name of a target label: false keeps the target\'s and renames the scraped one `exported_<name>` (as Prometheus does); true keeps the scraped value.',
    format: Boolean,
    default: false,
  },
  instance_label: {
    doc: 'The `instance` label: `address` (`<pod IP>:<port>`, as Prometheus) or `pod` (the pod\'s name, as the kubernetes-metrics-aggregator).',
    format: ['address', 'pod'],
    default: 'address' as 'address' | 'pod',
  },
  target_labels: {
    doc: 'Labels added to every series of a target besides `job` and `instance`: a map of namespace, pod, node, pod_ip, pod_uid to the label name ("" leaves it out). The aggregator\'s labels are `{namespace: pod_namespace, pod: "", node: "", pod_ip: pod_ip}`.',
    format: 'podscrape-target-labels',
    default: { namespace: 'namespace', pod: 'pod', node: 'node' } as Partial<Record<TargetLabelSource, string>>,
  },
  bearer_token_file: {
    doc: 'Send `Authorization: Bearer <contents>` read from this file (re-read when it changes), e.g. the service account token /var/run/secrets/kubernetes.io/serviceaccount/token. Empty: no token is sent.',
    format: String,
    default: '',
  },
  tls_ca_file: {
    doc: 'CA bundle to verify HTTPS targets with; empty: the system\'s CAs.',
    format: String,
    default: '',
  },
  tls_insecure_skip_verify: {
    doc: 'Do not verify HTTPS targets\' certificates (a pod can also ask for this with the aggregator\'s tls-verify: "false").',
    format: Boolean,
    default: false,
  },
};

export const defaultConfig = (): PodScrapeReceiverConfig => schemaDefaults(schema) as PodScrapeReceiverConfig;

/** Checks convict's formats cannot express. */
export function validateConfig(config: Readonly<PodScrapeReceiverConfig>): Array<{ path: string; message: string }> {
  const problems: Array<{ path: string; message: string }> = [];
  const positive = (path: keyof PodScrapeReceiverConfig, value: number, what: string): void => {
    if (!(value > 0)) problems.push({ path, message: `must be ${what}` });
  };
  positive('collection_interval', config.collection_interval, 'a positive duration');
  positive('scrape_timeout', config.scrape_timeout, 'a positive duration');
  positive('concurrency', config.concurrency, 'at least 1');
  positive('max_body_bytes', config.max_body_bytes, 'at least 1');
  positive('max_decompressed_bytes', config.max_decompressed_bytes, 'at least 1');
  positive('max_series', config.max_series, 'at least 1');
  positive('max_label_value_length', config.max_label_value_length, 'at least 1');
  if (config.discovery.length === 0) problems.push({ path: 'discovery', message: 'must hold at least one rule' });
  const jobs = new Map<string, ScrapeMode>();
  config.discovery.forEach((rule, i) => {
    if (!('annotations' in rule)) return;
    const mode = rule.mode ?? 'interval';
    const seen = jobs.get(rule.job);
    if (seen !== undefined && seen !== mode) problems.push({ path: `discovery.${i}.mode`, message: `job "${rule.job}" is both ${seen} and ${mode}` });
    jobs.set(rule.job, mode);
  });
  return problems;
}

/** The rules as the receiver uses them. */
export function discoveryRules(config: Readonly<PodScrapeReceiverConfig>): DiscoveryRule[] {
  return config.discovery.map((rule) =>
    'annotations' in rule
      ? { kind: 'annotations', prefix: rule.annotations, job: rule.job, mode: rule.mode ?? 'interval' }
      : { kind: 'aggregator', prefix: rule.aggregator, mode: rule.mode ?? 'interval' },
  );
}
