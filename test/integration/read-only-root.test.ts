// The agent needs no write access outside its own temp dir. It runs in a private mount namespace
// in which every filesystem is remounted read-only except /proc, /sys, /dev and a small tmpfs given
// as TMPDIR, with every receiver and exporter at work: volumes (filesystem), a local-path PV walk
// (hostpath), a private dockerd's container (docker), a scraped pod (podscrape), the Kubernetes
// cache, the provisioner, the pull endpoint, a real Pushgateway and an OTLP receiver. Everything
// must arrive; the agent must log no write failure; `collect --once` must work there too.
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';

import { AGENT_BIN, NODE24, REPO_ROOT, startAgent, type Agent } from '../support/agent.ts';
import { Dockerd } from '../support/dockerd.ts';
import { findSamples, parseExposition } from '../support/exposition.ts';
import { dynamicPvName, namespace, node, persistentVolume, persistentVolumeClaim, pod } from '../support/kube-api/fixtures.ts';
import { KubeApiServer } from '../support/kube-api/server.ts';
import { KubeletTree, MountNamespace } from '../support/mountns.ts';
import { requirePrereqs } from '../support/prereqs.ts';
import { makeTempDir, waitFor } from '../support/proc.ts';
import { Pushgateway } from '../support/pushgateway.ts';
import { ScriptedServer, type Answer, type RequestInfo } from '../support/scripted-server.ts';

const NODE = 'ro-node';
const POD_UID = '0d0d0d0d-1111-4222-8333-444444444444';

/** The loopback stand-in's answers: `/v1/metrics` is an OTLP receiver, anything else a scrape target. */
function sinkScript(request: RequestInfo): Answer {
  if (request.path === '/v1/metrics') return { body: '{}', contentType: 'application/json' };
  return { body: '# TYPE shop_orders_total counter\nshop_orders_total 7\n', contentType: 'text/plain; version=0.0.4' };
}

function agentConfig(o: { kubeletRoot: string; hostRoot: string; dockerEndpoint: string; sinkPort: number; gateway: string }): string {
  return [
    'receivers:',
    '  filesystem:',
    `    kubelet_root: ${JSON.stringify(o.kubeletRoot)}`,
    '    mountinfo_path: /proc/self/mountinfo',
    '    node_filesystems: { enabled: false }',
    '  hostpath:',
    `    root_path: ${JSON.stringify(o.hostRoot)}`,
    '    collection_interval: 1s',
    '    jitter: 0',
    '  docker:',
    `    endpoint: ${JSON.stringify(o.dockerEndpoint)}`,
    '    collection_interval: 1s',
    '  podscrape:',
    '    collection_interval: 1s',
    '  provisioner: {}',
    'processors:',
    '  k8sattributes: { keep_non_pvc_volumes: true }',
    'exporters:',
    '  prometheus: {}',
    '  pushgateway:',
    `    endpoint: ${o.gateway}`,
    '    interval: 1s',
    '  otlphttp:',
    `    endpoint: http://127.0.0.1:${o.sinkPort}/v1/metrics`,
    '    interval: 1s',
    '    timeout: 900ms',
    'service:',
    '  pipelines:',
    '    metrics:',
    '      receivers: [filesystem, hostpath, docker, podscrape, provisioner]',
    '      processors: [k8sattributes]',
    '      exporters: [prometheus, pushgateway, otlphttp]',
    '',
  ].join('\n');
}

describe('the agent needs no write access outside its temp dir', () => {
  let dockerd: Dockerd | undefined;
  let ns: MountNamespace | undefined;
  let api: KubeApiServer | undefined;
  let gateway: Pushgateway | undefined;
  let sink: ScriptedServer | undefined;
  let hostRoot: { path: string; remove: () => Promise<void> } | undefined;
  let agent: Agent | undefined;
  let agentTmp = '';
  let config = '';
  let configPath = '';

  before(async () => {
    requirePrereqs('root', 'mountns', 'dockerd', 'pushgateway');
    dockerd = await Dockerd.start({ name: 'readonly' });
    await dockerd.runContainer({ name: 'ro-web', command: 'sleep 100000' });
    gateway = await Pushgateway.start();
    sink = await ScriptedServer.start({ script: sinkScript });

    hostRoot = await makeTempDir('nodemeter-ro-host-');
    api = await KubeApiServer.start();
    api.add(node(NODE));
    api.add(namespace('data'));
    const pv = dynamicPvName('data', 'uploads');
    api.add(persistentVolume(pv, { type: 'localPath', node: NODE, claimNamespace: 'data', claimName: 'uploads' }, { capacity: '1Gi', storageClassName: 'local-path', claim: { namespace: 'data', name: 'uploads' } }));
    api.add(persistentVolumeClaim('data', 'uploads', { storageClassName: 'local-path', request: '1Gi', volumeName: pv, provisioner: 'rancher.io/local-path', selectedNode: NODE }));
    const uploads = join(hostRoot.path, 'opt', 'local-path-provisioner', `${pv}_data_uploads`);
    mkdirSync(uploads, { recursive: true });
    writeFileSync(join(uploads, 'photo.jpg'), Buffer.alloc(100_000, 1));
    api.add(pod('shop-0', { namespace: 'data', node: NODE, podIP: '127.0.0.1', annotations: { 'prometheus.io/scrape': 'true', 'prometheus.io/port': String(sink.port) } }));

    ns = await MountNamespace.create();
    const tree = new KubeletTree(ns);
    await tree.emptyDir(POD_UID, 'cache', { size: '8m' });
    agentTmp = join(ns.root, 'agent-tmp');
    mkdirSync(agentTmp);
    await ns.mountTmpfs(agentTmp, { size: '16m' });
    config = agentConfig({ kubeletRoot: tree.kubeletRoot, hostRoot: hostRoot.path, dockerEndpoint: dockerd.endpoint, sinkPort: sink.port, gateway: gateway.url });
    configPath = join(hostRoot.path, 'config.yaml');
    writeFileSync(configPath, config);
    // Every other mount of the namespace read-only (a bind remount changes this mount only, not
    // the host's). /proc, /sys and /dev stay as they are: the agent reads them, and the kernel
    // decides what may be written there, not the mount.
    const script = [
      'findmnt -rn -o TARGET | while read -r target; do',
      '  target=$(printf "%b" "$target")',
      `  case "$target" in /proc|/proc/*|/sys|/sys/*|/dev|/dev/*|${agentTmp}) continue ;; esac`,
      '  mount -o remount,bind,ro "$target" || echo "could not remount $target read-only" >&2',
      'done',
    ].join('\n');
    const r = await ns.exec('sh', ['-c', script], { allowFail: true });
    assert.equal(r.stderr, '', `remounting read-only:\n${r.stderr}`);
  });

  after(async () => {
    await agent?.kill();
    await ns?.close();
    await api?.stop();
    await gateway?.close();
    await dockerd?.close();
    await sink?.close();
    await hostRoot?.remove();
  });

  it('in the namespace nothing is writable but the temp dir', async () => {
    for (const dir of [REPO_ROOT, '/var/tmp', '/root', ns!.root, hostRoot!.path]) {
      const r = await ns!.exec('sh', ['-c', `touch "${dir}/nodemeter-write-probe"`], { allowFail: true });
      assert.notEqual(r.code, 0, `${dir} is writable in the namespace`);
      assert.match(r.stderr, /Read-only file system/, `${dir}: ${r.stderr}`);
    }
    await ns!.exec('sh', ['-c', `touch "${agentTmp}/probe" && rm "${agentTmp}/probe"`]);
  });

  it('every receiver and exporter works, and the agent reports no failed write', async () => {
    agent = await startAgent({
      config,
      prefix: ns!.prefix,
      env: { TMPDIR: agentTmp },
      extraArgs: ['--kube-api-url', api!.url, '--node-name', NODE],
    });
    const expected: Array<[string, (s: ReturnType<typeof parseExposition>) => boolean]> = [
      ['the emptyDir volume', (s) => findSamples(s, 'kubelet_volume_stats_capacity_bytes', { pod_uid: POD_UID }).length === 1],
      ['the local-path volume walked', (s) => findSamples(s, 'kubelet_volume_stats_used_bytes', { persistentvolumeclaim: 'uploads' }).some((x) => x.value >= 100_000)],
      ['the container', (s) => findSamples(s, 'container_cpu_usage_seconds_total', { name: 'ro-web' }).length > 0],
      ['the scraped pod', (s) => findSamples(s, 'shop_orders_total', {}).some((x) => x.value === 7)],
      ['the provisioner', (s) => s.some((x) => x.name.startsWith('nodemeter_provisioner_') || x.name.startsWith('local_volume_provisioner_'))],
    ];
    let missing: string[] = [];
    await waitFor(
      'every receiver reported',
      async () => {
        const samples = parseExposition((await agent!.scrape()).body);
        missing = expected.filter(([, ok]) => !ok(samples)).map(([what]) => what);
        return missing.length === 0 ? true : undefined;
      },
      { timeoutMs: 20_000, intervalMs: 500 },
    ).catch((err: Error) => {
      throw new Error(`${err.message}; missing: ${missing.join(', ')}\n${agent!.describe()}`);
    });
    await waitFor('a push reached the Pushgateway', async () => ((await gateway!.scrape()).includes(`instance="${NODE}"`) ? true : undefined), { timeoutMs: 10_000 });
    await waitFor('an OTLP export arrived', () => (sink!.requests.some((r) => r.path === '/v1/metrics') ? true : undefined), { timeoutMs: 10_000 });

    const stopped = await agent.stop('SIGTERM');
    assert.equal(stopped.code, 0, agent.describe());
    const writeFailures = stopped.logs.filter((l) => /EROFS|read-only file system|EACCES/i.test(JSON.stringify(l)));
    assert.deepEqual(writeFailures, [], 'the agent hit a write it may not make');
    assert.equal(stopped.stderr, '', 'stderr');
  });

  it('collect --once works there too', async () => {
    // Written before the namespace was made read-only, so the agent reads it from there.
    const r = await ns!.exec(NODE24, [AGENT_BIN, 'collect', '--once', '--config', configPath, '--kube-api-url', api!.url, '--node-name', NODE], {
      env: { ...process.env, TMPDIR: agentTmp },
      timeoutMs: 30_000,
      allowFail: true,
    });
    assert.equal(r.code, 0, `collect --once:\n${r.stderr}`);
    assert.match(r.stdout, /kubelet_volume_stats_capacity_bytes/);
    assert.doesNotMatch(r.stderr, /EROFS|read-only file system/i);
  });
});
