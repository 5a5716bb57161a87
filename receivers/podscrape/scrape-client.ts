/**
 * Fetches one target's /metrics over node:http / node:https, with every limit enforced here
 * rather than trusted to the target: one deadline for the whole exchange, a cap on bytes on the
 * wire and on bytes after gunzip, no redirects, bounded keep-alive pools. A target is any pod on
 * the node, so it is treated as hostile: it may trickle, lie about its length, send a gzip
 * bomb or point elsewhere, and none of that may cost the agent more than the limits say.
 */
import { request as httpRequest, type Agent, type ClientRequest, type IncomingMessage, type OutgoingHttpHeaders } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { Socket } from 'node:net';
import { createGunzip, type Gunzip } from 'node:zlib';
import { VERSION } from '../../cli/version.ts';
import { FileSnapshots } from '../../pipeline/file-snapshots.ts';
import { isTlsFailure } from '../../pipeline/tls-failure.ts';
import { BodyBuffer } from './body-buffer.ts';
import { CaFileError, ScrapeAgents, type AgentKey, type ScrapeTlsOptions } from './scrape-agents.ts';
import { ScrapeError, redactUrl } from './scrape-error.ts';

export { ScrapeError, redactUrl, SCRAPE_FAILURE_REASONS, type ScrapeFailureReason } from './scrape-error.ts';
export type { ScrapeTlsOptions } from './scrape-agents.ts';

/** One scrape of one target. */
export interface ScrapeRequest {
  /** `http:` or `https:` only. User info in it is never sent. */
  readonly url: URL;
  /** The whole scrape: reading credentials, connecting, headers, body and decoding. */
  readonly timeoutMs: number;
  /** Body bytes as they arrive (before gunzip); a larger Content-Length fails at once. */
  readonly maxBodyBytes: number;
  /** Body bytes after gunzip. An uncompressed body is held to the smaller of the two limits. */
  readonly maxDecompressedBytes: number;
  /** For https targets. */
  readonly tls?: ScrapeTlsOptions;
  /** Sent as `Authorization: Bearer <contents, trimmed>`; re-read whenever the file changes. */
  readonly bearerTokenFile?: string;
  /** Ask for OpenMetrics first (as Prometheus does); false asks for the text format only. */
  readonly acceptOpenMetrics: boolean;
  /** Sent as given. Headers the client sets itself (Accept, Authorization, …) are refused. */
  readonly extraHeaders?: Readonly<Record<string, string>>;
}

/** A successful (2xx) scrape. */
export interface ScrapeResponse {
  readonly status: number;
  /** The Content-Type header as sent, '' when there is none. */
  readonly contentType: string;
  /** The body after gunzip, bytes as received (no charset decoding). */
  readonly body: Buffer;
  /** Body bytes received (after chunked framing, before gunzip). */
  readonly wireBytes: number;
  /** From the call to the end of the body. */
  readonly durationMs: number;
  readonly contentEncoding: 'gzip' | 'identity';
}

/** Settings of a client, shared by every target it scrapes. */
export interface ScrapeClientOptions {
  /** Default `nodemeter/<package version>`. */
  readonly userAgent?: string;
  /** Connections to one target at a time; default 2 (one scrape plus an overlapping on-demand one). */
  readonly maxSocketsPerTarget?: number;
  /** Idle keep-alive connections kept per target; default 1. */
  readonly maxFreeSocketsPerTarget?: number;
  /** Connections per TLS configuration at a time; default 256. */
  readonly maxTotalSockets?: number;
  /** Idle keep-alive connections are closed after this long; default 90 s (Go's default transport). */
  readonly idleSocketTimeoutMs?: number;
}

/** Media types asked for, most wanted first: the order Prometheus 2.x asks in. */
const OPENMETRICS_TYPES = ['application/openmetrics-text;version=1.0.0', 'application/openmetrics-text;version=0.0.1'];
const TEXT_TYPE = 'text/plain;version=0.0.4';

/**
 * The Accept header: the wanted formats with falling q values, then `*\/*` lowest so a target
 * that ignores Accept still answers (its Content-Type then picks the parser).
 */
export function acceptHeader(acceptOpenMetrics: boolean): string {
  const wanted = acceptOpenMetrics ? [...OPENMETRICS_TYPES, TEXT_TYPE] : [TEXT_TYPE];
  const weighted = wanted.map((type, i) => `${type};q=${(0.5 - i / 10).toFixed(1)}`);
  return [...weighted, '*/*;q=0.1'].join(',');
}

/** Headers the client owns; an extra header may not replace them or break the framing. */
const RESERVED_HEADERS = new Set([
  'accept',
  'accept-encoding',
  'authorization',
  'user-agent',
  'x-prometheus-scrape-timeout-seconds',
  'host',
  'connection',
  'keep-alive',
  'content-length',
  'transfer-encoding',
  'te',
  'trailer',
  'upgrade',
  'proxy-authorization',
]);

/** Larger response headers are a protocol error: no exporter needs more than Node's default. */
const MAX_HEADER_BYTES = 16 * 1024;
/** A service-account token is ~1 KiB. */
const MAX_TOKEN_FILE_BYTES = 64 * 1024;
/** RFC 6750 b64token and a little more: anything visible, nothing that could end the header. */
const TOKEN_PATTERN = /^[\x21-\x7e]+$/;
/** setTimeout fires at once for longer delays. */
const MAX_TIMEOUT_MS = 2 ** 31 - 1;
/** Errors that mean a pooled connection was closed by the server as it was reused. */
const STALE_SOCKET_CODES = new Set(['ECONNRESET', 'EPIPE', 'ECONNABORTED']);

/**
 * The HTTP client of one pod-scrape receiver: owns the keep-alive agents (one per TLS
 * configuration), the bearer-token and CA-file snapshots, and every scrape in flight;
 * `destroy()` ends all of them.
 */
export class ScrapeClient {
  readonly #userAgent: string;
  readonly #agents: ScrapeAgents;
  readonly #tokens = new FileSnapshots(MAX_TOKEN_FILE_BYTES);
  /** Aborts the scrapes in flight, for destroy(). */
  readonly #inFlight = new Set<() => void>();
  #destroyed = false;

  constructor(options: ScrapeClientOptions = {}) {
    this.#userAgent = options.userAgent ?? `nodemeter/${VERSION}`;
    this.#agents = new ScrapeAgents({
      maxSocketsPerTarget: options.maxSocketsPerTarget ?? 2,
      maxFreeSocketsPerTarget: options.maxFreeSocketsPerTarget ?? 1,
      maxTotalSockets: options.maxTotalSockets ?? 256,
      idleSocketTimeoutMs: options.idleSocketTimeoutMs ?? 90_000,
    });
  }

  /**
   * Fetches `target.url` once. Resolves only for a 2xx answer whose body fit the limits and
   * decoded; rejects with a {@link ScrapeError} otherwise. When it settles, no timer, listener
   * or busy socket of this scrape remains (a healthy connection goes back to the pool).
   */
  async scrape(target: ScrapeRequest, signal?: AbortSignal): Promise<ScrapeResponse> {
    const started = performance.now();
    const { url } = target;
    const shown = redactUrl(url);
    if (this.#destroyed) throw new ScrapeError('aborted', shown, 'the scrape client is destroyed');
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      throw new ScrapeError('bad_request', shown, `scheme ${url.protocol} is not http: or https:`);
    }
    const problem = checkLimits(target) ?? checkExtraHeaders(target.extraHeaders);
    if (problem !== undefined) throw new ScrapeError('bad_request', shown, problem);
    if (signal?.aborted === true) throw new ScrapeError('aborted', shown, 'aborted by the caller before it started');

    const controller = new AbortController();
    const timer = setTimeout(() => {
      controller.abort(new ScrapeError('timeout', shown, `no complete response within the ${target.timeoutMs} ms timeout`, { limit: target.timeoutMs }));
    }, target.timeoutMs);
    const onCallerAbort = (): void => controller.abort(new ScrapeError('aborted', shown, 'aborted by the caller'));
    const onDestroy = (): void => controller.abort(new ScrapeError('aborted', shown, 'the scrape client was destroyed'));
    signal?.addEventListener('abort', onCallerAbort, { once: true });
    this.#inFlight.add(onDestroy);
    try {
      const [key, token] = await untilAborted(
        Promise.all([this.#agentKey(url.protocol, target.tls, shown), this.#token(target.bearerTokenFile, shown)]),
        controller.signal,
      );
      // destroy() or the deadline may have fired while the continuation was queued.
      if (controller.signal.aborted) throw controller.signal.reason as Error;
      const headers = this.#headers(target, token);
      const lease = this.#agents.lease(key);
      try {
        const exchange: Exchange = {
          url,
          shown,
          agent: lease.agent,
          headers,
          servername: target.tls?.serverName,
          maxBodyBytes: target.maxBodyBytes,
          maxDecompressedBytes: target.maxDecompressedBytes,
          started,
          signal: controller.signal,
        };
        try {
          return await runExchange(exchange);
        } catch (err) {
          // A pooled connection the target closed just as it was reused (Go's transport retries
          // this too). Once more, within the same deadline; the dead socket is gone from the pool.
          if (!(err instanceof StaleConnection)) throw err;
          try {
            return await runExchange(exchange);
          } catch (again) {
            throw again instanceof StaleConnection ? again.error : again;
          }
        }
      } finally {
        lease.release();
      }
    } finally {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onCallerAbort);
      this.#inFlight.delete(onDestroy);
    }
  }

  /** Aborts every scrape in flight (reason `aborted`) and closes every connection. Idempotent. */
  destroy(): void {
    this.#destroyed = true;
    for (const abort of [...this.#inFlight]) abort();
    this.#inFlight.clear();
    this.#agents.destroy();
  }

  async #agentKey(protocol: 'http:' | 'https:', tls: ScrapeTlsOptions | undefined, shown: string): Promise<AgentKey> {
    try {
      return await this.#agents.resolve(protocol, tls);
    } catch (err) {
      if (err instanceof CaFileError) throw new ScrapeError('ca_file', shown, `CA file: ${err.message}`, { cause: err });
      throw err;
    }
  }

  /** The bearer token, or undefined when none is configured. Error messages never hold it. */
  async #token(path: string | undefined, shown: string): Promise<string | undefined> {
    if (path === undefined || path === '') return undefined;
    let contents: Buffer;
    try {
      ({ contents } = await this.#tokens.read(path));
    } catch (err) {
      throw new ScrapeError('token_file', shown, `bearer token file: ${(err as Error).message}`, { cause: err });
    }
    const token = contents.toString('utf8').trim();
    if (token === '') throw new ScrapeError('token_file', shown, `bearer token file ${path} is empty`);
    if (!TOKEN_PATTERN.test(token)) {
      throw new ScrapeError('token_file', shown, `bearer token file ${path} holds characters a header cannot carry`);
    }
    return token;
  }

  #headers(target: ScrapeRequest, token: string | undefined): OutgoingHttpHeaders {
    const headers: OutgoingHttpHeaders = {
      ...target.extraHeaders,
      accept: acceptHeader(target.acceptOpenMetrics),
      'accept-encoding': 'gzip',
      'user-agent': this.#userAgent,
      // Seconds as Prometheus writes them: shortest decimal, no exponent for sane values.
      'x-prometheus-scrape-timeout-seconds': String(target.timeoutMs / 1000),
    };
    if (token !== undefined) headers.authorization = `Bearer ${token}`;
    return headers;
  }
}

function checkLimits(target: ScrapeRequest): string | undefined {
  const { timeoutMs, maxBodyBytes, maxDecompressedBytes } = target;
  if (!(timeoutMs > 0 && timeoutMs <= MAX_TIMEOUT_MS)) return `timeoutMs ${timeoutMs} is not in (0, ${MAX_TIMEOUT_MS}]`;
  if (!(maxBodyBytes >= 0)) return `maxBodyBytes ${maxBodyBytes} is not a size`;
  if (!(maxDecompressedBytes >= 0)) return `maxDecompressedBytes ${maxDecompressedBytes} is not a size`;
  return undefined;
}

function checkExtraHeaders(extra: Readonly<Record<string, string>> | undefined): string | undefined {
  if (extra === undefined) return undefined;
  for (const [name, value] of Object.entries(extra)) {
    if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(name)) return `extra header name ${JSON.stringify(name)} is not a token`;
    if (RESERVED_HEADERS.has(name.toLowerCase())) return `extra header ${name} is set by the client itself`;
    // Value not quoted back: it may be a credential.
    if (!/^[\t\x20-\x7e\x80-\xff]*$/.test(value)) return `extra header ${name} has a value with control characters`;
  }
  return undefined;
}

/** Settles with `work`, or rejects with the signal's reason as soon as it aborts. */
function untilAborted<T>(work: Promise<T>, signal: AbortSignal): Promise<T> {
  return new Promise((resolve, reject) => {
    const onAbort = (): void => reject(signal.reason as Error);
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
    work.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (err: Error) => {
        signal.removeEventListener('abort', onAbort);
        reject(err);
      },
    );
  });
}

/** What one HTTP exchange needs; a retry reuses it as is. */
interface Exchange {
  readonly url: URL;
  readonly shown: string;
  readonly agent: Agent;
  readonly headers: OutgoingHttpHeaders;
  readonly servername: string | undefined;
  readonly maxBodyBytes: number;
  readonly maxDecompressedBytes: number;
  /** performance.now() at the start of the scrape. */
  readonly started: number;
  /** Aborted by the deadline, the caller or destroy(); its reason is the error to report. */
  readonly signal: AbortSignal;
}

/** A reused pooled connection failed before any response: worth one more try. */
class StaleConnection extends Error {
  readonly error: ScrapeError;
  constructor(error: ScrapeError) {
    super(error.message);
    this.error = error;
  }
}

/** Where the exchange was when something failed: decides the reason. */
type Phase = 'connect' | 'tls' | 'request' | 'response';

function runExchange(x: Exchange): Promise<ScrapeResponse> {
  return new Promise<ScrapeResponse>((resolve, reject) => {
    const { url, shown, signal } = x;
    if (signal.aborted) {
      reject(signal.reason as Error);
      return;
    }
    const https = url.protocol === 'https:';
    let phase: Phase = 'connect';
    let socket: Socket | undefined;
    let decoder: Gunzip | undefined;
    let req: ClientRequest | undefined;
    let settled = false;

    const onTcpConnect = (): void => {
      if (phase === 'connect') phase = https ? 'tls' : 'request';
    };
    const onTlsConnect = (): void => {
      phase = 'request';
    };
    const detach = (): void => {
      signal.removeEventListener('abort', onAbort);
      socket?.removeListener('connect', onTcpConnect);
      socket?.removeListener('secureConnect', onTlsConnect);
    };
    const fail = (err: Error): void => {
      if (settled) return;
      settled = true;
      detach();
      decoder?.destroy();
      // Destroys the socket too: a connection in an unknown state never goes back to the pool.
      req?.destroy();
      reject(err);
    };
    const onAbort = (): void => fail(signal.reason as Error);

    const options = {
      method: 'GET',
      hostname: url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname,
      port: url.port === '' ? (https ? 443 : 80) : Number(url.port),
      path: `${url.pathname}${url.search}`,
      headers: x.headers,
      agent: x.agent,
      maxHeaderSize: MAX_HEADER_BYTES,
    };
    try {
      req = https ? httpsRequest({ ...options, servername: x.servername }) : httpRequest(options);
    } catch (err) {
      // Node refuses header values it cannot send; the value is not repeated (it may be a secret).
      fail(new ScrapeError('bad_request', shown, `request not sendable (${(err as NodeJS.ErrnoException).code ?? 'error'})`, { cause: err }));
      return;
    }
    const request = req;
    signal.addEventListener('abort', onAbort, { once: true });

    request.on('socket', (s: Socket) => {
      socket = s;
      if (request.reusedSocket || !s.connecting) {
        phase = 'request';
        return;
      }
      s.once('connect', onTcpConnect);
      if (https) s.once('secureConnect', onTlsConnect);
    });

    request.on('error', (err: NodeJS.ErrnoException) => {
      if (settled) return;
      const error = transportError(err, phase, shown);
      const stale = request.reusedSocket && phase === 'request' && STALE_SOCKET_CODES.has(err.code ?? '');
      fail(stale ? new StaleConnection(error) : error);
    });

    request.on('response', (res: IncomingMessage) => {
      phase = 'response';
      res.on('error', (err: NodeJS.ErrnoException) => fail(transportError(err, 'response', shown)));
      res.on('close', () => {
        if (!res.complete) fail(new ScrapeError('read', shown, 'connection closed before the body ended'));
      });
      if (settled) return;

      const status = res.statusCode ?? 0;
      if (status >= 300 && status < 400) {
        fail(new ScrapeError('redirect', shown, `answered HTTP ${status}; redirects are not followed`, { status }));
        return;
      }
      if (status < 200 || status >= 300) {
        const retryable = status >= 500 || status === 429 || status === 408;
        fail(new ScrapeError('http_status', shown, `answered HTTP ${status}`, { status, retryable }));
        return;
      }
      const encoding = parseContentEncoding(res.headers['content-encoding']);
      if (encoding === undefined) {
        const sent = (res.headers['content-encoding'] ?? '').slice(0, 40);
        fail(new ScrapeError('bad_encoding', shown, `Content-Encoding ${JSON.stringify(sent)} was not asked for (only gzip is)`));
        return;
      }
      // Uncompressed, the wire bytes are the body: the smaller limit applies to both.
      const wireLimit = encoding === 'identity' ? Math.min(x.maxBodyBytes, x.maxDecompressedBytes) : x.maxBodyBytes;
      const tooLarge = (what: string): ScrapeError =>
        new ScrapeError('body_too_large', shown, `${what} is over the ${wireLimit}-byte body limit`, { limit: wireLimit });
      const declared = Number(res.headers['content-length'] ?? NaN);
      if (declared > wireLimit) {
        fail(tooLarge(`Content-Length ${declared}`));
        return;
      }

      // Decompressed sizes are not declared; an identity body's is its Content-Length.
      const body = new BodyBuffer(encoding === 'identity' && Number.isSafeInteger(declared) ? declared : undefined);
      let wireBytes = 0;
      const succeed = (): void => {
        if (settled) return;
        settled = true;
        detach();
        resolve({
          status,
          contentType: res.headers['content-type'] ?? '',
          body: body.take(),
          wireBytes,
          durationMs: performance.now() - x.started,
          contentEncoding: encoding,
        });
      };

      if (encoding === 'gzip') {
        const gunzip = createGunzip();
        decoder = gunzip;
        gunzip.on('data', (chunk: Buffer) => {
          if (settled) return;
          // Checked before each output chunk (16 KiB) is kept, so a bomb costs at most the limit.
          if (body.length + chunk.length > x.maxDecompressedBytes) {
            const limit = x.maxDecompressedBytes;
            fail(new ScrapeError('decompressed_too_large', shown, `gzip body decompresses past the ${limit}-byte limit`, { limit }));
            return;
          }
          body.append(chunk);
        });
        gunzip.on('error', (err: NodeJS.ErrnoException) => {
          fail(new ScrapeError('bad_encoding', shown, `gzip body does not decode (${err.code ?? err.message})`, { cause: err }));
        });
        gunzip.on('end', succeed);
      }

      res.on('data', (chunk: Buffer) => {
        if (settled) return;
        wireBytes += chunk.length;
        if (wireBytes > wireLimit) {
          fail(tooLarge(`the body (${wireBytes} bytes so far)`));
          return;
        }
        if (decoder === undefined) {
          body.append(chunk);
        } else if (!decoder.write(chunk)) {
          // Let the decoder catch up: wire bytes wait in the kernel, not in this process.
          res.pause();
          decoder.once('drain', () => {
            if (!settled) res.resume();
          });
        }
      });
      res.on('end', () => {
        if (settled) return;
        if (decoder === undefined) {
          succeed();
        } else if (wireBytes === 0) {
          // Content-Encoding: gzip on an empty body: an empty body, not a corrupt stream.
          decoder.destroy();
          succeed();
        } else {
          decoder.end();
        }
      });
    });

    request.end();
  });
}

/** `identity` for none, `gzip` for gzip; undefined for anything else (including stacked codings). */
function parseContentEncoding(header: string | undefined): 'gzip' | 'identity' | undefined {
  const value = (header ?? '').trim().toLowerCase();
  if (value === '' || value === 'identity') return 'identity';
  if (value === 'gzip' || value === 'x-gzip') return 'gzip';
  return undefined;
}

function transportError(err: NodeJS.ErrnoException, phase: Phase, shown: string): ScrapeError {
  const code = err.code ?? 'error';
  if (code.startsWith('HPE_')) {
    return new ScrapeError('protocol', shown, `the answer is not HTTP/1.x this client accepts (${code})`, { cause: err });
  }
  if (phase === 'connect') return new ScrapeError('connect', shown, `cannot connect (${code})`, { cause: err });
  if (phase === 'tls' || isTlsFailure(err)) {
    // OpenSSL's and Node's verification messages name certificates and hosts, no secrets.
    return new ScrapeError('tls', shown, `TLS handshake failed (${code}: ${err.message})`, { cause: err });
  }
  if (phase === 'request') return new ScrapeError('read', shown, `connection closed before the answer (${code})`, { cause: err });
  return new ScrapeError('read', shown, `connection broke while reading the body (${code})`, { cause: err });
}
