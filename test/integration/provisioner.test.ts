// The provisioner receiver in a real agent process against the test Kubernetes API server:
// scripted volume lifecycles (local-path-provisioner, the static local volume provisioner in
// Block and Filesystem mode, failed deletions with Warning events written by both event APIs),
// other nodes' volumes and events, an agent restart mid-lifecycle and a watch that expires
// (410 Gone → relist). After every step the agent's /metrics is pulled and EVERY sample of the
// receiver's nine lifecycle families (each counter, gauge, histogram bucket, _sum and _count, and
// no other series in them; the discovery-directory families are not this file's) is compared with a model of what the step should have counted (receivers/provisioner/README.md,
// "Counting rules").
//
// Knowing when the agent has seen a step: its cache reports `nodemeter_kube_cache_objects{kind}`
// (deleted objects in their grace period included), and each kind's watch delivers in order.
// So after a step the test writes one harmless marker object of each watched kind (a PV and a
// claim that name no node, an event about each) and pulls until every kind holds exactly the
// number of objects written since the agent started: the step's changes came before the
// markers, so the receiver has applied all of them, and the pull's values are final.
//
// Times in the scripts are on a virtual API-server clock set in the past (`T0` = two to five
// minutes ago): creation and phase-transition times make the latencies and durations land in
// known buckets. Where the agent's own clock decides (a deletion seen by the watch, a claim
// bound without a transition time), the model holds the window [change written, pull answered].
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startAgent, type Agent } from '../support/agent.ts';
import { formatLabels, formatSample, parseExposition, type Sample } from '../support/exposition.ts';
import {
  coreEvent,
  coreViewOf,
  dynamicPvName,
  eventsV1Event,
  localPvName,
  node,
  persistentVolume,
  persistentVolumeClaim,
  storageClass,
  uidFor,
  type InvolvedObject,
  type PvcOptions,
  type PvOptions,
  type PvSource,
} from '../support/kube-api/fixtures.ts';
import type { KubeObject } from '../support/kube-api/resources.ts';
import { KubeApiServer } from '../support/kube-api/server.ts';
import { sleep, waitFor } from '../support/proc.ts';

const GI = 2 ** 30;
const STUCK_MS = 5_000;
/** The receiver's default buckets (docs/metrics.md): latency 0.5 s … 1 h; delete duration Prometheus' defaults + 30 s … 1 h. */
const LATENCY_BUCKETS = [0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600];
const DELETE_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 600, 1800, 3600];

const LP = 'rancher.io/local-path';
/** local-path-provisioner's recorder: the old one, `source.component` only. */
const LPP_COMPONENT = 'rancher.io/local-path_local-path-provisioner-6d9d9b57c-8xk2q_5f0d7a2e-9b1c-4e3d-8a6f-1c2b3d4e5f60';
const PV_CONTROLLER = 'persistentvolume-controller';
/** The static provisioner's recorder name on `node` (also its `pv.kubernetes.io/provisioned-by`). */
const lvp = (nodeName: string): string => `local-volume-provisioner-${nodeName}-${uidFor(`lvp/${nodeName}`)}`;

const DISCOVERY = 'local_volume_provisioner_persistentvolume_discovery_total';
const DELETED = 'local_volume_provisioner_persistentvolume_delete_total';
const DELETE_FAILED = 'local_volume_provisioner_persistentvolume_delete_failed_total';
const DELETE_DURATION = 'local_volume_provisioner_persistentvolume_delete_duration_seconds';
const CAPACITY = 'local_volume_provisioner_persistentvolume_capacity_bytes';
const VOLUMES = 'nodemeter_provisioner_persistentvolumes';
const LATENCY = 'nodemeter_provisioner_provisioning_latency_seconds';
const EVENTS = 'nodemeter_provisioner_events_total';
const STUCK = 'nodemeter_provisioner_stuck_persistentvolumes';
/**
 * The lifecycle families (issue 7): every sample of these is checked, and no other may appear in
 * them. The receiver's discovery-directory families are another test's business and are ignored.
 */
const LIFECYCLE_SAMPLES = new Set([
  ...[DISCOVERY, DELETED, DELETE_FAILED, CAPACITY, VOLUMES, EVENTS, STUCK],
  ...[DELETE_DURATION, LATENCY].flatMap((h) => [`${h}_bucket`, `${h}_sum`, `${h}_count`]),
]);
const isLifecycle = (s: Sample): boolean => LIFECYCLE_SAMPLES.has(s.name);

type Labels = Record<string, string>;
/** A value the agent may report: anything in [min, max]. */
type Range = readonly [number, number];
type Mode = 'Filesystem' | 'Block';
const MODES: readonly Mode[] = ['Filesystem', 'Block'];

const iso = (ms: number): string => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
const floorSec = (ms: number): number => Math.floor(ms / 1000) * 1000;
const exactly = (v: number): Range => [v, v];
/** Seconds from `from` (epoch ms) to a moment in [lo, hi] (epoch ms), floored at 0 as the receiver does. */
const secondsBetween = (from: number, lo: number, hi: number): Range => [Math.max(0, lo - from) / 1000, Math.max(0, hi - from) / 1000];

/** The local volume provisioner's `capacity` label, computed here independently: ceil(bytes / 500Gi) * 500 + "G". */
function capacityLabel(bytes: number): string {
  return `${Math.ceil(bytes / (500 * GI)) * 500}G`;
}

function seriesKey(name: string, labels: Labels): string {
  const sorted = Object.fromEntries(Object.entries(labels).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  return `${name}${formatLabels(sorted)}`;
}

// ---------------------------------------------------------------------------------------------
// The cluster: every write goes through here, so the test knows what each agent's cache holds.

type Watched = 'persistentvolumes' | 'persistentvolumeclaims' | 'persistentvolumeevents' | 'persistentvolumeclaimevents';
const WATCHED: readonly Watched[] = ['persistentvolumes', 'persistentvolumeclaims', 'persistentvolumeevents', 'persistentvolumeclaimevents'];
/** Every kind the receiver requires: all must be synced before anything counts. */
const REQUIRED = [...WATCHED, 'storageclasses', 'nodes'];
type Counts = Record<Watched, number>;

function watchedKind(obj: KubeObject): Watched | undefined {
  if (obj.kind === 'PersistentVolume') return 'persistentvolumes';
  if (obj.kind === 'PersistentVolumeClaim') return 'persistentvolumeclaims';
  if (obj.kind === 'Event') {
    const involved = (obj['involvedObject'] as { kind?: string } | undefined)?.kind;
    if (involved === 'PersistentVolume') return 'persistentvolumeevents';
    if (involved === 'PersistentVolumeClaim') return 'persistentvolumeclaimevents';
  }
  return undefined;
}

class Cluster {
  readonly api: KubeApiServer;
  readonly #added: Counts = { persistentvolumes: 0, persistentvolumeclaims: 0, persistentvolumeevents: 0, persistentvolumeclaimevents: 0 };
  readonly #removed: Counts = { ...this.#added };
  #markers = 0;

  constructor(api: KubeApiServer) {
    this.api = api;
  }

  add(obj: KubeObject): KubeObject {
    this.api.add(obj);
    const kind = watchedKind(obj);
    if (kind) this.#added[kind] += 1;
    return obj;
  }

  /** A full replace (MODIFIED), as a controller's update or a recorder's repeat writes it. */
  update(obj: KubeObject): KubeObject {
    this.api.update(obj);
    return obj;
  }

  /** Deletes a PV or claim (events are never deleted here: the cache drops deleted events at once, PVs and claims after a grace period). */
  remove(obj: KubeObject): void {
    const kind = watchedKind(obj);
    assert.ok(kind === 'persistentvolumes' || kind === 'persistentvolumeclaims', `remove() takes PVs and claims, not ${obj.kind}`);
    this.api.delete(kind, obj.metadata.namespace ?? '', obj.metadata.name);
    this.#removed[kind] += 1;
  }

  removedSoFar(): Counts {
    return { ...this.#removed };
  }

  /**
   * What the cache of an agent started when `removedAtStart` objects had been removed holds: the
   * objects live at its start plus every object added since (deleted ones stay for the grace
   * period, 2 min, longer than this file runs) = every object added − those removed before.
   */
  expectedObjects(removedAtStart: Counts): Counts {
    const out = { ...this.#added };
    for (const kind of WATCHED) out[kind] -= removedAtStart[kind];
    return out;
  }

  /** One object of each watched kind that is nobody's: a PV and a claim naming no node, and an event about each. */
  addMarkers(): void {
    const n = ++this.#markers;
    const name = `marker-${n}`;
    this.add(persistentVolume(name, { type: 'hostPath', path: `/markers/${n}` }, { storageClassName: 'markers' }));
    this.add(persistentVolumeClaim('markers', name, { storageClassName: 'markers' }));
    this.add(coreEvent({ kind: 'PersistentVolume', name }, 'Marker', `marker ${n}`, { type: 'Warning' }));
    this.add(coreEvent({ kind: 'PersistentVolumeClaim', namespace: 'markers', name }, 'Marker', `marker ${n}`));
  }
}

// ---------------------------------------------------------------------------------------------
// Agents and pulls.

interface NodeAgent {
  readonly node: string;
  readonly agent: Agent;
  readonly removedAtStart: Counts;
  /** Epoch ms once the agent was ready: the receiver started before this. */
  readonly readyAt: number;
}

/** One pull of /metrics, with the moments it was sent and answered (the agent's collection time lies between). */
interface Pull {
  readonly samples: Sample[];
  readonly sentAt: number;
  readonly receivedAt: number;
}

const agents: Agent[] = [];

function agentConfig(extra: readonly string[]): string {
  return [
    'receivers:',
    '  provisioner:',
    `    stuck_threshold: ${STUCK_MS / 1000}s`,
    ...extra.map((line) => `    ${line}`),
    'exporters:',
    '  prometheus: {}',
    'service:',
    '  pipelines:',
    '    metrics:',
    '      receivers: [provisioner]',
    '      exporters: [prometheus]',
    '',
  ].join('\n');
}

async function pull(a: NodeAgent): Promise<Pull> {
  const sentAt = Date.now();
  const body = (await a.agent.scrape()).body;
  return { samples: parseExposition(body), sentAt, receivedAt: Date.now() };
}

function cacheObjects(p: Pull): Record<string, number> {
  const out: Record<string, number> = {};
  for (const s of p.samples) if (s.name === 'nodemeter_kube_cache_objects' && s.labels.kind) out[s.labels.kind] = s.value;
  return out;
}

/** Pulls until `check` accepts one; the failure shows the last pull's cache and provisioner samples. */
async function pullUntil(a: NodeAgent, what: string, check: (p: Pull) => boolean, timeoutMs = 15_000): Promise<Pull> {
  let last: Pull | undefined;
  try {
    return await waitFor(
      `${a.node}: ${what}`,
      async () => {
        if (a.agent.exited) throw new Error(`agent exited\n${a.agent.describe()}`);
        last = await pull(a);
        return check(last) ? last : undefined;
      },
      { timeoutMs, intervalMs: 50 },
    );
  } catch (err) {
    const shown = last ? last.samples.filter((s) => s.name.startsWith('nodemeter_kube_cache') || isLifecycle(s)).map(formatSample) : [];
    throw new Error(`${(err as Error).message}\nlast pull:\n${shown.join('\n') || '(none)'}\n${a.agent.describe()}`, { cause: err });
  }
}

/** Waits until every agent's cache is synced and holds exactly what was written (markers first, unless `markers` is false). */
async function settle(cluster: Cluster, nodeAgents: readonly NodeAgent[], markers = true): Promise<Pull[]> {
  if (markers) cluster.addMarkers();
  return Promise.all(
    nodeAgents.map((a) => {
      const want = cluster.expectedObjects(a.removedAtStart);
      return pullUntil(a, `cache synced and holding ${JSON.stringify(want)}`, (p) => {
        const synced = REQUIRED.every((kind) => p.samples.some((s) => s.name === 'nodemeter_kube_cache_synced' && s.labels.kind === kind && s.value === 1));
        const held = cacheObjects(p);
        return synced && WATCHED.every((kind) => held[kind] === want[kind]);
      });
    }),
  );
}

async function settleOne(cluster: Cluster, a: NodeAgent): Promise<Pull> {
  return (await settle(cluster, [a]))[0]!;
}

async function startNodeAgent(cluster: Cluster, nodeName: string, extra: readonly string[] = []): Promise<NodeAgent> {
  const removedAtStart = cluster.removedSoFar();
  const agent = await startAgent({ config: agentConfig(extra), extraArgs: ['--kube-api-url', cluster.api.url, '--node-name', nodeName] });
  agents.push(agent);
  const a: NodeAgent = { node: nodeName, agent, removedAtStart, readyAt: Date.now() };
  // Nothing is written until the initial lists are in: a change before them would be baseline.
  await settle(cluster, [a], false);
  return a;
}

/** Still running; nothing logged at error or fatal; nothing alarming on stderr. */
function assertHealthy(a: NodeAgent): void {
  assert.equal(a.agent.exited, false, `${a.node}: agent exited\n${a.agent.describe()}`);
  assert.deepEqual(a.agent.logs.filter((l) => (l.level ?? 0) >= 50), [], `${a.node}: error/fatal log lines`);
  assert.doesNotMatch(a.agent.stderr, /unhandledRejection|Unhandled|uncaught|fatal/i, `${a.node}: agent stderr`);
  const failures = a.agent.logs.filter((l) => l.msg === 'provisioner receiver could not apply a Kubernetes change');
  assert.deepEqual(failures, [], `${a.node}: every change applied`);
}

// ---------------------------------------------------------------------------------------------
// The model: what the receiver should report after each step.

interface Volume {
  readonly mode: Mode;
  readonly bytes: number;
  readonly storageClass: string;
  phase: string;
  /** When its current phase began (epoch ms window), for the stuck gauge. */
  since: Range;
}

class Model {
  readonly #type: string;
  readonly #discovered = new Map<Mode, number>(MODES.map((m) => [m, 0]));
  readonly #deleted = new Map<Mode, number>(MODES.map((m) => [m, 0]));
  readonly #deleteFailed = new Map<Mode, number>(MODES.map((m) => [m, 0]));
  readonly #durations = new Map<string, { labels: Labels; observations: Range[] }>();
  readonly #latencies = new Map<string, { labels: Labels; observations: Range[] }>();
  readonly #events = new Map<string, { labels: Labels; n: number }>();
  readonly #volumes = new Map<string, Volume>();

  constructor(deleteType = 'process') {
    this.#type = deleteType;
  }

  /** A PV of this node there at the agent's start: in the gauges, never counted. */
  present(name: string, v: Volume): void {
    this.#volumes.set(name, v);
  }

  discovered(name: string, v: Volume): void {
    this.#volumes.set(name, v);
    this.#discovered.set(v.mode, this.#discovered.get(v.mode)! + 1);
  }

  phase(name: string, phase: string, since: Range): void {
    const v = this.#volume(name);
    v.phase = phase;
    v.since = since;
  }

  /** Deleted; `seconds` is its Released → deleted duration when the receiver can know it. */
  deleted(name: string, seconds?: Range): void {
    const v = this.#volume(name);
    this.#volumes.delete(name);
    this.#deleted.set(v.mode, this.#deleted.get(v.mode)! + 1);
    if (seconds) observe(this.#durations, { mode: v.mode, type: this.#type, capacity: capacityLabel(v.bytes) }, seconds);
  }

  event(reason: string, type: string, component: string, kind: 'PersistentVolume' | 'PersistentVolumeClaim', n: number): void {
    const labels = { reason, type, reporting_component: component, kind };
    const key = seriesKey('', labels);
    const row = this.#events.get(key) ?? { labels, n: 0 };
    row.n += n;
    this.#events.set(key, row);
  }

  /** `n` occurrences of a Warning VolumeFailedDelete about PV `name`. */
  failedDelete(name: string, component: string, n: number): void {
    const v = this.#volume(name);
    this.event('VolumeFailedDelete', 'Warning', component, 'PersistentVolume', n);
    this.#deleteFailed.set(v.mode, this.#deleteFailed.get(v.mode)! + n);
  }

  latency(storageclass: string, provisioner: string, seconds: number | Range): void {
    observe(this.#latencies, { storageclass, provisioner }, typeof seconds === 'number' ? exactly(seconds) : seconds);
  }

  /** Every sample the receiver should expose at the time of `p`, with its allowed range. */
  expected(p: Pull): Map<string, Range> {
    const out = new Map<string, Range>();
    const set = (name: string, labels: Labels, value: Range): void => void out.set(seriesKey(name, labels), value);
    const capacity = new Map<Mode, number>(MODES.map((m) => [m, 0]));
    const phases = new Map<string, { labels: Labels; n: number }>();
    const stuck = { Failed: [0, 0], Pending: [0, 0] } as Record<string, [number, number]>;
    for (const v of this.#volumes.values()) {
      capacity.set(v.mode, capacity.get(v.mode)! + v.bytes);
      const labels = { phase: v.phase, storageclass: v.storageClass };
      const row = phases.get(seriesKey('', labels)) ?? { labels, n: 0 };
      row.n += 1;
      phases.set(seriesKey('', labels), row);
      const s = stuck[v.phase];
      if (!s) continue;
      // The agent's clock at collection is within [sentAt, receivedAt]: stuck for sure, or possibly.
      if (p.sentAt - v.since[1] > STUCK_MS) s[0] += 1;
      if (p.receivedAt - v.since[0] > STUCK_MS) s[1] += 1;
    }
    for (const mode of MODES) {
      set(DISCOVERY, { mode }, exactly(this.#discovered.get(mode)!));
      set(DELETED, { mode, type: this.#type }, exactly(this.#deleted.get(mode)!));
      set(DELETE_FAILED, { mode, type: this.#type }, exactly(this.#deleteFailed.get(mode)!));
      set(CAPACITY, { mode }, exactly(capacity.get(mode)!));
    }
    for (const { labels, n } of phases.values()) set(VOLUMES, labels, exactly(n));
    for (const [phase, range] of Object.entries(stuck)) set(STUCK, { phase }, range);
    for (const { labels, n } of this.#events.values()) set(EVENTS, labels, exactly(n));
    for (const { labels, observations } of this.#durations.values()) histogramRows(out, DELETE_DURATION, labels, DELETE_BUCKETS, observations);
    for (const { labels, observations } of this.#latencies.values()) histogramRows(out, LATENCY, labels, LATENCY_BUCKETS, observations);
    return out;
  }

  #volume(name: string): Volume {
    const v = this.#volumes.get(name);
    assert.ok(v, `test script: the model has no volume ${name}`);
    return v;
  }
}

function observe(table: Map<string, { labels: Labels; observations: Range[] }>, labels: Labels, value: Range): void {
  const key = seriesKey('', labels);
  const row = table.get(key) ?? { labels, observations: [] };
  row.observations.push(value);
  table.set(key, row);
}

/** `_bucket{le}` for every bound and +Inf, `_sum`, `_count`; an observation known within [min, max] may or may not be in a bucket between. */
function histogramRows(out: Map<string, Range>, name: string, labels: Labels, bounds: readonly number[], observations: readonly Range[]): void {
  for (const bound of [...bounds, Infinity]) {
    const surely = observations.filter(([, max]) => max <= bound).length;
    const maybe = observations.filter(([min]) => min <= bound).length;
    out.set(seriesKey(`${name}_bucket`, { ...labels, le: bound === Infinity ? '+Inf' : String(bound) }), [surely, maybe]);
  }
  out.set(seriesKey(`${name}_sum`, labels), [observations.reduce((s, [min]) => s + min, 0), observations.reduce((s, [, max]) => s + max, 0)]);
  out.set(seriesKey(`${name}_count`, labels), exactly(observations.length));
}

/** Every sample of the receiver's families in `p` is the model's, and the model has no other. */
function check(p: Pull, model: Model, what: string): void {
  const want = model.expected(p);
  const mine = p.samples.filter(isLifecycle);
  const got = new Map(mine.map((s) => [seriesKey(s.name, s.labels), s.value]));
  assert.equal(got.size, mine.length, `${what}: no series twice`);
  const problems: string[] = [];
  const show = ([lo, hi]: Range): string => (lo === hi ? String(lo) : `[${lo}, ${hi}]`);
  for (const [key, range] of want) {
    const value = got.get(key);
    if (value === undefined) problems.push(`missing   ${key} (want ${show(range)})`);
    else if (value < range[0] - 1e-6 || value > range[1] + 1e-6) problems.push(`wrong     ${key} = ${value} (want ${show(range)})`);
  }
  for (const [key, value] of got) if (!want.has(key)) problems.push(`unwanted  ${key} = ${value}`);
  assert.deepEqual(problems, [], `${what}:\n${problems.join('\n')}\nthe receiver's samples:\n${mine.map(formatSample).join('\n')}`);
}

function valueOf(p: Pull, name: string, labels: Labels): number | undefined {
  return p.samples.find((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))?.value;
}

// ---------------------------------------------------------------------------------------------
// Object builders: each returns the full object, so an update is a builder call with new options.

function localPathPv(nodeName: string, ns: string, claim: string, opts: PvOptions): KubeObject {
  return persistentVolume(dynamicPvName(ns, claim), { type: 'localPath', node: nodeName, claimNamespace: ns, claimName: claim }, { storageClassName: 'local-path', ...opts });
}

function localPv(nodeName: string, path: string, opts: PvOptions, source: Partial<Extract<PvSource, { type: 'local' }>> = {}): KubeObject {
  return persistentVolume(localPvName(nodeName, path), { type: 'local', path, node: nodeName, ...source }, { storageClassName: 'local-storage', reclaimPolicy: 'Delete', ...opts });
}

function pvRef(pv: KubeObject): InvolvedObject {
  return { kind: 'PersistentVolume', name: pv.metadata.name, uid: pv.metadata.uid };
}

function claimRef(ns: string, name: string): InvolvedObject {
  return { kind: 'PersistentVolumeClaim', namespace: ns, name };
}

/** A core/v1 event repeated by the old recorder: same object, `count` and `lastTimestamp` bumped. */
function repeated(e: KubeObject, count: number, at: number, message?: string): KubeObject {
  return { ...e, count, lastTimestamp: iso(at), ...(message === undefined ? {} : { message }) };
}

// ---------------------------------------------------------------------------------------------

describe('provisioner receiver with the Kubernetes API: volume lifecycles counted through real pulls', () => {
  let api: KubeApiServer | undefined;
  let cluster: Cluster;

  before(async () => {
    api = await KubeApiServer.start();
    cluster = new Cluster(api);
    api.add(storageClass('local-path', LP, { bindingMode: 'WaitForFirstConsumer' }));
    api.add(storageClass('local-storage', 'kubernetes.io/no-provisioner', { bindingMode: 'WaitForFirstConsumer' }));
    for (const name of ['node-lp', 'node-x', 'node-y', 'node-r', 'node-w']) api.add(node(name));
    // EKS-style: the node's hostname label differs from its name; PV affinity may name either.
    api.add(node('node-st', { labels: { 'kubernetes.io/hostname': 'ip-10-0-0-5' } }));
  });

  after(async () => {
    for (const agent of agents) await agent.kill();
    await api?.stop();
  });

  it('a local-path-provisioner volume: WaitForFirstConsumer claim, selected-node, hostPath PV, Bound, Released, deleted', async () => {
    const NODE = 'node-lp';
    const NS = 'lp';
    const a = await startNodeAgent(cluster, NODE);
    const m = new Model();
    check((await settle(cluster, [a], false))[0]!, m, 'at start: the mode and phase series at 0, nothing else');

    const T0 = floorSec(Date.now()) - 120_000;
    const claim = (opts: PvcOptions): KubeObject => persistentVolumeClaim(NS, 'data', { storageClassName: 'local-path', request: '5Gi', created: iso(T0), ...opts });
    const ref = claimRef(NS, 'data');

    // 1. The claim waits for its first consumer: no node yet, so its events are nobody's.
    cluster.add(claim({}));
    cluster.add(coreEvent(ref, 'WaitForFirstConsumer', 'waiting for first consumer to be created before binding', { component: PV_CONTROLLER }));
    check(await settleOne(cluster, a), m, 'claim Pending, no node: nothing counted');

    // 2. The scheduler picks this node; the PV controller hands the claim to local-path-provisioner.
    const selected = { selectedNode: NODE, provisioner: LP };
    cluster.update(claim(selected));
    check(await settleOne(cluster, a), m, 'claim on this node, no PV yet');
    const external = cluster.add(
      coreEvent(ref, 'ExternalProvisioning', "Waiting for a volume to be created either by the external provisioner 'rancher.io/local-path' or manually by the system administrator.", { component: PV_CONTROLLER, firstTimestamp: iso(T0 + 1_000) }),
    );
    cluster.add(coreEvent(ref, 'Provisioning', `External provisioner is provisioning volume for claim "${NS}/data"`, { component: LPP_COMPONENT, firstTimestamp: iso(T0 + 2_000) }));
    m.event('ExternalProvisioning', 'Normal', PV_CONTROLLER, 'PersistentVolumeClaim', 1);
    m.event('Provisioning', 'Normal', LPP_COMPONENT, 'PersistentVolumeClaim', 1);
    check(await settleOne(cluster, a), m, "events about this node's claim");
    // The PV controller repeats its event twice between two writes (count 1 → 3).
    cluster.update(repeated(external, 3, T0 + 4_000));
    m.event('ExternalProvisioning', 'Normal', PV_CONTROLLER, 'PersistentVolumeClaim', 2);
    check(await settleOne(cluster, a), m, 'a repeated event counts by its count');

    // 3. local-path-provisioner creates the hostPath PV (Pending for 90 s on the API server's clock: stuck).
    const pvName = dynamicPvName(NS, 'data');
    const pv = (opts: PvOptions): KubeObject => localPathPv(NODE, NS, 'data', { capacity: '5Gi', claim: { namespace: NS, name: 'data' }, created: iso(T0 + 30_000), ...opts });
    cluster.add(pv({ phase: 'Pending', lastPhaseTransitionTime: iso(T0 + 30_000) }));
    m.discovered(pvName, { mode: 'Filesystem', bytes: 5 * GI, storageClass: 'local-path', phase: 'Pending', since: exactly(T0 + 30_000) });
    check(await settleOne(cluster, a), m, 'PV provisioned: discovered, capacity, Pending, stuck Pending');

    // 4. Bound: the PV first (as the PV controller does), then the claim; the provisioner reports success.
    cluster.update(pv({ phase: 'Bound', lastPhaseTransitionTime: iso(T0 + 32_000) }));
    m.phase(pvName, 'Bound', exactly(T0 + 32_000));
    check(await settleOne(cluster, a), m, 'PV Bound');
    cluster.update(claim({ ...selected, volumeName: pvName }));
    cluster.add(coreEvent(ref, 'ProvisioningSucceeded', `Successfully provisioned volume ${pvName}`, { component: LPP_COMPONENT, firstTimestamp: iso(T0 + 32_000) }));
    m.latency('local-path', LP, 32);
    m.event('ProvisioningSucceeded', 'Normal', LPP_COMPONENT, 'PersistentVolumeClaim', 1);
    check(await settleOne(cluster, a), m, 'claim Bound: one latency observation (claim created → PV Bound = 32 s)');

    // 5. The claim is deleted; the PV is Released (20 s ago on the API server's clock).
    const releasedAt = T0 + 100_000;
    cluster.remove(claim({ ...selected, volumeName: pvName }));
    cluster.update(pv({ phase: 'Released', lastPhaseTransitionTime: iso(releasedAt) }));
    m.phase(pvName, 'Released', exactly(releasedAt));
    check(await settleOne(cluster, a), m, 'claim deleted, PV Released');

    // 6. The provisioner cleans up and deletes the PV.
    const deleting = Date.now();
    cluster.remove(pv({}));
    const p = await settleOne(cluster, a);
    m.deleted(pvName, secondsBetween(releasedAt, deleting, p.receivedAt));
    check(p, m, 'PV deleted: delete_total, delete_duration{capacity="500G"}, gauges back to 0');
    assertHealthy(a);
    await a.agent.stop();
  });

  it('static local PVs in Block and Filesystem mode: failed deletions by Warning events of both writers, stuck in Failed, deleted', async () => {
    const NODE = 'node-st';
    const NS = 'static';
    const LVP = lvp(NODE);
    const T0 = floorSec(Date.now()) - 200_000;
    // There before the agent: Released on an older API server (no transition time), its cleanup failing twice already.
    const basePath = '/mnt/disks/ssd9';
    const basePvName = localPvName(NODE, basePath);
    const basePv = cluster.add(localPv(NODE, basePath, { capacity: '50Gi', phase: 'Released', lastPhaseTransitionTime: null }));
    const baseFailure = cluster.add(
      coreEvent({ kind: 'PersistentVolume', name: basePvName }, 'VolumeFailedDelete', `Error cleaning PV "${basePvName}": failed to clean volume: device or resource busy`, {
        type: 'Warning',
        component: LVP,
        count: 2,
        firstTimestamp: iso(T0),
        lastTimestamp: iso(T0 + 60_000),
      }),
    );

    const a = await startNodeAgent(cluster, NODE, ['delete_type: job']);
    const m = new Model('job');
    m.present(basePvName, { mode: 'Filesystem', bytes: 50 * GI, storageClass: 'local-storage', phase: 'Released', since: exactly(0) });
    check((await settle(cluster, [a], false))[0]!, m, 'at start: the PV there is in the gauges only; its event is baseline');

    // 1. The static provisioner discovers a block device and a mounted filesystem.
    const blockPath = '/dev/disk/by-id/nvme-fast-0';
    const fsPath = '/mnt/disks/ssd1';
    const blockName = localPvName(NODE, blockPath);
    const fsName = localPvName(NODE, fsPath);
    const now = (): string => iso(floorSec(Date.now()));
    const block = (opts: PvOptions): KubeObject => localPv(NODE, blockPath, { capacity: '600Gi', volumeMode: 'Block', created: created1, ...opts });
    // Affinity by the node's hostname label, not its name; an older API server (no transition times).
    const fs = (opts: PvOptions): KubeObject => localPv(NODE, fsPath, { capacity: '100Gi', lastPhaseTransitionTime: null, created: created1, ...opts }, { node: 'ip-10-0-0-5', provisionerNode: NODE });
    const created1 = now();
    cluster.add(block({ phase: 'Available', lastPhaseTransitionTime: iso(T0) }));
    cluster.add(fs({ phase: 'Available' }));
    m.discovered(blockName, { mode: 'Block', bytes: 600 * GI, storageClass: 'local-storage', phase: 'Available', since: exactly(T0) });
    m.discovered(fsName, { mode: 'Filesystem', bytes: 100 * GI, storageClass: 'local-storage', phase: 'Available', since: exactly(0) });
    check(await settleOne(cluster, a), m, 'two PVs discovered, one per mode');

    // 2. Two claims are made (no node: not ours), then bound: PVs first, claims after.
    const rawCreated = T0 + 10_000;
    const fsCreated = floorSec(Date.now()) - 100_000;
    const raw = (opts: PvcOptions): KubeObject => persistentVolumeClaim(NS, 'raw', { storageClassName: 'local-storage', request: '600Gi', created: iso(rawCreated), ...opts });
    const data = (opts: PvcOptions): KubeObject => persistentVolumeClaim(NS, 'data', { storageClassName: 'local-storage', request: '100Gi', created: iso(fsCreated), ...opts });
    cluster.add(raw({}));
    cluster.add(data({}));
    check(await settleOne(cluster, a), m, 'claims Pending: nothing changes');
    cluster.update(block({ phase: 'Bound', lastPhaseTransitionTime: iso(T0 + 12_000), claim: { namespace: NS, name: 'raw' } }));
    cluster.update(fs({ phase: 'Bound', claim: { namespace: NS, name: 'data' } }));
    m.phase(blockName, 'Bound', exactly(T0 + 12_000));
    m.phase(fsName, 'Bound', exactly(0));
    check(await settleOne(cluster, a), m, 'PVs Bound');
    const binding = Date.now();
    cluster.update(raw({ volumeName: blockName }));
    cluster.update(data({ volumeName: fsName }));
    let p = await settleOne(cluster, a);
    // raw: to the PV's Bound transition (2 s); data: no transition time, so to when the watch saw the claim bind.
    m.latency('local-storage', 'local-volume-provisioner', 2);
    m.latency('local-storage', 'local-volume-provisioner', secondsBetween(fsCreated, binding, p.receivedAt));
    check(p, m, 'claims Bound: two latency observations');

    // 3. The claims are deleted; both PVs are Released.
    const blockReleased = T0 + 100_000;
    cluster.remove(raw({ volumeName: blockName }));
    cluster.remove(data({ volumeName: fsName }));
    const releasing = Date.now();
    cluster.update(block({ phase: 'Released', lastPhaseTransitionTime: iso(blockReleased), claim: { namespace: NS, name: 'raw' } }));
    cluster.update(fs({ phase: 'Released', claim: { namespace: NS, name: 'data' } }));
    p = await settleOne(cluster, a);
    /** When the watch saw the Filesystem PV's Released (it has no transition time). */
    const fsReleased: Range = [releasing, p.receivedAt];
    m.phase(blockName, 'Released', exactly(blockReleased));
    m.phase(fsName, 'Released', fsReleased);
    check(p, m, 'PVs Released');

    // 4. Cleanups fail. Block: the old recorder's event, and the PV goes Failed. Filesystem: an
    //    events.k8s.io event (read through core/v1). The PV there at start fails once more.
    const failedAt = floorSec(Date.now());
    cluster.update(block({ phase: 'Failed', lastPhaseTransitionTime: iso(failedAt), claim: { namespace: NS, name: 'raw' } }));
    const blockFailure = cluster.add(
      coreEvent(pvRef(block({})), 'VolumeFailedDelete', `Error cleaning PV "${blockName}": failed to wipe block device: exit status 1`, { type: 'Warning', component: LVP, firstTimestamp: iso(failedAt) }),
    );
    const fsNote = `Error cleaning PV "${fsName}": failed to clean volume: unlinkat ${fsPath}/lost+found: operation not permitted`;
    const v1Failure = (series?: { count: number; lastObservedTime: string }): KubeObject =>
      coreViewOf(eventsV1Event(pvRef(fs({})), 'VolumeFailedDelete', fsNote, { type: 'Warning', controller: LVP, instance: NODE, action: 'Deleting', eventTime: new Date(failedAt).toISOString().replace('Z', '000Z'), ...(series ? { series } : {}) }));
    cluster.add(v1Failure());
    cluster.update(repeated(baseFailure, 3, Date.now()));
    m.phase(blockName, 'Failed', exactly(failedAt));
    m.failedDelete(blockName, LVP, 1);
    m.failedDelete(fsName, LVP, 1);
    m.failedDelete(basePvName, LVP, 1);
    p = await settleOne(cluster, a);
    assert.ok(p.receivedAt - failedAt < STUCK_MS, `the step took ${p.receivedAt - failedAt} ms: too slow to see the Failed PV not stuck yet`);
    check(p, m, 'first failures counted (the baseline event by its increase only); Failed, not stuck yet');
    // Repeats: count 1 → 3, then a new message with the same count (counts nothing); series 2, then 4.
    cluster.update(repeated(blockFailure, 3, Date.now()));
    cluster.update(repeated(blockFailure, 3, Date.now(), `Error cleaning PV "${blockName}": failed to wipe block device: exit status 1 (will retry)`));
    cluster.update(v1Failure({ count: 2, lastObservedTime: new Date().toISOString() }));
    cluster.update(v1Failure({ count: 4, lastObservedTime: new Date().toISOString() }));
    m.failedDelete(blockName, LVP, 2);
    m.failedDelete(fsName, LVP, 3);
    check(await settleOne(cluster, a), m, 'repeats counted by the increase of count / series.count');

    // 5. The Block PV stays Failed longer than stuck_threshold.
    p = await pullUntil(a, 'the Failed PV counted as stuck', (q) => valueOf(q, STUCK, { phase: 'Failed' }) === 1, 15_000);
    assert.ok(p.receivedAt - failedAt > STUCK_MS, `stuck after ${p.receivedAt - failedAt} ms, before stuck_threshold (${STUCK_MS} ms)`);
    check(p, m, 'stuck in Failed');

    // 6. All three are deleted: the Block one (Released kept through Failed), the Filesystem one
    //    (Released when the watch saw it), the one Released before the start (no known Released time: no duration).
    const deleting = Date.now();
    cluster.remove(block({}));
    cluster.remove(fs({}));
    cluster.remove(basePv);
    p = await settleOne(cluster, a);
    m.deleted(blockName, secondsBetween(blockReleased, deleting, p.receivedAt));
    m.deleted(fsName, [Math.max(0, deleting - fsReleased[1]) / 1000, (p.receivedAt - fsReleased[0]) / 1000]);
    m.deleted(basePvName);
    check(p, m, 'deleted: delete_total per mode, durations with capacity 1000G (Block) and 500G (Filesystem), type="job"');
    assertHealthy(a);
    await a.agent.stop();
  });

  it("other nodes' PVs and events are counted by their node's agent only", async () => {
    const NS = 'other';
    const T0 = floorSec(Date.now()) - 200_000;
    const [x, y] = await Promise.all([startNodeAgent(cluster, 'node-x'), startNodeAgent(cluster, 'node-y')]);
    const mx = new Model();
    const my = new Model();
    const [px0, py0] = await settle(cluster, [x, y], false);
    check(px0!, mx, 'node-x at start');
    check(py0!, my, 'node-y at start');

    // 1. node-y: a local-path volume and a Released static Block PV; node-x: a Released static
    //    Filesystem PV; and a hostPath PV that names no node.
    const yPvName = dynamicPvName(NS, 'y-data');
    const yPv = cluster.add(localPathPv('node-y', NS, 'y-data', { capacity: '2Gi', claim: { namespace: NS, name: 'y-data' }, phase: 'Bound', lastPhaseTransitionTime: iso(T0 + 5_000) }));
    cluster.add(persistentVolumeClaim(NS, 'y-data', { storageClassName: 'local-path', request: '2Gi', volumeName: yPvName, selectedNode: 'node-y', provisioner: LP, created: iso(T0) }));
    const yBlock = cluster.add(localPv('node-y', '/dev/disk/by-id/nvme-y', { capacity: '200Gi', volumeMode: 'Block', phase: 'Released', lastPhaseTransitionTime: iso(T0 + 50_000) }));
    const xFs = cluster.add(localPv('node-x', '/mnt/disks/x0', { capacity: '10Gi', phase: 'Released', lastPhaseTransitionTime: iso(T0 + 50_000) }));
    const nowhere = cluster.add(persistentVolume('hostpath-nowhere', { type: 'hostPath', path: '/srv/nowhere' }, { capacity: '1Gi', storageClassName: 'manual', phase: 'Released' }));
    my.discovered(yPvName, { mode: 'Filesystem', bytes: 2 * GI, storageClass: 'local-path', phase: 'Bound', since: exactly(T0 + 5_000) });
    my.discovered(yBlock.metadata.name, { mode: 'Block', bytes: 200 * GI, storageClass: 'local-storage', phase: 'Released', since: exactly(T0 + 50_000) });
    my.latency('local-path', LP, 5);
    mx.discovered(xFs.metadata.name, { mode: 'Filesystem', bytes: 10 * GI, storageClass: 'local-storage', phase: 'Released', since: exactly(T0 + 50_000) });
    let [px, py] = await settle(cluster, [x, y]);
    check(px!, mx, 'node-x: only its own PV');
    check(py!, my, 'node-y: its two PVs and its claim');

    // 2. Events about each of them, plus ones about a stale PV of node-x's PV name (another UID),
    //    the PV of no node, and a claim that does not exist.
    cluster.add(coreEvent(claimRef(NS, 'y-data'), 'ProvisioningSucceeded', `Successfully provisioned volume ${yPvName}`, { component: LPP_COMPONENT, firstTimestamp: iso(T0 + 5_000) }));
    cluster.add(coreEvent(pvRef(yBlock), 'VolumeFailedDelete', 'failed to wipe block device', { type: 'Warning', component: lvp('node-y'), count: 2, firstTimestamp: iso(T0 + 60_000) }));
    cluster.add(coreViewOf(eventsV1Event(pvRef(xFs), 'VolumeFailedDelete', 'failed to clean volume', { type: 'Warning', controller: lvp('node-x'), instance: 'node-x', action: 'Deleting' })));
    cluster.add(coreEvent({ kind: 'PersistentVolume', name: xFs.metadata.name, uid: uidFor('pv/an-earlier-one') }, 'VolumeFailedDelete', 'about the PV that had this name before', { type: 'Warning', component: lvp('node-x'), count: 4 }));
    cluster.add(coreEvent(pvRef(nowhere), 'VolumeFailedDelete', 'hostPath deleter failed', { type: 'Warning', component: PV_CONTROLLER, count: 3 }));
    cluster.add(coreEvent(claimRef(NS, 'ghost'), 'ProvisioningFailed', 'no such claim any more', { type: 'Warning', component: LPP_COMPONENT }));
    my.event('ProvisioningSucceeded', 'Normal', LPP_COMPONENT, 'PersistentVolumeClaim', 1);
    my.failedDelete(yBlock.metadata.name, lvp('node-y'), 2);
    mx.failedDelete(xFs.metadata.name, lvp('node-x'), 1);
    [px, py] = await settle(cluster, [x, y]);
    check(px!, mx, "node-x: its PV's event only (not node-y's, not the stale UID's, not the unplaced PV's)");
    check(py!, my, "node-y: its claim's and its PV's events");

    // 3. node-y's PVs are deleted (the Bound one without a Released time: no duration).
    const deleting = Date.now();
    cluster.remove(yPv);
    cluster.remove(yBlock);
    [px, py] = await settle(cluster, [x, y]);
    my.deleted(yPvName);
    my.deleted(yBlock.metadata.name, secondsBetween(T0 + 50_000, deleting, py!.receivedAt));
    check(px!, mx, "node-x: another node's deletions are not its own");
    check(py!, my, 'node-y: its deletions');
    assertHealthy(x);
    assertHealthy(y);
    await Promise.all([x.agent.stop(), y.agent.stop()]);
  });

  it('an agent restarted mid-lifecycle: what the old one counted and what changed while none ran is the new baseline; later changes count once', async () => {
    const NODE = 'node-r';
    const NS = 'restart';
    const LVP = lvp(NODE);
    const T0 = floorSec(Date.now()) - 300_000;
    const first = await startNodeAgent(cluster, NODE);
    const m1 = new Model();
    check((await settle(cluster, [first], false))[0]!, m1, 'first agent at start');

    // 1. A local-path volume bound to its claim, and a static PV Released whose cleanup fails twice.
    const aName = dynamicPvName(NS, 'a');
    const pvA = (opts: PvOptions): KubeObject => localPathPv(NODE, NS, 'a', { capacity: '5Gi', claim: { namespace: NS, name: 'a' }, created: iso(floorSec(Date.now())), ...opts });
    const claimA = persistentVolumeClaim(NS, 'a', { storageClassName: 'local-path', request: '5Gi', volumeName: aName, selectedNode: NODE, provisioner: LP, created: iso(T0) });
    cluster.add(pvA({ phase: 'Bound', lastPhaseTransitionTime: iso(T0 + 20_000) }));
    const pvB = cluster.add(localPv(NODE, '/mnt/disks/r0', { capacity: '20Gi', phase: 'Released', lastPhaseTransitionTime: iso(T0 + 100_000) }));
    cluster.add(claimA);
    m1.discovered(aName, { mode: 'Filesystem', bytes: 5 * GI, storageClass: 'local-path', phase: 'Bound', since: exactly(T0 + 20_000) });
    m1.discovered(pvB.metadata.name, { mode: 'Filesystem', bytes: 20 * GI, storageClass: 'local-storage', phase: 'Released', since: exactly(T0 + 100_000) });
    m1.latency('local-path', LP, 20);
    check(await settleOne(cluster, first), m1, 'first agent: two PVs discovered, one claim bound');
    cluster.add(coreEvent(claimRef(NS, 'a'), 'ProvisioningSucceeded', `Successfully provisioned volume ${aName}`, { component: LPP_COMPONENT, firstTimestamp: iso(T0 + 20_000) }));
    const failure = cluster.add(coreEvent(pvRef(pvB), 'VolumeFailedDelete', 'failed to clean volume: device or resource busy', { type: 'Warning', component: LVP, count: 2, firstTimestamp: iso(T0 + 110_000) }));
    m1.event('ProvisioningSucceeded', 'Normal', LPP_COMPONENT, 'PersistentVolumeClaim', 1);
    m1.failedDelete(pvB.metadata.name, LVP, 2);
    check(await settleOne(cluster, first), m1, 'first agent: events counted');

    // 2. The agent stops. Meanwhile: the failure repeats twice, a Block PV is discovered, a new claim
    //    waits for its volume, claim a is deleted and its PV Released.
    const stopped = await first.agent.stop();
    assert.equal(stopped.killed, false, `the first agent stops on SIGTERM\n${first.agent.describe()}`);
    cluster.update(repeated(failure, 4, Date.now()));
    const pvC = cluster.add(localPv(NODE, '/dev/disk/by-id/nvme-r1', { capacity: '1Ti', volumeMode: 'Block', phase: 'Available', created: iso(floorSec(Date.now())) }));
    const claimD = (opts: PvcOptions): KubeObject => persistentVolumeClaim(NS, 'd', { storageClassName: 'local-path', request: '3Gi', selectedNode: NODE, provisioner: LP, created: iso(T0 + 200_000), ...opts });
    cluster.add(claimD({}));
    cluster.remove(claimA);
    const aReleased = T0 + 250_000;
    cluster.update(pvA({ phase: 'Released', lastPhaseTransitionTime: iso(aReleased) }));

    // 3. A new agent: everything it lists is its baseline, counters start at 0.
    const second = await startNodeAgent(cluster, NODE);
    const m2 = new Model();
    m2.present(aName, { mode: 'Filesystem', bytes: 5 * GI, storageClass: 'local-path', phase: 'Released', since: exactly(aReleased) });
    m2.present(pvB.metadata.name, { mode: 'Filesystem', bytes: 20 * GI, storageClass: 'local-storage', phase: 'Released', since: exactly(T0 + 100_000) });
    m2.present(pvC.metadata.name, { mode: 'Block', bytes: 1024 * GI, storageClass: 'local-storage', phase: 'Available', since: exactly(0) });
    check(await settleOne(cluster, second), m2, 'second agent: nothing counted again, nothing from the downtime counted');

    // 4. After the restart: the failure repeats once, PV a is deleted, claim d's volume is provisioned and bound.
    cluster.update(repeated(failure, 5, Date.now()));
    const deleting = Date.now();
    cluster.remove(pvA({}));
    const dName = dynamicPvName(NS, 'd');
    cluster.add(localPathPv(NODE, NS, 'd', { capacity: '3Gi', claim: { namespace: NS, name: 'd' }, phase: 'Bound', lastPhaseTransitionTime: iso(T0 + 290_000), created: iso(floorSec(Date.now())) }));
    cluster.update(claimD({ volumeName: dName }));
    const p = await settleOne(cluster, second);
    m2.failedDelete(pvB.metadata.name, LVP, 1);
    m2.deleted(aName, secondsBetween(aReleased, deleting, p.receivedAt));
    m2.discovered(dName, { mode: 'Filesystem', bytes: 3 * GI, storageClass: 'local-path', phase: 'Bound', since: exactly(T0 + 290_000) });
    m2.latency('local-path', LP, 90);
    check(p, m2, 'second agent: the changes after its start, once each');
    assertHealthy(second);
    await second.agent.stop();
  });

  it('a watch that expires (410 Gone → relist) counts what happened in between by the relist rules and double-counts nothing', async () => {
    const NODE = 'node-w';
    const NS = 'relist';
    const LVP = lvp(NODE);
    const T0 = floorSec(Date.now()) - 300_000;
    // There before the agent: a bound local-path volume, two Released static PVs (one with a failing
    // cleanup), a claim waiting for its volume.
    const aName = dynamicPvName(NS, 'a');
    const pvA = (opts: PvOptions): KubeObject => localPathPv(NODE, NS, 'a', { capacity: '5Gi', claim: { namespace: NS, name: 'a' }, ...opts });
    cluster.add(pvA({ phase: 'Bound', lastPhaseTransitionTime: iso(T0 + 10_000) }));
    const claimA = cluster.add(persistentVolumeClaim(NS, 'a', { storageClassName: 'local-path', request: '5Gi', volumeName: aName, selectedNode: NODE, provisioner: LP, created: iso(T0) }));
    const pvB = cluster.add(localPv(NODE, '/mnt/disks/w0', { capacity: '30Gi', phase: 'Released', lastPhaseTransitionTime: iso(T0 + 50_000) }));
    const pvC = cluster.add(localPv(NODE, '/dev/disk/by-id/nvme-w1', { capacity: '300Gi', volumeMode: 'Block', phase: 'Released', lastPhaseTransitionTime: iso(T0 + 80_000) }));
    const e1 = cluster.add(coreEvent(pvRef(pvB), 'VolumeFailedDelete', 'failed to clean volume: device or resource busy', { type: 'Warning', component: LVP, firstTimestamp: iso(T0 + 60_000) }));
    const claimD = (opts: PvcOptions): KubeObject => persistentVolumeClaim(NS, 'd', { storageClassName: 'local-path', request: '4Gi', selectedNode: NODE, provisioner: LP, created: iso(T0 + 100_000), ...opts });
    cluster.add(claimD({}));

    const w = await startNodeAgent(cluster, NODE);
    const m = new Model();
    m.present(aName, { mode: 'Filesystem', bytes: 5 * GI, storageClass: 'local-path', phase: 'Bound', since: exactly(T0 + 10_000) });
    m.present(pvB.metadata.name, { mode: 'Filesystem', bytes: 30 * GI, storageClass: 'local-storage', phase: 'Released', since: exactly(T0 + 50_000) });
    m.present(pvC.metadata.name, { mode: 'Block', bytes: 300 * GI, storageClass: 'local-storage', phase: 'Released', since: exactly(T0 + 80_000) });
    check((await settle(cluster, [w], false))[0]!, m, 'at start: baseline');

    // 1. Through the watch: the failure repeats.
    cluster.update(repeated(e1, 2, Date.now()));
    m.failedDelete(pvB.metadata.name, LVP, 1);
    check(await settleOne(cluster, w), m, 'a repeat through the watch');

    // 2. The watches end and their next requests are held; changes are made; the history is
    //    compacted, so the held watches get 410 Gone and the agent relists.
    const gone = (p: Pull): number => WATCHED.reduce((n, kind) => n + (valueOf(p, 'nodemeter_kube_watch_restarts_total', { kind, reason: 'gone' }) ?? 0), 0);
    assert.equal(gone(await pull(w)), 0, 'no 410 before the outage');
    // Creation and first-occurrence times below must not be before the receiver's start (second resolution).
    await sleep(Math.max(0, floorSec(w.readyAt) + 1_000 - Date.now()));
    cluster.api.stall(60_000);
    cluster.api.dropWatches();
    const outage = floorSec(Date.now());
    cluster.update(repeated(e1, 4, Date.now())); // relist update: +2
    cluster.add(
      coreViewOf(
        eventsV1Event(pvRef(pvB), 'VolumeFailedDelete', 'failed to clean volume: directory not empty', {
          type: 'Warning',
          controller: LVP,
          instance: NODE,
          action: 'Deleting',
          eventTime: new Date(outage).toISOString().replace('Z', '000Z'),
          series: { count: 2, lastObservedTime: new Date().toISOString() },
        }),
      ),
    ); // relist add, first occurrence after the start: +2
    cluster.add(coreEvent(pvRef(pvB), 'VolumeFailedDelete', 'failed to clean volume: read-only file system', { type: 'Warning', component: LVP, count: 5, firstTimestamp: iso(T0 + 5_000) })); // relist add, first occurrence before the start: +0
    const pvE = cluster.add(localPv(NODE, '/mnt/disks/w2', { capacity: '40Gi', phase: 'Available', created: iso(outage) })); // made after the start: discovered
    const pvF = cluster.add(localPv(NODE, '/mnt/disks/w3', { capacity: '60Gi', phase: 'Available' })); // created before the start (2025): not discovered
    cluster.remove(pvC); // found gone: deleted, no duration
    const gName = dynamicPvName(NS, 'd');
    cluster.add(localPathPv(NODE, NS, 'd', { capacity: '4Gi', claim: { namespace: NS, name: 'd' }, phase: 'Bound', lastPhaseTransitionTime: iso(T0 + 290_000), created: iso(outage) }));
    cluster.update(claimD({ volumeName: gName })); // relist update Pending → Bound, with the PV's transition time: observed
    cluster.remove(claimA);
    const aReleased = T0 + 280_000;
    cluster.update(pvA({ phase: 'Released', lastPhaseTransitionTime: iso(aReleased) }));
    cluster.api.expireVersions();
    cluster.api.stall(0);

    let p = await settleOne(cluster, w);
    assert.ok(gone(p) >= WATCHED.length, `every watched kind relisted after 410 Gone (restarts with reason "gone": ${gone(p)})`);
    m.failedDelete(pvB.metadata.name, LVP, 2 + 2);
    m.discovered(pvE.metadata.name, { mode: 'Filesystem', bytes: 40 * GI, storageClass: 'local-storage', phase: 'Available', since: exactly(outage) });
    m.present(pvF.metadata.name, { mode: 'Filesystem', bytes: 60 * GI, storageClass: 'local-storage', phase: 'Available', since: exactly(0) });
    m.deleted(pvC.metadata.name);
    m.discovered(gName, { mode: 'Filesystem', bytes: 4 * GI, storageClass: 'local-path', phase: 'Bound', since: exactly(T0 + 290_000) });
    m.latency('local-path', LP, 190);
    m.phase(aName, 'Released', exactly(aReleased));
    check(p, m, 'after the relist: the differences, by the relist rules');

    // 3. Through the new watch: PV a is deleted (its Released time came with the relist), the failure repeats once more.
    const deleting = Date.now();
    cluster.remove(pvA({}));
    cluster.update(repeated(e1, 5, Date.now()));
    p = await settleOne(cluster, w);
    m.deleted(aName, secondsBetween(aReleased, deleting, p.receivedAt));
    m.failedDelete(pvB.metadata.name, LVP, 1);
    check(p, m, 'after the relist, through the watch: once each');
    assertHealthy(w);
    await w.agent.stop();
  });
});
