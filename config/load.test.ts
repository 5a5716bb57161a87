import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { ConfigValidationError } from './issues.ts';
import { loadConfig, loadConfigFile } from './load.ts';
import { fakeRegistry } from './testdata/fake-factories.ts';

const registry = fakeRegistry();
const load = (text: string, env: Record<string, string> = {}) => loadConfig({ text, source: 'test.yaml', registry, env });

const SHARED = `
receivers:
  volumes:
  volumes/data:
    root_path: \${env:HOST_ROOT:-/host}
    statfs_timeout: 1m30s
    limits:
      concurrency: \${env:WORKERS}
  dockerstats:
processors:
  filter:
    metrics:
      include: [kubelet_volume_stats_used_bytes]
exporters:
  prom:
    endpoint:
      port: "\${env:PORT}"
    const_labels:
      cluster: \${env:CLUSTER}
  push:
    url: http://pushgateway:9091/$$job
service:
  pipelines:
    metrics:
      receivers: [volumes, dockerstats]
      exporters: [prom]
    metrics/data:
      receivers: [volumes/data, volumes]
      processors: [filter]
      exporters: [prom, push]
`;

void test('a full config loads: defaults filled, env expanded, components shared across pipelines', () => {
  const c = load(SHARED, { WORKERS: '8', PORT: '9100', CLUSTER: 'prod' });
  assert.equal(c.source, 'test.yaml');
  assert.deepEqual([...c.receivers.keys()], ['volumes', 'volumes/data', 'dockerstats']);
  assert.deepEqual(c.receivers.get('volumes')?.config, {
    root_path: '',
    api_version: '1.41',
    statfs_timeout: 5000,
    include_mounts: '.*',
    mount_points: ['/var/lib/kubelet'],
    log_level: 'info',
    enabled: true,
    ratio: 0.5,
    limits: { max_mounts: 1000, concurrency: 4 },
  });
  const data = c.receivers.get('volumes/data');
  assert.equal(data?.type, 'volumes');
  assert.equal(data?.name, 'data');
  assert.equal(data?.kind, 'receiver');
  assert.equal(data?.config.root_path, '/host');
  assert.equal(data?.config.statfs_timeout, 90_000);
  assert.deepEqual(data?.config.limits, { max_mounts: 1000, concurrency: 8 });
  assert.equal(c.receivers.get('volumes')?.name, undefined);
  assert.deepEqual(c.exporters.get('prom')?.config, { endpoint: { host: '0.0.0.0', port: 9100 }, const_labels: { cluster: 'prod' } });
  assert.deepEqual(c.exporters.get('push')?.config, { url: 'http://pushgateway:9091/$job', interval: 30_000 });
  assert.deepEqual(c.processors.get('filter')?.config, { metrics: { include: ['kubelet_volume_stats_used_bytes'], exclude: [] } });
  assert.deepEqual(c.pipelines.get('metrics'), { id: 'metrics', receivers: ['volumes', 'dockerstats'], processors: [], exporters: ['prom'] });
  assert.deepEqual(c.pipelines.get('metrics/data'), {
    id: 'metrics/data',
    receivers: ['volumes/data', 'volumes'],
    processors: ['filter'],
    exporters: ['prom', 'push'],
  });
  assert.deepEqual(c.warnings, []);
});

void test('the result is deeply frozen, maps included', () => {
  const c = load(SHARED, { WORKERS: '8', PORT: '9100', CLUSTER: 'prod' });
  assert.ok(Object.isFrozen(c));
  assert.throws(() => (c.receivers as Map<string, unknown>).set('x', {}), TypeError);
  assert.throws(() => (c.pipelines as Map<string, unknown>).delete('metrics'), TypeError);
  assert.throws(() => (c.exporters as Map<string, unknown>).clear(), TypeError);
  const volumes = c.receivers.get('volumes');
  assert.ok(volumes && Object.isFrozen(volumes) && Object.isFrozen(volumes.config));
  assert.ok(Object.isFrozen(volumes.config.limits));
  assert.ok(Object.isFrozen(volumes.config.mount_points));
  assert.ok(Object.isFrozen(c.pipelines.get('metrics')?.receivers));
  assert.ok(Object.isFrozen(c.warnings));
  assert.throws(() => {
    (volumes.config as Record<string, unknown>).root_path = '/x';
  }, TypeError);
});

void test('a component body left empty means all defaults; so does an empty group', () => {
  const c = load(`
receivers:
  dockerstats:
  volumes:
    limits:
exporters:
  prom: {}
service:
  pipelines:
    metrics: {receivers: [dockerstats, volumes], exporters: [prom]}
`);
  assert.deepEqual(c.receivers.get('dockerstats')?.config, { endpoint: 'unix:///var/run/docker.sock', collection_interval: 15_000 });
  assert.deepEqual(c.receivers.get('volumes')?.config.limits, { max_mounts: 1000, concurrency: 4 });
  assert.deepEqual(c.exporters.get('prom')?.config, { endpoint: { host: '0.0.0.0', port: 9464 }, const_labels: {} });
});

void test('values are coerced by the schema: env strings to numbers and booleans, YAML numbers to strings', () => {
  const c = load(
    `
receivers:
  volumes:
    api_version: 1.40
    root_path: 42
    enabled: \${env:ENABLED}
    ratio: "\${env:RATIO}"
    log_level: \${env:LEVEL:-warn}
    statfs_timeout: 250
    include_mounts: ^/var/lib/kubelet/pods/
exporters:
  prom:
service:
  pipelines:
    metrics: {receivers: [volumes], exporters: [prom]}
`,
    { ENABLED: 'FALSE', RATIO: '0.25' },
  );
  const config = c.receivers.get('volumes')?.config;
  assert.equal(config?.api_version, '1.40');
  assert.equal(config?.root_path, '42');
  assert.equal(config?.enabled, false);
  assert.equal(config?.ratio, 0.25);
  assert.equal(config?.log_level, 'warn');
  assert.equal(config?.statfs_timeout, 250);
  assert.equal(config?.include_mounts, '^/var/lib/kubelet/pods/');
});

void test('unused components are warnings with their position, not errors', () => {
  const c = load(`
receivers:
  volumes:
  dockerstats/spare:
processors:
  filter:
exporters:
  prom:
  push:
service:
  pipelines:
    metrics: {receivers: [volumes], exporters: [prom]}
`);
  assert.deepEqual(c.warnings, [
    'test.yaml:4:3: receivers::dockerstats/spare: receiver is defined but not used by any pipeline; it will not run',
    'test.yaml:6:3: processors::filter: processor is defined but not used by any pipeline; it will not run',
    'test.yaml:9:3: exporters::push: exporter is defined but not used by any pipeline; it will not run',
  ]);
  assert.ok(c.receivers.has('dockerstats/spare'));
});

void test('anchors, aliases and merge keys work, explicit keys winning over merged ones', () => {
  const c = load(`
receivers:
  volumes/a: &common
    statfs_timeout: 2s
    log_level: debug
  volumes/b:
    <<: *common
    log_level: warn
  volumes/c: *common
exporters:
  prom:
service:
  pipelines:
    metrics: {receivers: [volumes/a, volumes/b, volumes/c], exporters: [prom]}
`);
  assert.equal(c.receivers.get('volumes/a')?.config.log_level, 'debug');
  assert.equal(c.receivers.get('volumes/b')?.config.log_level, 'warn');
  assert.equal(c.receivers.get('volumes/b')?.config.statfs_timeout, 2000);
  assert.equal(c.receivers.get('volumes/c')?.config.statfs_timeout, 2000);
});

void test('errors carry code, issues and the source; a component named twice in the file is a YAML error', () => {
  assert.throws(
    () => load('receivers:\n  volumes:\n  volumes:\n'),
    (err: unknown) => err instanceof ConfigValidationError && err.code === 'NM_CONFIG_INVALID' && err.source === 'test.yaml' && /Map keys must be unique/.test(err.message),
  );
});

void test('loadConfigFile reads the file and names it in messages; a missing file is a clear error', () => {
  const dir = mkdtempSync(join(tmpdir(), 'nodemeter-config-'));
  try {
    const file = join(dir, 'agent.yaml');
    writeFileSync(file, 'receivers:\n  volumes:\nexporters:\n  prom:\nservice:\n  pipelines:\n    metrics: {receivers: [volumes], exporters: [prom]}\n');
    assert.equal(loadConfigFile(file, registry, {}).source, file);
    writeFileSync(file, 'receivers:\n  volumes:\n    bogus: 1\n');
    assert.throws(() => loadConfigFile(file, registry, {}), (err: unknown) => err instanceof ConfigValidationError && err.message.startsWith(`${file}:3:5: receivers::volumes::bogus: unknown key`));
    const missing = join(dir, 'nope.yaml');
    assert.throws(
      () => loadConfigFile(missing, registry, {}),
      (err: unknown) => err instanceof ConfigValidationError && err.message === `${missing}: cannot read config file "${missing}": the file does not exist`,
    );
    assert.throws(() => loadConfigFile(dir, registry, {}), /it is a directory/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

void test('env defaults to process.env', () => {
  process.env.NODEMETER_TEST_ROOT = '/from-process';
  try {
    const c = loadConfig({
      text: 'receivers:\n  volumes:\n    root_path: ${env:NODEMETER_TEST_ROOT}\nexporters:\n  prom:\nservice:\n  pipelines:\n    metrics: {receivers: [volumes], exporters: [prom]}\n',
      registry,
    });
    assert.equal(c.receivers.get('volumes')?.config.root_path, '/from-process');
  } finally {
    delete process.env.NODEMETER_TEST_ROOT;
  }
});

void test('a recursive alias is refused instead of looping', () => {
  assert.throws(() => load('receivers: &r\n  volumes: *r\n'), ConfigValidationError);
});

void test('a factory with a broken schema fails loudly, naming the factory', () => {
  const r = fakeRegistry().register({ ...fakeRegistry().all()[0]!, type: 'broken', schema: { x: { format: 'no-such-format', default: 1 } } });
  assert.throws(
    () => loadConfig({ text: 'receivers:\n  broken:\n', registry: r, env: {} }),
    (err: unknown) => err instanceof Error && 'code' in err && err.code === 'NM_BAD_SCHEMA' && /receiver "broken" has an invalid config schema/.test(err.message),
  );
});

test('a mapping given for a list of rules is an error naming the key, not the default taken in silence', async () => {
  const { builtinRegistry } = await import('../pipeline/builtins.ts');
  const text = [
    'receivers:',
    '  podscrape:',
    '    discovery: { annotations: prometheus.io, job: x }',
    '  provisioner:',
    '    discovery_directories: { storage_class: a, host_dir: /x }',
    'exporters:',
    '  prometheus:',
    'service:',
    '  pipelines:',
    '    metrics:',
    '      receivers: [podscrape, provisioner]',
    '      exporters: [prometheus]',
    '',
  ].join('\n');
  let caught: unknown;
  try {
    loadConfig({ text, source: 'rules.yaml', registry: builtinRegistry(), env: {} });
  } catch (err) {
    caught = err;
  }
  assert.ok(caught instanceof ConfigValidationError, `expected a validation error, got ${String(caught)}`);
  const issues = caught.issues.map((i) => `${i.path}: ${i.message} (line ${i.line})`);
  assert.deepEqual(issues, [
    'receivers::podscrape::discovery: must be a list, got a mapping (line 3)',
    'receivers::provisioner::discovery_directories: must be a list, got a mapping (line 5)',
  ]);
});
