// The test Kubernetes API server driven by @kubernetes/client-node 2.0.1, the client the agent
// uses: informers through resume, 410 relist, bookmarks, stalls, and a server restart.
import assert from 'node:assert/strict';
import { after, afterEach, before, beforeEach, describe, test } from 'node:test';
import { CoreV1Api, KubeConfig, ListWatch, Watch, makeInformer, type V1Pod } from '@kubernetes/client-node';
import { KubeApiServer, type LoggedRequest } from '../support/kube-api/server.ts';
import { demoCluster, pod } from '../support/kube-api/fixtures.ts';
import { makeTempDir, waitFor } from '../support/proc.ts';

type Seen = { adds: string[]; updates: string[]; deletes: string[]; errors: unknown[] };

function record(informer: { on: ListWatch<V1Pod>['on'] }): Seen {
  const seen: Seen = { adds: [], updates: [], deletes: [], errors: [] };
  informer.on('add', (p) => seen.adds.push(p.metadata!.name!));
  informer.on('update', (p) => seen.updates.push(p.metadata!.name!));
  informer.on('delete', (p) => seen.deletes.push(p.metadata!.name!));
  informer.on('error', (e) => seen.errors.push(e));
  return seen;
}

const until = <T>(what: string, check: () => T | undefined) => waitFor(what, check, { timeoutMs: 5_000, intervalMs: 10 });

const podRequests = (server: KubeApiServer, from: number): LoggedRequest[] =>
  server.requests.slice(from).filter((q) => q.path === '/api/v1/pods');

describe('test API server with @kubernetes/client-node', () => {
  let server: KubeApiServer;
  let dir: { path: string; remove: () => Promise<void> };
  let kc: KubeConfig;
  let api: CoreV1Api;
  const stops: Array<() => Promise<void> | void> = [];

  before(async () => {
    dir = await makeTempDir('nodemeter-kube-api-');
  });
  after(() => dir.remove());

  beforeEach(async () => {
    server = await KubeApiServer.start({ bookmarkIntervalMs: 100 });
    for (const obj of demoCluster()) server.add(obj);
    kc = new KubeConfig();
    kc.loadFromFile(server.kubeconfigPath(dir.path));
    api = kc.makeApiClient(CoreV1Api);
  });

  afterEach(async () => {
    for (const stop of stops.splice(0)) await stop();
    await server.stop();
  });

  test('a field-selected pod informer: add/update/delete, resume after a dropped watch, relist after 410', async () => {
    // makeInformer takes no field selector in 2.0.1; ListWatch (what it returns) does.
    const fieldSelector = 'spec.nodeName=node-a';
    const informer = new ListWatch<V1Pod>('/api/v1/pods', new Watch(kc), () => api.listPodForAllNamespaces({ fieldSelector }), false, undefined, fieldSelector);
    const seen = record(informer);
    stops.push(() => informer.stop());
    await informer.start();
    assert.deepEqual(seen.adds.sort(), ['db-0', 'node-agent-5xk8w', 'web-0', 'web-7c9d8f5b6d-x2x4q']);
    await until('the watch', () => podRequests(server, 0).find((q) => q.watch));
    assert.equal(podRequests(server, 0).find((q) => q.watch)?.query.fieldSelector, fieldSelector);

    server.add(pod('web-1', { namespace: 'shop', node: 'node-a', labels: { app: 'web' } }));
    server.add(pod('elsewhere', { namespace: 'shop', node: 'node-b' }));
    server.patchLabels('pods', 'shop', 'db-0', { role: 'primary' });
    server.delete('pods', 'shop', 'web-0');
    await until('the delete', () => (seen.deletes.length ? true : undefined));
    assert.deepEqual([seen.adds.at(-1), seen.updates, seen.deletes], ['web-1', ['db-0'], ['web-0']]);
    assert.ok(!seen.adds.includes('elsewhere'));

    // A dropped watch resumes from the last resourceVersion the informer saw, without a list.
    const lastRv = informer.latestResourceVersion();
    assert.equal(lastRv, server.resourceVersion);
    let mark = server.requests.length;
    server.dropWatches();
    const resumed = await until('a new watch', () => podRequests(server, mark).find((q) => q.watch));
    assert.equal(resumed.query.resourceVersion, lastRv);
    assert.deepEqual(podRequests(server, mark).filter((q) => !q.watch), [], 'no relist');
    server.add(pod('web-2', { namespace: 'shop', node: 'node-a' }));
    await until('web-2', () => (seen.adds.includes('web-2') ? true : undefined));

    // Compacted history while the informer is away: its resumed watch (held by a stall until
    // the changes are made) gets an ERROR 410; it relists and watches from the new list.
    mark = server.requests.length;
    server.stall(60_000);
    server.dropWatches();
    await until('the held re-watch', () => podRequests(server, mark).find((q) => q.watch));
    server.delete('pods', 'shop', 'web-1');
    server.expireVersions();
    server.stall(0);
    await until('a relist and a new watch', () => {
      const qs = podRequests(server, mark);
      const list = qs.findIndex((q) => !q.watch);
      return list > 0 && qs.slice(list + 1).some((q) => q.watch) ? qs : undefined;
    }).then((qs) => {
      assert.equal(qs[0]!.watch, true);
      assert.ok(Number(qs[0]!.query.resourceVersion) < Number(server.resourceVersion), 'first resumed from the expired version');
      assert.equal(qs.find((q) => !q.watch)?.query.fieldSelector, fieldSelector);
    });
    // The relist is what found out about the delete.
    await until('web-1 deleted', () => (seen.deletes.includes('web-1') ? true : undefined));
    assert.deepEqual(informer.list().map((p) => p.metadata!.name).sort(), ['db-0', 'node-agent-5xk8w', 'web-2', 'web-7c9d8f5b6d-x2x4q']);
    assert.deepEqual(seen.errors, []);
  });

  test('makeInformer with a label selector: an object that stops matching is deleted for it', async () => {
    const informer = makeInformer<V1Pod>(kc, '/api/v1/namespaces/shop/pods', () => api.listNamespacedPod({ namespace: 'shop', labelSelector: 'app=web' }), 'app=web');
    const seen = record(informer);
    stops.push(() => informer.stop());
    await informer.start();
    assert.deepEqual(seen.adds.sort(), ['web-0', 'web-7c9d8f5b6d-x2x4q']);
    await until('the watch', () => server.requests.find((q) => q.watch));
    server.patchLabels('pods', 'shop', 'web-0', { app: 'legacy' });
    server.patchLabels('pods', 'shop', 'db-0', { app: 'web' });
    await until('both changes', () => (seen.deletes.length && seen.adds.length === 3 ? true : undefined));
    assert.deepEqual(seen.deletes, ['web-0']);
    assert.equal(seen.adds[2], 'db-0');
    assert.deepEqual(seen.updates, []);
  });

  test('a raw Watch with allowWatchBookmarks receives BOOKMARK events', async () => {
    const bookmarks: Array<{ kind?: string; apiVersion?: string; metadata?: Record<string, unknown> }> = [];
    const types: string[] = [];
    const controller = await new Watch(kc).watch(
      '/api/v1/pods',
      { allowWatchBookmarks: true, resourceVersion: server.resourceVersion },
      (type, obj: (typeof bookmarks)[number]) => {
        types.push(type);
        if (type === 'BOOKMARK') bookmarks.push(obj);
      },
      () => {},
    );
    stops.push(() => controller.abort());
    await until('two bookmarks', () => (bookmarks.length >= 2 ? true : undefined));
    assert.deepEqual(bookmarks[0], { kind: 'Pod', apiVersion: 'v1', metadata: { resourceVersion: server.resourceVersion } });
    server.add(pod('web-1', { namespace: 'shop', node: 'node-a' }));
    await until('the added pod and a later bookmark', () => (bookmarks.at(-1)?.metadata?.resourceVersion === server.resourceVersion ? true : undefined));
    assert.deepEqual(types.filter((t) => t !== 'BOOKMARK'), ['ADDED']);
  });

  test('stop() and restart(): requests fail while down and recover on the same port', async () => {
    const informer = makeInformer<V1Pod>(kc, '/api/v1/pods', () => api.listPodForAllNamespaces());
    const seen = record(informer);
    stops.push(() => informer.stop());
    await informer.start();
    await until('the watch', () => server.requests.find((q) => q.watch));
    const url = server.url;

    await server.stop();
    await until('the informer to report the lost watch', () => (seen.errors.length ? true : undefined));
    await assert.rejects(api.listNamespacedPod({ namespace: 'shop' }), /ECONNREFUSED|fetch failed/);

    await server.restart();
    assert.equal(server.url, url);
    assert.equal((await api.listNamespacedPod({ namespace: 'shop' })).items.length, 3);
    // ListWatch does not restart itself after an error; its owner does (the agent's cache will).
    const mark = server.requests.length;
    await informer.start();
    const watch = await until('a watch after restart', () => podRequests(server, mark).find((q) => q.watch));
    // Same data, same resourceVersions: it resumes where it was, without a relist.
    assert.match(watch.query.resourceVersion ?? '', /^\d+$/);
    assert.deepEqual(podRequests(server, mark).filter((q) => !q.watch), []);
    server.add(pod('web-1', { namespace: 'shop', node: 'node-a' }));
    await until('web-1', () => (seen.adds.includes('web-1') ? true : undefined));
  });

  test('stall(): answers are held, and stall(0) frees them', async () => {
    server.stall(200);
    let started = Date.now();
    await api.listNamespacedPod({ namespace: 'shop' });
    assert.ok(Date.now() - started >= 190, 'answered after the stall');
    server.stall(60_000);
    started = Date.now();
    const pending = api.listNamespacedPod({ namespace: 'shop' });
    await until('the request to arrive', () => server.requests.at(-1)?.path === '/api/v1/namespaces/shop/pods' || undefined);
    server.stall(0);
    assert.equal((await pending).items.length, 3);
    assert.ok(Date.now() - started < 5_000);
  });

  test('405 MethodNotAllowed for every write verb', async () => {
    for (const [method, path] of [
      ['POST', '/api/v1/namespaces/shop/pods'],
      ['PUT', '/api/v1/namespaces/shop/pods/web-0'],
      ['PATCH', '/api/v1/namespaces/shop/pods/web-0'],
      ['DELETE', '/api/v1/namespaces/shop/pods/web-0'],
      ['DELETE', '/api/v1/persistentvolumes'],
      ['POST', '/apis/storage.k8s.io/v1/storageclasses'],
    ] as const) {
      const res = await fetch(server.url + path, { method, body: method === 'DELETE' ? undefined : '{}', headers: { 'content-type': 'application/json' } });
      assert.equal(res.status, 405, `${method} ${path}`);
      assert.deepEqual(await res.json(), {
        kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure',
        message: 'the server does not allow this method on the requested resource', reason: 'MethodNotAllowed', code: 405,
      });
    }
    await assert.rejects(api.deleteNamespacedPod({ namespace: 'shop', name: 'web-0' }), /405/);
    assert.ok(server.get('pods', 'shop', 'web-0'));
  });
});
