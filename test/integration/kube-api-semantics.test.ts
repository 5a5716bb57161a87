// The test Kubernetes API server's list/watch semantics over raw HTTP, where no client hides
// them: resourceVersion rules, paging, 410s, selectors on watch, initial events, timeouts.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { KubeApiServer } from '../support/kube-api/server.ts';
import { coreEvent, coreViewOf, demoCluster, eventsV1Event, localPvName, pod, volumeEvents } from '../support/kube-api/fixtures.ts';
import type { KubeObject } from '../support/kube-api/resources.ts';
import { waitFor } from '../support/proc.ts';

type WatchEvent = { type: string; object: KubeObject & { code?: number; reason?: string } };

/** Opens a watch and collects its events until `close()` or the server ends it. */
async function openWatch(url: string): Promise<{ events: WatchEvent[]; ended: Promise<void>; close: () => void }> {
  const controller = new AbortController();
  const res = await fetch(url, { signal: controller.signal });
  assert.equal(res.status, 200);
  assert.equal(res.headers.get('content-type'), 'application/json');
  const events: WatchEvent[] = [];
  const ended = (async () => {
    let buffer = '';
    const decoder = new TextDecoder();
    try {
      for await (const chunk of res.body!) {
        buffer += decoder.decode(chunk as Uint8Array, { stream: true });
        let nl: number;
        while ((nl = buffer.indexOf('\n')) >= 0) {
          events.push(JSON.parse(buffer.slice(0, nl)) as WatchEvent);
          buffer = buffer.slice(nl + 1);
        }
      }
    } catch {
      // aborted by close()
    }
  })();
  return { events, ended, close: () => controller.abort() };
}

const until = <T>(what: string, check: () => T | undefined) => waitFor(what, check, { timeoutMs: 5_000, intervalMs: 10 });

describe('test API server list/watch semantics', () => {
  let server: KubeApiServer;
  const get = async (path: string) => {
    const res = await fetch(server.url + path);
    return { status: res.status, body: (await res.json()) as { kind: string; metadata: Record<string, unknown>; items: KubeObject[]; code?: number; reason?: string; message?: string } };
  };

  before(async () => {
    server = await KubeApiServer.start({ historyLimit: 50 });
    for (const obj of demoCluster()) server.add(obj);
  });
  after(() => server.stop());

  test('lists: kind, RV, items without kind/apiVersion; namespaced and cluster routes; get and 404', async () => {
    const { status, body } = await get('/api/v1/namespaces/shop/persistentvolumeclaims');
    assert.equal(status, 200);
    assert.equal(body.kind, 'PersistentVolumeClaimList');
    assert.equal(body.metadata.resourceVersion, server.resourceVersion);
    assert.deepEqual(body.items.map((o) => o.metadata.name), ['cache', 'data-db-0', 'data-web-0', 'uploads']);
    assert.ok(body.items.every((o) => o.kind === undefined && o.apiVersion === undefined));
    const sc = await get('/apis/storage.k8s.io/v1/storageclasses/local-path');
    assert.equal(sc.body.kind, 'StorageClass');
    assert.equal((sc.body as unknown as { provisioner: string }).provisioner, 'rancher.io/local-path');
    const missing = await get('/api/v1/persistentvolumes/nope');
    assert.deepEqual([missing.status, missing.body.kind, missing.body.reason], [404, 'Status', 'NotFound']);
    assert.equal((await get('/api/v1/pods/web-0')).status, 404, 'namespaced kinds have no cluster-scoped item route');
  });

  test('selectors: set-based labels, field selectors, 400s', async () => {
    const names = async (q: string) => (await get(`/api/v1/pods?${q}`)).body.items.map((o) => o.metadata.name).sort();
    assert.deepEqual(await names('labelSelector=app%20notin%20(web,node-agent)'), ['db-0', 'report-28945320-abcde']);
    assert.deepEqual(await names('labelSelector=job-name'), ['report-28945320-abcde']);
    assert.deepEqual(await names('labelSelector=app!=web,!job-name,app!=node-agent'), ['db-0']);
    assert.deepEqual(await names('fieldSelector=status.phase%3DSucceeded'), ['report-28945320-abcde']);
    assert.deepEqual(await names('fieldSelector=metadata.namespace%3Ddefault,spec.nodeName!%3Dnode-a'), ['node-agent-q7m2n']);
    for (const q of ['labelSelector=app%3D%3D%3Dx', 'fieldSelector=spec.foo%3Dx', 'fieldSelector=spec.nodeName%3Dx&labelSelector=%3D']) {
      const r = await get(`/api/v1/pods?${q}`);
      assert.deepEqual([r.status, r.body.kind, r.body.reason], [400, 'Status', 'BadRequest'], q);
    }
    assert.equal((await get('/api/v1/persistentvolumes?fieldSelector=spec.nodeName%3Dx')).status, 400);
  });

  test('resourceVersion rules: Exact lists the past, paging is a consistent snapshot, compaction is 410', async () => {
    const rv = server.resourceVersion;
    server.add(pod('late', { namespace: 'shop', node: 'node-a' }));
    const exact = await get(`/api/v1/namespaces/shop/pods?resourceVersion=${rv}&resourceVersionMatch=Exact`);
    assert.equal(exact.body.metadata.resourceVersion, rv);
    assert.ok(!exact.body.items.some((o) => o.metadata.name === 'late'));
    const notOlder = await get(`/api/v1/namespaces/shop/pods?resourceVersion=${rv}`);
    assert.ok(notOlder.body.items.some((o) => o.metadata.name === 'late'));
    assert.equal((await get('/api/v1/pods?resourceVersion=999999')).status, 504);
    assert.equal((await get('/api/v1/pods?resourceVersionMatch=Exact')).status, 400);

    const first = await get('/api/v1/pods?limit=3');
    assert.equal(first.body.items.length, 3);
    assert.equal(first.body.metadata.remainingItemCount, 4);
    server.add(pod('aaa-after-first-page', { namespace: 'zzz', node: 'node-a' }));
    const second = await get(`/api/v1/pods?limit=10&continue=${String(first.body.metadata.continue)}`);
    assert.equal(second.body.metadata.continue, undefined);
    assert.equal(second.body.metadata.resourceVersion, first.body.metadata.resourceVersion);
    assert.deepEqual(
      [...first.body.items, ...second.body.items].map((o) => o.metadata.name),
      ['report-28945320-abcde', 'node-agent-5xk8w', 'node-agent-q7m2n', 'db-0', 'late', 'web-0', 'web-7c9d8f5b6d-x2x4q'],
    );

    server.expireVersions();
    for (const q of [`resourceVersion=${rv}&resourceVersionMatch=Exact`, `limit=1&resourceVersion=${rv}`, `continue=${String(first.body.metadata.continue)}`]) {
      const r = await get(`/api/v1/pods?${q}`);
      assert.deepEqual([r.status, r.body.reason], [410, 'Expired'], q);
    }
    const watch = await openWatch(`${server.url}/api/v1/pods?watch=true&resourceVersion=${rv}`);
    await watch.ended;
    assert.equal(watch.events.length, 1);
    assert.equal(watch.events[0]!.type, 'ERROR');
    assert.deepEqual([watch.events[0]!.object.kind, watch.events[0]!.object.code, watch.events[0]!.object.reason], ['Status', 410, 'Expired']);
  });

  test('watch: history replay, selector transitions as ADDED/DELETED, DELETED carries the last state', async () => {
    const from = server.resourceVersion;
    server.patchLabels('pods', 'shop', 'web-0', { app: 'web-old' });
    const w = await openWatch(`${server.url}/api/v1/namespaces/shop/pods?watch=1&labelSelector=app%3Dweb&resourceVersion=${from}`);
    server.patchLabels('pods', 'shop', 'web-0', { app: 'web' });
    server.patchLabels('pods', 'shop', 'web-0', { tier: 'front' });
    server.add(pod('other-ns', { namespace: 'default', node: 'node-a', labels: { app: 'web' } }));
    server.delete('pods', 'shop', 'web-0');
    await until('four events', () => (w.events.length >= 4 ? true : undefined));
    w.close();
    assert.deepEqual(w.events.map((e) => `${e.type} ${e.object.metadata.name}`), ['DELETED web-0', 'ADDED web-0', 'MODIFIED web-0', 'DELETED web-0']);
    // A selector-driven DELETED: the previous content with the change's RV.
    assert.equal(w.events[0]!.object.metadata.labels?.app, 'web');
    assert.equal(w.events[0]!.object.metadata.resourceVersion, String(Number(from) + 1));
    assert.equal(w.events[3]!.object.metadata.labels?.tier, 'front');
    assert.equal(w.events[3]!.object.metadata.resourceVersion, server.resourceVersion);
    assert.ok(w.events.every((e) => e.object.kind === 'Pod' && e.object.apiVersion === 'v1'));
  });

  test('watch: initial state without RV, sendInitialEvents bookmark, timeoutSeconds', async () => {
    const plain = await openWatch(`${server.url}/api/v1/persistentvolumes?watch=true&timeoutSeconds=1`);
    await plain.ended;
    assert.equal(plain.events.length, 6);
    assert.ok(plain.events.every((e) => e.type === 'ADDED' && e.object.kind === 'PersistentVolume'));

    const bad = await get('/api/v1/pods?watch=true&sendInitialEvents=true');
    assert.deepEqual([bad.status, bad.body.reason], [400, 'BadRequest']);
    const w = await openWatch(`${server.url}/api/v1/namespaces?watch=true&sendInitialEvents=true&resourceVersionMatch=NotOlderThan&allowWatchBookmarks=true`);
    await until('the end-of-initial-events bookmark', () => (w.events.some((e) => e.type === 'BOOKMARK') ? true : undefined));
    w.close();
    assert.deepEqual(w.events.slice(0, 3).map((e) => `${e.type} ${e.object.metadata.name}`), ['ADDED batch', 'ADDED default', 'ADDED shop']);
    assert.deepEqual(w.events[3], {
      type: 'BOOKMARK',
      object: { kind: 'Namespace', apiVersion: 'v1', metadata: { resourceVersion: server.resourceVersion, annotations: { 'k8s.io/initial-events-end': 'true' } } },
    });
  });

  test('discovery documents', async () => {
    const core = (await get('/api/v1')).body as unknown as { resources: Array<{ name: string; shortNames?: string[]; namespaced: boolean; verbs: string[] }> };
    const pvc = core.resources.find((r) => r.name === 'persistentvolumeclaims')!;
    assert.deepEqual([pvc.shortNames, pvc.namespaced, pvc.verbs], [['pvc'], true, ['get', 'list', 'watch']]);
    const groups = (await get('/apis')).body as unknown as { groups: Array<{ name: string }> };
    assert.deepEqual(groups.groups.map((g) => g.name), ['storage.k8s.io']);
    assert.equal(((await get('/version')).body as unknown as { major: string }).major, '1');
  });

  test('events: views by involvedObject.kind for list and watch; source falls back to reportingComponent', async () => {
    for (const e of volumeEvents()) server.add(e);
    const names = async (q: string) => (await get(`/api/v1/events?${q}`)).body.items.map((o) => `${o.metadata.namespace}/${String((o['involvedObject'] as { name: string }).name)}/${String(o['reason'])}`).sort();
    assert.deepEqual(await names('fieldSelector=involvedObject.kind%3DPersistentVolume'), [`default/${localPvName('node-a', '/mnt/disks/ssd0')}/VolumeFailedDelete`]);
    assert.deepEqual(await names('fieldSelector=involvedObject.kind%3DPersistentVolumeClaim'), [
      'batch/scratch/ProvisioningFailed',
      'shop/uploads/ExternalProvisioning',
      'shop/uploads/Provisioning',
      'shop/uploads/ProvisioningSucceeded',
      'shop/uploads/WaitForFirstConsumer',
    ]);
    // `source` is source.component, else the reportingComponent of an events.k8s.io event.
    assert.deepEqual(await names('fieldSelector=source%3Dpersistentvolume-controller'), ['shop/uploads/ExternalProvisioning', 'shop/uploads/WaitForFirstConsumer']);
    assert.deepEqual(await names('fieldSelector=source%3Debs.csi.aws.com_ebs-csi-controller-7b9c5d6f4-2mxkq_1a2b3c4d'), ['batch/scratch/ProvisioningFailed']);
    assert.deepEqual(await names('fieldSelector=involvedObject.kind%3DPersistentVolumeClaim,type%3DWarning'), ['batch/scratch/ProvisioningFailed']);

    const from = server.resourceVersion;
    const w = await openWatch(`${server.url}/api/v1/events?watch=true&fieldSelector=involvedObject.kind%3DPersistentVolumeClaim&resourceVersion=${from}`);
    const claim = { kind: 'PersistentVolumeClaim', namespace: 'shop', name: 'uploads' };
    server.add(coreEvent({ kind: 'PersistentVolume', name: 'pv-1' }, 'VolumeFailedDelete', 'busy', { type: 'Warning' }));
    server.add(coreViewOf(eventsV1Event(claim, 'Resizing', 'External resizer is resizing volume', { series: { count: 2, lastObservedTime: '2025-01-15T10:09:00.000000Z' } })));
    server.add(coreEvent({ kind: 'Pod', namespace: 'shop', name: 'web-0' }, 'Pulled', 'pulled', { component: 'kubelet' }));
    const last = server.add(coreEvent(claim, 'FileSystemResizeSuccessful', 'resized'));
    await until('two PVC events', () => (w.events.length >= 2 ? true : undefined));
    w.close();
    assert.deepEqual(w.events.map((e) => `${e.type} ${String(e.object.reason)}`), ['ADDED Resizing', 'ADDED FileSystemResizeSuccessful']);
    assert.equal(w.events[1]!.object.metadata.resourceVersion, last.metadata.resourceVersion);
    assert.deepEqual(w.events[0]!.object['series'], { count: 2, lastObservedTime: '2025-01-15T10:09:00.000000Z' });
  });
});
