import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { NodemeterError } from '../pipeline/errors.ts';
import { KUBECONFIG_INVALID, resolveKubeConnection } from './connection.ts';

const dir = mkdtempSync(path.join(tmpdir(), 'nodemeter-kubeconn-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const kubeconfig = (server: string, user: string) =>
  [
    'apiVersion: v1',
    'kind: Config',
    'clusters:',
    '- name: c',
    '  cluster:',
    `    server: ${server}`,
    'users:',
    '- name: u',
    '  user:',
    `    ${user}`,
    'contexts:',
    '- name: ctx',
    '  context: {cluster: c, user: u}',
    'current-context: ctx',
    '',
  ].join('\n');

test('nothing configured and not in a cluster: no Kubernetes', async () => {
  assert.equal(await resolveKubeConnection({ kubeconfig: '' }, {}), undefined);
});

test('api_url wins, with a trimmed bearer token file', async () => {
  const token = path.join(dir, 'token');
  writeFileSync(token, 'secret-token\n');
  const c = await resolveKubeConnection({ api_url: 'http://127.0.0.1:6443/', token_file: token, kubeconfig: '/does/not/matter' }, { KUBERNETES_SERVICE_HOST: 'x' });
  assert.equal(c?.source, 'api_url');
  assert.equal(c?.server, 'http://127.0.0.1:6443');
  const opts = await c?.requestOptions();
  assert.deepEqual(opts?.headers, { authorization: 'Bearer secret-token' });
});

test('api_url that is not a URL is a configuration error', async () => {
  await assert.rejects(resolveKubeConnection({ api_url: 'not a url' }, {}), (err: unknown) => err instanceof NodemeterError && err.code === KUBECONFIG_INVALID);
});

test('kubeconfig: server and token from the current context; plain http allowed', async () => {
  const file = path.join(dir, 'kubeconfig');
  writeFileSync(file, kubeconfig('http://127.0.0.1:8080', 'token: kc-token'));
  const c = await resolveKubeConnection({ kubeconfig: file }, { KUBERNETES_SERVICE_HOST: '10.0.0.1' });
  assert.equal(c?.source, 'kubeconfig');
  assert.equal(c?.server, 'http://127.0.0.1:8080');
  assert.ok(c?.kubeConfig);
  const opts = await c?.requestOptions();
  assert.equal((opts?.headers as Record<string, string>)['Authorization'], 'Bearer kc-token');
});

test('kubeconfig that cannot be read or has no current cluster: a clear error', async () => {
  await assert.rejects(resolveKubeConnection({ kubeconfig: path.join(dir, 'missing') }, {}), (err: unknown) => {
    assert.ok(err instanceof NodemeterError);
    assert.equal(err.code, KUBECONFIG_INVALID);
    assert.match(err.message, /kubeconfig .*missing cannot be read/);
    return true;
  });
  const bad = path.join(dir, 'bad');
  writeFileSync(bad, 'apiVersion: v1\nkind: Config\nclusters: []\ncontexts: []\nusers: []\ncurrent-context: nowhere\n');
  await assert.rejects(resolveKubeConnection({ kubeconfig: bad }, {}), /no usable current context/);
});

test('in cluster: service host and port, token and CA from the service-account directory', async () => {
  const sa = mkdtempSync(path.join(dir, 'sa-'));
  writeFileSync(path.join(sa, 'token'), 'sa-token');
  const c = await resolveKubeConnection({ kubeconfig: '' }, { KUBERNETES_SERVICE_HOST: 'fd00::1', KUBERNETES_SERVICE_PORT: '443' }, sa);
  assert.equal(c?.source, 'in-cluster');
  assert.equal(c?.server, 'https://[fd00::1]:443');
  assert.deepEqual((await c?.requestOptions())?.headers, { authorization: 'Bearer sa-token' });
});
