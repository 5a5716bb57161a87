/**
 * Plain HTTP GET for the tests: a fresh connection per request (no keep-alive pool
 * that could outlive a server under test), a hard timeout, and the elapsed time.
 */
import { request } from 'node:http';

export interface HttpResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
  /** Milliseconds from sending the request to the end of the body. */
  elapsedMs: number;
}

export interface HttpGetOptions {
  /** Reject if the whole response has not arrived after this long; default 10 s. */
  timeoutMs?: number;
  headers?: Record<string, string>;
}

export function httpGet(url: string, options: HttpGetOptions = {}): Promise<HttpResponse> {
  const timeoutMs = options.timeoutMs ?? 10_000;
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'GET', agent: false, headers: { connection: 'close', ...options.headers } }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('error', reject);
      res.on('end', () => {
        clearTimeout(timer);
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body, elapsedMs: performance.now() - started });
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
