// The Engine API client's own rules: endpoints, version negotiation, URL prefixes, one-shot
// stats, errors and the event stream. The daemon here is a small HTTP server on a unix socket
// that answers like dockerd of a chosen version; the real dockerd is in
// test/integration/docker-receiver.test.ts.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { compareApiVersions, EngineClient, EngineError, negotiateApiVersion } from './engine-client.ts';
import { parseEndpoint, resolveEndpointUrl } from './engine-endpoint.ts';
import { dockerAnswers } from './probe.ts';
import type { EngineEvent } from './engine-types.ts';

describe('docker endpoint', () => {
  it('parses unix, tcp and http forms', () => {
    assert.deepEqual(parseEndpoint('unix:///var/run/docker.sock'), { kind: 'unix', socketPath: '/var/run/docker.sock' });
    assert.deepEqual(parseEndpoint('tcp://10.0.0.5:2376'), { kind: 'tcp', host: '10.0.0.5', port: 2376 });
    assert.deepEqual(parseEndpoint('http://docker.internal'), { kind: 'tcp', host: 'docker.internal', port: 2375 });
    assert.deepEqual(parseEndpoint('tcp://[::1]:2375'), { kind: 'tcp', host: '::1', port: 2375 });
  });

  it('rejects what it cannot use, naming the value', () => {
    assert.throws(() => parseEndpoint('unix://var/run/docker.sock'), /"unix:\/\/var\/run\/docker.sock": a unix socket path must be absolute/);
    assert.throws(() => parseEndpoint('ssh://me@host'), /"ssh:\/\/me@host": the ssh scheme is not supported/);
    assert.throws(() => parseEndpoint('/var/run/docker.sock'), /expected unix:\/\/\/path/);
    assert.throws(() => parseEndpoint('tcp://host:99999'), /port 99999 is out of range/);
  });

  it('takes the config first, then DOCKER_HOST, then the default socket', () => {
    assert.equal(resolveEndpointUrl('tcp://a:1', { DOCKER_HOST: 'tcp://b:2' }), 'tcp://a:1');
    assert.equal(resolveEndpointUrl('', { DOCKER_HOST: 'tcp://b:2' }), 'tcp://b:2');
    assert.equal(resolveEndpointUrl('', {}), 'unix:///var/run/docker.sock');
  });
});

describe('API version negotiation', () => {
  it('compares versions numerically', () => {
    assert.equal(compareApiVersions('1.9', '1.41'), -1);
    assert.equal(compareApiVersions('1.41', '1.41'), 0);
    assert.equal(compareApiVersions('1.52', '1.48'), 1);
  });

  it("speaks an older daemon's version, caps a newer one at its own, and follows a raised minimum", () => {
    assert.equal(negotiateApiVersion({ ApiVersion: '1.41', MinAPIVersion: '1.12' }), '1.41');
    assert.equal(negotiateApiVersion({ ApiVersion: '1.25' }), '1.25');
    assert.equal(negotiateApiVersion({ ApiVersion: '1.47', MinAPIVersion: '1.24' }), '1.47');
    assert.equal(negotiateApiVersion({ ApiVersion: '1.51', MinAPIVersion: '1.24' }), '1.48');
    // A daemon that no longer accepts 1.48 (Docker 29 raised its minimum): its minimum.
    assert.equal(negotiateApiVersion({ ApiVersion: '1.55', MinAPIVersion: '1.50' }), '1.50');
    assert.equal(negotiateApiVersion({}), '1.24');
  });
});

/** A daemon that answers like dockerd of `apiVersion`, recording every request path. */
class FakeDaemon {
  static #count = 0;
  readonly paths: string[] = [];
  readonly server: Server;
  readonly socketPath: string;
  readonly version: { ApiVersion: string; MinAPIVersion?: string };
  events: ServerResponse | undefined;

  constructor(dir: string, version: { ApiVersion: string; MinAPIVersion?: string }) {
    this.version = version;
    FakeDaemon.#count++;
    this.socketPath = join(dir, `d${FakeDaemon.#count}.sock`);
    this.server = createServer((req, res) => this.#handle(req, res));
  }

  listen(): Promise<void> {
    return new Promise((resolve) => this.server.listen(this.socketPath, resolve));
  }

  close(): Promise<void> {
    this.events?.end();
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  #handle(req: IncomingMessage, res: ServerResponse): void {
    const url = req.url ?? '';
    this.paths.push(url);
    const path = url.replace(/^\/v\d+\.\d+/, '').split('?')[0];
    const json = (status: number, body: unknown): void => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    if (path === '/version') return json(200, { Version: 'fake', ...this.version });
    if (path === '/_ping') {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end('OK');
      return;
    }
    if (path === '/containers/json') return json(200, [{ Id: 'abc', Names: ['/one'], State: 'running' }]);
    if (path === '/containers/abc/stats') return json(200, { cpu_stats: { cpu_usage: { total_usage: 5e9 } } });
    if (path === '/containers/gone/json') return json(404, { message: 'No such container: gone' });
    if (path === '/containers/bad/json') return json(400, { message: 'bad parameter' });
    if (path === '/containers/notjson/json') {
      res.writeHead(200);
      res.end('<html>');
      return;
    }
    if (path === '/containers/slow/json') return; // never answers
    if (path === '/events') {
      res.writeHead(200, { 'content-type': 'application/json' });
      this.events = res;
      res.write('{"Type":"container","Action":"start","Actor":{"ID":"abc"}}\n{"Type":"container","Act');
      setTimeout(() => res.write('ion":"die","Actor":{"ID":"abc"}}\nnot json\n'), 20);
      return;
    }
    json(404, { message: `page not found: ${url}` });
  }
}

describe('EngineClient against a daemon on a unix socket', () => {
  let dir = '';
  const daemons: FakeDaemon[] = [];
  const start = async (version: FakeDaemon['version']): Promise<{ daemon: FakeDaemon; client: EngineClient }> => {
    const daemon = new FakeDaemon(dir, version);
    await daemon.listen();
    daemons.push(daemon);
    return { daemon, client: new EngineClient({ endpoint: { kind: 'unix', socketPath: daemon.socketPath }, timeoutMs: 300, maxSockets: 4 }) };
  };

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'nm-engine-'));
  });
  after(async () => {
    await Promise.all(daemons.map((d) => d.close()));
    rmSync(dir, { recursive: true, force: true });
  });

  it('prefixes every request with the negotiated version and asks for one-shot stats from 1.41 on', async () => {
    const { daemon, client } = await start({ ApiVersion: '1.52', MinAPIVersion: '1.44' });
    const { apiVersion } = await client.negotiate();
    assert.equal(apiVersion, '1.48');
    assert.deepEqual(await client.listContainers(true), [{ Id: 'abc', Names: ['/one'], State: 'running' }]);
    assert.equal((await client.stats('abc')).cpu_stats?.cpu_usage?.total_usage, 5e9);
    assert.deepEqual(daemon.paths, ['/version', '/v1.48/containers/json?all=1', '/v1.48/containers/abc/stats?stream=false&one-shot=true']);
    client.destroy();
  });

  it('talks to an old daemon in its own version, without one-shot', async () => {
    const { daemon, client } = await start({ ApiVersion: '1.30' });
    await client.negotiate();
    await client.stats('abc');
    assert.equal(daemon.paths.at(-1), '/v1.30/containers/abc/stats?stream=false');
    client.destroy();
  });

  it('says which failures are worth retrying', async () => {
    const { client } = await start({ ApiVersion: '1.41' });
    await client.negotiate();
    const gone = await client.inspect('gone').catch((e: unknown) => e);
    assert.ok(gone instanceof EngineError);
    assert.equal(gone.status, 404);
    assert.match(gone.message, /HTTP 404: No such container: gone/);
    const bad = await client.inspect('bad').catch((e: unknown) => e);
    assert.ok(bad instanceof EngineError && bad.retryable === false && bad.code === 'NM_DOCKER_HTTP');
    const notJson = await client.inspect('notjson').catch((e: unknown) => e);
    assert.ok(notJson instanceof EngineError && notJson.code === 'NM_DOCKER_BAD_RESPONSE');
    const slow = await client.inspect('slow').catch((e: unknown) => e);
    assert.ok(slow instanceof EngineError && slow.code === 'NM_DOCKER_TIMEOUT' && slow.retryable, String(slow));
    client.destroy();
  });

  it('the start-up probe finds a daemon at DOCKER_HOST and says no for an absent or unusable one', async () => {
    const { daemon } = await start({ ApiVersion: '1.41' });
    assert.equal(await dockerAnswers({ DOCKER_HOST: `unix://${daemon.socketPath}` }), true);
    assert.equal(daemon.paths.at(-1), '/_ping');
    assert.equal(await dockerAnswers({ DOCKER_HOST: `unix://${join(dir, 'absent.sock')}` }), false);
    assert.equal(await dockerAnswers({ DOCKER_HOST: 'ssh://me@host' }), false);
  });

  it('reports an absent daemon as unreachable, naming the endpoint', async () => {
    const client = new EngineClient({ endpoint: { kind: 'unix', socketPath: join(dir, 'absent.sock') }, timeoutMs: 300, maxSockets: 1 });
    const err = await client.negotiate().catch((e: unknown) => e);
    assert.ok(err instanceof EngineError && err.code === 'NM_DOCKER_UNREACHABLE' && err.retryable);
    assert.match(err.message, /absent\.sock \/version: .*ENOENT/);
    client.destroy();
  });

  it('follows the event stream across chunk boundaries, skipping lines that are not JSON', async () => {
    const { daemon, client } = await start({ ApiVersion: '1.41' });
    await client.negotiate();
    const events: EngineEvent[] = [];
    const bad: string[] = [];
    const stream = client.events(
      (e) => events.push(e),
      (l) => bad.push(l),
    );
    const deadline = Date.now() + 2000;
    while ((events.length < 2 || bad.length < 1) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    assert.deepEqual(
      events.map((e) => e.Action),
      ['start', 'die'],
    );
    assert.deepEqual(bad, ['not json']);
    daemon.events?.end();
    await stream.closed;
    client.destroy();
  });
});
