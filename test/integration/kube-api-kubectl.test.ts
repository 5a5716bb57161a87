// The test Kubernetes API server, checked against the real kubectl on the machine: discovery,
// -o json lists, server-side tables, label and field selectors, watch, and read-only refusal.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { KubeApiServer } from '../support/kube-api/server.ts';
import { demoCluster, pod } from '../support/kube-api/fixtures.ts';
import type { KubeObject } from '../support/kube-api/resources.ts';
import { makeTempDir, run, spawnTracked, waitFor, waitForExit } from '../support/proc.ts';

const KUBECTL = '/usr/bin/kubectl';

/** Splits concatenated JSON documents (kubectl may pretty-print them) as they stream in. */
function jsonDocuments(text: string): { docs: unknown[]; rest: string } {
  const docs: unknown[] = [];
  let depth = 0;
  let inString = false;
  let start = -1;
  let consumed = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (inString) {
      if (c === '\\') i++;
      else if (c === '"') inString = false;
    } else if (c === '"') inString = true;
    else if (c === '{') {
      if (depth++ === 0) start = i;
    } else if (c === '}' && --depth === 0) {
      docs.push(JSON.parse(text.slice(start, i + 1)));
      consumed = i + 1;
    }
  }
  return { docs, rest: text.slice(consumed) };
}

/** What a client sees of an object: the stored object as the server holds it now. */
function names(items: KubeObject[]): string[] {
  return items.map((o) => `${o.kind}/${o.metadata.namespace ?? ''}/${o.metadata.name}`).sort();
}

describe('test API server against the real kubectl', () => {
  let server: KubeApiServer;
  let dir: { path: string; remove: () => Promise<void> };
  let kubeconfig: string;
  const watchers: ChildProcess[] = [];

  // A private HOME and discovery cache: no state from other runs or other servers on the same port.
  const kubectl = (...args: string[]) =>
    run(KUBECTL, ['--kubeconfig', kubeconfig, '--cache-dir', join(dir.path, 'cache'), ...args], {
      env: { PATH: process.env.PATH, HOME: dir.path },
      timeoutMs: 10_000,
      allowFail: true,
    });

  before(async () => {
    dir = await makeTempDir('nodemeter-kube-api-');
    server = await KubeApiServer.start();
    for (const obj of demoCluster()) server.add(obj);
    kubeconfig = server.kubeconfigPath(dir.path);
  });

  after(async () => {
    for (const w of watchers) await waitForExit(w, 0, 2_000);
    await server.stop();
    await dir.remove();
  });

  test('get pods,pv,pvc -A -o json returns exactly the stored objects', async () => {
    const r = await kubectl('get', 'pods,pv,pvc', '-A', '-o', 'json');
    assert.equal(r.stderr, '');
    assert.equal(r.code, 0);
    const list = JSON.parse(r.stdout) as { kind: string; items: KubeObject[] };
    assert.equal(list.kind, 'List');
    const expected = demoCluster()
      .filter((o) => ['Pod', 'PersistentVolume', 'PersistentVolumeClaim'].includes(o.kind!))
      .map((o) => server.get(o.kind!, o.metadata.namespace ?? '', o.metadata.name)!);
    assert.deepEqual(names(list.items), names(expected));
    for (const item of list.items) {
      const stored = expected.find((o) => o.kind === item.kind && o.metadata.name === item.metadata.name && o.metadata.namespace === item.metadata.namespace);
      assert.deepEqual(item, stored, `${item.kind} ${item.metadata.name} as kubectl printed it`);
    }
    // Discovery resolved the short names through the legacy documents, after asking for aggregated ones.
    const paths = server.requests.map((q) => q.path);
    for (const p of ['/api', '/apis', '/api/v1', '/apis/storage.k8s.io/v1', '/api/v1/pods', '/api/v1/persistentvolumes', '/api/v1/persistentvolumeclaims']) {
      assert.ok(paths.includes(p), `kubectl requested ${p}`);
    }
    assert.equal(server.requests.find((q) => q.path === '/api/v1/pods')?.query.limit, '500');
  });

  test('default output is the server-side table, with -A namespaces', async () => {
    const r = await kubectl('get', 'pods', '-A');
    assert.equal(r.stderr, '');
    const lines = r.stdout.trim().split('\n');
    assert.match(lines[0]!, /^NAMESPACE\s+NAME\s+READY\s+STATUS\s+RESTARTS\s+AGE$/);
    const rows = lines.slice(1).map((l) => l.split(/\s+/));
    assert.deepEqual(
      rows.map((c) => `${c[0]}/${c[1]}`).sort(),
      ['batch/report-28945320-abcde', 'default/node-agent-5xk8w', 'default/node-agent-q7m2n', 'shop/db-0', 'shop/web-0', 'shop/web-7c9d8f5b6d-x2x4q'],
    );
    assert.deepEqual(rows.find((c) => c[1] === 'web-0')?.slice(2, 5), ['1/1', 'Running', '0']);

    const wide = await kubectl('get', 'pod', 'web-0', '-n', 'shop', '-o', 'wide');
    assert.equal(wide.stderr, '');
    assert.match(wide.stdout, /^NAME\s+READY\s+STATUS\s+RESTARTS\s+AGE\s+IP\s+NODE\s+NOMINATED NODE\s+READINESS GATES\n/);
    assert.match(wide.stdout, /\nweb-0\s+1\/1\s+Running\s+0\s+\S+\s+10\.4\.1\.22\s+node-a\s+<none>\s+<none>\n$/);

    const pvc = await kubectl('get', 'pvc', '-n', 'batch');
    assert.equal(pvc.stderr, '');
    assert.match(pvc.stdout, /\nscratch\s+Bound\s+pvc-\S+\s+500M\s+RWO\s+gp3\s/);

    const sc = await kubectl('get', 'sc,nodes,ns');
    assert.equal(sc.stderr, '');
    for (const name of ['storageclass.storage.k8s.io/local-path', 'node/node-a', 'namespace/shop']) assert.match(sc.stdout, new RegExp(`\\n${name}\\s`));
  });

  test('label and field selectors', async () => {
    const web = await kubectl('get', 'pods', '-A', '-l', 'app=web', '-o', 'name');
    assert.equal(web.stderr, '');
    assert.deepEqual(web.stdout.trim().split('\n').sort(), ['pod/web-0', 'pod/web-7c9d8f5b6d-x2x4q']);

    const set = await kubectl('get', 'pods', '-A', '-l', 'app in (db,report),!job-name', '-o', 'name');
    assert.deepEqual(set.stdout.trim().split('\n'), ['pod/db-0']);

    const onNode = await kubectl('get', 'pods', '-A', '--field-selector', 'spec.nodeName=node-a', '-o', 'name');
    assert.equal(onNode.stderr, '');
    assert.deepEqual(onNode.stdout.trim().split('\n').sort(), ['pod/db-0', 'pod/node-agent-5xk8w', 'pod/web-0', 'pod/web-7c9d8f5b6d-x2x4q']);

    const both = await kubectl('get', 'pods', '-A', '--field-selector', 'spec.nodeName=node-b,status.phase!=Succeeded', '-l', 'app', '-o', 'name');
    assert.deepEqual(both.stdout.trim().split('\n'), ['pod/node-agent-q7m2n']);

    const bad = await kubectl('get', 'pods', '-A', '--field-selector', 'spec.hostname=x');
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, /BadRequest.*field label not supported: spec\.hostname/);

    const missing = await kubectl('get', 'pod', 'nope', '-n', 'shop');
    assert.match(missing.stderr, /NotFound.*pods "nope" not found/);
  });

  test('get pods --watch sees the existing pods, then changes as they happen', async () => {
    const child = spawnTracked(KUBECTL, [
      '--kubeconfig', kubeconfig, '--cache-dir', join(dir.path, 'cache'),
      'get', 'pods', '--watch', '-A', '-o', 'json', '--output-watch-events',
    ], { env: { PATH: process.env.PATH, HOME: dir.path } });
    watchers.push(child);
    const events: Array<{ type: string; object: KubeObject }> = [];
    let buffer = '';
    let stderr = '';
    child.stdout!.setEncoding('utf8').on('data', (d: string) => {
      const { docs, rest } = jsonDocuments(buffer + d);
      buffer = rest;
      events.push(...(docs as typeof events));
    });
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const watchesBefore = server.requests.filter((q) => q.watch).length;

    await waitFor('the six existing pods as ADDED', () => (events.length >= 6 ? true : undefined), { timeoutMs: 5_000, intervalMs: 20 });
    assert.deepEqual(events.map((e) => e.type), Array(6).fill('ADDED'));
    // kubectl lists, then watches from the list's resourceVersion; only then do changes go out.
    const watchRequest = await waitFor('kubectl to open its watch', () => server.requests.filter((q) => q.watch)[watchesBefore], { timeoutMs: 5_000, intervalMs: 20 });
    assert.equal(watchRequest.path, '/api/v1/pods');
    assert.match(watchRequest.query.resourceVersion ?? '', /^\d+$/);

    server.add(pod('web-1', { namespace: 'shop', node: 'node-b', labels: { app: 'web' }, owner: { kind: 'StatefulSet', name: 'web' } }));
    const relabelled = server.patchLabels('pods', 'shop', 'db-0', { app: 'db', tier: 'primary' });
    server.delete('pods', 'batch', 'report-28945320-abcde');
    await waitFor('three more events', () => (events.length >= 9 ? true : undefined), { timeoutMs: 5_000, intervalMs: 20 });
    assert.deepEqual(
      events.slice(6).map((e) => `${e.type} ${e.object.metadata.namespace}/${e.object.metadata.name}`),
      ['ADDED shop/web-1', 'MODIFIED shop/db-0', 'DELETED batch/report-28945320-abcde'],
    );
    assert.deepEqual(events[7]!.object, relabelled);
    assert.equal(stderr, '', 'kubectl printed nothing on stderr');
    child.kill('SIGTERM');
    await waitForExit(child, 2_000);
  });

  test('writes are refused with 405 and change nothing', async () => {
    const before = server.get('pods', 'shop', 'web-0');
    const del = await kubectl('delete', 'pod', 'web-0', '-n', 'shop', '--wait=false');
    assert.notEqual(del.code, 0);
    assert.match(del.stderr, /MethodNotAllowed/);
    const label = await kubectl('label', 'pod', 'web-0', '-n', 'shop', 'x=y');
    assert.notEqual(label.code, 0);
    assert.match(label.stderr, /MethodNotAllowed/);
    assert.deepEqual(server.get('pods', 'shop', 'web-0'), before);
    assert.ok(server.requests.some((q) => q.method === 'DELETE'));
    assert.ok(server.requests.some((q) => q.method === 'PATCH'));
  });
});
