// Soak: one real agent with every receiver (filesystem, hostpath, docker, podscrape, provisioner)
// → k8sattributes → a Prometheus pull endpoint and a real Pushgateway, while the cluster churns:
// every second a generation of objects is made (a pod with its container, a CSI volume, an
// emptyDir and a local-path volume, their PVs and PVCs; test/support/churn.ts) and the one made
// LIVE seconds earlier is deleted. For NODEMETER_SOAK_SECONDS (default 180: the CI run; 1800 for
// the long run, see docs/operations.md), then:
//
// - RSS and open file descriptors, sampled every few seconds after a warm-up, stay within 10 %
//   (median of the last third against the median of the first third: test/support/flatness.ts);
// - the agent's own nodemeter_event_loop_delay_max_seconds (longest delay of the last 60 s),
//   read on every pull once its window no longer reaches back into the warm-up, stays under 0.1 s;
// - every pull during the churn answers 200, and the churned objects are seen by every receiver
//   (so the last check is not vacuous);
// - once the churn stops and its objects are deleted, no series on /metrics or in the pushed
//   group carries a deleted object's name, uid or container id;
// - nothing unhandled or uncaught on the agent's output, same process throughout (never
//   restarted), exit code 0 on SIGTERM.
//
// The figures (samples, baseline, final, max, growth, CPU, event-loop delay) are printed as test
// diagnostics, so the CI log shows them.
//
// It lives in test/workload/ because `npm test` runs files in path order, two at a time: this file
// comes last, so for most of its run no other test file competes for the CPU, and the event-loop
// check measures the agent rather than the machine's other load.
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { test, type TestContext } from 'node:test';
import { clockTicksPerSecond, readCpuTicks, readRssBytes, totalTicks } from '../../bench/lib/proc.ts';
import { startAgent, type Agent } from '../support/agent.ts';
import { CHURN_CSI_CLASS, CHURN_CSI_DRIVER, CHURN_LOCAL_CLASS, CHURN_NAMESPACE, ClusterChurn, type Generation } from '../support/churn.ts';
import { Dockerd } from '../support/dockerd.ts';
import { findSamples, parseExposition, type Sample } from '../support/exposition.ts';
import { flatness, type Flatness } from '../support/flatness.ts';
import { exposition, HostileTarget } from '../support/hostile-target.ts';
import { namespace, node, storageClass } from '../support/kube-api/fixtures.ts';
import { KubeApiServer } from '../support/kube-api/server.ts';
import { KubeletTree, MountNamespace } from '../support/mountns.ts';
import { requirePrereqs } from '../support/prereqs.ts';
import { makeTempDir, sleep, waitFor } from '../support/proc.ts';
import { Pushgateway } from '../support/pushgateway.ts';

const NODE = 'node-soak';
const PUSH_JOB = 'nodemeter-soak';
/** Generations alive at once (each lives this many seconds). */
const LIVE = 5;
/** Every n-th generation's container is started; the rest are only created (see churn.ts). */
const START_EVERY = 5;
const STEP_MS = 1_000;
const PULL_MS = 2_000;
const SAMPLE_MS = 5_000;
/** The window of nodemeter_event_loop_delay_max_seconds (pipeline/event-loop-delay.ts). */
const DELAY_WINDOW_MS = 60_000;
const MAX_GROWTH = 0.1;
const MAX_STALL_SECONDS = 0.1;

/** NODEMETER_SOAK_SECONDS, checked: the churn's length in seconds. */
function soakSeconds(): number {
  const raw = process.env.NODEMETER_SOAK_SECONDS;
  if (raw === undefined || raw === '') return 180;
  const seconds = Number(raw);
  // 90 s at least: a 60 s event-loop window past the warm-up, and enough samples after it.
  if (!Number.isInteger(seconds) || seconds < 90) throw new Error(`NODEMETER_SOAK_SECONDS must be a whole number of seconds ≥ 90, got ${JSON.stringify(raw)}`);
  return seconds;
}

const SECONDS = soakSeconds();
/** Memory settles (heap sizing, caches filling) and code paths warm up before anything is judged. */
const WARMUP_MS = Math.min(30_000, (SECONDS * 1000) / 6);

function agentConfig(kubeletRoot: string, hostRoot: string, dockerEndpoint: string, pushgateway: string): string {
  return [
    'receivers:',
    '  filesystem:',
    `    kubelet_root: ${JSON.stringify(kubeletRoot)}`,
    // The agent runs in the test's mount namespace: its own table is the namespace's.
    '    mountinfo_path: /proc/self/mountinfo',
    '    statfs_timeout: 2s',
    '    node_filesystems: {enabled: false}',
    '  hostpath:',
    `    root_path: ${JSON.stringify(hostRoot)}`,
    '    collection_interval: 2s',
    '    jitter: 0',
    '  docker:',
    `    endpoint: ${JSON.stringify(dockerEndpoint)}`,
    '    collection_interval: 1s',
    '  podscrape:',
    '    collection_interval: 1s',
    '    scrape_timeout: 1s',
    '  provisioner: {}',
    'processors:',
    '  k8sattributes:',
    '    keep_non_pvc_volumes: true',
    'exporters:',
    '  prometheus: {}',
    '  pushgateway:',
    `    endpoint: ${JSON.stringify(pushgateway)}`,
    `    job: ${PUSH_JOB}`,
    '    interval: 2s',
    '    timeout: 1s',
    '    delete_on_shutdown: true',
    'service:',
    '  pipelines:',
    '    metrics:',
    '      receivers: [filesystem, hostpath, docker, podscrape, provisioner]',
    '      processors: [k8sattributes]',
    '      exporters: [prometheus, pushgateway]',
    '',
  ].join('\n');
}

const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g;
const CONTAINER_ID = /[0-9a-f]{64}/g;

/** What the churn made, as the agent could put it in labels: whole values, and ids found inside values. */
class Tokens {
  readonly values = new Set<string>();
  readonly ids = new Set<string>();

  add(g: Generation): void {
    for (const v of [g.pod, g.containerName, g.csiClaim, g.localClaim, g.csiPv, g.localPv, g.localPath, g.emptyDirMount, g.csiMount]) this.values.add(v);
    for (const id of [g.podUid, g.containerId]) this.ids.add(id);
  }

  /** The generation-identifying parts of a sample's labels, if any. */
  hits(sample: Sample): string[] {
    const found: string[] = [];
    for (const value of Object.values(sample.labels)) {
      if (this.values.has(value)) found.push(value);
      for (const m of value.matchAll(UUID)) if (this.ids.has(m[0])) found.push(m[0]);
      for (const m of value.matchAll(CONTAINER_ID)) if (this.ids.has(m[0])) found.push(m[0]);
    }
    return found;
  }
}

/** Which receivers showed a given live generation in one pull, by their own labels. */
function seenBy(samples: readonly Sample[], g: Generation): string[] {
  const kinds: string[] = [];
  if (samples.some((s) => s.name === 'kubelet_volume_stats_capacity_bytes' && s.labels.persistentvolume === g.csiPv)) kinds.push('filesystem');
  if (samples.some((s) => s.name === 'kubelet_volume_stats_used_bytes' && s.labels.persistentvolume === g.localPv)) kinds.push('hostpath');
  if (samples.some((s) => s.name.startsWith('container_') && s.labels.name === g.containerName)) kinds.push('docker');
  if (samples.some((s) => s.name === 'up' && s.labels.pod === g.pod)) kinds.push('podscrape');
  return kinds;
}

function openFds(pid: number): number {
  return readdirSync(`/proc/${pid}/fd`).length;
}

function describeFlatness(what: string, f: Flatness, unit: (v: number) => string): string {
  return `${what}: ${f.samples} samples after the warm-up, baseline (median of the first third) ${unit(f.baseline)}, final (median of the last third) ${unit(f.final)}, max ${unit(f.max)}, growth ${(f.growth * 100).toFixed(1)} %`;
}

const mib = (bytes: number): string => `${(bytes / 1048576).toFixed(1)} MiB`;

interface Held {
  ns?: MountNamespace;
  api?: KubeApiServer;
  dockerd?: Dockerd;
  pushgateway?: Pushgateway;
  targets: HostileTarget[];
  agent?: Agent;
  hostRoot?: { path: string; remove: () => Promise<void> };
}

function cleanUp(t: TestContext, held: Held): void {
  t.after(async () => {
    await held.agent?.kill();
    for (const target of held.targets) await target.close();
    await held.pushgateway?.close();
    await held.api?.stop();
    await held.dockerd?.close();
    await held.ns?.close();
    await held.hostRoot?.remove();
  });
}

test(`soak: ${SECONDS} s of pod, volume and container churn every second`, { timeout: (SECONDS + 240) * 1000 }, async (t) => {
  requirePrereqs('root', 'mountns', 'dockerd', 'pushgateway');
  const held: Held = { targets: [] };
  cleanUp(t, held);

  const ns = (held.ns = await MountNamespace.create());
  const tree = new KubeletTree(ns);
  await mkdir(tree.kubeletRoot, { recursive: true });
  const hostRoot = (held.hostRoot = await makeTempDir('nodemeter-soak-host-'));
  const [dockerd, pushgateway, api] = await Promise.all([Dockerd.start({ name: 'soak' }), Pushgateway.start(), KubeApiServer.start()]);
  Object.assign(held, { dockerd, pushgateway, api });
  await dockerd.ensureImage();
  for (let i = 0; i < 3; i++) {
    const target = await HostileTarget.start();
    held.targets.push(target);
    const body = ['# TYPE soak_app_requests_total counter', `soak_app_requests_total{handler="/a",target="${i}"} ${i + 1}`, '# TYPE soak_app_up gauge', 'soak_app_up 1', ''].join('\n');
    target.route('/metrics', exposition(body));
  }
  api.add(node(NODE));
  api.add(namespace(CHURN_NAMESPACE, { team: 'soak' }));
  api.add(storageClass(CHURN_CSI_CLASS, CHURN_CSI_DRIVER));
  api.add(storageClass(CHURN_LOCAL_CLASS, 'rancher.io/local-path', { bindingMode: 'WaitForFirstConsumer' }));

  const agent = (held.agent = await startAgent({
    config: agentConfig(tree.kubeletRoot, hostRoot.path, dockerd.endpoint, pushgateway.url),
    prefix: ns.prefix,
    extraArgs: ['--kube-api-url', api.url, '--node-name', NODE],
    readyTimeoutMs: 60_000,
  }));
  const pid = agent.child.pid!;
  assert.ok(ns.holds(pid), 'the agent runs in the test mount namespace');

  const churn = new ClusterChurn({
    node: NODE,
    ns,
    tree,
    api,
    dockerd,
    hostRoot: hostRoot.path,
    targetPorts: held.targets.map((target) => Number(new URL(target.origin).port)),
    live: LIVE,
    startEvery: START_EVERY,
  });
  const tokens = new Tokens();

  const rss: number[] = [];
  const fds: number[] = [];
  /** Readings whose 60 s window lies after the warm-up: judged. */
  const stalls: Array<{ atS: number; seconds: number }> = [];
  /** The largest reading whose window reaches into start-up or the warm-up: shown, not judged. */
  let warmUpStall = 0;
  const pullFailures: string[] = [];
  const coverage = new Map<string, Set<number>>(['filesystem', 'hostpath', 'docker', 'podscrape'].map((k) => [k, new Set<number>()]));
  let pulls = 0;
  let lateSteps = 0;
  let slowestStepMs = 0;
  const ticks = clockTicksPerSecond();
  const cpuBefore = totalTicks(readCpuTicks(pid));
  const started = performance.now();
  const endAt = started + SECONDS * 1000;
  // A failing loop ends the other two at their next turn instead of letting them churn on.
  let failed = false;
  const running = (): boolean => !failed && performance.now() < endAt;
  const loop = (body: () => Promise<void>): Promise<void> =>
    body().catch((err: unknown) => {
      failed = true;
      throw err;
    });

  // Three loops side by side until endAt: churn every second, a pull every 2 s, /proc every 5 s.
  const churnLoop = async (): Promise<void> => {
    for (let step = 0; running(); step++) {
      const due = started + step * STEP_MS;
      if (due >= endAt) return;
      const wait = due - performance.now();
      if (wait > 0) await sleep(wait);
      else if (step > 0) lateSteps++;
      const stepStarted = performance.now();
      tokens.add(await churn.step());
      slowestStepMs = Math.max(slowestStepMs, performance.now() - stepStarted);
    }
  };
  const pullLoop = async (): Promise<void> => {
    while (running()) {
      await sleep(PULL_MS);
      if (agent.exited) throw new Error(`the agent exited during the soak\n${agent.describe()}`);
      const res = await agent.get('/metrics', { timeoutMs: 10_000 }).catch((err: Error) => ({ status: 0, body: err.message }));
      pulls++;
      if (res.status !== 200) {
        pullFailures.push(`${((performance.now() - started) / 1000).toFixed(0)} s: ${res.status} ${res.body.slice(0, 200)}`);
        continue;
      }
      const samples = parseExposition(res.body);
      const at = performance.now();
      const delay = findSamples(samples, 'nodemeter_event_loop_delay_max_seconds', {});
      assert.equal(delay.length, 1, 'one nodemeter_event_loop_delay_max_seconds series');
      // Judge a reading once its 60 s window no longer reaches back into the warm-up: the first
      // objects of each kind meet code not yet compiled and components' lazy set-up, one-off
      // costs (up to about 0.13 s seen here when other jobs held the CPUs) that are not a soak's concern.
      if (at - started > WARMUP_MS + DELAY_WINDOW_MS + 1_000) stalls.push({ atS: (at - started) / 1000, seconds: delay[0]!.value });
      else warmUpStall = Math.max(warmUpStall, delay[0]!.value);
      for (const g of churn.live) for (const kind of seenBy(samples, g)) coverage.get(kind)!.add(g.index);
    }
  };
  const sampleLoop = async (): Promise<void> => {
    while (running()) {
      await sleep(SAMPLE_MS);
      if (performance.now() - started < WARMUP_MS) continue;
      const bytes = readRssBytes(pid);
      if (bytes === undefined) throw new Error(`the agent (pid ${pid}) is gone\n${agent.describe()}`);
      rss.push(bytes);
      fds.push(openFds(pid));
    }
  };
  await Promise.all([loop(churnLoop), loop(pullLoop), loop(sampleLoop)]);
  const churnSeconds = (performance.now() - started) / 1000;
  const cpuSeconds = (totalTicks(readCpuTicks(pid)) - cpuBefore) / ticks;

  await churn.deleteAll();
  const deletedAt = performance.now();
  const generations = churn.made.length;

  // Nothing of a deleted object may remain, on the pull endpoint or in the pushed group.
  const survivors = (text: string): string[] => parseExposition(text).flatMap((s) => (tokens.hits(s).length > 0 ? [`${s.name}${JSON.stringify(s.labels)}`] : []));
  let lastSurvivors: string[] = [];
  await waitFor(
    'no series of deleted objects',
    async () => {
      const own = survivors((await agent.scrape()).body);
      const pushed = survivors(await pushgateway.scrape()).map((s) => `pushgateway: ${s}`);
      lastSurvivors = [...own, ...pushed];
      return lastSurvivors.length === 0 ? true : undefined;
    },
    { timeoutMs: 60_000, intervalMs: 1_000 },
  ).catch((err: Error) => {
    throw new Error(`${err.message}\n${lastSurvivors.length} series still carry a deleted object:\n${lastSurvivors.slice(0, 40).join('\n')}`);
  });
  const clearedS = (performance.now() - deletedAt) / 1000;

  const rssFlat = flatness('RSS', rss);
  const fdFlat = flatness('open file descriptors', fds);
  const worstStall = stalls.reduce((m, s) => (s.seconds > m.seconds ? s : m), { atS: 0, seconds: 0 });
  const coverageLine = [...coverage].map(([kind, seen]) => `${kind} ${seen.size}`).join(', ');
  t.diagnostic(`churn: ${generations} generations in ${churnSeconds.toFixed(0)} s (${LIVE} alive at once, every ${START_EVERY}th container started), ${lateSteps} late steps, slowest step ${slowestStepMs.toFixed(0)} ms`);
  t.diagnostic(`pulls: ${pulls}, ${pullFailures.length} failed; generations seen live per receiver: ${coverageLine}`);
  t.diagnostic(describeFlatness('RSS', rssFlat, mib));
  t.diagnostic(describeFlatness('open fds', fdFlat, (v) => String(v)));
  t.diagnostic(
    `event-loop delay max after the warm-up: ${worstStall.seconds.toFixed(3)} s (read at ${worstStall.atS.toFixed(0)} s) over ${stalls.length} readings ` +
      `(start-up and warm-up: ${warmUpStall.toFixed(3)} s, not judged); agent CPU ${((cpuSeconds / churnSeconds) * 100).toFixed(1)} % of one core`,
  );
  t.diagnostic(`series of deleted objects gone ${clearedS.toFixed(1)} s after the last deletion`);

  assert.deepEqual(pullFailures, [], 'every pull during the churn answered 200');
  for (const [kind, seen] of coverage) {
    // Objects live 5 s and pulls come every 2 s: a receiver that follows the churn sees most of them.
    assert.ok(seen.size >= generations / 3, `${kind} showed ${seen.size} of ${generations} generations while they were alive: it does not follow the churn`);
  }
  assert.ok(rssFlat.growth <= MAX_GROWTH, describeFlatness('RSS grew more than 10 %', rssFlat, mib));
  assert.ok(fdFlat.growth <= MAX_GROWTH, describeFlatness('open fds grew more than 10 %', fdFlat, (v) => String(v)));
  assert.ok(stalls.length > 0, 'the event-loop delay was read past the warm-up');
  const overLimit = stalls.filter((s) => s.seconds >= MAX_STALL_SECONDS);
  assert.deepEqual(overLimit, [], `event-loop delays of ${MAX_STALL_SECONDS} s or more (time into the soak, delay)`);

  assert.equal(agent.exited, false, `the agent exited\n${agent.describe()}`);
  assert.equal(agent.child.pid, pid, 'same agent process throughout');
  const unhandled = /unhandled|uncaught/i;
  assert.deepEqual(
    agent.logs.filter((l) => unhandled.test(JSON.stringify(l))),
    [],
    'no log line about an unhandled rejection or uncaught exception',
  );
  assert.doesNotMatch(agent.stderr, unhandled, 'agent stderr');
  const stop = await agent.stop('SIGTERM', 15_000);
  assert.equal(stop.killed, false, `the agent stopped on SIGTERM without being killed\n${agent.describe()}`);
  assert.equal(stop.code, 0, `exit code 0 on SIGTERM\n${agent.describe()}`);
  // delete_on_shutdown: the pushed group goes with the agent.
  const left = findSamples(parseExposition(await pushgateway.scrape()), 'push_time_seconds', { job: PUSH_JOB });
  assert.deepEqual(left, [], 'the pushed group was deleted on shutdown');
});
