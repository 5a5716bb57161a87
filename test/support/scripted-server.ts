/**
 * A misbehaving HTTP destination on 127.0.0.1 for the fault tests: it stands in for a
 * Pushgateway or an OTLP/HTTP receiver that is slow, answers 5xx, or holds a request until the
 * test lets it go. Each request's answer comes from the current `script` (changeable at any
 * time): how long to hold it (`holdMs`, `Infinity` = until {@link ScriptedServer.release}), then
 * which status and body. Every request is recorded with when it arrived, when it ended and how
 * (`answered`, or `client_closed` when the client gave up first), and the server keeps the peak
 * number of requests it held at once, so a test can prove pushes never overlap.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { waitFor } from './proc.ts';

/** How to answer one request. */
export interface Answer {
  /** Milliseconds to hold the request before answering; `Infinity`: until release(). Default 0. */
  readonly holdMs?: number;
  /** Default 200. */
  readonly status?: number;
  /** Default empty (`{}` for 200 answers to JSON requests is up to the script). */
  readonly body?: string;
  readonly contentType?: string;
}

/** The request as the script sees it: method, path and body. */
export interface RequestInfo {
  readonly method: string;
  readonly path: string;
  readonly body: Buffer;
  readonly headers: IncomingMessage['headers'];
}

export type Script = (request: RequestInfo) => Answer;

/** One request and what became of it. */
export interface ScriptedRequest extends RequestInfo {
  /** `performance.now()` when its body had arrived. */
  readonly arrivedAt: number;
  /** `performance.now()` when it was answered or the client closed it; undefined while held. */
  endedAt: number | undefined;
  outcome: 'held' | 'answered' | 'client_closed';
  /** The status it was (or is to be) answered with. */
  readonly status: number;
}

export class ScriptedServer {
  readonly requests: ScriptedRequest[] = [];
  /** The largest number of requests held (arrived, not yet ended) at the same time. */
  peakInFlight = 0;
  script: Script = () => ({});
  readonly #server: Server;
  readonly #sockets = new Set<Socket>();
  readonly #held = new Set<() => void>();
  #inFlight = 0;
  #port = 0;

  private constructor() {
    this.#server = createServer((req, res) => this.#handle(req, res));
    this.#server.on('connection', (socket) => {
      this.#sockets.add(socket);
      socket.on('close', () => this.#sockets.delete(socket));
    });
  }

  /** Listens on 127.0.0.1 at `port` (default: one the OS picks). */
  static async start(options: { port?: number; script?: Script } = {}): Promise<ScriptedServer> {
    const server = new ScriptedServer();
    if (options.script) server.script = options.script;
    await new Promise<void>((resolve, reject) => {
      server.#server.once('error', reject);
      server.#server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
    });
    server.#port = (server.#server.address() as AddressInfo).port;
    return server;
  }

  get port(): number {
    return this.#port;
  }

  get url(): string {
    return `http://127.0.0.1:${this.#port}`;
  }

  /** Requests held right now. */
  get inFlight(): number {
    return this.#inFlight;
  }

  /** Answers every held request now (each with the status its script gave). */
  release(): void {
    for (const answer of [...this.#held]) answer();
  }

  /** Waits for a request matching `pred` among those from index `from` on; returns it. */
  waitForRequest(what: string, pred: (r: ScriptedRequest) => boolean, options: { from?: number; timeoutMs?: number } = {}): Promise<ScriptedRequest> {
    return waitFor(`${what} at ${this.url}`, () => this.requests.slice(options.from ?? 0).find(pred), { timeoutMs: options.timeoutMs ?? 10_000, intervalMs: 10 });
  }

  /** Stops listening and destroys every connection (held requests end as closed). Idempotent. */
  async close(): Promise<void> {
    if (!this.#server.listening) return;
    const closed = new Promise<void>((resolve) => this.#server.close(() => resolve()));
    for (const socket of this.#sockets) socket.destroy();
    this.#held.clear();
    await closed;
  }

  #handle(req: IncomingMessage, res: ServerResponse): void {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const info: RequestInfo = { method: req.method ?? '', path: req.url ?? '', body: Buffer.concat(chunks), headers: req.headers };
      const answer = this.script(info);
      const status = answer.status ?? 200;
      const record: ScriptedRequest = { ...info, arrivedAt: performance.now(), endedAt: undefined, outcome: 'held', status };
      this.requests.push(record);
      this.#inFlight++;
      this.peakInFlight = Math.max(this.peakInFlight, this.#inFlight);
      let timer: NodeJS.Timeout | undefined;
      const end = (outcome: ScriptedRequest['outcome']): boolean => {
        if (record.outcome !== 'held') return false;
        record.outcome = outcome;
        record.endedAt = performance.now();
        this.#inFlight--;
        clearTimeout(timer);
        this.#held.delete(send);
        return true;
      };
      const send = (): void => {
        if (!end('answered')) return;
        const body = answer.body ?? '';
        res.writeHead(status, { 'content-type': answer.contentType ?? 'text/plain; charset=utf-8', 'content-length': Buffer.byteLength(body) }).end(body);
      };
      // The client giving up (its timeout, or its own shutdown) closes the connection under a held request.
      res.on('close', () => end('client_closed'));
      const holdMs = answer.holdMs ?? 0;
      this.#held.add(send);
      if (holdMs === Infinity) return;
      if (holdMs > 0) timer = setTimeout(send, holdMs);
      else send();
    });
  }
}
