// The configs under examples/ — one per exporter nodemeter replaces — run by the real agent
// against real things, each asserting the replaced exporter's metric names and label sets as
// /work/shared/REFERENCE.md gives them (see docs/migrating.md):
//
// - pv-disk-usage-exporter.yaml: kubelet-like volume mounts in a private mount namespace and the
//   test Kubernetes API server → pv_disk_usage_* {pv_name, pvc_name, pv_<label>, pvc_<label>}.
// - local-path-pv-metrics-exporter.yaml: local-path PVs with directories under a temp host root,
//   pushed to a real Pushgateway (read back through its API) that a real Prometheus scrapes with
//   honor_labels, where the dashboard's query `100 * used / ignoring(job) capacity` is run.
// - docker-stats-exporter.yaml: a private dockerd with a container, the exporter's own
//   environment variables, in both API and cgroup-file mode.
// - kubernetes-metrics-aggregator.yaml: labelled pods served by HTTP servers, pulled with ?job=.
// - local-volume-provisioner.yaml: local PVs appearing, failing to delete, released and deleted.
//
// Every example is the file as users copy it: a test only sets the `${env:…}` variables the
// example documents (test/support/examples.ts), plus --kube-api-url where a cluster is needed.
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { assertHealthy, startAgent, waitForSamples, type Agent } from '../support/agent.ts';
import { Dockerd } from '../support/dockerd.ts';
import { du } from '../support/du-tree.ts';
import { exampleEnv, exampleEnvReferences, exampleFiles, readExample, validateExample } from '../support/examples.ts';
import { findSamples, formatSample, parseExposition, type Sample } from '../support/exposition.ts';
import { exposition, HostileTarget } from '../support/hostile-target.ts';
import { coreEvent, dynamicPvName, localPvName, namespace, node, persistentVolume, persistentVolumeClaim, pod, storageClass } from '../support/kube-api/fixtures.ts';
import type { KubeObject } from '../support/kube-api/resources.ts';
import { KubeApiServer } from '../support/kube-api/server.ts';
import { KubeletTree, MountNamespace, type Volume } from '../support/mountns.ts';
import { requirePrereqs } from '../support/prereqs.ts';
import { makeTempDir, waitFor } from '../support/proc.ts';
import { Prometheus } from '../support/prometheus.ts';
import { Pushgateway } from '../support/pushgateway.ts';

type Labels = Record<string, string>;

const NODE = 'node-a';
const OTHER_NODE = 'node-b';
const GiB = 1024 ** 3;

/** Label sets of every sample of `family`, sorted, for exact comparison. */
function labelSets(samples: readonly Sample[], family: string): Labels[] {
  return findSamples(samples, family)
    .map((s) => s.labels)
    .sort((a, b) => (JSON.stringify(a) < JSON.stringify(b) ? -1 : 1));
}

function listing(samples: readonly Sample[], prefix: string): string {
  return samples.filter((s) => s.name.startsWith(prefix)).map(formatSample).join('\n') || '(none)';
}

function kubeArgs(api: KubeApiServer): string[] {
  return ['--kube-api-url', api.url];
}

describe('examples/: every file validates', () => {
  // What each example needs that has no default (a DaemonSet sets them), besides the defaults.
  const required: Record<string, string> = { NODE_NAME: NODE, PUSHGATEWAY_URL: 'http://pushgateway.monitoring:9091' };

  it('there is one example per replaced exporter', () => {
    assert.deepEqual(exampleFiles(), [
      'docker-stats-exporter.yaml',
      'kubernetes-metrics-aggregator.yaml',
      'local-path-pv-metrics-exporter.yaml',
      'local-volume-provisioner.yaml',
      'pv-disk-usage-exporter.yaml',
    ]);
  });

  for (const file of exampleFiles()) {
    it(`nodemeter validate --config examples/${file}`, async () => {
      const text = readExample(file);
      const env: Record<string, string> = {};
      for (const [name, fallback] of exampleEnvReferences(text)) if (fallback === undefined) env[name] = required[name] ?? assert.fail(`${file} reads \${env:${name}} without a default; give the test a value`);
      const result = await validateExample(file, exampleEnv(text, env));
      assert.equal(result.code, 0, `validate ${file} exited ${result.code}\nstdout: ${result.stdout}\nstderr: ${result.stderr}`);
      assert.match(result.stdout, new RegExp(`${file.replace('.', '\\.')}: valid`));
    });
  }

  it('validation is real: the local-path example with PUSHGATEWAY_URL empty fails, naming both exporters', async () => {
    const file = 'local-path-pv-metrics-exporter.yaml';
    const result = await validateExample(file, exampleEnv(readExample(file), { NODE_NAME: NODE }));
    assert.equal(result.code, 2, `stdout: ${result.stdout}\nstderr: ${result.stderr}`);
    const output = result.stdout + result.stderr;
    assert.match(output, /exporters::pushgateway\/capacity::endpoint: is required/);
    assert.match(output, /exporters::pushgateway\/used::endpoint: is required/);
  });
});

describe('examples/pv-disk-usage-exporter.yaml: pv_disk_usage_* with pv_name, pvc_name, pv_<label>, pvc_<label>', () => {
  const file = 'pv-disk-usage-exporter.yaml';
  const POD = { name: 'db-0', uid: '5e1f7a52-0000-4a10-9b7e-0123456789b0' };
  const PV = dynamicPvName('shop', 'data-db-0');
  let ns: MountNamespace | undefined;
  let api: KubeApiServer | undefined;
  let agent: Agent | undefined;
  let volume: Volume | undefined;
  let tree: KubeletTree | undefined;

  before(async () => {
    requirePrereqs('root', 'mountns', 'df');
    ns = await MountNamespace.create();
    tree = new KubeletTree(ns);
    const mountpoint = join(tree.volumeDir(POD.uid, 'csi', PV), 'mount');
    await ns.mountTmpfs(mountpoint, { size: '16m' });
    volume = tree.add({ mountpoint, podUid: POD.uid, plugin: 'csi', name: PV, persistentVolume: PV, fstype: 'tmpfs' });
    await ns.writeZeros(join(mountpoint, 'data'), 3 * 1024 * 1024);
    // An emptyDir of the same pod: no PV, so not one of the old exporter's volumes.
    await tree.emptyDir(POD.uid, 'scratch', { size: '4m' });
    api = await KubeApiServer.start();
    const objects: KubeObject[] = [
      node(NODE),
      namespace('shop'),
      storageClass('standard-rwo', 'pd.csi.storage.gke.io'),
      pod(POD.name, { namespace: 'shop', node: NODE, uid: POD.uid, pvcs: { data: 'data-db-0' }, emptyDirs: ['scratch'] }),
      persistentVolume(PV, { type: 'csi', driver: 'pd.csi.storage.gke.io', volumeHandle: `projects/demo/zones/europe-west1-b/disks/${PV}` }, {
        storageClassName: 'standard-rwo',
        claim: { namespace: 'shop', name: 'data-db-0' },
        labels: { 'topology.kubernetes.io/zone': 'europe-west1-b', backup: 'daily' },
      }),
      // The claim lives in namespace shop: the old exporter looked it up in `default` and lost its labels.
      persistentVolumeClaim('shop', 'data-db-0', { storageClassName: 'standard-rwo', volumeName: PV, labels: { app: 'db', 'app.kubernetes.io/part-of': 'shop' } }),
    ];
    for (const obj of objects) api.add(obj);
    const text = readExample(file);
    agent = await startAgent({
      config: text,
      prefix: ns.prefix,
      extraArgs: kubeArgs(api),
      // The agent runs on the "host" (the namespace); its own mount table is the host's there.
      env: exampleEnv(text, { NODE_NAME: NODE, HOST_ROOT: '/', MOUNTINFO_PATH: '/proc/self/mountinfo', KUBELET_ROOT: tree.kubeletRoot }),
    });
  });

  after(async () => {
    await agent?.kill();
    await api?.stop();
    await ns?.close();
  });

  it('serves the three byte families for the PV-backed volume only, labelled exactly as the old exporter', async () => {
    const expected: Labels = {
      pv_name: PV,
      pv_topology_kubernetes_io_zone: 'europe-west1-b',
      pv_backup: 'daily',
      pvc_name: 'data-db-0',
      pvc_app: 'db',
      pvc_app_kubernetes_io_part_of: 'shop',
    };
    const families = ['pv_disk_usage_bytes_total', 'pv_disk_usage_bytes_used', 'pv_disk_usage_bytes_available'];
    const samples = await waitForSamples(agent!, 'pv_disk_usage_* with PV and PVC labels', (s) => (families.every((f) => findSamples(s, f, { pvc_app: 'db' }).length === 1) ? s : undefined), {
      timeoutMs: 20_000,
      intervalMs: 200,
      show: (s) => listing(s, 'pv_disk_usage_'),
    });
    for (const family of families) assert.deepEqual(labelSets(samples, family), [expected], `${family} label sets\n${listing(samples, 'pv_disk_usage_')}`);
    // Nothing else of the volume pipeline: no kubelet_* names, no inode families, no emptyDir.
    const volumeFamilies = [...new Set(samples.map((s) => s.name).filter((n) => !n.startsWith('nodemeter_')))].sort();
    assert.deepEqual(volumeFamilies, families.sort(), 'families served besides self-telemetry');
    // The numbers are the tmpfs's statfs: df agrees.
    const df = await ns!.dfBytes(volume!.mountpoint);
    const value = (f: string): number => findSamples(samples, f)[0]!.value;
    assert.equal(value('pv_disk_usage_bytes_total'), df.size, 'total = df size');
    assert.equal(value('pv_disk_usage_bytes_used') + value('pv_disk_usage_bytes_available'), df.size, 'used + available = size on a tmpfs');
    assert.ok(value('pv_disk_usage_bytes_used') >= 3 * 1024 * 1024, `used ${value('pv_disk_usage_bytes_used')} holds the 3 MiB written`);
    // The old exporter's upper-case `# TYPE … GAUGE` and interleaved families are gone.
    const text = (await agent!.scrape()).body;
    for (const family of families) assert.match(text, new RegExp(`^# TYPE ${family} gauge$`, 'm'));
    await assertHealthy(agent!);
  });
});

describe('examples/local-path-pv-metrics-exporter.yaml: local_volume_stats_* pushed as before, and the Grafana query', () => {
  const file = 'local-path-pv-metrics-exporter.yaml';
  const BASE = '/opt/local-path-provisioner';
  /** Claims of this node: name, request as written, bytes it means, bytes of its one file. */
  const CLAIMS = [
    { ns: 'shop', claim: 'uploads', request: '2Gi', bytes: 2 * GiB, fill: 300_000 },
    // `1G` crashed the old exporter (binary suffixes only).
    { ns: 'blog', claim: 'media', request: '1G', bytes: 1_000_000_000, fill: 123_457 },
  ];
  let hostRoot: { path: string; remove: () => Promise<void> } | undefined;
  let api: KubeApiServer | undefined;
  let pg: Pushgateway | undefined;
  let prom: Prometheus | undefined;
  let agent: Agent | undefined;
  const dirOf = (c: { ns: string; claim: string }): string => `${BASE}/${dynamicPvName(c.ns, c.claim)}_${c.ns}_${c.claim}`;

  function localPathObjects(c: { ns: string; claim: string; request: string }, nodeName: string): KubeObject[] {
    const pv = dynamicPvName(c.ns, c.claim);
    return [
      persistentVolume(pv, { type: 'localPath', node: nodeName, claimNamespace: c.ns, claimName: c.claim }, { capacity: c.request, storageClassName: 'local-path', claim: { namespace: c.ns, name: c.claim } }),
      persistentVolumeClaim(c.ns, c.claim, { storageClassName: 'local-path', request: c.request, volumeName: pv, provisioner: 'rancher.io/local-path', selectedNode: nodeName }),
    ];
  }

  before(async () => {
    requirePrereqs('root', 'pushgateway', 'prometheus');
    hostRoot = await makeTempDir('nodemeter-lp-host-');
    for (const c of CLAIMS) {
      const dir = join(hostRoot.path, dirOf(c));
      mkdirSync(join(dir, 'sub'), { recursive: true });
      writeFileSync(join(dir, 'sub', 'blob'), Buffer.alloc(c.fill, 0x61));
    }
    // Another node's volume, whose directory also exists here: not this agent's to report.
    const elsewhere = { ns: 'shop', claim: 'elsewhere', request: '1Gi' };
    mkdirSync(join(hostRoot.path, dirOf(elsewhere)), { recursive: true });
    api = await KubeApiServer.start();
    for (const obj of [node(NODE), node(OTHER_NODE), storageClass('local-path', 'rancher.io/local-path', { bindingMode: 'WaitForFirstConsumer' }), ...CLAIMS.flatMap((c) => localPathObjects(c, NODE)), ...localPathObjects(elsewhere, OTHER_NODE)]) api.add(obj);
    pg = await Pushgateway.start();
    prom = await Prometheus.start({ targets: [{ address: `127.0.0.1:${pg.port}`, job: 'pushgateway', honorLabels: true }] });
    const text = readExample(file);
    agent = await startAgent({
      config: text,
      extraArgs: kubeArgs(api),
      env: exampleEnv(text, { NODE_NAME: NODE, HOST_ROOT: hostRoot.path, PUSHGATEWAY_URL: pg.url, PUSH_INTERVAL: '1s', WALK_INTERVAL: '2s' }),
    });
  });

  after(async () => {
    await agent?.kill();
    await prom?.close();
    await pg?.close();
    await api?.stop();
    await hostRoot?.remove();
  });

  interface ApiGroup {
    labels: Labels;
    [family: string]: unknown;
  }
  interface ApiFamily {
    type: string;
    metrics: { labels: Labels; value: string }[];
  }

  async function groups(): Promise<ApiGroup[]> {
    const res = await pg!.get('/api/v1/metrics');
    assert.equal(res.status, 200, res.body);
    return (JSON.parse(res.body) as { data: ApiGroup[] }).data;
  }

  it('pushes capacity under job="capacity_metrics" and used under job="<node>_usage_metrics", labelled {persistentvolumeclaim, node} only', async () => {
    const capacityGroup = { instance: '', job: 'capacity_metrics', node: NODE };
    const usedGroup = { instance: '', job: `${NODE}_usage_metrics` };
    const found = await waitFor(
      'both groups holding both claims',
      async () => {
        const all = await groups();
        const cap = all.find((g) => JSON.stringify(g.labels) === JSON.stringify(capacityGroup));
        const used = all.find((g) => JSON.stringify(g.labels) === JSON.stringify(usedGroup));
        const capFamily = cap?.['local_volume_stats_capacity_bytes'] as ApiFamily | undefined;
        const usedFamily = used?.['local_volume_stats_used_bytes'] as ApiFamily | undefined;
        return capFamily?.metrics.length === CLAIMS.length && usedFamily?.metrics.length === CLAIMS.length ? { all, cap: cap!, used: used!, capFamily, usedFamily } : undefined;
      },
      { timeoutMs: 30_000, intervalMs: 250 },
    ).catch(async (err: Error) => {
      throw new Error(`${err.message}\npushgateway groups: ${JSON.stringify(await groups().catch(() => 'unreadable'))}\n${agent!.describe()}`, { cause: err });
    });
    // The pushed groups: these two, nothing for another node, no instance label.
    assert.deepEqual(found.all.map((g) => g.labels).sort((a, b) => (a.job! < b.job! ? -1 : 1)), [capacityGroup, usedGroup], 'groups on the Pushgateway');
    // Each group holds its one family (plus the Pushgateway's own push_* and the agent's self-telemetry).
    assert.equal(found.cap['local_volume_stats_used_bytes'], undefined, 'no used bytes in the capacity group');
    assert.equal(found.used['local_volume_stats_capacity_bytes'], undefined, 'no capacity in the usage group');
    const sortBy = (a: { labels: Labels }, b: { labels: Labels }): number => (a.labels.persistentvolumeclaim! < b.labels.persistentvolumeclaim! ? -1 : 1);
    const expectCap = CLAIMS.map((c) => ({ labels: { ...capacityGroup, persistentvolumeclaim: c.claim, node: NODE }, value: c.bytes })).sort(sortBy);
    const gotCap = found.capFamily.metrics.map((m) => ({ labels: m.labels, value: Number(m.value) })).sort(sortBy);
    assert.deepEqual(gotCap, expectCap, 'capacity: the claims\' requests, {persistentvolumeclaim, node} (+ the group\'s job; instance empty = absent)');
    const expectUsed: { labels: Labels; value: number }[] = [];
    for (const c of CLAIMS) expectUsed.push({ labels: { ...usedGroup, persistentvolumeclaim: c.claim, node: NODE }, value: await du(join(hostRoot!.path, dirOf(c)), 'apparent') });
    const gotUsed = found.usedFamily.metrics.map((m) => ({ labels: m.labels, value: Number(m.value) })).sort(sortBy);
    assert.deepEqual(gotUsed, expectUsed.sort(sortBy), 'used: du -sb of each directory, {persistentvolumeclaim, node}');
  });

  it('Prometheus, scraping the Pushgateway with honor_labels, answers the dashboard\'s and alert\'s query per claim', async () => {
    const expr = '100 * local_volume_stats_used_bytes / ignoring(job) local_volume_stats_capacity_bytes';
    const result = await waitFor(
      `${expr} for every claim`,
      async () => {
        const r = await prom!.query(expr);
        return r.length === CLAIMS.length ? r : undefined;
      },
      { timeoutMs: 30_000, intervalMs: 500 },
    );
    const got = result.map((r) => ({ labels: r.metric, value: r.value })).sort((a, b) => (a.labels.persistentvolumeclaim! < b.labels.persistentvolumeclaim! ? -1 : 1));
    const expected = [];
    for (const c of CLAIMS) expected.push({ labels: { node: NODE, persistentvolumeclaim: c.claim }, value: (100 * (await du(join(hostRoot!.path, dirOf(c)), 'apparent'))) / c.bytes });
    expected.sort((a, b) => (a.labels.persistentvolumeclaim < b.labels.persistentvolumeclaim ? -1 : 1));
    assert.equal(got.length, expected.length);
    for (const [i, e] of expected.entries()) {
      assert.deepEqual(got[i]!.labels, e.labels, 'the query result\'s labels');
      assert.ok(Math.abs(got[i]!.value - e.value) < 1e-9 * Math.max(1, e.value), `${e.labels.persistentvolumeclaim}: ${got[i]!.value} ≈ ${e.value}`);
    }
    // The dashboard's variable: label_values(local_volume_stats_used_bytes, persistentvolumeclaim).
    const values = (await prom!.query('count by (persistentvolumeclaim) (local_volume_stats_used_bytes)')).map((r) => r.metric.persistentvolumeclaim).sort();
    assert.deepEqual(values, CLAIMS.map((c) => c.claim).sort());
    await assertHealthy(agent!);
  });
});

describe('examples/docker-stats-exporter.yaml: the exporter\'s environment settings, one set of names in both modes', () => {
  const file = 'docker-stats-exporter.yaml';
  let dockerd: Dockerd | undefined;
  const agents: Partial<Record<'api' | 'cgroup', Agent>> = {};
  let id = '';

  before(async () => {
    requirePrereqs('root', 'dockerd');
    dockerd = await Dockerd.start({ name: 'examples' });
    await dockerd.ensureImage();
    id = (await dockerd.runContainer({ name: 'web', command: 'sleep 100000', memory: '64m' })).id;
    const text = readExample(file);
    for (const mode of ['api', 'cgroup'] as const) {
      agents[mode] = await startAgent({
        config: text,
        // The docker-stats-exporter's own variables, as its users set them (USE_PSEUDO_FILES takes api/cgroup).
        env: exampleEnv(text, {
          DOCKER_CLIENT_URL: dockerd.endpoint,
          REFRESH_INTERVAL: '1',
          CONTAINER_REFRESH_INTERVAL: '5',
          USE_PSEUDO_FILES: mode,
          CGROUP_DIRECTORY: '/sys/fs/cgroup',
          PROC_DIRECTORY: '/proc',
        }),
      });
    }
  });

  after(async () => {
    for (const a of Object.values(agents)) await a?.kill();
    await dockerd?.close();
  });

  it('both modes serve the container under the same cAdvisor names with labels {id, name, image}', async () => {
    const labels = { id, name: 'web', image: 'nodemeter-test/busybox:1' };
    const families = ['container_cpu_usage_seconds_total', 'container_memory_usage_bytes', 'container_memory_working_set_bytes', 'container_spec_memory_limit_bytes', 'container_running'];
    const seen: Partial<Record<'api' | 'cgroup', Sample[]>> = {};
    for (const mode of ['api', 'cgroup'] as const) {
      const samples = await waitForSamples(agents[mode]!, `${mode}: the container's usage`, (s) => (families.every((f) => findSamples(s, f, { name: 'web' }).length === 1) ? s : undefined), {
        timeoutMs: 30_000,
        intervalMs: 250,
        show: (s) => listing(s, 'container_'),
      });
      for (const f of families) assert.deepEqual(labelSets(samples, f), [labels], `${mode}: ${f}`);
      assert.equal(findSamples(samples, 'container_spec_memory_limit_bytes')[0]!.value, 64 * 1024 * 1024, `${mode}: the 64m limit`);
      seen[mode] = samples;
    }
    // The old exporter's names differed between its modes; these do not.
    const names = (s: Sample[]): string[] => [...new Set(s.filter((x) => x.labels.name === 'web').map((x) => x.name))].sort();
    const common = ['container_cpu_usage_seconds_total', 'container_memory_usage_bytes', 'container_memory_working_set_bytes', 'container_memory_rss', 'container_memory_cache'];
    for (const n of common) assert.ok(names(seen.api!).includes(n) && names(seen.cgroup!).includes(n), `${n} in both modes`);
  });

  it('REFRESH_INTERVAL=1 took effect: CPU time read again within seconds', async () => {
    // A REFRESH_INTERVAL that fell back to the 60 s default would leave the age near a minute.
    for (const mode of ['api', 'cgroup'] as const) {
      const samples = parseExposition((await agents[mode]!.scrape()).body);
      const age = findSamples(samples, 'nodemeter_docker_stats_age_seconds');
      assert.equal(age.length, 1, `${mode}: one stats age\n${listing(samples, 'nodemeter_docker')}`);
      assert.ok(age[0]!.value < 5, `${mode}: stats age ${age[0]!.value} s with REFRESH_INTERVAL=1`);
      await assertHealthy(agents[mode]!);
    }
  });
});

describe('examples/kubernetes-metrics-aggregator.yaml: ?job= pulls with instance=<pod>, job, pod_namespace, pod_ip', () => {
  const file = 'kubernetes-metrics-aggregator.yaml';
  const PREFIX = 'metrics-aggregator.apawel.me';
  const TOKEN = 'example-service-account-token';
  const servers = new Map<string, HostileTarget>();
  let api: KubeApiServer | undefined;
  let agent: Agent | undefined;
  let tokenDir: { path: string; remove: () => Promise<void> } | undefined;
  const portOf = (name: string): number => Number(new URL(servers.get(name)!.origin).port);

  /** A pod labelled as the aggregator's README asks: job-name, port, endpoint. */
  function labelledPod(name: string, ns: string, job: string, nodeName = NODE): KubeObject {
    return pod(name, {
      namespace: ns,
      node: nodeName,
      podIP: '127.0.0.1',
      labels: { app: job, [`${PREFIX}/job-name`]: job, [`${PREFIX}/port`]: String(portOf(name)), [`${PREFIX}/endpoint`]: `${name}/metrics` },
    });
  }

  before(async () => {
    const body = (n: number): string => `# HELP memcached_items Items stored.\n# TYPE memcached_items gauge\nmemcached_items{slab="1"} ${n}\n# TYPE promhttp_metric_handler_requests_total counter\npromhttp_metric_handler_requests_total{code="200"} ${n * 2}\n`;
    const pods = { 'memcached-db-0': 7, 'memcached-session-0': 11, 'redis-0': 3, 'memcached-far-0': 99 };
    for (const [name, n] of Object.entries(pods)) servers.set(name, (await HostileTarget.start()).route(`/${name}/metrics`, exposition(body(n))));
    api = await KubeApiServer.start();
    api.add(node(NODE));
    api.add(labelledPod('memcached-db-0', 'somenamespace', 'memcached'));
    api.add(labelledPod('memcached-session-0', 'someothernamespace', 'memcached'));
    api.add(labelledPod('redis-0', 'somenamespace', 'redis'));
    // Another node's pod: its own node's agent serves it.
    api.add(labelledPod('memcached-far-0', 'somenamespace', 'memcached', OTHER_NODE));
    tokenDir = await makeTempDir('nodemeter-sa-');
    writeFileSync(join(tokenDir.path, 'token'), TOKEN);
    const text = readExample(file);
    agent = await startAgent({ config: text, extraArgs: kubeArgs(api), env: exampleEnv(text, { NODE_NAME: NODE, SCRAPE_TOKEN_FILE: join(tokenDir.path, 'token') }) });
  });

  after(async () => {
    await agent?.kill();
    await api?.stop();
    for (const s of servers.values()) await s.close();
    await tokenDir?.remove();
  });

  it('?job=memcached answers with this node\'s memcached pods, each series labelled as the aggregator did', async () => {
    const expected = (name: string, ns: string): Labels => ({ instance: name, job: 'memcached', pod_namespace: ns, pod_ip: '127.0.0.1' });
    const db = expected('memcached-db-0', 'somenamespace');
    const session = expected('memcached-session-0', 'someothernamespace');
    const samples = await waitFor(
      'both memcached pods discovered and answered',
      async () => {
        const res = await agent!.get('/metrics?job=memcached');
        if (res.status !== 200) return undefined;
        const s = parseExposition(res.body);
        return findSamples(s, 'up', { job: 'memcached' }).length === 2 ? s : undefined;
      },
      { timeoutMs: 20_000, intervalMs: 250 },
    );
    const sortByInstance = (a: { labels: Labels }, b: { labels: Labels }): number => (a.labels.instance! < b.labels.instance! ? -1 : 1);
    const values = (family: string): { labels: Labels; value: number }[] => findSamples(samples, family).map((s) => ({ labels: s.labels, value: s.value })).sort(sortByInstance);
    assert.deepEqual(values('memcached_items'), [{ labels: { slab: '1', ...db }, value: 7 }, { labels: { slab: '1', ...session }, value: 11 }]);
    assert.deepEqual(values('promhttp_metric_handler_requests_total'), [{ labels: { code: '200', ...db }, value: 14 }, { labels: { code: '200', ...session }, value: 22 }]);
    assert.deepEqual(values('up'), [{ labels: db, value: 1 }, { labels: session, value: 1 }], 'up per pod');
    // Only that job: no redis series, nothing from the other node's pod.
    assert.deepEqual(samples.filter((s) => s.labels.job !== undefined && s.labels.job !== 'memcached' && !s.name.startsWith('nodemeter_')).map(formatSample), []);
    assert.equal(servers.get('memcached-far-0')!.hits('/memcached-far-0/metrics'), 0, 'the other node\'s pod is not scraped');
    assert.equal(servers.get('redis-0')!.hits('/redis-0/metrics'), 0, 'redis is not scraped by a memcached pull');
    // The service account token went along, as the aggregator sent it.
    assert.equal(servers.get('memcached-db-0')!.lastRequest('/memcached-db-0/metrics').headers.authorization, `Bearer ${TOKEN}`);
  });

  it('scrapes on demand only: a plain pull has no target series, ?job=redis scrapes redis then', async () => {
    const before = servers.get('redis-0')!.hits('/redis-0/metrics');
    const plain = parseExposition((await agent!.scrape('/metrics')).body);
    assert.deepEqual(findSamples(plain, 'memcached_items'), [], 'no target series without ?job=');
    assert.equal(servers.get('redis-0')!.hits('/redis-0/metrics'), before, 'nothing scraped by a plain pull');
    const redis = parseExposition((await agent!.scrape('/metrics?job=redis')).body);
    assert.deepEqual(labelSets(redis, 'memcached_items'), [{ slab: '1', instance: 'redis-0', job: 'redis', pod_namespace: 'somenamespace', pod_ip: '127.0.0.1' }]);
    assert.equal(servers.get('redis-0')!.hits('/redis-0/metrics'), before + 1);
    const unknown = await agent!.get('/metrics?job=nosuchjob');
    assert.equal(unknown.status, 400, unknown.body);
    await assertHealthy(agent!);
  });
});

describe('examples/local-volume-provisioner.yaml: local_volume_provisioner_persistentvolume_* from watching this node\'s PVs', () => {
  const file = 'local-volume-provisioner.yaml';
  let api: KubeApiServer | undefined;
  let agent: Agent | undefined;
  const fsPath = '/mnt/disks/ssd1';
  const blockPath = '/dev/disk/by-id/nvme-local-1';
  const fsPv = localPvName(NODE, fsPath);
  const blockPv = localPvName(NODE, blockPath);

  before(async () => {
    api = await KubeApiServer.start();
    api.add(node(NODE));
    api.add(node(OTHER_NODE));
    api.add(storageClass('local-storage', 'kubernetes.io/no-provisioner', { bindingMode: 'WaitForFirstConsumer' }));
    // There before the agent: the baseline, never counted as discovered.
    api.add(persistentVolume(localPvName(NODE, '/mnt/disks/ssd0'), { type: 'local', path: '/mnt/disks/ssd0', node: NODE }, { capacity: '100Gi', storageClassName: 'local-storage' }));
    const text = readExample(file);
    agent = await startAgent({ config: text, extraArgs: kubeArgs(api), env: exampleEnv(text, { NODE_NAME: NODE }) });
  });

  after(async () => {
    await agent?.kill();
    await api?.stop();
  });

  async function settle(what: string, check: (s: Sample[]) => boolean): Promise<Sample[]> {
    return waitForSamples(agent!, what, (s) => (check(s) ? s : undefined), { timeoutMs: 20_000, intervalMs: 200, show: (s) => listing(s, 'local_volume_provisioner_') });
  }
  const value = (s: Sample[], name: string, labels: Labels): number | undefined => {
    const found = findSamples(s, name, labels);
    return found.length === 1 ? found[0]!.value : undefined;
  };

  it('discovery, failed deletes, delete and its duration, capacity: the provisioner\'s families and labels, nothing else', async () => {
    await settle('the baseline capacity', (s) => value(s, 'local_volume_provisioner_persistentvolume_capacity_bytes', { mode: 'Filesystem' }) === 100 * GiB);
    // New volumes on this node (one of each mode), one on another node.
    api!.add(persistentVolume(fsPv, { type: 'local', path: fsPath, node: NODE }, { capacity: '600Gi', storageClassName: 'local-storage' }));
    api!.add(persistentVolume(blockPv, { type: 'local', path: blockPath, node: NODE }, { capacity: '200Gi', storageClassName: 'local-storage', volumeMode: 'Block' }));
    api!.add(persistentVolume(localPvName(OTHER_NODE, fsPath), { type: 'local', path: fsPath, node: OTHER_NODE }, { capacity: '50Gi', storageClassName: 'local-storage' }));
    await settle('two discovered', (s) =>
      value(s, 'local_volume_provisioner_persistentvolume_discovery_total', { mode: 'Filesystem' }) === 1 &&
      value(s, 'local_volume_provisioner_persistentvolume_discovery_total', { mode: 'Block' }) === 1 &&
      value(s, 'local_volume_provisioner_persistentvolume_capacity_bytes', { mode: 'Filesystem' }) === 700 * GiB &&
      value(s, 'local_volume_provisioner_persistentvolume_capacity_bytes', { mode: 'Block' }) === 200 * GiB,
    );
    // The Block volume's cleanup fails once; the Filesystem one is released, then deleted.
    api!.add(coreEvent({ kind: 'PersistentVolume', name: blockPv }, 'VolumeFailedDelete', `Error cleaning PV "${blockPv}": device or resource busy`, { type: 'Warning', component: `local-volume-provisioner-${NODE}`, firstTimestamp: new Date().toISOString() }));
    const released = persistentVolume(fsPv, { type: 'local', path: fsPath, node: NODE }, { capacity: '600Gi', storageClassName: 'local-storage', phase: 'Released', lastPhaseTransitionTime: new Date(Date.now() - 2_000).toISOString() });
    api!.update(released);
    api!.delete('persistentvolumes', '', fsPv);
    const samples = await settle('one failed delete, one delete with its duration', (s) =>
      value(s, 'local_volume_provisioner_persistentvolume_delete_failed_total', { mode: 'Block', type: 'process' }) === 1 &&
      value(s, 'local_volume_provisioner_persistentvolume_delete_total', { mode: 'Filesystem', type: 'process' }) === 1 &&
      value(s, 'local_volume_provisioner_persistentvolume_delete_duration_seconds_count', { mode: 'Filesystem', type: 'process', capacity: '1000G' }) === 1,
    );
    // Exactly the provisioner's label sets, family by family.
    const modes = [{ mode: 'Block' }, { mode: 'Filesystem' }];
    const modeType = modes.map((m) => ({ ...m, type: 'process' }));
    assert.deepEqual(labelSets(samples, 'local_volume_provisioner_persistentvolume_discovery_total'), modes);
    assert.deepEqual(labelSets(samples, 'local_volume_provisioner_persistentvolume_capacity_bytes'), modes);
    assert.deepEqual(labelSets(samples, 'local_volume_provisioner_persistentvolume_delete_total'), modeType);
    assert.deepEqual(labelSets(samples, 'local_volume_provisioner_persistentvolume_delete_failed_total'), modeType);
    // 600Gi → ceil(600/500)*500 = "1000G", as the provisioner labels it.
    const duration = { mode: 'Filesystem', type: 'process', capacity: '1000G' };
    assert.deepEqual(labelSets(samples, 'local_volume_provisioner_persistentvolume_delete_duration_seconds_count'), [duration]);
    assert.deepEqual(labelSets(samples, 'local_volume_provisioner_persistentvolume_delete_duration_seconds_sum'), [duration]);
    const buckets = findSamples(samples, 'local_volume_provisioner_persistentvolume_delete_duration_seconds_bucket');
    assert.ok(buckets.length > 1 && buckets.every((b) => JSON.stringify(Object.keys(b.labels).sort()) === JSON.stringify(['capacity', 'le', 'mode', 'type'])), listing(samples, 'local_volume_provisioner_persistentvolume_delete_duration'));
    const seconds = value(samples, 'local_volume_provisioner_persistentvolume_delete_duration_seconds_sum', duration)!;
    assert.ok(seconds >= 1 && seconds < 60, `Released → deleted took ${seconds} s`);
    assert.equal(value(samples, 'local_volume_provisioner_persistentvolume_capacity_bytes', { mode: 'Filesystem' }), 100 * GiB, 'the deleted volume left the capacity');
    // The filter leaves the provisioner's families only (self-telemetry aside).
    const other = samples.filter((s) => !s.name.startsWith('local_volume_provisioner_') && !s.name.startsWith('nodemeter_'));
    assert.deepEqual(other.map(formatSample), []);
    assert.deepEqual(findSamples(samples, 'nodemeter_provisioner_persistentvolumes'), [], 'nodemeter_provisioner_* filtered out');
    await assertHealthy(agent!);
  });
});
