import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import convict from 'convict';
import pino from 'pino';
import { event, FakeKube, pv, T0 } from '../../kube/testing.ts';
import { collectContext } from '../../pipeline/deadline.ts';
import { testSettings } from '../../pipeline/testing.ts';
import { defaultConfig, validateConfig } from './config.ts';
import { provisionerReceiverFactory, schema } from './factory.ts';
import { ProvisionerReceiver, REQUIRED_KINDS } from './provisioner-receiver.ts';
import { Clock, NODE, newReceiver } from './testing.ts';
import { capacityLabel, provisionerOf } from './volume-labels.ts';

/** Settings whose logger keeps what it writes. */
function loggingSettings(kube?: FakeKube) {
  const lines: Array<{ level: number; msg: string }> = [];
  const logger = pino({ level: 'debug' }, { write: (line: string) => void lines.push(JSON.parse(line) as { level: number; msg: string }) });
  return { lines, settings: testSettings('provisioner', 'receiver', { logger, agent: { nodeName: NODE, version: '0' }, ...(kube ? { kube } : {}) }) };
}

describe('provisioner receiver component', () => {
  it('requires its kinds at creation, subscribes at start, unsubscribes at shutdown (idempotent)', async () => {
    const kube = new FakeKube();
    const receiver = newReceiver(kube, new Clock(T0));
    assert.deepEqual([...kube.required].sort(), [...REQUIRED_KINDS].sort());
    assert.equal(kube.listenerCount('persistentvolumes'), 0, 'nothing before start');
    await receiver.start();
    for (const kind of ['persistentvolumes', 'persistentvolumeclaims', 'persistentvolumeevents', 'persistentvolumeclaimevents'] as const) assert.equal(kube.listenerCount(kind), 1, kind);
    await receiver.shutdown();
    await receiver.shutdown();
    for (const kind of ['persistentvolumes', 'persistentvolumeclaims', 'persistentvolumeevents', 'persistentvolumeclaimevents'] as const) assert.equal(kube.listenerCount(kind), 0, kind);
  });

  it('is safe to shut down without a start, and reports nothing then', async () => {
    const receiver = newReceiver(new FakeKube(), new Clock(T0));
    await receiver.shutdown();
    assert.deepEqual((await receiver.collect(collectContext(1_000, {}))).scopeMetrics.metrics, []);
  });

  it('without a Kubernetes cache: a warning at start, no series', async () => {
    const { lines, settings } = loggingSettings();
    const receiver = new ProvisionerReceiver(settings, defaultConfig());
    await receiver.start();
    const result = await receiver.collect(collectContext(1_000, {}));
    assert.deepEqual(result.scopeMetrics.metrics, []);
    assert.ok(lines.some((l) => l.level === 40 && /no Kubernetes API/.test(l.msg)), JSON.stringify(lines));
    await receiver.shutdown();
  });

  it('a change it cannot apply is logged, never thrown into the cache; a failing collection returns an error', async () => {
    const kube = new FakeKube();
    const { lines, settings } = loggingSettings(kube);
    const receiver = new ProvisionerReceiver(settings, defaultConfig());
    await receiver.start();
    kube.persistentVolume = () => {
      throw new Error('lookup broke');
    };
    kube.add('persistentvolumeevents', event({ kind: 'PersistentVolume', name: 'x' }, 'VolumeFailedDelete', { type: 'Warning' }));
    assert.ok(lines.some((l) => l.level === 40 && /could not apply/.test(l.msg)));
    kube.list = () => {
      throw new Error('list broke');
    };
    const result = await receiver.collect(collectContext(1_000, {}));
    assert.deepEqual(result.scopeMetrics.metrics, []);
    assert.match(String(result.errors?.[0]?.message), /list broke/);
    await receiver.shutdown();
  });
});

describe('provisioner receiver config', () => {
  it('defaults are what convict loads, and are valid', () => {
    assert.deepEqual(provisionerReceiverFactory.createDefaultConfig(), convict(schema).validate({ allowed: 'strict' }).getProperties());
    const d = defaultConfig();
    assert.equal(d.node_affinity_key, 'kubernetes.io/hostname');
    assert.equal(d.delete_type, 'process');
    assert.equal(d.stuck_threshold, 600_000);
    assert.deepEqual(d.delete_duration_buckets.slice(0, 11), [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10], "the provisioner's buckets first");
    assert.deepEqual(validateConfig(d), []);
  });

  it('reports every problem with its path', () => {
    const problems = validateConfig({ ...defaultConfig(), stuck_threshold: 0, delete_type: '', latency_buckets: [1, 1], delete_duration_buckets: [-1] });
    assert.deepEqual(
      problems.map((p) => p.path),
      ['stuck_threshold', 'delete_type', 'latency_buckets', 'delete_duration_buckets'],
    );
    assert.match(problems[2]?.message ?? '', /strictly increasing/);
    assert.match(problems[3]?.message ?? '', /positive number of seconds/);
    assert.match(validateConfig({ ...defaultConfig(), latency_buckets: [] })[0]?.message ?? '', /non-empty list/);
    assert.match(validateConfig({ ...defaultConfig(), latency_buckets: ['1' as unknown as number] })[0]?.message ?? '', /entry 0/);
  });

  it('rejects unknown keys', () => {
    assert.throws(() => convict(schema).load({ discovery_dirs: [] }).validate({ allowed: 'strict' }), /discovery_dirs/);
  });
});

describe('volume labels', () => {
  it('capacity: rounded up to 500 GiB steps, as the local volume provisioner writes it', () => {
    const GI = 2 ** 30;
    assert.equal(capacityLabel(0), '0G');
    assert.equal(capacityLabel(1), '500G');
    assert.equal(capacityLabel(500 * GI), '500G');
    assert.equal(capacityLabel(500 * GI + 1), '1000G');
    assert.equal(capacityLabel(1.5e12), '1500G', '1.5 TB is 1397 GiB');
  });

  it('provisioner: the PV annotation, else the claim, else the class; the static provisioner without its node suffix', () => {
    const annotated = (annotations: Record<string, string>) => ({ ...pv('v'), annotations });
    const claim = (annotations: Record<string, string>) => ({ ...pv('c'), annotations, volumeName: 'v', storageClass: '', phase: 'Bound' });
    assert.equal(provisionerOf(annotated({ 'pv.kubernetes.io/provisioned-by': 'rancher.io/local-path' }), claim({ 'volume.kubernetes.io/storage-provisioner': 'x' }), undefined), 'rancher.io/local-path');
    assert.equal(provisionerOf(annotated({}), claim({ 'volume.beta.kubernetes.io/storage-provisioner': 'beta.example' }), undefined), 'beta.example');
    assert.equal(provisionerOf(annotated({}), undefined, { ...pv('sc'), provisioner: 'kubernetes.io/no-provisioner' }), 'kubernetes.io/no-provisioner');
    assert.equal(provisionerOf(annotated({}), undefined, undefined), 'none');
    assert.equal(provisionerOf(annotated({ 'pv.kubernetes.io/provisioned-by': 'local-volume-provisioner-node-a-0f3c' }), undefined, undefined), 'local-volume-provisioner');
  });
});
