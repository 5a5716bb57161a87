import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import convict from 'convict';
import { loadConfig } from '../../config/load.ts';
import { builtinRegistry } from '../../pipeline/builtins.ts';
import { defaultConfig, validateConfig } from './config.ts';
import { dockerReceiverFactory, schema } from './factory.ts';

describe('docker receiver config', () => {
  it('defaults are what convict loads, and are valid', () => {
    assert.deepEqual(dockerReceiverFactory.createDefaultConfig(), convict(schema).validate({ allowed: 'strict' }).getProperties());
    const d = defaultConfig();
    assert.equal(d.source, 'api');
    assert.equal(d.collection_interval, 15_000);
    assert.deepEqual(d.env_vars_to_metric_labels, {}, 'no environment variable becomes a label unless asked');
    assert.deepEqual(validateConfig(d), []);
  });

  it('reports every problem with its path', () => {
    const problems = validateConfig({
      ...defaultConfig(),
      endpoint: 'unix://var/run/docker.sock',
      collection_interval: 0,
      cgroup_root: 'sys/fs/cgroup',
      container_labels_to_metric_labels: { 'io.kubernetes.pod.name': 'pod' },
      excluded_images: ['ok', '/(/'],
    });
    assert.deepEqual(
      problems.map((p) => p.path),
      ['collection_interval', 'endpoint', 'cgroup_root', 'container_labels_to_metric_labels::io.kubernetes.pod.name', 'excluded_images::1'],
    );
    assert.match(problems.find((p) => p.path === 'endpoint')?.message ?? '', /must be absolute/);
    assert.match(problems.find((p) => p.path.startsWith('container_labels'))?.message ?? '', /"pod" is a label the receiver sets itself/);
  });

  it('rejects label maps whose target is not a label name', () => {
    const c = convict(schema).load({ env_vars_to_metric_labels: { APP_TIER: 'app-tier' } });
    assert.throws(() => c.validate({ allowed: 'strict' }), /"APP_TIER" maps to "app-tier", which is not a valid label name/);
  });

  it("the docker-stats-exporter example maps that exporter's environment settings", () => {
    const text = readFileSync(new URL('../../examples/docker-stats-exporter.yaml', import.meta.url), 'utf8');
    const env = { REFRESH_INTERVAL: '30', CONTAINER_REFRESH_INTERVAL: '90', DOCKER_CLIENT_URL: 'tcp://10.0.0.1:2375', USE_PSEUDO_FILES: 'cgroup', CGROUP_DIRECTORY: '/host/sys/fs/cgroup', PROC_DIRECTORY: '/host/proc' };
    const c = loadConfig({ text, source: 'examples/docker-stats-exporter.yaml', registry: builtinRegistry(), env });
    const docker = c.receivers.get('docker')?.config as Record<string, unknown>;
    assert.equal(docker.collection_interval, 30_000);
    assert.equal(docker.container_refresh_interval, 90_000);
    assert.equal(docker.endpoint, 'tcp://10.0.0.1:2375');
    assert.equal(docker.source, 'cgroup');
    assert.equal(docker.cgroup_root, '/host/sys/fs/cgroup');
    assert.equal(docker.proc_root, '/host/proc');
    const defaults = loadConfig({ text, source: 'examples/docker-stats-exporter.yaml', registry: builtinRegistry(), env: {} }).receivers.get('docker')?.config as Record<string, unknown>;
    assert.equal(defaults.collection_interval, 60_000, "the exporter's REFRESH_INTERVAL default");
    assert.equal(defaults.container_refresh_interval, 120_000);
    assert.equal(defaults.source, 'api');
  });
});
