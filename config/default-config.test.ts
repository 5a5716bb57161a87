import assert from 'node:assert/strict';
import { test } from 'node:test';
import { builtinRegistry } from '../pipeline/builtins.ts';
import { DEFAULT_CONFIG_SOURCE, defaultConfigText } from './default-config.ts';
import { loadConfig } from './load.ts';
import { fakeRegistry } from './testdata/fake-factories.ts';

void test('the embedded default config wires filesystem to prometheus in one metrics pipeline', () => {
  const text = defaultConfigText();
  assert.match(text, /^receivers:\n/m);
  // Against stand-ins named like the real types, so the shape is checked even without them.
  const registry = fakeRegistry();
  const rename = (type: string) => {
    const f = registry.all().find((x) => x.type === type);
    assert.ok(f);
    return { ...f, type: type === 'volumes' ? 'filesystem' : 'prometheus', schema: {}, validate: undefined };
  };
  const stand = fakeRegistry().register(rename('volumes')).register(rename('prom'));
  const c = loadConfig({ text, source: DEFAULT_CONFIG_SOURCE, registry: stand, env: {} });
  assert.deepEqual([...c.receivers.keys()], ['filesystem']);
  assert.deepEqual([...c.exporters.keys()], ['prometheus']);
  assert.deepEqual(c.pipelines.get('metrics'), { id: 'metrics', receivers: ['filesystem'], processors: [], exporters: ['prometheus'] });
  assert.deepEqual(c.warnings, []);
});

void test('both embedded default configs load against the real built-in registry', () => {
  const c = loadConfig({ text: defaultConfigText(), source: DEFAULT_CONFIG_SOURCE, registry: builtinRegistry(), env: {} });
  assert.equal(c.receivers.get('filesystem')?.type, 'filesystem');
  assert.equal(c.receivers.get('filesystem')?.config.kubelet_root, '/var/lib/kubelet');
  assert.equal(c.exporters.get('prometheus')?.type, 'prometheus');
  assert.deepEqual(c.pipelines.get('metrics')?.receivers, ['filesystem']);
  assert.deepEqual(c.warnings, []);
  const k = loadConfig({ text: defaultConfigText({ kubernetes: true }), source: DEFAULT_CONFIG_SOURCE, registry: builtinRegistry(), env: {} });
  assert.deepEqual(k.pipelines.get('metrics')?.processors, ['k8sattributes']);
  // With an API server this node's hostPath/local PVs are walked, and local PVs are left to that walk.
  assert.deepEqual(k.pipelines.get('metrics')?.receivers, ['filesystem', 'hostpath']);
  assert.equal(k.receivers.get('hostpath')?.config.persistent_volumes, true);
  assert.match(String(k.receivers.get('filesystem')?.config.volume_plugins_exclude), /local-volume/);
  // This node's pods annotated prometheus.io/scrape, in a pipeline of their own (no k8sattributes).
  assert.deepEqual(k.pipelines.get('metrics/pods')?.receivers, ['podscrape']);
  assert.deepEqual(k.pipelines.get('metrics/pods')?.processors, []);
  assert.deepEqual(k.receivers.get('podscrape')?.config.discovery, [{ annotations: 'prometheus.io', job: 'kubernetes-pods' }]);
  assert.equal(c.receivers.has('podscrape'), false, 'no pods to scrape without Kubernetes');
  assert.deepEqual(k.pipelines.get('metrics/provisioner')?.receivers, ['provisioner']);
  assert.deepEqual(k.receivers.get('provisioner')?.config.discovery_directories, []);
  assert.deepEqual(k.warnings, []);
});

void test('where a Docker daemon answers, both default configs add the docker receiver to the metrics pipeline', () => {
  for (const kubernetes of [false, true]) {
    const plain = loadConfig({ text: defaultConfigText({ kubernetes }), source: DEFAULT_CONFIG_SOURCE, registry: builtinRegistry(), env: {} });
    const c = loadConfig({ text: defaultConfigText({ kubernetes, docker: true }), source: DEFAULT_CONFIG_SOURCE, registry: builtinRegistry(), env: {} });
    assert.equal(c.receivers.get('docker')?.type, 'docker');
    assert.equal(c.receivers.get('docker')?.config.source, 'api');
    assert.deepEqual(c.pipelines.get('metrics')?.receivers, [...(plain.pipelines.get('metrics')?.receivers ?? []), 'docker']);
    assert.deepEqual(c.pipelines.get('metrics')?.processors, plain.pipelines.get('metrics')?.processors);
    assert.deepEqual(c.warnings, []);
    assert.equal(plain.receivers.has('docker'), false);
  }
});
