import http from 'node:http';
import https from 'node:https';
import { NodemeterError } from '../pipeline/errors.ts';
import type { KubeConnection } from './connection.ts';
import type { KubeMethod, KubeMetrics } from './metrics.ts';

/** A non-2xx answer from the API server, with the Status object's reason and code when sent. */
export class KubeHttpError extends NodemeterError {
  readonly status: number;
  /** `metav1.Status.reason`, e.g. `Expired`, `Gone`, `Forbidden`. */
  readonly reason: string;

  constructor(status: number, reason: string, message: string) {
    // 5xx, 429 and 410 (relist) can succeed later; 401/403/404 need an operator.
    super('NM_KUBE_HTTP', message, { retryable: status >= 500 || status === 429 || status === 410 });
    this.name = 'KubeHttpError';
    this.status = status;
    this.reason = reason;
  }
}

/** A request ended by the client's own timer (no response, or no data for too long). */
export class KubeTimeoutError extends NodemeterError {
  constructor(message: string) {
    super('NM_KUBE_TIMEOUT', message, { retryable: true });
    this.name = 'KubeTimeoutError';
  }
}

export type Query = Readonly<Record<string, string | number | boolean | undefined>>;

/** Per-request options. */
export interface KubeRequestOptions {
  /** Aborts the request (shutdown). */
  readonly signal: AbortSignal;
  /** LIST/GET: whole-response deadline. WATCH: longest silence (no bytes) before giving up. */
  readonly timeoutMs: number;
}

/** Longest error body kept for the message. */
const MAX_ERROR_BODY = 64 * 1024;

/**
 * Read-only HTTP client for the API server: GET only, by construction (there is no other
 * method here). node:http(s) rather than fetch so a watch is a plain byte stream we can time
 * out on silence and end without leaked promises, and so in-cluster agents need no
 * @kubernetes/client-node at all.
 */
export class KubeHttpClient {
  readonly #connection: KubeConnection;
  readonly #metrics: KubeMetrics | undefined;

  constructor(connection: KubeConnection, metrics?: KubeMetrics) {
    this.#connection = connection;
    this.#metrics = metrics;
  }

  /** GET a JSON document (a LIST page or one object). Rejects on any failure. */
  async getJson(method: 'LIST' | 'GET', path: string, query: Query, options: KubeRequestOptions): Promise<unknown> {
    const started = performance.now();
    let failed = true;
    try {
      const body = await this.#request(path, query, options);
      const value: unknown = JSON.parse(body);
      failed = false;
      return value;
    } finally {
      this.#record(method, started, failed);
    }
  }

  /**
   * Streams a watch: `onLine` gets each newline-delimited JSON event as text. Resolves when
   * the server ends the response (timeoutSeconds reached); rejects on a bad status, a dropped
   * connection, `timeoutMs` of silence or abort.
   */
  async watch(path: string, query: Query, options: KubeRequestOptions, onLine: (line: string) => void): Promise<void> {
    const started = performance.now();
    let recorded = false;
    const headers = (failed: boolean) => {
      if (recorded) return;
      recorded = true;
      this.#record('WATCH', started, failed);
    };
    try {
      await this.#request(path, { ...query, watch: true }, options, { onLine, onHeaders: headers });
    } finally {
      headers(true);
    }
  }

  #record(method: KubeMethod, started: number, failed: boolean): void {
    this.#metrics?.request(method, (performance.now() - started) / 1000, failed);
  }

  /** With a `stream` sink (WATCH), lines go to it and the result is ''; without, the whole body. */
  async #request(
    path: string,
    query: Query,
    options: KubeRequestOptions,
    stream?: { onLine: (line: string) => void; onHeaders: (failed: boolean) => void },
  ): Promise<string> {
    const url = new URL(this.#connection.server + path);
    for (const [key, value] of Object.entries(query)) if (value !== undefined && value !== '') url.searchParams.set(key, String(value));
    options.signal.throwIfAborted();
    const base = await this.#connection.requestOptions();
    const transport = url.protocol === 'https:' ? https : http;

    return new Promise<string>((resolve, reject) => {
      let settled = false;
      let timer: NodeJS.Timeout | undefined;
      const finish = (err: Error | undefined, body = '') => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        options.signal.removeEventListener('abort', onAbort);
        if (err) {
          req.destroy();
          reject(err);
        } else resolve(body);
      };
      const onAbort = () => finish(options.signal.reason instanceof Error ? options.signal.reason : new Error('aborted'));
      // LIST/GET: one deadline for the whole exchange. WATCH: re-armed on every chunk.
      const arm = () => {
        clearTimeout(timer);
        timer = setTimeout(() => finish(new KubeTimeoutError(`${stream ? 'watch' : 'request'} ${url.pathname}: no data for ${options.timeoutMs} ms`)), options.timeoutMs);
      };

      const req = transport.request(
        url,
        { ...base, method: 'GET', headers: { ...base.headers, accept: 'application/json' } },
        (res) => {
          const status = res.statusCode ?? 0;
          res.setEncoding('utf8');
          if (status < 200 || status > 299) {
            let text = '';
            res.on('data', (chunk: string) => {
              if (text.length < MAX_ERROR_BODY) text += chunk;
            });
            res.on('end', () => finish(httpError(status, url, text)));
            res.on('error', () => finish(httpError(status, url, text)));
            return;
          }
          let buffered = '';
          if (!stream) {
            res.on('data', (chunk: string) => (buffered += chunk));
            res.on('end', () => finish(undefined, buffered));
          } else {
            stream.onHeaders(false);
            /** Hands one line to the sink; false (and the request failed) when it threw. */
            const emit = (line: string): boolean => {
              try {
                if (line !== '') stream.onLine(line);
                return true;
              } catch (err) {
                finish(err instanceof Error ? err : new Error(String(err)));
                return false;
              }
            };
            res.on('data', (chunk: string) => {
              arm();
              buffered += chunk;
              for (let newline = buffered.indexOf('\n'); newline >= 0; newline = buffered.indexOf('\n')) {
                const line = buffered.slice(0, newline).trim();
                buffered = buffered.slice(newline + 1);
                if (!emit(line)) return;
              }
            });
            res.on('end', () => {
              if (emit(buffered.trim())) finish(undefined);
            });
          }
          res.on('error', (err) => finish(err));
          res.on('close', () => {
            if (!res.complete) finish(new Error(`connection to ${url.host} closed before the response ended`));
          });
        },
      );
      req.on('error', (err) => finish(err));
      options.signal.addEventListener('abort', onAbort, { once: true });
      arm();
      req.end();
    });
  }
}

function httpError(status: number, url: URL, body: string): KubeHttpError {
  let reason = http.STATUS_CODES[status] ?? '';
  let message = body.trim().slice(0, 500);
  try {
    const parsed = JSON.parse(body) as { reason?: unknown; message?: unknown };
    if (typeof parsed.reason === 'string' && parsed.reason !== '') reason = parsed.reason;
    if (typeof parsed.message === 'string') message = parsed.message;
  } catch {
    // not a Status object: keep the text
  }
  return new KubeHttpError(status, reason, `GET ${url.pathname}${url.search}: HTTP ${status} ${reason}${message ? `: ${message}` : ''}`);
}
