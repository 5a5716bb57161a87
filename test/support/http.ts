/**
 * Plain HTTP GET for the tests and the benchmarks: by default a fresh connection per
 * request (no keep-alive pool that could outlive a server under test), a hard timeout,
 * the elapsed time and the body's size in bytes. With `agent` (see
 * {@link createKeepAliveAgent}) requests reuse one connection, as a Prometheus scrape
 * loop does.
 */
import { Agent, request } from 'node:http';

export interface HttpResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
  /** Size of the body as received, in bytes. */
  bytes: number;
  /** Milliseconds from sending the request to the end of the body. */
  elapsedMs: number;
}

export interface HttpGetOptions {
  /** Reject if the whole response has not arrived after this long; default 10 s. */
  timeoutMs?: number;
  headers?: Record<string, string>;
  /** A keep-alive agent to reuse connections through; default none (`Connection: close`). */
  agent?: Agent;
}

/** One connection, kept alive between requests: a scrape loop's view of a target. `destroy()` it when done. */
export function createKeepAliveAgent(): Agent {
  return new Agent({ keepAlive: true, maxSockets: 1 });
}

export function httpGet(url: string, options: HttpGetOptions = {}): Promise<HttpResponse> {
  const timeoutMs = options.timeoutMs ?? 10_000;
  const headers = { ...(options.agent === undefined ? { connection: 'close' } : {}), ...options.headers };
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'GET', agent: options.agent ?? false, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (d: Buffer) => chunks.push(d));
      res.on('error', reject);
      res.on('end', () => {
        clearTimeout(timer);
        const body = Buffer.concat(chunks);
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: body.toString('utf8'), bytes: body.length, elapsedMs: performance.now() - started });
      });
    });
    const timer = setTimeout(() => {
      req.destroy(new Error(`GET ${url} took longer than ${timeoutMs} ms`));
    }, timeoutMs);
    req.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    req.end();
  });
}
