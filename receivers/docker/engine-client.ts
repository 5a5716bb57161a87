import { Agent, request, type IncomingMessage } from 'node:http';
import { NodemeterError } from '../../pipeline/errors.ts';
import { describeEndpoint, type EngineEndpoint } from './engine-endpoint.ts';
import type { ContainerInspect, ContainerSummary, EngineEvent, EngineStats, EngineVersion } from './engine-types.ts';

/**
 * The newest API version this client knows. A daemon that speaks an older one is talked to in
 * its version; a newer daemon in this one, unless it no longer accepts it (its MinAPIVersion is
 * higher: then its minimum). Never pinned to one daemon's version.
 */
export const CLIENT_MAX_API_VERSION = '1.48';
/** The version `one-shot` stats (no second sample a second later) appeared in. */
const ONE_SHOT_STATS_SINCE = '1.41';
/** Replies larger than this are refused: a container list of 10,000 entries is ~10 MiB. */
const MAX_BODY_BYTES = 64 * 1024 * 1024;

/** HTTP or transport failure talking to the daemon; `retryable` unless the daemon said no for good. */
export class EngineError extends NodemeterError {
  readonly status: number | undefined;
  constructor(code: string, message: string, options: { status?: number; retryable: boolean; cause?: unknown }) {
    super(code, message, { retryable: options.retryable, cause: options.cause });
    this.name = 'EngineError';
    this.status = options.status;
  }
}

export interface EngineClientOptions {
  readonly endpoint: EngineEndpoint;
  /** Per request, ms. */
  readonly timeoutMs: number;
  /** Requests in flight at most; Infinity for no limit. */
  readonly maxSockets: number;
}

/** Compares dotted API versions numerically: -1, 0 or 1. */
export function compareApiVersions(a: string, b: string): number {
  const pa = a.split('.').map(Number);
  const pb = b.split('.').map(Number);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d < 0 ? -1 : 1;
  }
  return 0;
}

/** The version to speak with a daemon that reported `server` (see CLIENT_MAX_API_VERSION). */
export function negotiateApiVersion(server: EngineVersion): string {
  const api = server.ApiVersion;
  if (typeof api !== 'string' || !/^\d+\.\d+$/.test(api)) return '1.24'; // the oldest one with every endpoint used here
  if (compareApiVersions(api, CLIENT_MAX_API_VERSION) <= 0) return api;
  const min = server.MinAPIVersion;
  if (typeof min === 'string' && /^\d+\.\d+$/.test(min) && compareApiVersions(min, CLIENT_MAX_API_VERSION) > 0) return min;
  return CLIENT_MAX_API_VERSION;
}

/** A stream of daemon events; `closed` settles when it ends (rejects on a transport error). */
export interface EventStream {
  readonly closed: Promise<void>;
  close(): void;
}

/** A small Docker Engine API client over node:http: a unix socket or plain TCP, JSON only. */
export class EngineClient {
  readonly #opts: EngineClientOptions;
  readonly #agent: Agent;
  #version: string | undefined;

  constructor(options: EngineClientOptions) {
    this.#opts = options;
    // A round may open one connection per container; keeping a few idle ones is enough for the
    // list, inspects and the next round's first requests.
    this.#agent = new Agent({ keepAlive: true, maxSockets: Math.max(1, options.maxSockets), maxFreeSockets: 16 });
  }

  get endpoint(): string {
    return describeEndpoint(this.#opts.endpoint);
  }

  /** The negotiated API version; undefined before negotiate(). */
  get apiVersion(): string | undefined {
    return this.#version;
  }

  /** Asks the daemon for its version and picks the one to speak; call again after a daemon restart. */
  async negotiate(signal?: AbortSignal): Promise<{ apiVersion: string; daemon: EngineVersion }> {
    const daemon = await this.#getJson<EngineVersion>('/version', signal);
    this.#version = negotiateApiVersion(daemon);
    return { apiVersion: this.#version, daemon };
  }

  /** Whether the daemon answers `GET /_ping` with 200 (any failure is false). */
  async ping(): Promise<boolean> {
    try {
      await this.#get('/_ping');
      return true;
    } catch {
      return false;
    }
  }

  /** Containers, running ones only unless `all`. */
  listContainers(all: boolean, signal?: AbortSignal): Promise<ContainerSummary[]> {
    return this.#getJson<ContainerSummary[]>(`${this.#prefix()}/containers/json?all=${all ? 1 : 0}`, signal);
  }

  inspect(id: string, signal?: AbortSignal): Promise<ContainerInspect> {
    return this.#getJson<ContainerInspect>(`${this.#prefix()}/containers/${encodeURIComponent(id)}/json`, signal);
  }

  /** One stats sample; `one-shot` where the daemon has it, so no second sample is awaited. */
  stats(id: string, signal?: AbortSignal): Promise<EngineStats> {
    const oneShot = this.#version !== undefined && compareApiVersions(this.#version, ONE_SHOT_STATS_SINCE) >= 0 ? '&one-shot=true' : '';
    return this.#getJson<EngineStats>(`${this.#prefix()}/containers/${encodeURIComponent(id)}/stats?stream=false${oneShot}`, signal);
  }

  /**
   * Follows GET /events for containers from now on, calling `onEvent` per message. A message that
   * is not JSON is skipped (reported through `onBadLine`).
   */
  events(onEvent: (event: EngineEvent) => void, onBadLine: (line: string) => void): EventStream {
    const filters = encodeURIComponent(JSON.stringify({ type: ['container'] }));
    const controller = new AbortController();
    const closed = new Promise<void>((resolve, reject) => {
      const req = request(
        { ...this.#target(), path: `${this.#prefix()}/events?filters=${filters}`, method: 'GET', headers: { accept: 'application/json' }, signal: controller.signal },
        (res) => {
          if (res.statusCode !== 200) {
            res.resume();
            reject(this.#statusError('/events', res.statusCode ?? 0, ''));
            return;
          }
          res.setEncoding('utf8');
          let pending = '';
          res.on('data', (chunk: string) => {
            pending += chunk;
            let nl: number;
            while ((nl = pending.indexOf('\n')) >= 0) {
              const line = pending.slice(0, nl).trim();
              pending = pending.slice(nl + 1);
              if (line === '') continue;
              let event: EngineEvent;
              try {
                event = JSON.parse(line) as EngineEvent;
              } catch {
                onBadLine(line.slice(0, 200));
                continue;
              }
              onEvent(event);
            }
            // A line that never ends would grow without bound: drop it.
            if (pending.length > 1024 * 1024) {
              onBadLine(pending.slice(0, 200));
              pending = '';
            }
          });
          res.on('end', () => resolve());
          res.on('error', (err) => reject(this.#transportError('/events', err)));
          res.on('close', () => resolve());
        },
      );
      req.on('error', (err) => {
        if (controller.signal.aborted) resolve();
        else reject(this.#transportError('/events', err));
      });
      req.end();
    });
    return { closed, close: () => controller.abort() };
  }

  /** Closes kept-alive sockets. */
  destroy(): void {
    this.#agent.destroy();
  }

  #prefix(): string {
    return this.#version === undefined ? '' : `/v${this.#version}`;
  }

  #target(): { socketPath: string; agent: Agent } | { host: string; port: number; agent: Agent } {
    const e = this.#opts.endpoint;
    return e.kind === 'unix' ? { socketPath: e.socketPath, agent: this.#agent } : { host: e.host, port: e.port, agent: this.#agent };
  }

  async #getJson<T>(path: string, signal?: AbortSignal): Promise<T> {
    const body = await this.#get(path, signal);
    try {
      return JSON.parse(body) as T;
    } catch (err) {
      throw new EngineError('NM_DOCKER_BAD_RESPONSE', `${this.endpoint} ${path}: the reply is not JSON (${(err as Error).message})`, { retryable: true, cause: err });
    }
  }

  /** The body of a 200 reply; an EngineError for any other status or a transport failure. */
  #get(path: string, signal?: AbortSignal): Promise<string> {
    const timeout = AbortSignal.timeout(this.#opts.timeoutMs);
    const combined = signal ? AbortSignal.any([signal, timeout]) : timeout;
    return new Promise<string>((resolve, reject) => {
      const req = request({ ...this.#target(), path, method: 'GET', headers: { accept: 'application/json' }, signal: combined }, (res) => {
        this.#readBody(path, res).then(
          (body) => (res.statusCode === 200 ? resolve(body) : reject(this.#statusError(path, res.statusCode ?? 0, body))),
          (err: unknown) => reject(this.#transportError(path, err, timeout.aborted)),
        );
      });
      req.on('error', (err) => reject(this.#transportError(path, err, timeout.aborted)));
      req.end();
    });
  }

  #readBody(path: string, res: IncomingMessage): Promise<string> {
    return new Promise((resolve, reject) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > MAX_BODY_BYTES) {
          res.destroy(new Error(`reply over ${MAX_BODY_BYTES} bytes`));
          return;
        }
        chunks.push(chunk);
      });
      res.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
      res.on('error', reject);
      res.on('aborted', () => reject(new Error(`${path}: reply cut short`)));
    });
  }

  #statusError(path: string, status: number, body: string): EngineError {
    let message = body.trim();
    try {
      const parsed = JSON.parse(body) as { message?: unknown };
      if (typeof parsed.message === 'string') message = parsed.message;
    } catch {
      // Not JSON: keep the text.
    }
    // 4xx other than 404 (a container gone between list and stats) and 429 means this request will never work.
    const retryable = status >= 500 || status === 404 || status === 429;
    return new EngineError('NM_DOCKER_HTTP', `${this.endpoint} ${path}: HTTP ${status}${message ? `: ${message.slice(0, 300)}` : ''}`, { status, retryable });
  }

  #transportError(path: string, err: unknown, timedOut = false): EngineError {
    if (timedOut) return new EngineError('NM_DOCKER_TIMEOUT', `${this.endpoint} ${path}: no reply within ${this.#opts.timeoutMs} ms`, { retryable: true, cause: err });
    const e = err as NodeJS.ErrnoException;
    const code = e?.code ? ` (${e.code})` : '';
    return new EngineError('NM_DOCKER_UNREACHABLE', `${this.endpoint} ${path}: ${e?.message ?? String(err)}${code}`, { retryable: true, cause: err });
  }
}
