import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, afterEach, before, describe, it } from 'node:test';
import { AggregationTemporality, MeterProvider, MetricReader } from '@opentelemetry/sdk-metrics';
import pino from 'pino';
import { KubeApiServer, fixtures } from '../test/support/kube-api/index.ts';
import { freePort } from '../test/support/ports.ts';
import { KubeCache, type KubeCacheOptions, type KubeEvent } from './cache.ts';
import { resolveKubeConnection } from './connection.ts';
import { KIND_NAMES as ALL } from './kinds.ts';
import type { KubeChange } from './lookup.ts';
import type { KindName } from './types.ts';

const GRACE_MS = 400;

/** Collects the self-metrics on demand. */
class TestReader extends MetricReader {
  constructor() {
    super({ aggregationTemporalitySelector: () => AggregationTemporality.CUMULATIVE });
  }
  protected onShutdown(): Promise<void> {
    return Promise.resolve();
  }
  protected onForceFlush(): Promise<void> {
    return Promise.resolve();
  }
}

async function metricValues(reader: TestReader, name: string): Promise<Array<{ attributes: Record<string, unknown>; value: unknown }>> {
  const { resourceMetrics } = await reader.collect();
  const out: Array<{ attributes: Record<string, unknown>; value: unknown }> = [];
  for (const scope of (resourceMetrics).scopeMetrics)
    for (const metric of scope.metrics)
      if (metric.descriptor.name === name) for (const p of metric.dataPoints) out.push({ attributes: p.attributes, value: p.value });
  return out;
}

async function until(what: string, check: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

// Any unhandled rejection anywhere in the process fails the run.
const rejections: unknown[] = [];
const trap = (reason: unknown) => rejections.push(reason);
before(() => process.on('unhandledRejection', trap));
after(() => {
  process.off('unhandledRejection', trap);
  assert.deepEqual(rejections, [], 'no unhandled rejections');
});

const dir = mkdtempSync(path.join(tmpdir(), 'nodemeter-kubecache-'));
after(() => rmSync(dir, { recursive: true, force: true }));

interface Harness {
  server: KubeApiServer;
  cache: KubeCache;
  reader: TestReader;
}
const open: Harness[] = [];
afterEach(async () => {
  for (const h of open.splice(0)) {
    await h.cache.shutdown();
    await h.server.stop();
  }
});

async function harness(opts: { serverPort?: number; startServer?: boolean; kinds?: KindName[]; options?: Partial<KubeCacheOptions> } = {}): Promise<Harness> {
  let server: KubeApiServer;
  if (opts.startServer === false) {
    // A placeholder that only knows the URL; the real server starts later on that port.
    server = { url: `http://127.0.0.1:${opts.serverPort}`, stop: () => Promise.resolve() } as unknown as KubeApiServer;
  } else {
    server = await KubeApiServer.start({ port: opts.serverPort, bookmarkIntervalMs: 100 });
    for (const o of fixtures.demoCluster()) server.add(o);
  }
  const reader = new TestReader();
  const provider = new MeterProvider({ readers: [reader] });
  const connection = await resolveKubeConnection({ api_url: server.url });
  assert.ok(connection);
  const cache = KubeCache.create({
    connection,
    nodeName: 'node-a',
    logger: pino({ level: 'silent' }),
    meter: provider.getMeter('test'),
    graceMs: GRACE_MS,
    tuning: { backoff: { initialMs: 20, maxMs: 300 }, watchTimeoutSeconds: [60, 60], requestTimeoutMs: 2000, pageSize: 3 },
    ...opts.options,
  });
  cache.require(opts.kinds ?? ALL);
  const h = { server, cache, reader };
  open.push(h);
  return h;
}

const lists = (server: KubeApiServer, p: string) => server.requests.filter((r) => r.path === p && !r.watch).length;
const watches = (server: KubeApiServer, p: string) => server.requests.filter((r) => r.path === p && r.watch);

describe('KubeCache against the test API server', () => {
  it('syncs every required kind, this node only, with working indexes and only GET requests', async () => {
    const { server, cache, reader } = await harness();
    assert.equal(cache.synced, false);
    await cache.start();
    assert.equal(await cache.waitForSync(5000), true);

    const all = fixtures.demoCluster();
    const nodeAPods = all.filter((o) => o.kind === 'Pod' && (o.spec as { nodeName: string }).nodeName === 'node-a');
    assert.ok(nodeAPods.length > 0);
    assert.equal(cache.store('pods').size, nodeAPods.length, 'only pods of node-a');
    assert.ok(cache.store('pods').list().every((p) => p.nodeName === 'node-a'));
    assert.deepEqual(cache.store('nodes').list().map((n) => n.name), ['node-a']);
    assert.equal(cache.store('persistentvolumes').size, all.filter((o) => o.kind === 'PersistentVolume').length);
    assert.equal(cache.store('persistentvolumeclaims').size, all.filter((o) => o.kind === 'PersistentVolumeClaim').length);
    assert.equal(cache.store('storageclasses').size, all.filter((o) => o.kind === 'StorageClass').length);
    assert.ok(cache.namespace('shop'));

    const first = cache.store('pods').list()[0];
    assert.ok(first);
    assert.equal(cache.podByUid(first.uid), first);
    assert.equal(cache.pod(first.namespace, first.name), first);
    const cid = first.containers[0]?.id ?? '';
    assert.equal(cache.podByContainerId(cid), first);
    assert.equal(cache.podByContainerId(`containerd://${cid}`), first);
    const pvc = cache.store('persistentvolumeclaims').list().find((c) => c.volumeName !== '');
    assert.ok(pvc);
    assert.equal(cache.persistentVolumeClaim(pvc.namespace, pvc.name), pvc);
    assert.equal(cache.persistentVolume(pvc.volumeName)?.claimRef?.name, pvc.name);

    // Paged lists (pageSize 3) and selectors went out as expected.
    const podList = server.requests.find((r) => r.path === '/api/v1/pods' && !r.watch);
    assert.equal(podList?.query['fieldSelector'], 'spec.nodeName=node-a');
    assert.ok(server.requests.some((r) => r.path === '/api/v1/persistentvolumes' && r.query['continue']), 'continue used');
    const nodeWatch = watches(server, '/api/v1/nodes')[0];
    assert.equal(nodeWatch?.query['fieldSelector'], 'metadata.name=node-a');
    assert.equal(nodeWatch?.query['allowWatchBookmarks'], 'true');
    assert.ok(server.requests.every((r) => r.method === 'GET'), 'read-only');

    const objects = await metricValues(reader, 'nodemeter_kube_cache_objects');
    assert.equal(objects.find((p) => p.attributes['kind'] === 'pods')?.value, nodeAPods.length);
    const synced = await metricValues(reader, 'nodemeter_kube_cache_synced');
    assert.equal(synced.length, ALL.length);
    assert.ok(synced.every((p) => p.value === 1));
    const requests = await metricValues(reader, 'nodemeter_kube_apiserver_requests_total');
    assert.ok(Number(requests.find((p) => p.attributes['method'] === 'LIST')?.value) >= ALL.length);
    await until('watch requests counted', () => watches(server, '/api/v1/pods').length > 0);
    const durations = await metricValues(reader, 'nodemeter_kube_apiserver_request_duration_seconds');
    assert.ok(durations.some((p) => p.attributes['method'] === 'LIST'));
  });

  it('follows add, relabel and delete within one watch event; deleted objects stay for the grace period', async () => {
    const { server, cache } = await harness();
    await cache.start();
    assert.ok(await cache.waitForSync(5000));
    const events: Array<KubeEvent<'pods'>> = [];
    cache.on('pods', (e) => events.push(e));
    const pvcEvents: Array<KubeEvent<'persistentvolumeclaims'>> = [];
    cache.on('persistentvolumeclaims', (e) => pvcEvents.push(e));
    cache.on('pods', () => {
      throw new Error('a listener that throws harms nobody');
    });

    server.add(fixtures.pod('late-0', { namespace: 'shop', node: 'node-a', podIP: '10.4.1.99', pvcs: { data: 'data-late-0' } }));
    server.add(fixtures.pod('elsewhere', { namespace: 'shop', node: 'node-b', podIP: '10.4.2.99' }));
    await until('pod added', () => cache.pod('shop', 'late-0') !== undefined);
    assert.equal(cache.podByIp('10.4.1.99')?.name, 'late-0');
    assert.deepEqual(cache.pod('shop', 'late-0')?.claims, { data: 'data-late-0' });
    assert.equal(events.at(-1)?.type, 'add');

    const pvc = cache.store('persistentvolumeclaims').list()[0];
    assert.ok(pvc);
    server.patchLabels('persistentvolumeclaims', pvc.namespace, pvc.name, { tier: 'gold' });
    await until('relabel seen', () => cache.persistentVolumeClaim(pvc.namespace, pvc.name)?.labels['tier'] === 'gold');
    const update = pvcEvents.at(-1);
    assert.equal(update?.type, 'update');
    assert.equal(update?.type === 'update' ? update.old.labels['tier'] : 'x', undefined);

    const uid = cache.pod('shop', 'late-0')?.uid ?? '';
    server.delete('pods', 'shop', 'late-0');
    await until('delete seen', () => cache.pod('shop', 'late-0')?.deletedAt !== undefined);
    assert.equal(events.at(-1)?.type, 'delete');
    assert.equal(cache.podByUid(uid)?.name, 'late-0', 'still resolvable during the grace period');
    assert.equal(cache.podByIp('10.4.1.99')?.name, 'late-0');
    await until('purged after grace', () => cache.podByUid(uid) === undefined, GRACE_MS * 5);
    assert.equal(cache.pod('shop', 'late-0'), undefined);
    assert.equal(cache.podByIp('10.4.1.99'), undefined);
    assert.equal(cache.pod('shop', 'elsewhere'), undefined, 'other nodes are never seen');
  });

  it('resumes a dropped watch from the last resourceVersion without relisting', async () => {
    const { server, cache } = await harness({ kinds: ['persistentvolumeclaims'] });
    await cache.start();
    assert.ok(await cache.waitForSync(5000));
    const path = '/api/v1/persistentvolumeclaims';
    await until('watching', () => watches(server, path).length === 1);
    server.add(fixtures.persistentVolumeClaim('shop', 'before-drop'));
    await until('seen', () => cache.persistentVolumeClaim('shop', 'before-drop') !== undefined);
    await new Promise((r) => setTimeout(r, 250)); // a bookmark or two moves the resume point
    const rv = cache.status()[0]?.resourceVersion;
    const listsBefore = lists(server, path);

    server.dropWatches();
    await until('rewatched', () => watches(server, path).length === 2);
    const resumed = watches(server, path)[1];
    assert.ok(Number(resumed?.query['resourceVersion']) >= Number(rv), `resumed from ${resumed?.query['resourceVersion']}, last seen ${rv}`);
    server.add(fixtures.persistentVolumeClaim('shop', 'after-drop'));
    await until('change after the drop seen', () => cache.persistentVolumeClaim('shop', 'after-drop') !== undefined);
    assert.equal(lists(server, path), listsBefore, 'no relist');
    assert.ok(cache.synced);
  });

  it('relists on 410 Gone and replaces the store, emitting deletes for what vanished (API server restart)', async () => {
    const { server, cache, reader } = await harness({ kinds: ['persistentvolumeclaims', 'pods'] });
    await cache.start();
    assert.ok(await cache.waitForSync(5000));
    const path = '/api/v1/persistentvolumeclaims';
    const deletes: string[] = [];
    cache.on('persistentvolumeclaims', (e) => {
      if (e.type === 'delete') deletes.push(e.object.name);
    });
    const victim = cache.store('persistentvolumeclaims').list()[0];
    assert.ok(victim);
    const listsBefore = lists(server, path);

    // While the server is away the cache serves what it had.
    await server.stop();
    await new Promise((r) => setTimeout(r, 100));
    assert.ok(cache.persistentVolumeClaim(victim.namespace, victim.name));
    assert.ok(cache.synced);

    // Changes the cache cannot see as events: history compacted, so the resume gets 410.
    server.delete('persistentvolumeclaims', victim.namespace, victim.name);
    server.add(fixtures.persistentVolumeClaim('shop', 'born-while-away'));
    server.expireVersions();
    await server.restart();

    await until('relisted', () => cache.persistentVolumeClaim('shop', 'born-while-away') !== undefined, 8000);
    assert.ok(lists(server, path) > listsBefore);
    assert.equal(cache.persistentVolumeClaim(victim.namespace, victim.name)?.deletedAt !== undefined, true);
    assert.deepEqual(deletes, [victim.name]);
    const restarts = await metricValues(reader, 'nodemeter_kube_watch_restarts_total');
    assert.ok(restarts.some((p) => p.attributes['kind'] === 'persistentvolumeclaims' && p.attributes['reason'] === 'gone'), JSON.stringify(restarts));
    assert.ok(restarts.some((p) => p.attributes['reason'] === 'error'));
    const failed = await metricValues(reader, 'nodemeter_kube_apiserver_requests_failed_total');
    assert.ok(failed.length > 0, 'failed requests counted');
    assert.ok(server.requests.every((r) => r.method === 'GET'));
  });

  it('relists when an open watch is told its version expired (ERROR event 410)', async () => {
    const { server, cache } = await harness({ kinds: ['persistentvolumes'] });
    await cache.start();
    assert.ok(await cache.waitForSync(5000));
    const path = '/api/v1/persistentvolumes';
    const before = lists(server, path);
    server.expireVersions();
    server.dropWatches();
    await until('relist after 410', () => lists(server, path) > before);
    const pv = fixtures.persistentVolume('pv-after-410', { type: 'hostPath', path: '/mnt/x' });
    server.add(pv);
    await until('watching again', () => cache.persistentVolume('pv-after-410') !== undefined);
  });

  it('keeps retrying with backoff while the API server is down at start, then syncs', async () => {
    const port = await freePort();
    const { cache, reader } = await harness({ serverPort: port, startServer: false, kinds: ['pods', 'persistentvolumes'] });
    await cache.start();
    assert.equal(await cache.waitForSync(600), false);
    assert.equal(cache.synced, false);
    const failedWhileDown = await metricValues(reader, 'nodemeter_kube_apiserver_requests_failed_total');
    const failures = Number(failedWhileDown.find((p) => p.attributes['method'] === 'LIST')?.value);
    // 600 ms with a 20 → 300 ms backoff: several attempts, but nothing like a hot loop.
    assert.ok(failures >= 3 && failures <= 60, `LIST failures while down: ${failures}`);
    assert.ok(cache.status().every((s) => s.lastError !== undefined));

    const server = await KubeApiServer.start({ port, bookmarkIntervalMs: 100 });
    for (const o of fixtures.demoCluster()) server.add(o);
    open.push({ server, cache, reader });
    assert.equal(await cache.waitForSync(5000), true);
    assert.ok(cache.store('pods').size > 0);
    const synced = await metricValues(reader, 'nodemeter_kube_cache_synced');
    assert.ok(synced.every((p) => p.value === 1));
  });

  it('gives up on a stalled LIST after its deadline and succeeds once the server answers', async () => {
    const { server, cache } = await harness({ kinds: ['namespaces'], options: { tuning: { requestTimeoutMs: 200, backoff: { initialMs: 20, maxMs: 100 } } } });
    server.stall(10_000);
    await cache.start();
    assert.equal(await cache.waitForSync(500), false);
    assert.match(cache.status()[0]?.lastError ?? '', /no data for 200 ms/);
    server.stall(0);
    assert.equal(await cache.waitForSync(5000), true);
  });

  it('works through a kubeconfig file too', async () => {
    const server = await KubeApiServer.start({ bookmarkIntervalMs: 100 });
    for (const o of fixtures.demoCluster()) server.add(o);
    const connection = await resolveKubeConnection({ kubeconfig: server.kubeconfigPath(dir) });
    assert.equal(connection?.source, 'kubeconfig');
    const cache = KubeCache.create({ connection: connection, nodeName: 'node-a', logger: pino({ level: 'silent' }) });
    open.push({ server, cache, reader: new TestReader() });
    const lookup = cache.require(['storageclasses']);
    assert.equal(lookup.synced, false);
    await cache.start();
    assert.equal(await cache.waitForSync(5000), true);
    assert.equal(lookup.synced, true);
    assert.ok(lookup.storageClass('gp3'));
  });

  it('event views: two filtered views of /api/v1/events, each with only its kind; a deleted event leaves at the next purge', async () => {
    const { server, cache, reader } = await harness({
      kinds: ['persistentvolumeevents', 'persistentvolumeclaimevents', 'persistentvolumeclaims'],
      options: { graceMs: 2000 },
    });
    for (const e of fixtures.volumeEvents()) server.add(e);
    await cache.start();
    assert.ok(await cache.waitForSync(5000));

    const events = [...fixtures.demoCluster(), ...fixtures.volumeEvents()].filter((o) => o.kind === 'Event');
    const about = (kind: string) =>
      events.filter((o) => (o['involvedObject'] as { kind: string }).kind === kind).map((o) => `${o.metadata.namespace}/${o.metadata.name}`).sort();
    const held = (kind: 'persistentvolumeevents' | 'persistentvolumeclaimevents') => cache.store(kind).list().map((e) => `${e.namespace}/${e.name}`).sort();
    assert.ok(about('Pod').length >= 2, 'the server holds events about pods too');
    assert.equal(about('PersistentVolume').length, 1);
    assert.equal(about('PersistentVolumeClaim').length, 5);
    assert.deepEqual(held('persistentvolumeevents'), about('PersistentVolume'));
    assert.deepEqual(held('persistentvolumeclaimevents'), about('PersistentVolumeClaim'));
    assert.ok(cache.store('persistentvolumeevents').list().every((e) => e.involvedObject.kind === 'PersistentVolume' && e.namespace === 'default'));

    // One path, two constant selectors, for the LIST and the WATCH alike.
    const selectors = (watch: boolean) => new Set(server.requests.filter((r) => r.path === '/api/v1/events' && r.watch === watch).map((r) => r.query['fieldSelector']));
    const both = new Set(['involvedObject.kind=PersistentVolume', 'involvedObject.kind=PersistentVolumeClaim']);
    assert.deepEqual(selectors(false), both);
    await until('both views watching', () => selectors(true).size === 2);
    assert.deepEqual(selectors(true), both);

    // Written through events.k8s.io, stripped from the core view.
    const failed = cache.store('persistentvolumeclaimevents').list().find((e) => e.reason === 'ProvisioningFailed');
    assert.deepEqual([failed?.count, failed?.type, failed?.involvedObject.name], [4, 'Warning', 'scratch']);
    assert.match(failed?.reportingComponent ?? '', /^ebs\.csi\.aws\.com_/);

    const objects = await metricValues(reader, 'nodemeter_kube_cache_objects');
    assert.equal(objects.find((p) => p.attributes['kind'] === 'persistentvolumeevents')?.value, 1);
    assert.equal(objects.find((p) => p.attributes['kind'] === 'persistentvolumeclaimevents')?.value, 5);
    const synced = await metricValues(reader, 'nodemeter_kube_cache_synced');
    assert.deepEqual(synced.map((p) => p.attributes['kind']).sort(), ['persistentvolumeclaimevents', 'persistentvolumeclaims', 'persistentvolumeevents']);

    // Events have no grace period: an expired event is gone at the next purge (every 500 ms
    // here), while a PVC deleted at the same moment stays for the cache's 2 s.
    const ev = cache.store('persistentvolumeclaimevents').list()[0];
    const pvc = cache.store('persistentvolumeclaims').list()[0];
    assert.ok(ev && pvc);
    server.delete('events', ev.namespace, ev.name);
    server.delete('persistentvolumeclaims', pvc.namespace, pvc.name);
    await until('PVC delete seen', () => cache.persistentVolumeClaim(pvc.namespace, pvc.name)?.deletedAt !== undefined);
    await until('event purged', () => cache.store('persistentvolumeclaimevents').get(ev.namespace, ev.name) === undefined, 1500);
    assert.ok(cache.persistentVolumeClaim(pvc.namespace, pvc.name), 'the PVC is still in its grace period');
    assert.equal(cache.store('persistentvolumeclaimevents').size, 4);
  });

  it('on through a required lookup: initial list as adds, watch changes of events and PVs, no other kinds, relist differences, unsubscribe', async () => {
    const { server, cache } = await harness({ kinds: [] });
    for (const e of fixtures.volumeEvents()) server.add(e);
    const lookup = cache.require(['persistentvolumes', 'persistentvolumeclaimevents']);
    assert.equal(typeof lookup.on, 'function', 'the cache lookups can deliver changes');
    assert.throws(() => lookup.on?.('persistentvolumeevents', () => undefined), /not required/);
    const evs: Array<KubeChange<'persistentvolumeclaimevents'>> = [];
    const pvs: Array<KubeChange<'persistentvolumes'>> = [];
    const offEvents = lookup.on?.('persistentvolumeclaimevents', (c) => evs.push(c));
    lookup.on?.('persistentvolumes', (c) => pvs.push(c));
    const stale: string[] = [];
    lookup.on?.('persistentvolumes', (c) => {
      // Listeners run after the store changed: a lookup from inside sees the new state.
      if (c.type !== 'delete' && lookup.persistentVolume(c.object.name) !== c.object) stale.push(c.object.name);
    });

    await cache.start();
    assert.ok(await cache.waitForSync(5000));
    const show = (c: KubeChange<'persistentvolumeclaimevents'> | KubeChange<'persistentvolumes'>) =>
      `${c.type} ${'reason' in c.object ? c.object.reason : c.object.phase} ${c.origin ?? '?'}`;
    assert.equal(evs.length, 5);
    assert.ok(evs.every((c) => c.type === 'add' && c.origin === 'list'), evs.map(show).join());
    assert.equal(pvs.length, fixtures.demoCluster().filter((o) => o.kind === 'PersistentVolume').length);
    assert.ok(pvs.every((c) => c.type === 'add' && c.origin === 'list'));
    evs.length = 0;
    pvs.length = 0;

    // Watch: a PVC event, its repeat, events about a PV and a Pod (never delivered here), a PV's life.
    const claim = { kind: 'PersistentVolumeClaim', namespace: 'shop', name: 'fresh' };
    const first = server.add(fixtures.coreEvent(claim, 'Provisioning', 'External provisioner is provisioning volume for claim "shop/fresh"', { component: 'rancher.io/local-path_p_u' }));
    server.add(fixtures.coreEvent({ kind: 'PersistentVolume', name: 'pvc-fresh' }, 'VolumeFailedDelete', 'busy', { type: 'Warning' }));
    server.add(fixtures.event('shop', { kind: 'Pod', name: 'web-0' }, 'Pulled', 'Successfully pulled image'));
    server.update({ ...first, count: 2, lastTimestamp: '2025-01-15T10:00:09Z' });
    const pvSource = { type: 'localPath', node: 'node-a', claimNamespace: 'shop', claimName: 'fresh' } as const;
    const pvOptions = { storageClassName: 'local-path', claim: { namespace: 'shop', name: 'fresh' } };
    server.add(fixtures.persistentVolume('pvc-fresh', pvSource, pvOptions));
    server.update(fixtures.persistentVolume('pvc-fresh', pvSource, { ...pvOptions, phase: 'Released', lastPhaseTransitionTime: '2025-01-15T11:00:00Z' }));
    server.delete('persistentvolumes', '', 'pvc-fresh');
    server.delete('events', 'shop', first.metadata.name);
    server.add(fixtures.coreEvent(claim, 'ProvisioningSucceeded', 'Successfully provisioned volume pvc-fresh', { component: 'rancher.io/local-path_p_u' }));

    await until('the last PVC event', () => evs.some((c) => c.object.reason === 'ProvisioningSucceeded'));
    await until('the PV delete', () => pvs.some((c) => c.type === 'delete'));
    assert.deepEqual(evs.map(show), ['add Provisioning watch', 'update Provisioning watch', 'delete Provisioning watch', 'add ProvisioningSucceeded watch']);
    assert.ok(evs.every((c) => c.object.involvedObject.kind === 'PersistentVolumeClaim'), 'events about other kinds are never delivered');
    const repeat = evs[1];
    assert.equal(repeat?.type, 'update');
    assert.deepEqual(repeat.type === 'update' ? [repeat.old.count, repeat.object.count, repeat.object.lastTimestampMs] : [], [1, 2, Date.UTC(2025, 0, 15, 10, 0, 9)]);
    assert.deepEqual(pvs.map(show), ['add Bound watch', 'update Released watch', 'delete Released watch']);
    const released = pvs[1];
    assert.equal(released?.type === 'update' ? released.old.phase : '', 'Bound');
    assert.equal(released?.object.lastPhaseTransitionTimeMs, Date.UTC(2025, 0, 15, 11));
    assert.equal(typeof pvs[2]?.object.deletedAt, 'number');
    assert.deepEqual(stale, []);

    // A relist after 410 Gone delivers only what differs from the store.
    evs.length = 0;
    const live = cache.store('persistentvolumeclaimevents').list().filter((e) => !e.deletedAt);
    const [gone, changed] = live;
    assert.ok(gone && changed && live.length >= 3);
    await server.stop();
    server.delete('events', gone.namespace, gone.name);
    const current = server.get('events', changed.namespace, changed.name);
    assert.ok(current);
    server.update({ ...current, count: 9 });
    server.add(fixtures.coreEvent(claim, 'ProvisioningFailed', 'while the agent was away', { type: 'Warning' }));
    server.expireVersions();
    await server.restart();
    await until('relist delivered', () => evs.length >= 3, 8000);
    assert.deepEqual(
      evs.map((c) => `${c.type} ${c.object.name === gone.name ? 'gone' : c.object.name === changed.name ? 'changed' : c.object.reason} ${c.origin ?? '?'}`).sort(),
      ['add ProvisioningFailed relist', 'delete gone relist', 'update changed relist'],
    );
    const relistDelete = evs.find((c) => c.type === 'delete');
    assert.equal(typeof relistDelete?.object.deletedAt, 'number');

    // Unsubscribed: nothing more arrives.
    offEvents?.();
    const before = evs.length;
    server.add(fixtures.coreEvent(claim, 'Resizing', 'after unsubscribe'));
    server.add(fixtures.persistentVolume('pv-sentinel', { type: 'hostPath', path: '/mnt/s' }));
    await until('sentinel PV', () => pvs.some((c) => c.object.name === 'pv-sentinel'));
    await until('the event is cached', () => cache.store('persistentvolumeclaimevents').list().some((e) => e.reason === 'Resizing'));
    assert.equal(evs.length, before);
  });

  it('lifecycle: shutdown is idempotent and safe without start; waitForSync never throws; late require starts the kind', async () => {
    const { server, cache } = await harness({ kinds: [] });
    await cache.shutdown();
    await cache.shutdown();
    assert.equal(await cache.waitForSync(50), true, 'nothing required → trivially synced');

    const { cache: second } = await harness({ kinds: ['nodes'] });
    await second.start();
    await second.start();
    assert.ok(await second.waitForSync(5000));
    const lookup = second.require('persistentvolumeclaims');
    assert.equal(lookup.synced, false);
    await until('late kind synced', () => lookup.synced);
    assert.throws(() => second.require('secrets' as KindName), /unknown Kubernetes kind/);
    await second.shutdown();
    assert.equal(await second.waitForSync(10), true);
    await second.shutdown();
    void server;
  });
});
