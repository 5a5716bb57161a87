// The Grafana dashboard (dashboards/nodemeter.json) and the alerting rules
// (alerts/nodemeter.rules.yml, deploy/base/prometheusrule.yaml) against a real agent and a real
// Prometheus (Debian's 2.42):
//
// 1. the rules pass `promtool check rules`, the PrometheusRule carries exactly the same groups,
//    and every metric family and label the dashboard and the rules use is one docs/metrics.md
//    lists;
// 2. one agent runs every receiver the queries need — filesystem (a tmpfs emptyDir and a FUSE
//    volume whose statfs hangs, in a private mount namespace), hostpath (a local-path PV and one
//    whose directory is missing, from the test Kubernetes API server), docker (a private dockerd
//    with one container), podscrape (a pod that answers and one that does not) — and exports
//    through its Prometheus endpoint plus two OTLP exporters (one accepted, one rejected with
//    400). Prometheus scrapes it every second and evaluates a copy of the rules every second;
//    every dashboard query (template variables substituted) and every alert's underlying vector
//    (its threshold comparison removed) returns at least one series, and every rule evaluates
//    without error;
// 3. filling the tmpfs volume past 85% fires NodemeterVolumeUsageHigh (read from
//    /api/v1/alerts, `for:` shortened to 1 s in the copy) and emptying it resolves the alert.
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parse, stringify } from 'yaml';
import { REPO_ROOT, startAgent, type Agent } from '../support/agent.ts';
import { Dockerd } from '../support/dockerd.ts';
import { FuseHang } from '../support/fuse.ts';
import { dynamicPvName, namespace, node, persistentVolume, persistentVolumeClaim, pod } from '../support/kube-api/fixtures.ts';
import { KubeApiServer } from '../support/kube-api/server.ts';
import { KubeletTree, MountNamespace, type Volume } from '../support/mountns.ts';
import { requirePrereqs } from '../support/prereqs.ts';
import { makeTempDir, run } from '../support/proc.ts';
import { Prometheus, type ActiveAlert } from '../support/prometheus.ts';
import { ScriptedServer, type Answer, type RequestInfo } from '../support/scripted-server.ts';

const RULES_FILE = join(REPO_ROOT, 'alerts', 'nodemeter.rules.yml');
const PROMETHEUS_RULE = join(REPO_ROOT, 'deploy', 'base', 'prometheusrule.yaml');
const DASHBOARD = join(REPO_ROOT, 'dashboards', 'nodemeter.json');
const METRICS_DOC = join(REPO_ROOT, 'docs', 'metrics.md');

const NODE = 'node-a';
const JOB = 'nodemeter';
const POD_UID = '5ab1e0d5-7777-4c2b-9d3e-aaaaaaaaaaaa';
const MiB = 1024 * 1024;
const VOLUME_BYTES = 64 * MiB;
/** 92% of the volume: past NodemeterVolumeUsageHigh's 0.85, short of NodemeterVolumeUsageCritical's 0.97. */
const FILL_BYTES = 59 * MiB;
/** Query range for rate() in dashboard queries ($__rate_interval): ten scrapes. */
const RATE_INTERVAL = '10s';

// ---------------------------------------------------------------------------------------------
// The files under test.

interface Rule {
  alert?: string;
  record?: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}
interface RuleGroup {
  name: string;
  interval?: string;
  rules: Rule[];
}

interface Target {
  refId: string;
  expr: string;
  legendFormat?: string;
  datasource?: { type?: string; uid?: string };
}
interface Panel {
  id: number;
  type: string;
  title: string;
  gridPos: { h: number; w: number; x: number; y: number };
  datasource?: { type?: string; uid?: string };
  targets?: Target[];
}
interface TemplateVar {
  type: string;
  name: string;
  query: string | { query: string };
  datasource?: { type?: string; uid?: string };
  includeAll?: boolean;
  allValue?: string;
}
interface Dashboard {
  schemaVersion: number;
  uid: string;
  title: string;
  panels: Panel[];
  templating: { list: TemplateVar[] };
}

function loadRules(): RuleGroup[] {
  return (parse(readFileSync(RULES_FILE, 'utf8')) as { groups: RuleGroup[] }).groups;
}

function alertRules(): Rule[] {
  return loadRules().flatMap((g) => g.rules.filter((r) => r.alert !== undefined));
}

function loadDashboard(): Dashboard {
  return JSON.parse(readFileSync(DASHBOARD, 'utf8')) as Dashboard;
}

function queryPanels(d: Dashboard): Panel[] {
  return d.panels.filter((p) => p.type !== 'row');
}

function variableQuery(v: TemplateVar): string {
  return typeof v.query === 'string' ? v.query : v.query.query;
}

/** `label_values(<selector>, <label>)`, a Grafana Prometheus variable query. */
function parseLabelValues(query: string): { selector: string; label: string } {
  const m = /^label_values\((.+),\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*\)$/.exec(query.trim());
  assert.ok(m, `variable query ${JSON.stringify(query)} is not label_values(<selector>, <label>)`);
  return { selector: m[1]!, label: m[2]! };
}

// ---------------------------------------------------------------------------------------------
// PromQL, just enough to name what a query uses and to take an alert's threshold off.

const PROMQL_KEYWORDS = new Set(['and', 'or', 'unless', 'by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'bool', 'offset']);

/** Blanks string literals (keeping their quotes), so their contents never look like names. */
function blankStrings(expr: string): string {
  return expr.replace(/"(?:[^"\\]|\\.)*"/g, '""');
}

/** The metric names and label names a PromQL expression uses. */
function promqlNames(expr: string): { metrics: Set<string>; labels: Set<string> } {
  const metrics = new Set<string>();
  const labels = new Set<string>();
  let rest = blankStrings(expr);
  for (const m of rest.matchAll(/\{([^}]*)\}/g)) {
    for (const l of m[1]!.matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)\s*(?:=~|!~|!=|=)/g)) labels.add(l[1]!);
  }
  rest = rest.replace(/\{[^}]*\}/g, ' ').replace(/\[[^\]]*\]/g, ' ');
  for (const m of rest.matchAll(/\b(?:by|without|on|ignoring|group_left|group_right)\s*\(([^)]*)\)/g)) {
    for (const l of m[1]!.split(',')) if (l.trim() !== '') labels.add(l.trim());
  }
  rest = rest.replace(/\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ');
  for (const m of rest.matchAll(/(?<![\w.$])([a-zA-Z_:][a-zA-Z0-9_:]*)(?![\w:])(?!\s*\()/g)) {
    if (!PROMQL_KEYWORDS.has(m[1]!)) metrics.add(m[1]!);
  }
  return { metrics, labels };
}

/** Index of the parenthesis closing the one at `open`, skipping string literals. */
function closingParen(s: string, open: number): number {
  let depth = 0;
  for (let i = open; i < s.length; i++) {
    const c = s[i];
    if (c === '"') {
      i = s.indexOf('"', i + 1);
      while (s[i - 1] === '\\') i = s.indexOf('"', i + 1);
    } else if (c === '(') depth++;
    else if (c === ')' && --depth === 0) return i;
  }
  throw new Error(`unbalanced parentheses in ${s}`);
}

function unwrapParens(s: string): string {
  let out = s.trim();
  while (out.startsWith('(') && closingParen(out, 0) === out.length - 1) out = out.slice(1, -1).trim();
  return out;
}

/** Splits at ` and ` outside parentheses, braces and strings. */
function splitTopLevelAnd(s: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (c === '"') {
      i = s.indexOf('"', i + 1);
      while (s[i - 1] === '\\') i = s.indexOf('"', i + 1);
    } else if ('({['.includes(c)) depth++;
    else if (')}]'.includes(c)) depth--;
    else if (depth === 0 && s.startsWith(' and ', i)) {
      parts.push(s.slice(start, i));
      start = i + ' and '.length;
      i = start - 1;
    }
  }
  parts.push(s.slice(start));
  return parts.map((p) => p.trim());
}

const THRESHOLD = /\s*(?:==|!=|>=|<=|>|<)\s*-?[0-9.]+(?:e[+-]?\d+)?$/;

/**
 * The vectors an alert compares against its thresholds: each top-level `and` operand with its
 * trailing `<op> <number>` removed (and outer parentheses dropped), or the argument of `absent()`.
 * Throws when an operand has no threshold to remove, so a new alert shape is noticed here.
 */
function underlyingVectors(expr: string): string[] {
  const flat = expr.replace(/\s+/g, ' ').trim();
  const absent = /^absent\((.*)\)$/.exec(flat);
  if (absent && closingParen(flat, 'absent'.length) === flat.length - 1) return [absent[1]!.trim()];
  return splitTopLevelAnd(flat).map((part) => {
    const bare = unwrapParens(part);
    assert.match(bare, THRESHOLD, `alert operand without a threshold comparison: ${bare}`);
    return unwrapParens(bare.replace(THRESHOLD, ''));
  });
}

// ---------------------------------------------------------------------------------------------
// What docs/metrics.md lists.

function documented(): { families: Set<string>; words: Set<string> } {
  const text = readFileSync(METRICS_DOC, 'utf8');
  const words = new Set<string>();
  const families = new Set<string>();
  for (const m of text.matchAll(/`([^`\n]+)`/g)) {
    const span = m[1]!;
    if (/^[a-zA-Z_][a-zA-Z0-9_]*$/.test(span)) words.add(span);
    if (!/^[a-z_:][a-z0-9_:{},]*$/.test(span)) continue;
    // Expand `a_{x,y}_b` into a_x_b and a_y_b.
    let names = [span];
    while (names.some((n) => n.includes('{'))) {
      names = names.flatMap((n) => {
        const b = /\{([^{}]*)\}/.exec(n);
        return b ? b[1]!.split(',').map((alt) => n.slice(0, b.index) + alt + n.slice(b.index + b[0].length)) : [n];
      });
    }
    for (const n of names) families.add(n);
  }
  return { families, words };
}

function isDocumentedFamily(name: string, families: Set<string>): boolean {
  if (families.has(name)) return true;
  const base = /^(.*)_(?:bucket|sum|count)$/.exec(name);
  return base !== null && families.has(base[1]!);
}

/** Histogram bucket boundaries: written by every histogram, not a label docs/metrics.md lists. */
const STANDARD_LABELS = new Set(['le']);

// ---------------------------------------------------------------------------------------------
// The environment: a scrape target, an OTLP sink that accepts and one that rejects.

/** `/metrics`: a tiny exposition; `/v1/metrics`: OTLP accepted (200); `/reject/v1/metrics`: 400. */
function targetScript(request: RequestInfo): Answer {
  if (request.path.startsWith('/reject/')) return { status: 400, body: 'rejected by the test', contentType: 'text/plain' };
  if (request.path === '/v1/metrics') return { body: '{}', contentType: 'application/json' };
  return { body: '# HELP shop_orders_total Orders.\n# TYPE shop_orders_total counter\nshop_orders_total 42\n', contentType: 'text/plain; version=0.0.4' };
}

function agentConfig(o: { kubeletRoot: string; rootPath: string; dockerEndpoint: string; sinkPort: number }): string {
  return [
    'receivers:',
    '  filesystem:',
    `    kubelet_root: ${JSON.stringify(o.kubeletRoot)}`,
    // The agent runs in the test's mount namespace without a PID namespace: its own table.
    '    mountinfo_path: /proc/self/mountinfo',
    '    statfs_timeout: 300ms',
    '    node_filesystems: { enabled: false }',
    '  hostpath:',
    `    root_path: ${JSON.stringify(o.rootPath)}`,
    '    collection_interval: 1s',
    '    jitter: 0',
    '  docker:',
    `    endpoint: ${JSON.stringify(o.dockerEndpoint)}`,
    '    collection_interval: 1s',
    '  podscrape:',
    '    collection_interval: 1s',
    '    scrape_timeout: 500ms',
    'exporters:',
    '  prometheus: {}',
    '  otlphttp/accepted:',
    `    endpoint: http://127.0.0.1:${o.sinkPort}/v1/metrics`,
    '    interval: 1s',
    '    timeout: 1s',
    '  otlphttp/rejected:',
    `    endpoint: http://127.0.0.1:${o.sinkPort}/reject/v1/metrics`,
    '    interval: 1s',
    '    timeout: 1s',
    'service:',
    '  pipelines:',
    '    metrics:',
    '      receivers: [filesystem, hostpath, docker, podscrape]',
    '      exporters: [prometheus, otlphttp/accepted, otlphttp/rejected]',
    '',
  ].join('\n');
}

function describeAlerts(alerts: readonly ActiveAlert[]): string {
  return alerts.map((a) => `${a.labels.alertname} ${a.state} value ${a.value} ${JSON.stringify(a.labels)}`).join('\n') || '(none)';
}

describe('dashboard and alerting rules', () => {
  it('the rules pass promtool check rules, and the PrometheusRule holds the same groups', async () => {
    requirePrereqs('promtool');
    const r = await run('promtool', ['check', 'rules', RULES_FILE], { allowFail: true, timeoutMs: 30_000 });
    assert.equal(r.code, 0, `promtool check rules:\n${r.stdout}${r.stderr}`);
    assert.match(r.stdout, /SUCCESS: \d+ rules found/);

    const resource = parse(readFileSync(PROMETHEUS_RULE, 'utf8')) as { apiVersion: string; kind: string; metadata: { name: string }; spec: { groups: RuleGroup[] } };
    assert.equal(resource.apiVersion, 'monitoring.coreos.com/v1');
    assert.equal(resource.kind, 'PrometheusRule');
    assert.ok(resource.metadata.name, 'metadata.name');
    assert.deepEqual(resource.spec.groups, loadRules());
  });

  it('every alert has a unique name, a severity, a summary and a description, and covers what nodemeter must alert on', () => {
    const alerts = alertRules();
    const names = alerts.map((a) => a.alert!);
    assert.equal(new Set(names).size, names.length, `duplicate alert names: ${names.join(', ')}`);
    for (const a of alerts) {
      assert.ok(['critical', 'warning', 'info'].includes(a.labels?.severity ?? ''), `${a.alert}: severity label`);
      assert.ok((a.annotations?.summary ?? '').trim().length > 0, `${a.alert}: summary annotation`);
      assert.ok((a.annotations?.description ?? '').trim().length > 0, `${a.alert}: description annotation`);
    }
    const uses = (family: string, also: RegExp = /./): boolean => alerts.some((a) => promqlNames(a.expr).metrics.has(family) && also.test(a.expr));
    assert.ok(uses('kubelet_volume_stats_used_bytes', /kubelet_volume_stats_capacity_bytes/), 'a used/capacity alert');
    assert.ok(uses('kubelet_volume_stats_available_bytes', /predict_linear/), 'a predict_linear fill-up alert');
    assert.ok(uses('kubelet_volume_stats_inodes_used', /kubelet_volume_stats_inodes\b/), 'an inodes alert');
    assert.ok(uses('nodemeter_filesystem_volume_error'), 'a statfs failure alert');
    assert.ok(uses('nodemeter_hostpath_walk_age_seconds') || uses('nodemeter_hostpath_walk_last_success_timestamp_seconds'), 'a stale walk alert');
    assert.ok(uses('nodemeter_filesystem_stuck_mounts'), 'a stuck mount alert');
    assert.ok(uses('up', /nodemeter_podscrape_targets/), 'a scrape target down alert');
    assert.ok(uses('nodemeter_exporter_pushes_total'), 'a push failure alert');
    assert.ok(uses('nodemeter_exporter_last_error_timestamp_seconds'), 'an exporter error alert');
    assert.ok(uses('nodemeter_exporter_last_success_timestamp_seconds'), 'an exporter success age alert');
    assert.ok(alerts.some((a) => /^up\{job=~"\.\*nodemeter\.\*"\} == 0$/.test(a.expr.trim())), 'an agent down alert');
    assert.ok(alerts.some((a) => /^absent\(up\{job=~"\.\*nodemeter\.\*"\}\)$/.test(a.expr.trim())), 'an agent absent alert');
  });

  it('the dashboard: schema 36 or later, a datasource variable, node and namespace variables, rows for volumes, containers, scrape targets and the agent', () => {
    const d = loadDashboard();
    assert.ok(d.schemaVersion >= 36, `schemaVersion ${d.schemaVersion}`);
    assert.ok(d.uid && d.title, 'uid and title');
    const vars = new Map(d.templating.list.map((v) => [v.name, v]));
    const ds = vars.get('datasource');
    assert.equal(ds?.type, 'datasource');
    assert.equal(ds?.query, 'prometheus');
    for (const name of ['node', 'namespace']) {
      const v = vars.get(name);
      assert.equal(v?.type, 'query', `variable ${name}`);
      assert.equal(v?.datasource?.uid, '${datasource}', `variable ${name}'s datasource`);
      assert.equal(parseLabelValues(variableQuery(v)).label, name);
      assert.equal(v?.includeAll, true, `variable ${name} offers All`);
      assert.equal(v?.allValue, '.*', `variable ${name}'s All is a regexp for =~`);
    }
    const rows = d.panels.filter((p) => p.type === 'row').map((p) => p.title);
    assert.deepEqual(rows, ['Volumes', 'Containers', 'Scrape targets', 'Agent']);
    const ids = d.panels.map((p) => p.id);
    assert.equal(new Set(ids).size, ids.length, 'unique panel ids');
    for (const p of d.panels) assert.ok(p.gridPos.x >= 0 && p.gridPos.x + p.gridPos.w <= 24, `${p.title}: within the 24-column grid`);
    for (const p of queryPanels(d)) {
      assert.equal(p.datasource?.uid, '${datasource}', `${p.title}: panel datasource`);
      assert.ok((p.targets ?? []).length > 0, `${p.title}: has queries`);
      for (const t of p.targets ?? []) {
        assert.equal(t.datasource?.uid, '${datasource}', `${p.title} ${t.refId}: target datasource`);
        assert.ok(t.expr.trim() !== '', `${p.title} ${t.refId}: expr`);
      }
    }
    const exprs = queryPanels(d).flatMap((p) => (p.targets ?? []).map((t) => t.expr));
    const used = new Set(exprs.flatMap((e) => [...promqlNames(e).metrics]));
    for (const family of [
      'kubelet_volume_stats_used_bytes', 'kubelet_volume_stats_capacity_bytes', 'kubelet_volume_stats_inodes_used', 'kubelet_volume_stats_inodes',
      'kubelet_volume_stats_available_bytes', 'nodemeter_hostpath_walk_last_success_timestamp_seconds', 'container_cpu_usage_seconds_total',
      'container_memory_working_set_bytes', 'container_network_receive_bytes_total', 'container_network_transmit_bytes_total', 'up',
      'scrape_duration_seconds', 'nodemeter_receiver_collect_duration_seconds_bucket', 'nodemeter_receiver_collect_failures_total',
      'nodemeter_exporter_last_error_timestamp_seconds', 'nodemeter_exporter_pushes_total', 'nodemeter_exporter_in_flight', 'nodemeter_filesystem_stuck_mounts',
    ]) {
      assert.ok(used.has(family), `the dashboard shows ${family}`);
    }
    assert.ok(exprs.some((e) => e.includes('predict_linear(kubelet_volume_stats_available_bytes')), 'a predict_linear fill-up forecast');
  });

  it('the dashboard and the rules use only metric families and labels docs/metrics.md lists', () => {
    const { families, words } = documented();
    const problems: string[] = [];
    const checkExpr = (where: string, expr: string): void => {
      const { metrics, labels } = promqlNames(expr);
      for (const m of metrics) if (!isDocumentedFamily(m, families)) problems.push(`${where}: metric ${m}`);
      for (const l of labels) if (!words.has(l) && !STANDARD_LABELS.has(l)) problems.push(`${where}: label ${l}`);
    };
    const checkLabelRefs = (where: string, text: string, pattern: RegExp): void => {
      for (const m of text.matchAll(pattern)) if (!words.has(m[1]!)) problems.push(`${where}: label ${m[1]}`);
    };
    const d = loadDashboard();
    for (const p of queryPanels(d)) {
      for (const t of p.targets ?? []) {
        checkExpr(`panel "${p.title}" ${t.refId}`, t.expr);
        checkLabelRefs(`panel "${p.title}" ${t.refId} legend`, t.legendFormat ?? '', /\{\{\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*\}\}/g);
      }
    }
    for (const v of d.templating.list.filter((x) => x.type === 'query')) {
      const { selector, label } = parseLabelValues(variableQuery(v));
      checkExpr(`variable ${v.name}`, selector);
      if (!words.has(label)) problems.push(`variable ${v.name}: label ${label}`);
    }
    for (const a of alertRules()) {
      checkExpr(`alert ${a.alert}`, a.expr);
      for (const [key, text] of Object.entries(a.annotations ?? {})) checkLabelRefs(`alert ${a.alert} ${key}`, text, /\$labels\.([a-zA-Z_][a-zA-Z0-9_]*)/g);
    }
    // The check itself sees names: a made-up family and label are caught.
    const before = problems.length;
    checkExpr('self-check', 'rate(nodemeter_made_up_total{made_up_label="x"}[5m])');
    assert.equal(problems.length, before + 2, 'the name check catches unknown names');
    problems.splice(before);
    assert.deepEqual(problems, []);
  });

  it('takes the thresholds off alert expressions', () => {
    assert.deepEqual(underlyingVectors('(a{x="1"} / b) > 0.85\nand\npredict_linear(c[6h], 24 * 3600) < 0'), ['a{x="1"} / b', 'predict_linear(c[6h], 24 * 3600)']);
    assert.deepEqual(underlyingVectors('(up and on (job) t) == 0'), ['up and on (job) t']);
    assert.deepEqual(underlyingVectors('absent(up{job=~".*n.*"})'), ['up{job=~".*n.*"}']);
    assert.throws(() => underlyingVectors('rate(x[5m])'), /without a threshold/);
  });

  describe('against a real agent and Prometheus', () => {
    let dockerd: Dockerd | undefined;
    let ns: MountNamespace | undefined;
    let fuse: FuseHang | undefined;
    let api: KubeApiServer | undefined;
    let target: ScriptedServer | undefined;
    let hostRoot: { path: string; remove: () => Promise<void> } | undefined;
    let rulesDir: { path: string; remove: () => Promise<void> } | undefined;
    let agent: Agent | undefined;
    let prom: Prometheus | undefined;
    let volume: Volume;

    /** Grafana's substitution of the dashboard's variables, as a user picking this agent and node sees it. */
    function substitute(expr: string): string {
      const values: Record<string, string> = {
        job: JOB,
        instance: `${agent!.host}:${agent!.port}`.replace(/[.]/g, '\\\\.'),
        node: NODE,
        namespace: '.*',
      };
      return expr.replace(/\$__rate_interval/g, RATE_INTERVAL).replace(/\$\{(\w+)\}|\$(\w+)/g, (whole, a: string | undefined, b: string | undefined) => {
        const name = a ?? b ?? '';
        assert.ok(name in values, `no test value for variable ${whole} in ${expr}`);
        return values[name]!;
      });
    }

    before(async () => {
      requirePrereqs('root', 'mountns', 'fuse', 'prometheus', 'dockerd');
      // Docker first: its socket is then on the filesystem the namespace copies.
      dockerd = await Dockerd.start({ name: 'dashboards' });
      await dockerd.runContainer({
        name: 'shop-web',
        command: 'sleep 100000',
        labels: { 'io.kubernetes.pod.namespace': 'shop', 'io.kubernetes.pod.name': 'web-0', 'io.kubernetes.container.name': 'web' },
      });

      ns = await MountNamespace.create();
      const tree = new KubeletTree(ns);
      volume = await tree.emptyDir(POD_UID, 'cache', { size: `${VOLUME_BYTES / MiB}m` });
      // A CSI volume whose statfs hangs: a stuck mount, a volume error and collect failures.
      const fuseMount = join(tree.volumeDir(POD_UID, 'csi', 'pvc-hung'), 'mount');
      fuse = await FuseHang.start(ns, { mountpoint: fuseMount, controlDir: join(ns.root, 'fuse-ctl') });
      await fuse.hang();

      // hostPath volumes: one measured, one whose directory is missing (a walk error).
      hostRoot = await makeTempDir('nodemeter-dash-host-');
      api = await KubeApiServer.start();
      api.add(node(NODE));
      api.add(namespace('default'));
      api.add(namespace('data'));
      for (const claim of ['uploads', 'missing']) {
        const pv = dynamicPvName('data', claim);
        api.add(persistentVolume(pv, { type: 'localPath', node: NODE, claimNamespace: 'data', claimName: claim }, { capacity: '1Gi', storageClassName: 'local-path', claim: { namespace: 'data', name: claim } }));
        api.add(persistentVolumeClaim('data', claim, { storageClassName: 'local-path', request: '1Gi', volumeName: pv, provisioner: 'rancher.io/local-path', selectedNode: NODE }));
      }
      const uploads = join(hostRoot.path, 'opt', 'local-path-provisioner', `${dynamicPvName('data', 'uploads')}_data_uploads`);
      mkdirSync(uploads, { recursive: true });
      writeFileSync(join(uploads, 'photo.jpg'), Buffer.alloc(100_000, 1));

      // Pods to scrape: one answers, one points at a port nothing listens on.
      target = await ScriptedServer.start({ script: targetScript });
      const scraped = (name: string, port: number): ReturnType<typeof pod> =>
        pod(name, { namespace: 'default', node: NODE, podIP: '127.0.0.1', annotations: { 'prometheus.io/scrape': 'true', 'prometheus.io/port': String(port) } });
      api.add(scraped('web-0', target.port));
      api.add(scraped('broken-0', 1));

      agent = await startAgent({
        config: agentConfig({ kubeletRoot: tree.kubeletRoot, rootPath: hostRoot.path, dockerEndpoint: dockerd.endpoint, sinkPort: target.port }),
        prefix: ns.prefix,
        extraArgs: ['--kube-api-url', api.url, '--node-name', NODE],
      });

      // The rules as shipped, `for:` shortened so alerts fire within the test.
      rulesDir = await makeTempDir('nodemeter-dash-rules-');
      const groups = loadRules().map((g) => ({ ...g, rules: g.rules.map((r) => (r.for === undefined ? r : { ...r, for: '1s' })) }));
      const testRules = join(rulesDir.path, 'nodemeter.rules.yml');
      await writeFile(testRules, stringify({ groups }));
      prom = await Prometheus.start({
        targets: [{ address: `${agent.host}:${agent.port}`, job: JOB, honorLabels: true }],
        ruleFiles: [testRules],
        evaluationInterval: '1s',
      });
    });

    after(async () => {
      // Unhang first, so neither the agent nor the unmount stays blocked in statfs.
      await fuse?.unhang();
      await prom?.close();
      await agent?.kill();
      await fuse?.close();
      await ns?.close();
      await api?.stop();
      await dockerd?.close();
      await target?.close();
      await hostRoot?.remove();
      await rulesDir?.remove();
    });

    it('Prometheus scrapes the agent', async () => {
      await prom!.waitForQuery(`up{job="${JOB}"}`, (r) => r.length === 1 && r[0]!.value === 1, 20_000).catch(async (err: Error) => {
        throw new Error(`${err.message}\ntargets: ${JSON.stringify(await prom!.targets())}\n${agent!.describe()}`);
      });
    });

    it('every template variable lists the values the test picks', async () => {
      const d = loadDashboard();
      const want: Record<string, string> = { job: JOB, instance: `${agent!.host}:${agent!.port}`, node: NODE, namespace: 'data' };
      for (const v of d.templating.list.filter((x) => x.type === 'query')) {
        const { selector, label } = parseLabelValues(variableQuery(v));
        const expr = substitute(selector);
        const result = await prom!.waitForQuery(expr, (r) => r.some((s) => s.metric[label] === want[v.name]), 20_000);
        assert.ok(result.length > 0, `variable ${v.name}: ${expr}`);
      }
    });

    it('every dashboard query returns at least one series', async () => {
      const d = loadDashboard();
      const empty: string[] = [];
      for (const p of queryPanels(d)) {
        for (const t of p.targets ?? []) {
          const expr = substitute(t.expr);
          const result = await prom!.waitForQuery(expr, (r) => r.length > 0, 20_000).catch(() => []);
          if (result.length === 0) empty.push(`panel "${p.title}" ${t.refId}: ${expr}`);
        }
      }
      assert.deepEqual(empty, [], `queries without series\n${agent!.describe().slice(-3000)}`);
    });

    it("every alert's underlying vector returns at least one series, and every rule evaluates without error", async () => {
      const empty: string[] = [];
      for (const a of alertRules()) {
        const vectors = underlyingVectors(a.expr);
        assert.ok(vectors.length > 0, `${a.alert}: underlying vectors`);
        for (const expr of vectors) {
          const result = await prom!.waitForQuery(expr, (r) => r.length > 0, 20_000).catch(() => []);
          if (result.length === 0) empty.push(`${a.alert}: ${expr}`);
        }
      }
      assert.deepEqual(empty, [], 'alert vectors without series');

      const names = alertRules().map((a) => a.alert!).sort();
      const rules = await prom!.rules();
      assert.deepEqual(rules.filter((r) => r.type === 'alerting').map((r) => r.name).sort(), names, 'Prometheus loaded every alert');
      for (const r of rules) assert.equal(r.health, 'ok', `${r.group}/${r.name}: ${r.health} ${r.lastError ?? ''}`);
    });

    it('a volume filled past 85% fires NodemeterVolumeUsageHigh, and emptying it resolves the alert', async () => {
      const forVolume = (alerts: readonly ActiveAlert[], name: string): ActiveAlert[] =>
        alerts.filter((a) => a.labels.alertname === name && a.labels.mountpoint === volume.mountpoint);
      const usage = `kubelet_volume_stats_used_bytes{job="${JOB}",volume="cache"} / kubelet_volume_stats_capacity_bytes{job="${JOB}",volume="cache"}`;
      const low = await prom!.waitForQuery(usage, (r) => r.length === 1);
      assert.ok(low[0]!.value < 0.1, `the volume starts nearly empty: ${low[0]!.value}`);
      assert.deepEqual(forVolume(await prom!.alerts(), 'NodemeterVolumeUsageHigh'), [], 'not firing before the volume fills');

      const file = join(volume.mountpoint, 'fill');
      await ns!.writeZeros(file, FILL_BYTES);
      // Firing, and evaluated on a scrape taken after the whole file was written.
      const fired = await waitForAlerts(prom!, `NodemeterVolumeUsageHigh firing for the volume at ${FILL_BYTES / VOLUME_BYTES}`, (alerts) =>
        forVolume(alerts, 'NodemeterVolumeUsageHigh').some((a) => a.state === 'firing' && Number(a.value) === FILL_BYTES / VOLUME_BYTES),
      );
      const alert = forVolume(fired, 'NodemeterVolumeUsageHigh')[0]!;
      assert.equal(alert.labels.severity, 'warning');
      assert.equal(alert.labels.node, NODE);
      assert.equal(alert.labels.job, JOB);
      assert.ok(alert.annotations.summary, 'summary rendered');
      assert.ok(alert.annotations.description!.includes(volume.mountpoint), `description names the volume: ${alert.annotations.description}`);
      assert.match(alert.annotations.description!, /92(\.\d+)?%/);
      // Past 0.85 but not 0.97: the critical alert stays quiet.
      assert.deepEqual(forVolume(fired, 'NodemeterVolumeUsageCritical'), [], describeAlerts(fired));

      await ns!.exec('rm', ['-f', file]);
      await waitForAlerts(prom!, 'NodemeterVolumeUsageHigh resolved', (alerts) => forVolume(alerts, 'NodemeterVolumeUsageHigh').length === 0);
    });
  });
});

/** Polls /api/v1/alerts until `accept` holds; returns those alerts. */
async function waitForAlerts(prom: Prometheus, what: string, accept: (alerts: ActiveAlert[]) => boolean, timeoutMs = 20_000): Promise<ActiveAlert[]> {
  const deadline = performance.now() + timeoutMs;
  let last: ActiveAlert[] = [];
  while (performance.now() < deadline) {
    last = await prom.alerts();
    if (accept(last)) return last;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new Error(`timed out waiting for ${what}; active alerts:\n${describeAlerts(last)}`);
}
