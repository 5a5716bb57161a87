// The podscrape receiver in a real agent process, its pods served by the test Kubernetes API
// server and pointing at real loopback servers (pod IP 127.0.0.1, `prometheus.io/port` = the
// server's port):
//
// 1. round trip: a real node_exporter, a real Prometheus and a real Pushgateway (with pushed
//    groups) as targets, each behind a relay that records what it sent the agent; every series
//    comes back out of the agent exactly as sent (name, labels plus the target labels, colliding
//    ones as `exported_<name>`, value, HELP, TYPE; histogram `le` as written has its own test),
//    and `promtool check metrics` says nothing about the agent's exposition that it does not say
//    about the originals;
// 2. hostile targets (slow headers, endless body, gzip bomb, huge body, a million series, a 10 MB
//    label value, invalid UTF-8, labels that try to overwrite the target labels): each is cut off
//    by its limit and reported, while a healthy target is served, pulls stay fast and the
//    agent's memory stays far below what the targets offered;
// 3. on-demand jobs (the kubernetes-metrics-aggregator's `/metrics?job=<name>`);
// 4. pod churn (added, deleted, not running, no IP, another node);
// 5. the default 30 s collection_interval: `nodemeter collect --once`, and a running agent's
//    first round as soon as the Kubernetes cache has synced.
//
// Each describe has its own API server, targets and agent (its own node name), started in
// `before` and stopped in `after`. About 12 s in all on a 2-CPU machine.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { createServer, request, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { gunzipSync } from 'node:zlib';
import { AGENT_BIN, assertHealthy, NODE24, REPO_ROOT, startAgent, waitForSamples, type Agent } from '../support/agent.ts';
import { findSamples, formatSample, parseExposition, sampleValue, type Sample } from '../support/exposition.ts';
import { delayed, endlessBody, exposition, gzipBomb, HostileTarget, hugeBody, slowHeaders, type Behaviour } from '../support/hostile-target.ts';
import { httpGet, type HttpResponse } from '../support/http.ts';
import { pod } from '../support/kube-api/fixtures.ts';
import type { KubeObject } from '../support/kube-api/resources.ts';
import { KubeApiServer } from '../support/kube-api/server.ts';
import { MountNamespace } from '../support/mountns.ts';
import { NodeExporter } from '../support/node-exporter.ts';
import { requirePrereqs } from '../support/prereqs.ts';
import { makeTempDir, run, sleep } from '../support/proc.ts';
import { Prometheus } from '../support/prometheus.ts';
import { promtoolCheckMetrics } from '../support/promtool.ts';
import { Pushgateway } from '../support/pushgateway.ts';

type Labels = Record<string, string>;

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;

/** The families the receiver writes per target itself. */
const SYNTHETIC = new Set(['up', 'scrape_duration_seconds', 'scrape_samples_scraped']);

/** A pod on `node` at 127.0.0.1 that asks to be scraped on `port` (and `path`) by `prefix`'s annotations. */
function annotatedPod(name: string, node: string, port: number, opts: { namespace?: string; path?: string; prefix?: string; phase?: string } = {}): KubeObject {
  const prefix = opts.prefix ?? 'prometheus.io';
  return pod(name, {
    namespace: opts.namespace ?? 'default',
    node,
    podIP: '127.0.0.1',
    ...(opts.phase === undefined ? {} : { phase: opts.phase }),
    annotations: {
      [`${prefix}/scrape`]: 'true',
      [`${prefix}/port`]: String(port),
      ...(opts.path === undefined ? {} : { [`${prefix}/path`]: opts.path }),
    },
  });
}

/** The same pod without any IP, as the API server shows a pod before the network is set up. */
function withoutIp(obj: KubeObject): KubeObject {
  const status = obj['status'] as Record<string, unknown>;
  delete status['podIP'];
  delete status['podIPs'];
  return obj;
}

function portOf(target: HostileTarget): number {
  return Number(new URL(target.origin).port);
}

/** An agent config: one podscrape receiver (its settings indented 4 spaces) → prometheus. */
function agentConfig(receiver: string[]): string {
  return [
    'receivers:',
    ...(receiver.length === 0 ? ['  podscrape: {}'] : ['  podscrape:', ...receiver]),
    'exporters:',
    '  prometheus: {}',
    'service:',
    '  pipelines:',
    '    metrics:',
    '      receivers: [podscrape]',
    '      exporters: [prometheus]',
    '',
  ].join('\n');
}

function kubeArgs(api: KubeApiServer, node: string): string[] {
  return ['--kube-api-url', api.url, '--node-name', node];
}

interface Pull {
  readonly response: HttpResponse;
  readonly samples: Sample[];
}

async function pull(agent: Agent, path = '/metrics'): Promise<Pull> {
  const response = await agent.scrape(path);
  return { response, samples: parseExposition(response.body) };
}

function listing(samples: readonly Sample[], max = 40): string {
  const lines = samples.slice(0, max).map(formatSample);
  if (samples.length > max) lines.push(`… and ${samples.length - max} more`);
  return lines.join('\n') || '(none)';
}

/** Pulls until `check` returns something; the failure shows the last pull's target families. */
function waitForPull<T>(agent: Agent, what: string, check: (samples: Sample[]) => T | undefined, timeoutMs = 10_000): Promise<T> {
  const show = (last: Sample[]): string => `last pull's target families:\n${listing(last.filter((s) => SYNTHETIC.has(s.name) || s.name.startsWith('nodemeter_podscrape_')))}`;
  return waitForSamples(agent, what, check, { timeoutMs, intervalMs: 50, show });
}

/** Resident set size of a process, bytes. */
function rssBytes(pid: number): number {
  const line = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!line) throw new Error(`no VmRSS in /proc/${pid}/status`);
  return Number(line[1]) * 1024;
}

// ---------------------------------------------------------------------------------------------
// What a target sent the agent, and the agent's re-exposition of it.

/**
 * A transparent HTTP relay in front of one real exporter, for the round trip: the agent scrapes
 * the relay, which forwards each request as it came (path, Accept, Accept-Encoding, …) to the
 * exporter and relays the answer unchanged, keeping a copy of the last bodies (decompressed).
 * So the test knows exactly which bytes the agent was sent, and can compare every value, moving
 * ones included, instead of guessing what a gauge read at the moment of the agent's scrape.
 */
class RelayRecorder {
  /** Newest last; at most {@link KEPT}. `seq` counts every relayed answer. */
  readonly responses: Array<{ seq: number; status: number; contentType: string; accept: string; body: string }> = [];
  static readonly KEPT = 8;
  readonly #server: Server;
  #seq = 0;

  private constructor(server: Server) {
    this.#server = server;
  }

  static async start(upstreamPort: number): Promise<RelayRecorder> {
    const server = createServer();
    const relay = new RelayRecorder(server);
    server.on('request', (req: IncomingMessage, res: ServerResponse) => relay.#relay(req, res, upstreamPort));
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    return relay;
  }

  get port(): number {
    const address = this.#server.address();
    return typeof address === 'object' && address !== null ? address.port : 0;
  }

  #relay(req: IncomingMessage, res: ServerResponse, upstreamPort: number): void {
    const headers = { ...req.headers };
    for (const hop of HOP_BY_HOP) delete headers[hop];
    const upstream = request({ host: '127.0.0.1', port: upstreamPort, path: req.url, method: req.method, headers, agent: false }, (answer) => {
      const out = { ...answer.headers };
      for (const hop of HOP_BY_HOP) delete out[hop];
      res.writeHead(answer.statusCode ?? 502, out);
      const chunks: Buffer[] = [];
      answer.on('data', (chunk: Buffer) => {
        chunks.push(chunk);
        res.write(chunk);
      });
      answer.on('end', () => {
        res.end();
        const raw = Buffer.concat(chunks);
        const body = answer.headers['content-encoding'] === 'gzip' ? gunzipSync(raw) : raw;
        this.responses.push({ seq: ++this.#seq, status: answer.statusCode ?? 0, contentType: answer.headers['content-type'] ?? '', accept: req.headers.accept ?? '', body: body.toString('utf8') });
        if (this.responses.length > RelayRecorder.KEPT) this.responses.shift();
      });
      answer.on('error', () => res.destroy());
    });
    upstream.on('error', () => res.destroy());
    req.pipe(upstream);
  }

  close(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.#server.close(() => resolve()));
    this.#server.closeAllConnections();
    return closed;
  }
}

const HOP_BY_HOP = ['connection', 'keep-alive', 'transfer-encoding', 'te', 'trailer', 'upgrade', 'proxy-connection'];

interface FamilyMeta {
  type?: string;
  /** The HELP text as written (escapes kept). */
  help?: string;
}

/** `# HELP` and `# TYPE` per family; a family described twice is an error (an invalid exposition). */
function familyMetadata(text: string): Map<string, FamilyMeta> {
  const out = new Map<string, FamilyMeta>();
  for (const line of text.split('\n')) {
    const m = /^# (HELP|TYPE) ([a-zA-Z_:][a-zA-Z0-9_:]*)(?: (.*))?$/.exec(line);
    if (!m) continue;
    const [, kind, name, rest] = m as unknown as [string, 'HELP' | 'TYPE', string, string | undefined];
    const meta = out.get(name) ?? {};
    const key = kind === 'TYPE' ? 'type' : 'help';
    if (meta[key] !== undefined) throw new Error(`two # ${kind} lines for ${name}`);
    meta[key] = rest ?? '';
    out.set(name, meta);
  }
  return out;
}

/** The family a sample belongs to, by the exposition's TYPE lines. */
function familyOf(sample: string, meta: ReadonlyMap<string, FamilyMeta>): { family: string; type: string } {
  const own = meta.get(sample)?.type;
  if (own !== undefined) return { family: sample, type: own };
  for (const suffix of ['_bucket', '_count', '_sum']) {
    if (!sample.endsWith(suffix)) continue;
    const base = sample.slice(0, -suffix.length);
    const type = meta.get(base)?.type;
    if (type === 'histogram' || type === 'summary') return { family: base, type };
  }
  return { family: sample, type: 'untyped' };
}

/**
 * A scraped series' labels as the receiver should re-expose them (honor_labels off, as Prometheus
 * does): a label with a target label's name becomes `exported_<name>` (`exported_` again while
 * that name is taken too), then the target labels are added.
 */
function expectedLabels(own: Readonly<Labels>, target: Readonly<Labels>): Labels {
  const out: Labels = {};
  for (const [name, value] of Object.entries(own)) {
    if (!(name in target)) {
      out[name] = value;
      continue;
    }
    let renamed = `exported_${name}`;
    while (renamed in own || renamed in target) renamed = `exported_${renamed}`;
    out[renamed] = value;
  }
  return { ...out, ...target };
}

function seriesKey(name: string, labels: Readonly<Labels>): string {
  const sorted = Object.entries(labels).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `${name}${JSON.stringify(sorted)}`;
}

/** Equal as Prometheus values: NaN equals NaN. */
function sameValue(a: number, b: number): boolean {
  return a === b || (Number.isNaN(a) && Number.isNaN(b));
}

/** A bucket's `le` as a number's shortest text, so `1e+06` and `1000000` meet (see the `le` test). */
function numericLe(name: string, labels: Labels, meta: ReadonlyMap<string, FamilyMeta>): Labels {
  if (labels.le === undefined || !name.endsWith('_bucket') || familyOf(name, meta).type !== 'histogram') return labels;
  const le = labels.le === '+Inf' ? '+Inf' : String(Number(labels.le));
  return { ...labels, le };
}

interface Comparison {
  series: number;
  families: number;
  problems: string[];
}

/**
 * The agent's series of one target (those carrying its target labels, less `up` and `scrape_*`)
 * against one body the target sent: the same series (by name and labels, the target's merged in),
 * the same values, and per family the same TYPE and HELP. `le` compared as numbers (see above).
 */
function compareWithSent(target: Readonly<Labels>, sentText: string, agentText: string): Comparison {
  const sentMeta = familyMetadata(sentText);
  const agentMeta = familyMetadata(agentText);
  const sent = new Map<string, Sample>();
  const problems: string[] = [];
  for (const s of parseExposition(sentText)) {
    const labels = numericLe(s.name, expectedLabels(s.labels, target), sentMeta);
    const key = seriesKey(s.name, labels);
    if (sent.has(key)) problems.push(`the target sent a series twice: ${formatSample(s)}`);
    sent.set(key, { ...s, labels });
  }
  const mine = parseExposition(agentText).filter((s) => !SYNTHETIC.has(s.name) && Object.entries(target).every(([k, v]) => s.labels[k] === v));
  const seen = new Set<string>();
  for (const s of mine) {
    const key = seriesKey(s.name, numericLe(s.name, s.labels, agentMeta));
    if (seen.has(key)) problems.push(`the agent wrote a series twice: ${formatSample(s)}`);
    seen.add(key);
    const original = sent.get(key);
    if (original === undefined) problems.push(`not among what the target sent: ${formatSample(s)}`);
    else if (!sameValue(original.value, s.value)) problems.push(`value ${s.value}, the target sent ${original.value}: ${formatSample(original)}`);
  }
  for (const [key, s] of sent) if (!seen.has(key)) problems.push(`missing from the agent: ${formatSample(s)}`);
  const withSamples = new Set([...sent.values()].map((s) => familyOf(s.name, sentMeta).family));
  for (const name of withSamples) {
    const meta = sentMeta.get(name);
    const theirs = agentMeta.get(name);
    if (theirs?.type !== meta?.type) problems.push(`family ${name}: TYPE ${meta?.type ?? '(none)'}, the agent's ${theirs?.type ?? '(none)'}`);
    if ((meta?.help ?? '') !== (theirs?.help ?? '')) problems.push(`family ${name}: HELP ${JSON.stringify(meta?.help)}, the agent's ${JSON.stringify(theirs?.help)}`);
  }
  return { series: sent.size, families: withSamples.size, problems };
}

/** promtool's findings, one per line; the exit code must be 0 or 3 (lint findings), never a parse error. */
async function promtoolFindings(what: string, text: string): Promise<string[]> {
  const r = await promtoolCheckMetrics(text);
  assert.ok(r.code === 0 || r.code === 3, `promtool check metrics on ${what}: exit ${r.code}\n${r.output}`);
  return r.output.split('\n').map((l) => l.trim()).filter((l) => l !== '');
}

// ---------------------------------------------------------------------------------------------

describe('podscrape round trip: node_exporter, Prometheus and Pushgateway re-exposed sample for sample', () => {
  const NODE = 'node-rt';
  const NAMESPACE = 'monitoring';
  let ns: MountNamespace | undefined;
  let nodeExporter: NodeExporter | undefined;
  let pushgateway: Pushgateway | undefined;
  let prometheus: Prometheus | undefined;
  const relays: RelayRecorder[] = [];
  let api: KubeApiServer | undefined;
  let agent: Agent | undefined;
  /** The three targets: the exporter, the relay in front of it, and the labels the agent gives its series. */
  let targets: Array<{ name: string; port: number; relay: RelayRecorder; labels: Labels }> = [];

  /** The pushed groups: label values with spaces, slashes, quotes and nothing at all; a histogram; collisions with target labels. */
  const PUSHES: Array<{ job: string; grouping: Labels; body: string; method?: 'PUT' | 'POST' }> = [
    {
      job: 'nightly backup',
      grouping: { path: '/var/lib/data dir', shard: '' },
      body: [
        '# HELP backup_duration_seconds How long one backup phase took.',
        '# TYPE backup_duration_seconds histogram',
        'backup_duration_seconds_bucket{phase="dump tables",le="0.5"} 2',
        'backup_duration_seconds_bucket{phase="dump tables",le="1"} 5',
        'backup_duration_seconds_bucket{phase="dump tables",le="2.5"} 9',
        'backup_duration_seconds_bucket{phase="dump tables",le="1e+06"} 10',
        'backup_duration_seconds_bucket{phase="dump tables",le="+Inf"} 10',
        'backup_duration_seconds_sum{phase="dump tables"} 11.25',
        'backup_duration_seconds_count{phase="dump tables"} 10',
        '# HELP backup_last_success_timestamp_seconds Unix time of the last good backup.',
        '# TYPE backup_last_success_timestamp_seconds gauge',
        'backup_last_success_timestamp_seconds{target="s3 bucket \\"eu west\\"",note="",comment="line one\\nline two \\\\ end"} 1.7e+09',
        '# TYPE backup_bytes_total counter',
        'backup_bytes_total{namespace="tenant a",pod="backup-7f9c"} 1.234567e+10',
        '',
      ].join('\n'),
    },
    {
      job: 'nightly backup',
      grouping: { path: '/var/lib/data dir', shard: '' },
      method: 'POST',
      body: '# HELP backup_files Files in the last backup.\n# TYPE backup_files gauge\nbackup_files 1234\n',
    },
    {
      job: 'db-migrate',
      grouping: { instance: 'db-0' },
      body: [
        '# HELP migration_step_seconds Time per migration step.',
        '# TYPE migration_step_seconds summary',
        'migration_step_seconds{quantile="0.5"} 0.25',
        'migration_step_seconds{quantile="0.99"} 4.5',
        'migration_step_seconds_sum 17.5',
        'migration_step_seconds_count 12',
        'migrations_pending{node="db host 1"} 0',
        '',
      ].join('\n'),
    },
  ];

  before(async () => {
    requirePrereqs('root', 'mountns', 'node-exporter', 'pushgateway', 'prometheus', 'promtool');
    ns = await MountNamespace.create();
    [nodeExporter, pushgateway] = await Promise.all([
      NodeExporter.start(ns, {
        extraArgs: ['--collector.cpu', '--collector.meminfo', '--collector.loadavg', '--collector.stat', '--collector.uname', '--collector.os', '--collector.time', '--collector.vmstat'],
      }),
      Pushgateway.start(),
    ]);
    for (const p of PUSHES) await pushgateway.push(p.job, p.grouping, p.body, p.method === undefined ? {} : { method: p.method });
    // Scraping real targets gives the Prometheus server's own exposition its scrape-loop families.
    prometheus = await Prometheus.start({
      targets: [
        { address: `127.0.0.1:${nodeExporter.port}`, job: 'node' },
        { address: `127.0.0.1:${pushgateway.port}`, job: 'pushgateway' },
      ],
    });
    api = await KubeApiServer.start();
    const exporters = [
      { name: 'node_exporter', pod: 'node-exporter-x7k2p', port: nodeExporter.port },
      { name: 'prometheus', pod: 'prometheus-0', port: prometheus.port },
      { name: 'pushgateway', pod: 'pushgateway-6d4f9', port: pushgateway.port },
    ];
    for (const x of exporters) {
      const relay = await RelayRecorder.start(x.port);
      relays.push(relay);
      api.add(annotatedPod(x.pod, NODE, relay.port, { namespace: NAMESPACE, path: '/metrics' }));
      targets.push({ name: x.name, port: x.port, relay, labels: { job: 'kubernetes-pods', instance: `127.0.0.1:${relay.port}`, namespace: NAMESPACE, pod: x.pod, node: NODE } });
    }
    agent = await startAgent({ config: agentConfig(['    collection_interval: 500ms']), extraArgs: kubeArgs(api, NODE) });
  });

  after(async () => {
    await agent?.kill();
    await api?.stop();
    for (const relay of relays) await relay.close();
    await prometheus?.close();
    await pushgateway?.close();
    await nodeExporter?.close();
    await ns?.close();
    targets = [];
  });

  /** Pulls the agent once every target is up; returns the pull and, per target, the bodies it had been sent by then. */
  async function pullWithSent(): Promise<{ text: string; sent: Array<RelayRecorder['responses']> }> {
    await waitForPull(agent!, 'up 1 for the three targets', (s) => (targets.every((x) => findSamples(s, 'up', x.labels)[0]?.value === 1) ? true : undefined), 15_000);
    const text = (await agent!.scrape()).body;
    return { text, sent: targets.map((x) => [...x.relay.responses]) };
  }

  it('every series of each target comes back with its labels (target labels added, colliding ones as exported_*), value, HELP and TYPE', async (t) => {
    const { text, sent } = await pullWithSent();
    const problems: string[] = [];
    for (const [i, x] of targets.entries()) {
      // The agent serves its last completed scrape: the last body relayed, or the one before it
      // when a newer scrape was still being parsed. The agent's series must equal one of them exactly.
      const candidates = sent[i]!.slice(-2);
      assert.ok(candidates.length > 0, `${x.name}: nothing relayed`);
      for (const c of candidates) {
        assert.equal(c.status, 200, `${x.name}: relayed status`);
        assert.match(c.accept, /^application\/openmetrics-text;version=1\.0\.0/, `${x.name}: the agent asks for OpenMetrics first`);
        assert.match(c.contentType, /^text\/plain; version=0\.0\.4/, `${x.name}: and these exporters answer in the text format`);
      }
      // The relay hides nothing: a direct fetch from the exporter has the same families, each of the same TYPE.
      const direct = await httpGet(`http://127.0.0.1:${x.port}/metrics`, { timeoutMs: 10_000 });
      const types = (body: string): string[] => [...familyMetadata(body)].map(([name, m]) => `${name} ${m.type ?? '(none)'}`).sort();
      assert.deepEqual(types(candidates.at(-1)!.body), types(direct.body), `${x.name}: families relayed = families fetched directly`);
      const results = candidates.map((c) => ({ seq: c.seq, ...compareWithSent(x.labels, c.body, text) }));
      const best = results.reduce((a, b) => (b.problems.length <= a.problems.length ? b : a));
      t.diagnostic(`${x.name}: ${best.series} series in ${best.families} families equal to relayed answer #${best.seq} (of ${candidates.map((c) => c.seq).join(', ')})`);
      assert.ok(best.series >= 50, `${x.name}: only ${best.series} series`);
      problems.push(...best.problems.map((p) => `${x.name}: ${p}`));
    }
    assert.deepEqual(problems.slice(0, 60), [], `${problems.length} differences`);

    // The pushed series in particular, as the Pushgateway wrote them, with collisions renamed.
    const samples = parseExposition(text);
    const pg = targets[2]!.labels;
    const backup = { exported_job: 'nightly backup', path: '/var/lib/data dir', shard: '', exported_instance: '' };
    assert.equal(sampleValue(samples, 'backup_last_success_timestamp_seconds', { ...pg, ...backup, target: 's3 bucket "eu west"', note: '', comment: 'line one\nline two \\ end' }), 1.7e9);
    assert.equal(sampleValue(samples, 'backup_bytes_total', { ...pg, ...backup, exported_namespace: 'tenant a', exported_pod: 'backup-7f9c' }), 1.234567e10);
    assert.equal(sampleValue(samples, 'backup_duration_seconds_count', { ...pg, ...backup, phase: 'dump tables' }), 10);
    assert.equal(sampleValue(samples, 'backup_files', { ...pg, ...backup }), 1234);
    assert.equal(sampleValue(samples, 'migration_step_seconds', { ...pg, exported_job: 'db-migrate', exported_instance: 'db-0', quantile: '0.99' }), 4.5);
    assert.equal(sampleValue(samples, 'migrations_pending', { ...pg, exported_job: 'db-migrate', exported_instance: 'db-0', exported_node: 'db host 1' }), 0);
    await assertHealthy(agent!);
  });

  it('histogram buckets keep their le text as the target wrote it (le="1e+06" stays "1e+06")', async () => {
    const { text, sent } = await pullWithSent();
    /** Bucket series of a histogram family (name and labels, le as text), sorted. */
    const buckets = (body: string, relabel: (labels: Labels) => Labels, keep: (labels: Labels) => boolean): string[] => {
      const meta = familyMetadata(body);
      return parseExposition(body)
        .filter((s) => s.name.endsWith('_bucket') && familyOf(s.name, meta).type === 'histogram' && keep(s.labels))
        .map((s) => seriesKey(s.name, relabel(s.labels)))
        .sort();
    };
    for (const [i, x] of targets.entries()) {
      const got = buckets(text, (l) => l, (l) => Object.entries(x.labels).every(([k, v]) => l[k] === v));
      const wants = sent[i]!.slice(-2).map((c) => buckets(c.body, (l) => expectedLabels(l, x.labels), () => true));
      // node_exporter's collectors here have no histogram; the Prometheus server's and the pushed ones do.
      if (x.name !== 'node_exporter') assert.ok(wants.every((w) => w.length > 0), `${x.name}: the target sent histogram buckets`);
      if (wants.some((w) => w.join('\n') === got.join('\n'))) continue;
      const want = wants.at(-1)!;
      const onlyMine = got.filter((k) => !want.includes(k));
      const onlyTheirs = want.filter((k) => !got.includes(k));
      assert.fail(`${x.name}: bucket series differ (le compared as text)\nonly in the agent's (${onlyMine.length}):\n${onlyMine.slice(0, 10).join('\n')}\nonly in the target's (${onlyTheirs.length}):\n${onlyTheirs.slice(0, 10).join('\n')}`);
    }
  });

  it("promtool check metrics finds nothing in the agent's exposition that it does not find in an original", async (t) => {
    const { text, sent } = await pullWithSent();
    const known = new Set((await Promise.all(targets.map((x, i) => promtoolFindings(x.name, sent[i]!.at(-1)!.body)))).flat());
    const findings = await promtoolFindings("the agent's exposition", text);
    t.diagnostic(`promtool: ${known.size} findings on the originals, ${findings.length} on the agent's exposition`);
    assert.deepEqual(findings.filter((f) => !known.has(f)), [], "promtool findings on the agent's exposition that no original has");
  });
});

describe('podscrape against hostile targets: each cut off by its limit while the agent stays healthy and fast', () => {
  const NODE = 'node-hostile';
  const NAMESPACE = 'hostile';
  /**
   * One job per hostile target (a discovery rule of its own, `<job>.hostile.test/scrape`), so
   * `up` and `nodemeter_podscrape_scrape_failures_total{job, reason}` name the target.
   */
  interface Hostile {
    readonly job: string;
    readonly behaviour: () => Behaviour;
    readonly reason: string;
  }
  const HOSTILE: Hostile[] = [
    // Headers one byte every 100 ms, never finished: the 3 s scrape_timeout ends it.
    { job: 'slow-headers', behaviour: () => slowHeaders(100), reason: 'timeout' },
    // 200 at once, then a comment line every 20 ms forever: the timeout again (it never grows large).
    { job: 'endless-body', behaviour: () => endlessBody(20), reason: 'timeout' },
    // 16 GiB of zeros in 16 MiB of gzip: max_decompressed_bytes. (Large enough that the socket
    // buffers never take it all, so the test process never computes its trailer's CRC.)
    { job: 'gzip-bomb', behaviour: () => gzipBomb(16 * GiB), reason: 'decompressed_too_large' },
    // 16 GiB of plain exposition lines, chunked (no Content-Length to refuse it by): max_body_bytes.
    { job: 'huge-body', behaviour: () => hugeBody(16 * GiB, { declareLength: false }), reason: 'body_too_large' },
    // A million series (15.9 MB, 2.7 MB gzipped: within the size limits): max_series.
    { job: 'million-series', behaviour: () => exposition(millionSeries(), { gzip: true }), reason: 'series_limit' },
    // One 10 MB label value (10 KB gzipped, 10 MB inflated: within the size limits): max_label_value_length.
    { job: 'long-label', behaviour: () => exposition(`# TYPE long_label gauge\nlong_label{v="${'x'.repeat(10_000_000)}"} 1\n`, { gzip: true }), reason: 'limit' },
    // A label value that is not UTF-8 (0xC3 0x28).
    {
      job: 'invalid-utf8',
      behaviour: () => exposition(Buffer.concat([Buffer.from('# TYPE bad_text gauge\nbad_text{v="caf'), Buffer.from([0xc3, 0x28]), Buffer.from('"} 1\n')])),
      reason: 'invalid_utf8',
    },
  ];
  /** The limits: small where the defaults are large, each meaning what its default means. */
  const LIMITS = [
    // Default 10 s; 3 s leaves the size and parse limits (a bomb takes ~0.4 s to inflate to its
    // limit, ~1 s on a starved CPU) room to be what stops their targets.
    '    scrape_timeout: 3s',
    `    max_body_bytes: ${4 * MiB}`, // default 16 MiB
    `    max_decompressed_bytes: ${24 * MiB}`, // default 64 MiB
    '    max_series: 10000', // default 50000
    // max_label_value_length: the default, 16384
  ];
  const HEALTHY_BODY = '# HELP shop_orders_total Orders taken.\n# TYPE shop_orders_total counter\nshop_orders_total{shop="main street"} 1234\n';
  const OVERWRITE_BODY =
    '# HELP evil_metric Tries to pass for another pod.\n# TYPE evil_metric gauge\nevil_metric{namespace="kube-system",pod="evil",node="master-0",job="kubelet",instance="10.0.0.1:10250"} 1\n';

  let api: KubeApiServer | undefined;
  /**
   * One server per pod, as every pod has its own IP: the receiver allows two connections per
   * origin, so targets sharing one would queue behind a slow one (only one pod's own ports can).
   */
  const servers = new Map<string, HostileTarget>();
  let agent: Agent | undefined;
  const server = (name: string): HostileTarget => servers.get(name)!;
  const labelsOf = (name: string, job: string): Labels => ({ job, instance: `127.0.0.1:${portOf(server(name))}`, namespace: NAMESPACE, pod: `${name}-0`, node: NODE });

  /** `m{i="<n>"} <n mod 7>` for a million n, as one buffer (the test holds it only until it is gzipped). */
  function millionSeries(): Buffer {
    const lines: string[] = ['# TYPE m gauge\n'];
    for (let i = 0; i < 1_000_000; i++) lines.push(`m{i="${i}"} ${i % 7}\n`);
    return Buffer.from(lines.join(''));
  }

  before(async () => {
    const routes: Array<[string, Behaviour]> = [['shop', exposition(HEALTHY_BODY)], ['overwrite', exposition(OVERWRITE_BODY)], ...HOSTILE.map((h): [string, Behaviour] => [h.job, h.behaviour()])];
    for (const [name, behaviour] of routes) servers.set(name, (await HostileTarget.start()).route(`/${name}`, behaviour));
    api = await KubeApiServer.start();
    api.add(annotatedPod('shop-0', NODE, portOf(server('shop')), { namespace: NAMESPACE, path: '/shop' }));
    const rules = [
      '    discovery:',
      '      - {annotations: prometheus.io, job: kubernetes-pods}',
      ...HOSTILE.map((h) => `      - {annotations: ${h.job}.hostile.test, job: ${h.job}}`),
    ];
    agent = await startAgent({ config: agentConfig([...rules, '    collection_interval: 500ms', ...LIMITS]), extraArgs: kubeArgs(api, NODE) });
  });

  after(async () => {
    await agent?.kill();
    await api?.stop();
    for (const s of servers.values()) await s.close();
  });

  it('each hostile target is up 0 with its reason, the label-overwriting one is up 1 with exported_* labels; the healthy one, /healthz and pulls are served fast throughout; RSS stays far below the bodies offered', async (t) => {
    const healthy = labelsOf('shop', 'kubernetes-pods');
    await waitForPull(agent!, 'the healthy target up', (s) => (findSamples(s, 'up', healthy)[0]?.value === 1 ? true : undefined));
    // Baseline after a few rounds of the healthy target alone.
    await sleep(1_500);
    const pid = agent!.child.pid!;
    const baseline = rssBytes(pid);

    for (const h of HOSTILE) api!.add(annotatedPod(`${h.job}-0`, NODE, portOf(server(h.job)), { namespace: NAMESPACE, prefix: `${h.job}.hostile.test`, path: `/${h.job}` }));
    api!.add(annotatedPod('overwrite-0', NODE, portOf(server('overwrite')), { namespace: NAMESPACE, path: '/overwrite' }));

    // Pull (and ask /healthz) back to back while the hostile scrapes run, until every hostile
    // target has failed at least twice (two rounds of everything), timing each answer.
    const healthyScrapes = server('shop').hits('/shop');
    const pulls: number[] = [];
    const healthz: number[] = [];
    let peak = baseline;
    let last: Sample[] = [];
    const failuresOf = (s: Sample[], h: Hostile): number => findSamples(s, 'nodemeter_podscrape_scrape_failures_total', { job: h.job, reason: h.reason })[0]?.value ?? 0;
    const deadline = Date.now() + 30_000;
    for (;;) {
      const res = await agent!.get('/metrics', { timeoutMs: 10_000 });
      assert.equal(res.status, 200, `pull: ${res.body.slice(0, 500)}`);
      pulls.push(res.elapsedMs);
      last = parseExposition(res.body);
      assert.equal(findSamples(last, 'shop_orders_total', healthy)[0]?.value, 1234, `the healthy target's series in every pull:\n${listing(findSamples(last, 'up'))}`);
      const hz = await agent!.get('/healthz', { timeoutMs: 10_000 });
      assert.equal(hz.status, 200, '/healthz');
      healthz.push(hz.elapsedMs);
      peak = Math.max(peak, rssBytes(pid));
      if (HOSTILE.every((h) => failuresOf(last, h) >= 2)) break;
      if (Date.now() > deadline) {
        assert.fail(`not every hostile target failed twice within 30 s:\n${listing(findSamples(last, 'nodemeter_podscrape_scrape_failures_total'))}\n${listing(findSamples(last, 'up'))}\n${agent!.describe()}`);
      }
      await sleep(50);
    }

    t.diagnostic(`last scrape durations: ${HOSTILE.map((h) => `${h.job} ${sampleValue(last, 'scrape_duration_seconds', labelsOf(h.job, h.job)).toFixed(3)} s`).join(', ')}`);
    for (const h of HOSTILE) {
      const at = labelsOf(h.job, h.job);
      assert.equal(sampleValue(last, 'up', at), 0, `${h.job}: up`);
      assert.equal(sampleValue(last, 'scrape_samples_scraped', at), 0, `${h.job}: no samples kept`);
      const reasons = findSamples(last, 'nodemeter_podscrape_scrape_failures_total', { job: h.job }).map((s) => s.labels.reason);
      assert.deepEqual(reasons, [h.reason], `${h.job}: failures only for ${h.reason}`);
      assert.deepEqual(last.filter((s) => s.labels.pod === `${h.job}-0` && !SYNTHETIC.has(s.name)), [], `${h.job}: no series of its own`);
      const duration = sampleValue(last, 'scrape_duration_seconds', at);
      if (h.reason === 'timeout') assert.ok(duration >= 2.95 && duration < 6, `${h.job}: cut at the 3 s timeout, took ${duration} s`);
      else assert.ok(duration < 2.95, `${h.job}: cut off before the timeout, took ${duration} s`);
    }
    for (const name of ['m', 'long_label', 'bad_text', 'filler_metric']) assert.deepEqual(findSamples(last, name), [], `no ${name} series kept`);

    // Labels that try to pass for another pod are kept under exported_*, the real ones win.
    const evil = findSamples(last, 'evil_metric');
    assert.deepEqual(
      evil.map((s) => s.labels),
      [
        {
          exported_namespace: 'kube-system',
          exported_pod: 'evil',
          exported_node: 'master-0',
          exported_job: 'kubelet',
          exported_instance: '10.0.0.1:10250',
          ...labelsOf('overwrite', 'kubernetes-pods'),
        },
      ],
    );
    assert.equal(sampleValue(last, 'up', labelsOf('overwrite', 'kubernetes-pods')), 1);
    assert.equal(sampleValue(last, 'up', healthy), 1);
    assert.ok(server('shop').hits('/shop') >= healthyScrapes + 2, 'the healthy target kept being scraped, round after round');
    assert.deepEqual(findSamples(last, 'nodemeter_podscrape_scrape_failures_total', { job: 'kubernetes-pods' }), [], 'the healthy and the overwriting target never failed');

    const sorted = [...pulls].sort((a, b) => a - b);
    const median = sorted[Math.floor(sorted.length / 2)]!;
    const slowest = sorted.at(-1)!;
    const grown = peak - baseline;
    t.diagnostic(
      `${pulls.length} pulls while hostile scrapes ran: median ${median.toFixed(1)} ms, slowest ${slowest.toFixed(1)} ms; /healthz slowest ${Math.max(...healthz).toFixed(1)} ms; RSS ${(baseline / MiB).toFixed(0)} MiB → peak ${(peak / MiB).toFixed(0)} MiB (+${(grown / MiB).toFixed(0)} MiB)`,
    );
    // Pulls are served from the last scrape: a hostile scrape in flight must not hold them up.
    assert.ok(median < 100, `median pull ${median.toFixed(0)} ms`);
    assert.ok(slowest < 750, `slowest pull ${slowest.toFixed(0)} ms`);
    assert.ok(Math.max(...healthz) < 750, `slowest /healthz ${Math.max(...healthz).toFixed(0)} ms`);
    // The bomb and the huge body offer 16 GiB each; the limits allow 4 MiB on the wire and 24 MiB
    // inflated per scrape. A scrape may hold its body three times at its peak (the inflated
    // chunks, the joined buffer, the decoded text): four heavy targets (bomb, 1M series, 10 MB
    // label, huge body) scraped at once, each twice within a second (rounds start every interval;
    // a target is backed off only from its second breach), come to some 300-400 MiB before the
    // garbage is collected. The bound catches buffering a whole body (gigabytes), not GC timing.
    assert.ok(grown < 512 * MiB, `RSS grew by ${(grown / MiB).toFixed(0)} MiB`);
    await assertHealthy(agent!);
  });
});

describe('podscrape on-demand jobs: /metrics?job=<name> as the kubernetes-metrics-aggregator served it', () => {
  const NODE = 'node-od';
  const AGGREGATOR = 'metrics-aggregator.apawel.me';
  let api: KubeApiServer | undefined;
  let agent: Agent | undefined;
  /** memcached-0, memcached-1 and redis-0 (on-demand jobs) and app-0 (interval), each its own server. */
  const servers = new Map<string, HostileTarget>();
  const server = (pod: string): HostileTarget => servers.get(pod)!;
  const hits = (pod: string): number => server(pod).hits(`/${pod}`);

  /** A pod the aggregator rule finds by its labels: job, port and endpoint. */
  function aggregatorPod(name: string, job: string, port: number): KubeObject {
    return pod(name, {
      namespace: 'cache',
      node: NODE,
      podIP: '127.0.0.1',
      labels: { app: job, [`${AGGREGATOR}/job-name`]: job, [`${AGGREGATOR}/port`]: String(port), [`${AGGREGATOR}/endpoint`]: name },
    });
  }

  before(async () => {
    // The on-demand answers take 500 ms, so two pulls at once overlap on one scrape.
    const bodies: Record<string, Behaviour> = {
      'memcached-0': delayed(500, exposition('# HELP memcached_items Items stored.\n# TYPE memcached_items gauge\nmemcached_items{slab="1"} 7\n')),
      'memcached-1': delayed(500, exposition('# HELP memcached_items Items stored.\n# TYPE memcached_items gauge\nmemcached_items{slab="1"} 11\n')),
      'redis-0': delayed(500, exposition('# TYPE redis_keys gauge\nredis_keys 3\n')),
      'app-0': exposition('# TYPE app_requests_total counter\napp_requests_total 5\n'),
    };
    for (const [name, behaviour] of Object.entries(bodies)) servers.set(name, (await HostileTarget.start()).route(`/${name}`, behaviour));
    api = await KubeApiServer.start();
    for (const name of ['memcached-0', 'memcached-1']) api.add(aggregatorPod(name, 'memcached', portOf(server(name))));
    api.add(aggregatorPod('redis-0', 'redis', portOf(server('redis-0'))));
    api.add(annotatedPod('app-0', NODE, portOf(server('app-0')), { namespace: 'shop', path: '/app-0' }));
    const receiver = [
      '    collection_interval: 300ms',
      '    discovery:',
      '      - {annotations: prometheus.io, job: kubernetes-pods}',
      `      - {aggregator: ${AGGREGATOR}, mode: on_demand}`,
      // The aggregator's labels: instance is the pod's name, pod_namespace and pod_ip, no pod or node.
      '    instance_label: pod',
      '    target_labels: {namespace: pod_namespace, pod: "", node: "", pod_ip: pod_ip}',
    ];
    agent = await startAgent({ config: agentConfig(receiver), extraArgs: kubeArgs(api, NODE) });
  });

  after(async () => {
    await agent?.kill();
    await api?.stop();
    for (const s of servers.values()) await s.close();
  });

  it('a plain pull serves the interval job and never scrapes an on-demand target', async () => {
    const app = { job: 'kubernetes-pods', instance: 'app-0', pod_namespace: 'shop', pod_ip: '127.0.0.1' };
    await waitForPull(agent!, 'the interval target scraped', (s) => (findSamples(s, 'up', app)[0]?.value === 1 ? true : undefined));
    // Several interval rounds and pulls later, still not one request for an on-demand target.
    const roundsBefore = hits('app-0');
    const samples = await waitForPull(agent!, 'four more interval rounds', (s) => (hits('app-0') >= roundsBefore + 4 ? s : undefined));
    assert.deepEqual([hits('memcached-0'), hits('memcached-1'), hits('redis-0')], [0, 0, 0], 'requests to the on-demand targets');
    assert.deepEqual(samples.filter((s) => s.labels.job === 'memcached' || s.labels.job === 'redis').filter((s) => s.name !== 'nodemeter_podscrape_targets'), [], 'no series of an on-demand job');
    assert.deepEqual(findSamples(samples, 'app_requests_total').map((s) => s.labels), [app], 'the interval target with the aggregator labels');
    assert.equal(sampleValue(samples, 'nodemeter_podscrape_targets', { job: 'memcached', mode: 'on_demand' }), 2);
    assert.equal(sampleValue(samples, 'nodemeter_podscrape_targets', { job: 'kubernetes-pods', mode: 'interval' }), 1);
  });

  it('?job=memcached scrapes that job\'s targets once and answers with their series, up, scrape_* and target_info only', async () => {
    const earlier = [hits('memcached-0'), hits('memcached-1'), hits('redis-0')];
    const { response, samples } = await pull(agent!, '/metrics?job=memcached');
    assert.deepEqual([hits('memcached-0') - earlier[0]!, hits('memcached-1') - earlier[1]!, hits('redis-0') - earlier[2]!], [1, 1, 0], 'one request per memcached target, none to redis');
    const strays = samples.filter((s) => s.name !== 'target_info' && s.labels.job !== 'memcached');
    assert.deepEqual(strays, [], `only the job's series:\n${response.body}`);
    for (const [name, value] of [['memcached-0', 7], ['memcached-1', 11]] as const) {
      const at = { job: 'memcached', instance: name, pod_namespace: 'cache', pod_ip: '127.0.0.1' };
      assert.deepEqual(findSamples(samples, 'memcached_items', at).map((s) => [s.labels, s.value]), [[{ slab: '1', ...at }, value]], `${name}: its series, aggregator labels`);
      assert.equal(sampleValue(samples, 'up', at), 1, `${name}: up`);
      assert.equal(sampleValue(samples, 'scrape_samples_scraped', at), 1, `${name}: samples`);
      const duration = sampleValue(samples, 'scrape_duration_seconds', at);
      assert.ok(duration >= 0.49 && duration < 5, `${name}: scraped by this pull (the answer takes 500 ms), took ${duration} s`);
    }
    const names = new Set(samples.map((s) => s.name));
    assert.deepEqual([...names].sort(), ['memcached_items', 'nodemeter_podscrape_targets', 'scrape_duration_seconds', 'scrape_samples_scraped', 'target_info', 'up'], 'families of a ?job= answer');
    assert.equal(findSamples(samples, 'target_info').length, 1);
  });

  it('two ?job=memcached pulls at once share one scrape per target', async () => {
    const earlier = [hits('memcached-0'), hits('memcached-1')];
    const [a, b] = await Promise.all([pull(agent!, '/metrics?job=memcached'), pull(agent!, '/metrics?job=memcached')]);
    assert.deepEqual([hits('memcached-0') - earlier[0]!, hits('memcached-1') - earlier[1]!], [1, 1], 'requests per target for two concurrent pulls');
    for (const p of [a, b]) {
      assert.equal(sampleValue(p.samples, 'memcached_items', { instance: 'memcached-0' }), 7);
      assert.equal(sampleValue(p.samples, 'memcached_items', { instance: 'memcached-1' }), 11);
    }
    assert.equal(hits('redis-0'), 0, 'redis still never scraped');
    // The next pull scrapes again: on-demand answers are never served from an earlier scrape.
    await pull(agent!, '/metrics?job=memcached');
    assert.deepEqual([hits('memcached-0') - earlier[0]!, hits('memcached-1') - earlier[1]!], [2, 2]);
  });

  it('?job=unknown is a 400 whose body lists the known jobs', async () => {
    const earlier = ['memcached-0', 'memcached-1', 'redis-0'].map(hits);
    const res = await agent!.get('/metrics?job=unknown');
    assert.deepEqual(['memcached-0', 'memcached-1', 'redis-0'].map(hits), earlier, 'nothing scraped for an unknown job');
    assert.equal(res.status, 400, res.body);
    for (const job of ['kubernetes-pods', 'memcached', 'redis']) assert.ok(res.body.includes(job), `the 400 names ${job}: ${res.body}`);
    await assertHealthy(agent!);
  });
});

describe('podscrape pod churn: added pods scraped at the next round, deleted ones gone, unscrapeable ones left alone', () => {
  const NODE = 'node-churn';
  const INTERVAL_MS = 300;
  let api: KubeApiServer | undefined;
  let agent: Agent | undefined;
  const servers = new Map<string, HostileTarget>();
  const server = (name: string): HostileTarget => servers.get(name)!;
  const hits = (name: string): number => server(name).hits(`/${name}`);
  const labelsOf = (name: string): Labels => ({ job: 'kubernetes-pods', instance: `127.0.0.1:${portOf(server(name))}`, namespace: 'churn', pod: name, node: NODE });
  const scrapedPod = (name: string, opts: { phase?: string; node?: string } = {}): KubeObject =>
    annotatedPod(name, opts.node ?? NODE, portOf(server(name)), { namespace: 'churn', path: `/${name}`, ...(opts.phase === undefined ? {} : { phase: opts.phase }) });
  /** Every series (synthetic ones included) of pod `name`. */
  const seriesOf = (samples: readonly Sample[], name: string): Sample[] => samples.filter((s) => s.labels.pod === name);

  before(async () => {
    for (const name of ['first', 'later', 'pending', 'succeeded', 'no-ip', 'elsewhere']) {
      const metric = name.replace('-', '_');
      servers.set(name, (await HostileTarget.start()).route(`/${name}`, exposition(`# TYPE churn_${metric} gauge\nchurn_${metric} 1\n`)));
    }
    api = await KubeApiServer.start();
    api.add(scrapedPod('first'));
    api.add(scrapedPod('pending', { phase: 'Pending' }));
    api.add(scrapedPod('succeeded', { phase: 'Succeeded' }));
    api.add(withoutIp(scrapedPod('no-ip')));
    api.add(scrapedPod('elsewhere', { node: 'node-other' }));
    agent = await startAgent({ config: agentConfig([`    collection_interval: ${INTERVAL_MS}ms`]), extraArgs: kubeArgs(api, NODE) });
  });

  after(async () => {
    await agent?.kill();
    await api?.stop();
    for (const s of servers.values()) await s.close();
  });

  it('a pod added later is scraped at the next round', async (t) => {
    await waitForPull(agent!, 'the first pod up', (s) => (findSamples(s, 'up', labelsOf('first'))[0]?.value === 1 ? true : undefined));
    const added = performance.now();
    api!.add(scrapedPod('later'));
    const samples = await waitForPull(agent!, 'the added pod scraped', (s) => (findSamples(s, 'up', labelsOf('later'))[0]?.value === 1 ? s : undefined), 5_000);
    const ms = performance.now() - added;
    t.diagnostic(`added pod served ${ms.toFixed(0)} ms after it was added (interval ${INTERVAL_MS} ms)`);
    // The next round: at most one interval plus the watch event, the scrape and the pull; 2 s on a busy machine.
    assert.ok(ms < 2_000, `served after ${ms.toFixed(0)} ms`);
    assert.equal(sampleValue(samples, 'churn_later', labelsOf('later')), 1);
    assert.equal(sampleValue(samples, 'churn_first', labelsOf('first')), 1);
  });

  it("a deleted pod's series and its up disappear", async (t) => {
    await waitForPull(agent!, 'both pods up', (s) => (['first', 'later'].every((n) => findSamples(s, 'up', labelsOf(n))[0]?.value === 1) ? true : undefined));
    const deleted = performance.now();
    api!.delete('pods', 'churn', 'first');
    const samples = await waitForPull(agent!, "the deleted pod's series gone", (s) => (seriesOf(s, 'first').length === 0 ? s : undefined), 5_000);
    const ms = performance.now() - deleted;
    t.diagnostic(`deleted pod's series gone ${ms.toFixed(0)} ms after the deletion`);
    assert.ok(ms < 2_000, `gone after ${ms.toFixed(0)} ms`);
    assert.deepEqual(findSamples(samples, 'churn_first'), []);
    assert.equal(sampleValue(samples, 'up', labelsOf('later')), 1, 'the other pod is still served');
    // And it is not scraped any more.
    const requests = hits('first');
    await sleep(3 * INTERVAL_MS);
    assert.equal(hits('first'), requests, 'no request to a deleted pod');
  });

  it('pods that are Pending, Succeeded, without an IP or on another node are never scraped; once Running with an IP they are', async () => {
    const samples = (await pull(agent!)).samples;
    for (const name of ['pending', 'succeeded', 'no-ip', 'elsewhere']) {
      assert.equal(hits(name), 0, `${name}: requests`);
      assert.deepEqual(seriesOf(samples, name), [], `${name}: series`);
    }
    assert.equal(sampleValue(samples, 'nodemeter_podscrape_targets', { job: 'kubernetes-pods', mode: 'interval' }), 1, 'one target: the later pod');
    // The same pods, now Running with an IP: scraped (so it was the phase and the IP that kept them out).
    api!.update(scrapedPod('pending'));
    api!.update(scrapedPod('no-ip'));
    const after = await waitForPull(agent!, 'the now-running pods scraped', (s) => (['pending', 'no-ip'].every((n) => findSamples(s, 'up', labelsOf(n))[0]?.value === 1) ? s : undefined), 5_000);
    assert.equal(sampleValue(after, 'churn_pending', labelsOf('pending')), 1);
    assert.equal(sampleValue(after, 'churn_no_ip', labelsOf('no-ip')), 1);
    assert.equal(hits('succeeded') + hits('elsewhere'), 0, 'the Succeeded pod and the other node\'s pod still never scraped');
    assert.deepEqual([...seriesOf(after, 'succeeded'), ...seriesOf(after, 'elsewhere')], []);
    await assertHealthy(agent!);
  });
});

describe('podscrape with the default 30 s collection_interval: collect --once, and the first round of a running agent', () => {
  const NODE = 'node-once';
  let api: KubeApiServer | undefined;
  let target: HostileTarget | undefined;
  let dir: { path: string; remove: () => Promise<void> } | undefined;
  let agent: Agent | undefined;

  before(async () => {
    target = (await HostileTarget.start()).route('/metrics', exposition('# HELP once_value A value.\n# TYPE once_value gauge\nonce_value{kind="a b"} 42\n'));
    api = await KubeApiServer.start();
    api.add(annotatedPod('once-0', NODE, portOf(target), { namespace: 'batch' }));
    dir = await makeTempDir('nodemeter-podscrape-once-');
  });

  after(async () => {
    await agent?.kill();
    await api?.stop();
    await target?.close();
    await dir?.remove();
  });

  it("collect --once prints the targets' series once and exits 0", async () => {
    const configPath = join(dir!.path, 'config.yaml');
    await writeFile(configPath, agentConfig([]));
    const started = performance.now();
    const r = await run(NODE24, [AGENT_BIN, 'collect', '--once', '--config', configPath, ...kubeArgs(api!, NODE)], { cwd: REPO_ROOT, timeoutMs: 30_000, allowFail: true });
    const ms = performance.now() - started;
    assert.equal(r.code, 0, `collect --once exit code\nstderr:\n${r.stderr}\nstdout:\n${r.stdout}`);
    assert.ok(ms < 15_000, `took ${ms.toFixed(0)} ms: it must not wait for a collection interval`);
    const samples = parseExposition(r.stdout);
    const at = { job: 'kubernetes-pods', instance: `127.0.0.1:${portOf(target!)}`, namespace: 'batch', pod: 'once-0', node: NODE };
    assert.deepEqual(findSamples(samples, 'once_value').map((s) => [s.labels, s.value]), [[{ kind: 'a b', ...at }, 42]], `stdout:\n${r.stdout}`);
    assert.equal(sampleValue(samples, 'up', at), 1);
    assert.equal(sampleValue(samples, 'scrape_samples_scraped', at), 1);
    assert.equal(target!.hits('/metrics'), 1, 'one scrape');
    assert.equal(familyMetadata(r.stdout).get('once_value')?.type, 'gauge');
    assert.doesNotMatch(r.stderr, /"level":(50|60)/, 'no error logged');
  });

  it('a running agent scrapes its targets as soon as the cache has synced, not a collection_interval later', async (t) => {
    const earlier = target!.hits('/metrics');
    agent = await startAgent({ config: agentConfig([]), extraArgs: kubeArgs(api!, NODE) });
    const at = { job: 'kubernetes-pods', instance: `127.0.0.1:${portOf(target!)}`, namespace: 'batch', pod: 'once-0', node: NODE };
    const samples = await waitForPull(agent, 'the target scraped', (s) => (findSamples(s, 'up', at)[0]?.value === 1 ? s : undefined), 10_000);
    const sinceReady = performance.now() - agent.spawnedAt - agent.readyMs!;
    t.diagnostic(`first scrape served ${sinceReady.toFixed(0)} ms after the agent was ready`);
    assert.ok(sinceReady < 5_000, `served ${sinceReady.toFixed(0)} ms after ready`);
    assert.equal(sampleValue(samples, 'once_value', { ...at, kind: 'a b' }), 42);
    assert.equal(target!.hits('/metrics') - earlier, 1, 'one round so far');
  });
});
