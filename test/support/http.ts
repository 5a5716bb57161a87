/**
 * HTTP(S) requests for the tests and the benchmarks: by default a fresh connection per
 * request (no keep-alive pool that could outlive a server under test), a hard timeout,
 * the elapsed time and the body's size in bytes. With `agent` (see
 * {@link createKeepAliveAgent}) requests reuse one connection, as a Prometheus scrape
 * loop does. `https:` URLs trust the CA given as `ca` (PEM), and only it.
 */
import { Agent, request } from 'node:http';
import { request as httpsRequest } from 'node:https';

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

export interface HttpRequestOptions extends HttpGetOptions {
  /** Default GET. */
  method?: string;
  /** Sent with its Content-Length. */
  body?: string | Buffer;
  /** For an `https:` URL: the PEM CA certificate(s) to trust instead of the system's. */
  ca?: string | Buffer;
}

/** One connection, kept alive between requests: a scrape loop's view of a target. `destroy()` it when done. */
export function createKeepAliveAgent(): Agent {
  return new Agent({ keepAlive: true, maxSockets: 1 });
}

export function httpGet(url: string, options: HttpGetOptions = {}): Promise<HttpResponse> {
  return httpRequest(url, options);
}

/** One request; resolves with any status, rejects on a network error or the timeout. */
export function httpRequest(url: string, options: HttpRequestOptions = {}): Promise<HttpResponse> {
  const timeoutMs = options.timeoutMs ?? 10_000;
  const method = options.method ?? 'GET';
  const payload = typeof options.body === 'string' ? Buffer.from(options.body, 'utf8') : options.body;
  const headers: Record<string, string> = {
    ...(options.agent === undefined ? { connection: 'close' } : {}),
    ...(payload === undefined ? {} : { 'content-length': String(payload.length) }),
    ...options.headers,
  };
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const common = { method, agent: options.agent ?? false, headers };
    const send = url.startsWith('https:')
      ? (onResponse: Parameters<typeof request>[2]) => httpsRequest(url, { ...common, ...(options.ca === undefined ? {} : { ca: options.ca }), rejectUnauthorized: true }, onResponse)
      : (onResponse: Parameters<typeof request>[2]) => request(url, common, onResponse);
    const req = send((res) => {
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
      req.destroy(new Error(`${method} ${url} took longer than ${timeoutMs} ms`));
    }, timeoutMs);
    req.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    req.end(payload);
  });
}
