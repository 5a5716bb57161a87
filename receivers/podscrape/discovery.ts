import type { PodInfo } from '../../kube/types.ts';

/**
 * The `prometheus.io/scrape|port|path|scheme` convention: a pod opts in with
 * `<prefix>/scrape: "true"`; all its targets get the rule's job name.
 */
export interface AnnotationRule {
  readonly kind: 'annotations';
  /** `prometheus.io` by default. */
  readonly prefix: string;
  readonly job: string;
  readonly mode: ScrapeMode;
}

/**
 * The kubernetes-metrics-aggregator's shape: `<prefix>/job-name` (required) names the job,
 * `/endpoint` (path, default `metrics`), `/port` (80), `/scrape-timeout-seconds` (5),
 * `/tls-enabled` (false), `/tls-verify` (true). Read from the pod's labels (as the aggregator did)
 * and annotations; an annotation wins over a label of the same key.
 */
export interface AggregatorRule {
  readonly kind: 'aggregator';
  readonly prefix: string;
  readonly mode: ScrapeMode;
}

export type DiscoveryRule = AnnotationRule | AggregatorRule;

/** `interval`: scraped in the background; `on_demand`: scraped when a pull asks for its job. */
export type ScrapeMode = 'interval' | 'on_demand';

/** One URL to scrape, with where it came from. */
export interface ScrapeTarget {
  /** Stable while the pod and its settings do not change: `job|namespace/pod|url`. */
  readonly key: string;
  readonly job: string;
  readonly mode: ScrapeMode;
  readonly url: URL;
  readonly namespace: string;
  readonly pod: string;
  readonly podUid: string;
  readonly podIp: string;
  readonly node: string;
  /** `<ip>:<port>` as Prometheus writes it (IPv6 in brackets). */
  readonly address: string;
  /** The pod's own limit (aggregator `scrape-timeout-seconds`); the receiver's default otherwise. */
  readonly timeoutMs?: number;
  /** false only when the pod said `tls-verify: false` (or the receiver disables verification). */
  readonly tlsVerify: boolean;
}

/** Why a pod that asked to be scraped has no target. */
export interface DiscoveryProblem {
  readonly namespace: string;
  readonly pod: string;
  readonly message: string;
}

const TRUE_VALUES = new Set(['true', 'True', 'TRUE', '1', 'yes']);
const FALSE_VALUES = new Set(['false', 'False', 'FALSE', '0', 'no']);

function flag(value: string | undefined, fallback: boolean): boolean | undefined {
  if (value === undefined || value === '') return fallback;
  if (TRUE_VALUES.has(value)) return true;
  if (FALSE_VALUES.has(value)) return false;
  return undefined;
}

function portNumber(value: string): number | undefined {
  if (!/^\d{1,5}$/.test(value)) return undefined;
  const n = Number(value);
  return n >= 1 && n <= 65535 ? n : undefined;
}

/** `metrics` → `/metrics`; a label value cannot hold a slash, an annotation may. */
function metricsPath(value: string): string | undefined {
  const path = value.startsWith('/') ? value : `/${value}`;
  // Only a path: a query, fragment, scheme or authority would let a pod point the agent elsewhere.
  return /^\/[A-Za-z0-9\-._~!$&'()*+,;=:@%/]*$/.test(path) && !path.startsWith('//') ? path : undefined;
}

function hostPort(ip: string, port: number): string {
  return ip.includes(':') ? `[${ip}]:${port}` : `${ip}:${port}`;
}

/** A pod that can be scraped: running, on an IP, not being deleted. */
export function scrapeablePod(pod: PodInfo): boolean {
  return pod.phase === 'Running' && pod.podIPs.length > 0 && pod.deletedAt === undefined;
}

interface Endpoint {
  readonly scheme: 'http' | 'https';
  readonly port: number;
  readonly path: string;
  readonly job: string;
  readonly timeoutMs?: number;
  readonly tlsVerify: boolean;
}

function target(pod: PodInfo, rule: DiscoveryRule, e: Endpoint): ScrapeTarget {
  const ip = pod.podIPs[0] as string;
  const address = hostPort(ip, e.port);
  const url = new URL(`${e.scheme}://${address}${e.path}`);
  const t: ScrapeTarget = {
    key: `${e.job}|${pod.namespace}/${pod.name}|${url.href}`,
    job: e.job,
    mode: rule.mode,
    url,
    namespace: pod.namespace,
    pod: pod.name,
    podUid: pod.uid,
    podIp: ip,
    node: pod.nodeName,
    address,
    tlsVerify: e.tlsVerify,
  };
  return e.timeoutMs === undefined ? t : { ...t, timeoutMs: e.timeoutMs };
}

function annotationTargets(pod: PodInfo, rule: AnnotationRule, problems: DiscoveryProblem[]): ScrapeTarget[] {
  const a = (key: string): string | undefined => pod.annotations[`${rule.prefix}/${key}`];
  const problem = (message: string): ScrapeTarget[] => {
    problems.push({ namespace: pod.namespace, pod: pod.name, message });
    return [];
  };
  const scrape = flag(a('scrape'), false);
  if (scrape === undefined) return problem(`${rule.prefix}/scrape must be "true" or "false", got ${JSON.stringify(a('scrape'))}`);
  if (!scrape) return [];
  const schemeText = a('scheme') ?? 'http';
  if (schemeText !== 'http' && schemeText !== 'https') return problem(`${rule.prefix}/scheme must be http or https, got ${JSON.stringify(schemeText)}`);
  const scheme: 'http' | 'https' = schemeText;
  const path = metricsPath(a('path') ?? '/metrics');
  if (path === undefined) return problem(`${rule.prefix}/path must be a URL path, got ${JSON.stringify(a('path'))}`);
  const base = { scheme, path, job: rule.job, tlsVerify: true };
  const portText = a('port');
  if (portText !== undefined) {
    const port = portNumber(portText);
    if (port === undefined) return problem(`${rule.prefix}/port must be a port number, got ${JSON.stringify(portText)}`);
    return [target(pod, rule, { ...base, port })];
  }
  // As Prometheus' pod role with the usual relabelling: every declared TCP port, or the scheme's
  // default port when none is declared.
  const ports = [...new Set(pod.ports.filter((p) => p.protocol === 'TCP').map((p) => p.port))];
  if (ports.length === 0) return [target(pod, rule, { ...base, port: scheme === 'https' ? 443 : 80 })];
  return ports.map((port) => target(pod, rule, { ...base, port }));
}

function aggregatorTargets(pod: PodInfo, rule: AggregatorRule, problems: DiscoveryProblem[]): ScrapeTarget[] {
  const v = (key: string): string | undefined => pod.annotations[`${rule.prefix}/${key}`] ?? pod.labels[`${rule.prefix}/${key}`];
  const job = v('job-name');
  if (job === undefined) return [];
  const problem = (message: string): ScrapeTarget[] => {
    problems.push({ namespace: pod.namespace, pod: pod.name, message });
    return [];
  };
  if (job === '') return problem(`${rule.prefix}/job-name is empty`);
  const port = portNumber(v('port') ?? '80');
  if (port === undefined) return problem(`${rule.prefix}/port must be a port number, got ${JSON.stringify(v('port'))}`);
  const path = metricsPath(v('endpoint') ?? 'metrics');
  if (path === undefined) return problem(`${rule.prefix}/endpoint must be a URL path, got ${JSON.stringify(v('endpoint'))}`);
  const timeoutText = v('scrape-timeout-seconds') ?? '5';
  const timeoutSeconds = Number(timeoutText);
  if (!/^\d+(\.\d+)?$/.test(timeoutText) || !(timeoutSeconds > 0)) {
    return problem(`${rule.prefix}/scrape-timeout-seconds must be a positive number, got ${JSON.stringify(timeoutText)}`);
  }
  const tls = flag(v('tls-enabled'), false);
  if (tls === undefined) return problem(`${rule.prefix}/tls-enabled must be "true" or "false", got ${JSON.stringify(v('tls-enabled'))}`);
  const verify = flag(v('tls-verify'), true);
  if (verify === undefined) return problem(`${rule.prefix}/tls-verify must be "true" or "false", got ${JSON.stringify(v('tls-verify'))}`);
  return [target(pod, rule, { scheme: tls ? 'https' : 'http', port, path, job, timeoutMs: Math.round(timeoutSeconds * 1000), tlsVerify: verify })];
}

/**
 * The scrape targets of one pod under the configured rules, in rule order; a target two rules
 * both find (same job and URL) is kept once. Pods that are not running or have no IP have none.
 */
export function podTargets(pod: PodInfo, rules: readonly DiscoveryRule[], problems: DiscoveryProblem[]): ScrapeTarget[] {
  if (!scrapeablePod(pod)) return [];
  const found = new Map<string, ScrapeTarget>();
  for (const rule of rules) {
    const targets = rule.kind === 'annotations' ? annotationTargets(pod, rule, problems) : aggregatorTargets(pod, rule, problems);
    for (const t of targets) if (!found.has(t.key)) found.set(t.key, t);
  }
  return [...found.values()];
}

/** Every target of `pods`, and the problems met, for one round. */
export function discoverTargets(pods: readonly PodInfo[], rules: readonly DiscoveryRule[]): { targets: ScrapeTarget[]; problems: DiscoveryProblem[] } {
  const problems: DiscoveryProblem[] = [];
  const targets: ScrapeTarget[] = [];
  for (const pod of pods) targets.push(...podTargets(pod, rules, problems));
  return { targets, problems };
}
