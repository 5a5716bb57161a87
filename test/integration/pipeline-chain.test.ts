// One pipeline chaining k8sattributes → attributes → filter into two exporters at once: the
// Prometheus pull endpoint and a push to Debian's real Pushgateway. Both must carry the same
// processed series: Kubernetes names added, an attribute inserted and one deleted, a storage
// class filtered out.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import pino from 'pino';

import { loadConfig } from '../../config/load.ts';
import type { PushgatewayExporter } from '../../exporters/pushgateway/exporter.ts';
import type { PrometheusExporter } from '../../exporters/prometheus/exporter.ts';
import type { KubeService } from '../../kube/lookup.ts';
import { FakeKube, pod, pv, pvc } from '../../kube/testing.ts';
import { builtinRegistry } from '../../pipeline/builtins.ts';
import type { Factory, Receiver, ReceiverResult } from '../../pipeline/component.ts';
import { gauge } from '../../pipeline/datapoints.ts';
import { buildGraph } from '../../pipeline/graph.ts';
import { RouteTable } from '../../pipeline/route-table.ts';
import { Service } from '../../pipeline/service.ts';
import { findSamples, parseExposition, type Sample } from '../support/exposition.ts';
import { requirePrereqs } from '../support/prereqs.ts';
import { Pushgateway } from '../support/pushgateway.ts';

/** Two kubelet volume series, as the filesystem receiver reports them before enrichment. */
const volumesFactory: Factory<'receiver', object> = {
  type: 'volumes',
  kind: 'receiver',
  schema: {},
  createDefaultConfig: () => ({}),
  create: (settings): Receiver => ({
    start: () => Promise.resolve(),
    shutdown: () => Promise.resolve(),
    collect: (): Promise<ReceiverResult> => {
      const series = [
        { node: 'node-a', mountpoint: '/var/lib/kubelet/pods/u1/volumes/kubernetes.io~csi/pv-data/mount', volume_plugin: 'csi', pod_uid: 'u1', volume: 'pv-data', persistentvolume: 'pv-data' },
        { node: 'node-a', mountpoint: '/var/lib/kubelet/pods/u1/volumes/kubernetes.io~csi/pv-cache/mount', volume_plugin: 'csi', pod_uid: 'u1', volume: 'pv-cache', persistentvolume: 'pv-cache' },
      ];
      const metric = gauge({ name: 'kubelet_volume_stats_used_bytes', description: 'Used bytes.' }, series.map((attributes, i) => ({ attributes, value: (i + 1) * 1000 })));
      return Promise.resolve({ scopeMetrics: { scope: { name: `test/${settings.id}` }, metrics: [metric] } });
    },
  }),
};

function cluster(): FakeKube & KubeService {
  const kube = new FakeKube();
  kube.pods.push(pod({ name: 'web-0', namespace: 'shop', uid: 'u1', claims: { data: 'data-web', cache: 'cache-web' } }));
  kube.pvs.push(pv('pv-data', { claimRef: { namespace: 'shop', name: 'data-web' }, storageClass: 'fast' }), pv('pv-cache', { claimRef: { namespace: 'shop', name: 'cache-web' }, storageClass: 'ssd' }));
  kube.pvcs.push(pvc('shop', 'data-web', { volumeName: 'pv-data', storageClass: 'fast' }), pvc('shop', 'cache-web', { volumeName: 'pv-cache', storageClass: 'ssd' }));
  return Object.assign(kube, {
    start: () => Promise.resolve(),
    shutdown: () => Promise.resolve(),
    waitForSync: () => Promise.resolve(true),
  });
}

function configText(pushgatewayUrl: string): string {
  return [
    'receivers:',
    '  volumes:',
    'processors:',
    '  k8sattributes:',
    '  attributes:',
    '    actions:',
    '      - { action: insert, key: cluster, value: prod-eu-1 }',
    '      - { action: delete, key: mountpoint }',
    '  filter:',
    '    datapoints:',
    '      exclude: { match_type: strict, attributes: { storageclass: ssd } }',
    'exporters:',
    '  prometheus:',
    '  pushgateway:',
    `    endpoint: ${pushgatewayUrl}`,
    '    job: chain',
    '    interval: 200ms',
    'service:',
    '  pipelines:',
    '    metrics:',
    '      receivers: [volumes]',
    '      processors: [k8sattributes, attributes, filter]',
    '      exporters: [prometheus, pushgateway]',
    '',
  ].join('\n');
}

/** The series both exporters must show: enriched, `cluster` inserted, `mountpoint` gone, the ssd claim filtered out. */
const EXPECTED = {
  node: 'node-a',
  volume_plugin: 'csi',
  pod_uid: 'u1',
  volume: 'pv-data',
  persistentvolume: 'pv-data',
  namespace: 'shop',
  persistentvolumeclaim: 'data-web',
  storageclass: 'fast',
  volume_source: 'csi',
  cluster: 'prod-eu-1',
};

describe('a pipeline chaining k8sattributes → attributes → filter into two exporters', () => {
  let pg: Pushgateway | undefined;
  let service: Service | undefined;

  before(async () => {
    requirePrereqs('pushgateway');
    pg = await Pushgateway.start();
  });

  after(async () => {
    await service?.shutdown();
    await pg?.close();
  });

  it('the pull endpoint and the Pushgateway carry the same processed series', async () => {
    const registry = builtinRegistry().register(volumesFactory);
    const config = loadConfig({ text: configText(pg!.url), source: 'chain.yaml', registry, env: {} });
    const graph = buildGraph({ config, registry, agent: { nodeName: 'node-a', version: '0.0.0-test' }, logger: pino({ level: 'silent' }), http: new RouteTable(), createKube: () => cluster() });
    service = new Service(graph, pino({ level: 'silent' }));
    await service.start({ warmUp: false });

    const pulled = parseExposition((await (graph.exporters.get('prometheus') as PrometheusExporter).scrape(5_000)).text);
    const used = findSamples(pulled, 'kubelet_volume_stats_used_bytes');
    assert.equal(used.length, 1, `one series after the filter:\n${used.map((s) => JSON.stringify(s.labels)).join('\n')}`);
    assert.deepEqual(used[0]?.labels, EXPECTED);
    assert.equal(used[0]?.value, 1000);

    const pusher = graph.exporters.get('pushgateway') as PushgatewayExporter;
    let pushed: Sample[] = [];
    for (let i = 0; i < 20; i++) {
      const result = await pusher.nextPush();
      if (result.outcome !== 'success') continue;
      pushed = parseExposition(await (await fetch(`${pg!.url}/metrics`)).text());
      if (findSamples(pushed, 'kubelet_volume_stats_used_bytes').length > 0) break;
    }
    const gatewayUsed = findSamples(pushed, 'kubelet_volume_stats_used_bytes');
    assert.equal(gatewayUsed.length, 1, 'one series in the pushed group');
    // The Pushgateway adds the group's labels (job, instance) to every series it serves.
    assert.deepEqual(gatewayUsed[0]?.labels, { ...EXPECTED, job: 'chain', instance: 'node-a' });
    assert.equal(gatewayUsed[0]?.value, 1000);
  });
});
