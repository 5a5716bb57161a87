import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';

import { defaultConfig } from './config.ts';
import type { ScrapeTarget } from './discovery.ts';
import { ScrapeClient, type ScrapeRequest, type ScrapeResponse } from './scrape-client.ts';
import { scrapeTarget } from './target-scraper.ts';

/** A client that remembers the bodies it handed out, to look at them after the scrape. */
class RecordingClient extends ScrapeClient {
  readonly bodies: Buffer[] = [];
  override async scrape(target: ScrapeRequest, signal?: AbortSignal): Promise<ScrapeResponse> {
    const response = await super.scrape(target, signal);
    this.bodies.push(response.body);
    return response;
  }
}

const LARGE = Array.from({ length: 3_000 }, (_, i) => `requests_total{path="/p/${i}"} ${i}`).join('\n') + '\n';
const SMALL = 'up_small 1\n';

describe('scrapeTarget', () => {
  let server: Server;
  let base: string;
  const client = new RecordingClient();

  before(async () => {
    server = createServer((req, res) => res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' }).end(req.url === '/large' ? LARGE : SMALL));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(async () => {
    client.destroy();
    await new Promise((resolve) => server.close(resolve));
  });

  const target = (path: string): ScrapeTarget => ({
    key: path,
    job: 'app',
    mode: 'interval',
    url: new URL(path, base),
    namespace: 'shop',
    pod: 'web-0',
    podUid: 'uid-1',
    podIp: '127.0.0.1',
    node: 'node-a',
    address: new URL(base).host,
    tlsVerify: true,
  });

  it('frees a body it owns as soon as it is parsed, and keeps every sample', async () => {
    const scrape = await scrapeTarget(client, target('/large'), [1, 0], defaultConfig());
    assert.equal(scrape.up, true, scrape.error?.message);
    assert.equal(scrape.samples, 3_000);
    assert.equal(scrape.metrics.reduce((n, m) => n + m.dataPoints.length, 0), 3_000);
    const body = client.bodies.at(-1) as Buffer;
    assert.equal(body.buffer.byteLength, 0, 'the body buffer was released (detached)');
  });

  it('frees a small body too: the client never hands out a slice of the shared pool', async () => {
    const scrape = await scrapeTarget(client, target('/small'), [1, 0], defaultConfig());
    assert.equal(scrape.up, true, scrape.error?.message);
    assert.equal(scrape.samples, 1);
    assert.equal((client.bodies.at(-1) as Buffer).buffer.byteLength, 0, 'the body buffer was released (detached)');
  });

  it('leaves a body alone that is a slice of the pool other buffers share', async () => {
    const pooled = Buffer.from(SMALL);
    assert.ok(pooled.buffer.byteLength > pooled.byteLength, 'the body is a slice of a larger pool buffer');
    const pooling = new (class extends ScrapeClient {
      override async scrape(request: ScrapeRequest, signal?: AbortSignal): Promise<ScrapeResponse> {
        return { ...(await super.scrape(request, signal)), body: pooled };
      }
    })();
    try {
      const scrape = await scrapeTarget(pooling, target('/small'), [1, 0], defaultConfig());
      assert.equal(scrape.up, true, scrape.error?.message);
      assert.equal(pooled.toString(), SMALL, 'the pooled body is intact');
    } finally {
      pooling.destroy();
    }
  });
});
