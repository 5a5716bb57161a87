import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, it } from 'node:test';
import pino from 'pino';
import { prometheusExporterFactory } from '../exporters/prometheus/factory.ts';
import type { PrometheusExporter } from '../exporters/prometheus/exporter.ts';
import { buildGraph, type ComponentEntry, type GraphConfig } from './graph.ts';
import { FactoryRegistry } from './registry.ts';
import { Service } from './service.ts';
import { RouteTable } from './route-table.ts';
import { fakeFactories, type FakeReceiver } from './testing-components.ts';
import { DeadlineError } from './errors.ts';

const logger = pino({ level: 'silent' });
const agent = { nodeName: 'node-a', version: '0.0.0-test' };

function entry(id: string, config: object = {}): ComponentEntry {
  return { id, type: id.split('/')[0] ?? id, config };
}

function setup(config: GraphConfig) {
  const instances = new Map<string, FakeReceiver>();
  const registry = new FactoryRegistry();
  for (const f of fakeFactories(instances)) registry.register(f);
  registry.register(prometheusExporterFactory);
  const router = new RouteTable();
  const graph = buildGraph({ config, registry, agent, logger, http: router });
  return { graph, instances, router, service: new Service(graph, logger) };
}

const promDefaults = prometheusExporterFactory.createDefaultConfig();

describe('graph and pipelines', () => {
  it('shares a receiver and an exporter between pipelines and runs processors in order', async () => {
    const { graph, service, instances } = setup({
      receivers: new Map([['fake/a', entry('fake/a', { delay_ms: 0, value: 5 })]]),
      processors: new Map([
        ['trail/one', entry('trail/one')],
        ['trail/two', entry('trail/two')],
      ]),
      exporters: new Map([['prometheus', entry('prometheus', promDefaults)]]),
      pipelines: new Map([
        ['metrics/x', { id: 'metrics/x', receivers: ['fake/a'], processors: ['trail/one', 'trail/two'], exporters: ['prometheus'] }],
        ['metrics/y', { id: 'metrics/y', receivers: ['fake/a'], processors: ['trail/two'], exporters: ['prometheus'] }],
      ]),
    });
    assert.equal(instances.size, 1, 'one receiver instance for two pipelines');
    assert.equal(graph.processors.length, 3, 'one processor instance per pipeline use');
    await service.start({ warmUp: false });
    const exporter = graph.exporters.get('prometheus') as PrometheusExporter;
    const { text, errors } = await exporter.scrape(2000);
    assert.deepEqual(errors, []);
    assert.match(text, /^fake_value\{receiver="fake\/a",trail="trail\/one;trail\/two;"\} 5$/m);
    assert.match(text, /^fake_value\{receiver="fake\/a",trail="trail\/two;"\} 5$/m);
    assert.equal(instances.get('fake/a')?.collects, 1, 'concurrent collections of a shared receiver are coalesced');
    await service.shutdown();
  });

  it('?job= pulls only the receivers that know the job, without self-telemetry; an unknown job is a 400 listing the known ones', async () => {
    const { service, router, instances } = setup({
      receivers: new Map([
        ['fake/scraper', entry('fake/scraper', { value: 2, jobs: ['memcached', 'redis'] })],
        ['fake/plain', entry('fake/plain', { value: 3 })],
      ]),
      processors: new Map(),
      exporters: new Map([['prometheus', entry('prometheus', promDefaults)]]),
      pipelines: new Map([['metrics', { id: 'metrics', receivers: ['fake/scraper', 'fake/plain'], processors: [], exporters: ['prometheus'] }]]),
    });
    await service.start({ warmUp: false });
    const server = createServer((req, res) => {
      const url = new URL(req.url ?? '/', 'http://localhost');
      void router.routes.get(url.pathname)?.handler(req, res, url);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const get = async (path: string): Promise<{ status: number; body: string }> => {
      const res = await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}${path}`);
      return { status: res.status, body: await res.text() };
    };
    try {
      const all = await get('/metrics');
      assert.equal(all.status, 200);
      assert.match(all.body, /^fake_value\{receiver="fake\/scraper"\} 2$/m);
      assert.match(all.body, /^fake_value\{receiver="fake\/plain"\} 3$/m);
      assert.match(all.body, /nodemeter_/, 'a plain pull carries self-telemetry');

      const job = await get('/metrics?job=memcached');
      assert.equal(job.status, 200);
      assert.match(job.body, /^# TYPE fake_value gauge\nfake_value\{receiver="fake\/scraper",job="memcached"\} 2\n$/m);
      assert.doesNotMatch(job.body, /nodemeter_|receiver="fake\/plain"/, 'only the job’s series (and target_info)');
      assert.equal(instances.get('fake/plain')?.collects, 1, 'the receiver without jobs was not asked');

      const unknown = await get('/metrics?job=mysql');
      assert.equal(unknown.status, 400);
      assert.equal(unknown.body, 'unknown job "mysql"; known jobs: memcached, redis\n');
      assert.equal((await get('/metrics?job=a&job=b')).status, 400);
    } finally {
      await new Promise((resolve) => server.close(resolve));
      await service.shutdown();
    }
  });

  it('returns what it has when a receiver passes the deadline, and reports the slow one', async () => {
    const { graph, service } = setup({
      receivers: new Map([
        ['fake/fast', entry('fake/fast', { delay_ms: 0, value: 1 })],
        ['fake/slow', entry('fake/slow', { delay_ms: 5000, value: 2 })],
      ]),
      processors: new Map(),
      exporters: new Map([['prometheus', entry('prometheus', promDefaults)]]),
      pipelines: new Map([['metrics', { id: 'metrics', receivers: ['fake/fast', 'fake/slow'], processors: [], exporters: ['prometheus'] }]]),
    });
    await service.start({ warmUp: false });
    const pipeline = graph.pipelines.get('metrics');
    assert.ok(pipeline);
    const started = Date.now();
    const controller = new AbortController();
    const result = await pipeline.collect({ deadline: Date.now() + 200, signal: controller.signal, selectors: {} });
    const took = Date.now() - started;
    assert.ok(took < 1000, `collect took ${took} ms`);
    assert.equal(result.errors.length, 1);
    assert.match(String((result.errors[0] as Error).message), /fake\/slow.*did not finish within/);
    assert.ok((result.errors[0] as Error).cause instanceof DeadlineError);
    const names = result.resourceMetrics.scopeMetrics.map((s) => s.scope.name);
    assert.deepEqual(names, ['test/fake/fast']);
    await service.shutdown();
  });

  it('keeps the other receivers when one throws, and counts the failure in self-telemetry', async () => {
    const { graph, service, instances } = setup({
      receivers: new Map([
        ['fake/ok', entry('fake/ok', { delay_ms: 0, value: 1 })],
        ['fake/bad', entry('fake/bad', { delay_ms: 0, value: 1 })],
      ]),
      processors: new Map(),
      exporters: new Map([['prometheus', entry('prometheus', promDefaults)]]),
      pipelines: new Map([['metrics', { id: 'metrics', receivers: ['fake/ok', 'fake/bad'], processors: [], exporters: ['prometheus'] }]]),
    });
    const bad = instances.get('fake/bad');
    assert.ok(bad);
    bad.failWith = Object.assign(new Error('source exploded'), { code: 'EIO' });
    await service.start({ warmUp: false });
    const exporter = graph.exporters.get('prometheus') as PrometheusExporter;
    const first = await exporter.scrape(2000);
    assert.equal(first.errors.length, 1);
    assert.match(first.text, /^fake_value\{receiver="fake\/ok"\} 1$/m);
    const second = await exporter.scrape(2000);
    // Self-telemetry is read while this scrape's collection runs, so it shows one or both scrapes.
    assert.match(second.text, /^nodemeter_receiver_collect_failures_total\{receiver="fake\/bad",reason="EIO"\} [12]$/m);
    assert.match(second.text, /^nodemeter_receiver_collect_duration_seconds_count\{receiver="fake\/ok",outcome="success"\} [12]$/m);
    assert.match(second.text, /^target_info\{.*k8s_node_name="node-a".*\} 1$/m);
    await service.shutdown();
  });

  it('starts exporters first, stops them last, and becomes ready after the warm-up collection', async () => {
    const { graph, service, instances, router } = setup({
      receivers: new Map([['fake', entry('fake', { delay_ms: 20, value: 1 })]]),
      processors: new Map(),
      exporters: new Map([['prometheus', entry('prometheus', promDefaults)]]),
      pipelines: new Map([['metrics', { id: 'metrics', receivers: ['fake'], processors: [], exporters: ['prometheus'] }]]),
    });
    assert.equal(service.ready, false);
    await service.start();
    assert.ok(router.routes.has('/metrics'), 'exporter registered its route on start');
    assert.equal(instances.get('fake')?.starts, 1);
    for (let i = 0; i < 50 && !service.ready; i++) await new Promise((r) => setTimeout(r, 10));
    assert.equal(service.ready, true);
    await service.shutdown();
    await service.shutdown();
    assert.equal(instances.get('fake')?.shutdowns, 1, 'shutdown is idempotent');
    assert.equal(router.routes.has('/metrics'), false, 'exporter removed its route on shutdown');
    assert.ok(graph.exporters.size === 1);
  });
});
