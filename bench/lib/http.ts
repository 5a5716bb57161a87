// A minimal HTTP client for scraping: full body read, wall time measured around it.
import { Agent, request } from 'node:http';
import { createServer } from 'node:net';
import { performance } from 'node:perf_hooks';

export interface HttpResult {
  status: number;
  body: string;
  bytes: number;
  /** From sending the request to the last byte of the body, in milliseconds. */
  ms: number;
}

/**
 * One keep-alive agent per target, like a Prometheus scrape loop reuses its connection.
 * No Accept-Encoding is sent, so neither server compresses; the plain-text exposition format is
 * asked for, so neither switches to OpenMetrics.
 */
export function createScrapeAgent(): Agent {
  return new Agent({ keepAlive: true, maxSockets: 1 });
}

export function httpGet(url: string, options: { agent?: Agent; timeoutMs?: number } = {}): Promise<HttpResult> {
  const timeoutMs = options.timeoutMs ?? 30_000;
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const req = request(
      url,
      {
        method: 'GET',
        agent: options.agent ?? false,
        headers: { accept: 'text/plain;version=0.0.4;q=1,*/*;q=0.1' },
        timeout: timeoutMs,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('error', reject);
        res.on('end', () => {
          const ms = performance.now() - started;
          const buffer = Buffer.concat(chunks);
          resolve({ status: res.statusCode ?? 0, body: buffer.toString('utf8'), bytes: buffer.length, ms });
        });
      },
    );
    req.on('timeout', () => req.destroy(new Error(`GET ${url} timed out after ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end();
  });
}

/** A TCP port on 127.0.0.1 that was free a moment ago (for servers that cannot listen on port 0). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      if (address === null || typeof address === 'string') {
        server.close();
        reject(new Error('no port'));
        return;
      }
      const { port } = address;
      server.close(() => resolve(port));
    });
  });
}
