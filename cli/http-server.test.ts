import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import pino from 'pino';
import { AgentHttpServer, MAX_HEADER_BYTES, MAX_URL_LENGTH } from './http-server.ts';

const logger = pino({ level: 'silent' });

describe('AgentHttpServer', () => {
  it('answers health, readiness, the index and registered routes on an OS-chosen port', async () => {
    let ready = false;
    const server = new AgentHttpServer({
      host: '127.0.0.1',
      port: 0,
      logger,
      readiness: () => ({ ready, detail: ready ? 'ready' : 'not ready: waiting for filesystem' }),
      describe: () => ['pipeline metrics: receivers [filesystem]'],
    });
    const unroute = server.route('/metrics', 'Prometheus exposition', (_req, res) => {
      res.end('up 1\n');
    });
    server.route('/broken', 'throws', () => {
      throw new Error('boom');
    });
    const { port } = await server.listen();
    assert.ok(port > 0);
    const base = `http://127.0.0.1:${port}`;
    try {
      assert.equal((await fetch(`${base}/healthz`)).status, 200);
      const notReady = await fetch(`${base}/readyz`);
      assert.equal(notReady.status, 503);
      assert.match(await notReady.text(), /waiting for filesystem/);
      ready = true;
      assert.equal((await fetch(`${base}/readyz`)).status, 200);
      assert.equal(await (await fetch(`${base}/metrics`)).text(), 'up 1\n');
      const index = await (await fetch(`${base}/`)).text();
      assert.match(index, /\/metrics\s+Prometheus exposition/);
      assert.match(index, /pipeline metrics/);
      assert.equal((await fetch(`${base}/broken`)).status, 500);
      assert.equal((await fetch(`${base}/nope`)).status, 404);
      assert.throws(() => server.route('/metrics', 'again', () => undefined), /already served/);
      unroute();
      assert.equal((await fetch(`${base}/metrics`)).status, 404);
    } finally {
      await server.close(1000);
    }
  });

  it('lets an in-flight request finish when closing, then refuses new connections', async () => {
    const server = new AgentHttpServer({ host: '127.0.0.1', port: 0, logger, readiness: () => ({ ready: true, detail: 'ready' }), describe: () => [] });
    let release: () => void = () => undefined;
    const entered = new Promise<void>((resolveEntered) => {
      server.route('/slow', 'slow', async (_req, res) => {
        resolveEntered();
        await new Promise<void>((r) => {
          release = r;
        });
        res.end('done\n');
      });
    });
    const { port } = await server.listen();
    const inFlight = fetch(`http://127.0.0.1:${port}/slow`).then((r) => r.text());
    await entered;
    const closing = server.close(5000);
    setTimeout(() => release(), 100);
    assert.equal(await inFlight, 'done\n');
    await closing;
    await assert.rejects(fetch(`http://127.0.0.1:${port}/healthz`));
  });

  it('reads little: over-long URLs get 414, over-large headers 431, other methods on its own paths 405', async () => {
    const server = new AgentHttpServer({ host: '127.0.0.1', port: 0, logger, readiness: () => ({ ready: true, detail: 'ready' }), describe: () => [] });
    const { port } = await server.listen();
    const base = `http://127.0.0.1:${port}`;
    try {
      assert.equal((await fetch(`${base}/healthz?x=${'a'.repeat(MAX_URL_LENGTH)}`)).status, 414);
      assert.equal((await fetch(`${base}/healthz?x=${'a'.repeat(100)}`)).status, 200, 'a normal query is fine');
      assert.equal((await fetch(`${base}/healthz`, { headers: { 'x-filler': 'a'.repeat(MAX_HEADER_BYTES) } })).status, 431);
      for (const method of ['POST', 'PUT', 'DELETE']) {
        const r = await fetch(`${base}/healthz`, { method });
        assert.equal(r.status, 405, method);
        assert.equal(r.headers.get('allow'), 'GET, HEAD');
      }
      assert.equal((await fetch(`${base}/readyz`, { method: 'HEAD' })).status, 200);
    } finally {
      await server.close(1000);
    }
  });
});
