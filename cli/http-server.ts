import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import type { Logger } from 'pino';
import type { HttpHandler, HttpRouter } from '../pipeline/component.ts';
import { AGENT_PATHS, RouteTable } from '../pipeline/route-table.ts';
import type { WebSecurity } from './web-config/web-security.ts';

export interface AgentHttpServerOptions {
  readonly host: string;
  readonly port: number;
  readonly logger: Logger;
  /** Answers /readyz: ready, or the reason it is not. */
  readonly readiness: () => { ready: boolean; detail: string };
  /** Lines for the index page beyond the registered routes (pipelines, …). */
  readonly describe: () => string[];
  /** TLS, credentials and response headers from the web config; none: plain HTTP, no credentials. */
  readonly security?: WebSecurity;
}

/** Longest request line target (path and query) the server reads; longer gets 414. */
export const MAX_URL_LENGTH = 2048;
/** Largest request header block, in bytes; larger gets 431 from Node's parser. */
export const MAX_HEADER_BYTES = 8192;

/**
 * The agent's one HTTP server: components register their paths on it; it answers
 * /healthz, /readyz and an index page itself. close() stops accepting, lets in-flight
 * requests finish (up to a grace period) and then drops what is left.
 *
 * It is reachable by anything on the node's network, so it reads little: headers up to
 * {@link MAX_HEADER_BYTES}, URLs up to {@link MAX_URL_LENGTH}, only GET and HEAD on its own
 * paths (components check the methods of theirs), and it gives slow clients bounded time.
 *
 * With a web config ({@link AgentHttpServerOptions.security}) it speaks HTTPS, takes in renewed
 * certificates without a restart, and asks for credentials on every path but the excluded ones
 * (by default /healthz and /readyz, for the kubelet's probes) before any handler runs.
 */
export class AgentHttpServer implements HttpRouter {
  readonly #options: AgentHttpServerOptions;
  readonly #routes = new RouteTable(AGENT_PATHS);
  readonly #server: Server;
  #inFlight = 0;

  constructor(options: AgentHttpServerOptions) {
    this.#options = options;
    const handler = (req: IncomingMessage, res: ServerResponse) => this.#dispatch(req, res);
    const security = options.security;
    if (security?.tls) {
      const https = createHttpsServer({ maxHeaderSize: MAX_HEADER_BYTES, ...security.tls.context, ...security.clientCertOptions }, handler);
      https.on('secureConnection', (socket: TLSSocket) => {
        const problem = security.clientCertProblem(socket);
        if (problem === undefined) return;
        options.logger.debug({ remote: socket.remoteAddress, problem }, 'TLS connection refused');
        socket.destroy();
      });
      https.on('tlsClientError', (err: NodeJS.ErrnoException, socket: TLSSocket) => this.#onTlsClientError(err, socket));
      this.#server = https;
    } else {
      this.#server = createServer({ maxHeaderSize: MAX_HEADER_BYTES }, handler);
    }
    // Slow or idle clients must not hold sockets forever on a node agent.
    this.#server.requestTimeout = 60_000;
    this.#server.headersTimeout = 10_000;
    this.#server.keepAliveTimeout = 30_000;
  }

  route(path: string, description: string, handler: HttpHandler): () => void {
    return this.#routes.route(path, description, handler);
  }

  listen(): Promise<AddressInfo> {
    return new Promise((resolve, reject) => {
      const onError = (err: Error) => reject(err);
      this.#server.once('error', onError);
      this.#server.listen(this.#options.port, this.#options.host, () => {
        this.#server.off('error', onError);
        this.#options.security?.start((context) => (this.#server as ReturnType<typeof createHttpsServer>).setSecureContext(context));
        resolve(this.#server.address() as AddressInfo);
      });
    });
  }

  /** `https` when the web config turns TLS on. */
  get scheme(): 'http' | 'https' {
    return this.#options.security?.tls ? 'https' : 'http';
  }

  get listening(): boolean {
    return this.#server.listening;
  }

  async close(graceMs: number): Promise<void> {
    this.#options.security?.stop();
    if (!this.#server.listening) return;
    const closed = new Promise<void>((resolve) => this.#server.close(() => resolve()));
    this.#server.closeIdleConnections();
    const timer = setTimeout(() => {
      this.#options.logger.warn({ inFlight: this.#inFlight }, 'grace period over; closing remaining connections');
      this.#server.closeAllConnections();
    }, graceMs);
    timer.unref();
    await closed;
    clearTimeout(timer);
  }

  #dispatch(req: IncomingMessage, res: ServerResponse): void {
    this.#inFlight++;
    res.once('close', () => {
      this.#inFlight--;
    });
    if ((req.url ?? '').length > MAX_URL_LENGTH) {
      this.#text(res, 414, `request URL longer than ${MAX_URL_LENGTH} characters\n`);
      return;
    }
    let url: URL;
    try {
      url = new URL(req.url ?? '/', 'http://agent');
    } catch {
      res.writeHead(400, { 'content-type': 'text/plain; charset=utf-8' }).end('bad request URL\n');
      return;
    }
    // Once shutting down, tell keep-alive clients to reconnect elsewhere.
    if (!this.#server.listening) res.setHeader('connection', 'close');
    const security = this.#options.security;
    if (security) for (const [name, value] of Object.entries(security.headers)) res.setHeader(name, value);
    // Before authentication: a flood is refused before any bcrypt check is paid for.
    const admission = security?.admit(url.pathname);
    if (admission !== undefined && !admission.admitted) {
      this.#options.logger.debug({ remote: req.socket.remoteAddress, path: url.pathname }, 'request refused: rate_limit');
      res.writeHead(429, { 'retry-after': String(admission.retryAfterSeconds), 'content-type': 'text/plain; charset=utf-8' }).end('too many requests (rate_limit in the web config)\n');
      return;
    }
    if (!security || security.isOpen(url.pathname)) {
      this.#serve(req, res, url);
      return;
    }
    security.authenticate(req).then(
      (outcome) => {
        if (outcome === 'ok') {
          this.#serve(req, res, url);
          return;
        }
        // Never the Authorization header or what it decodes to: only where and what kind of failure.
        this.#options.logger.debug({ remote: req.socket.remoteAddress, path: url.pathname, outcome }, 'request refused: authentication');
        if (outcome === 'busy') {
          res.writeHead(429, { 'retry-after': '1', 'content-type': 'text/plain; charset=utf-8' }).end('too many authentication attempts in progress\n');
          return;
        }
        res.setHeader('www-authenticate', security.challenges());
        this.#text(res, 401, 'unauthorized\n');
      },
      (err: unknown) => {
        this.#options.logger.error({ err, path: url.pathname }, 'authentication failed');
        if (!res.headersSent) this.#text(res, 500, 'internal error\n');
        else res.end();
      },
    );
  }

  #serve(req: IncomingMessage, res: ServerResponse, url: URL): void {
    const route = this.#routes.routes.get(url.pathname);
    if (route) {
      Promise.resolve()
        .then(() => route.handler(req, res, url))
        .catch((err: unknown) => {
          this.#options.logger.error({ err, path: url.pathname }, 'request handler failed');
          if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' });
          res.end('internal error\n');
        });
      return;
    }
    if (AGENT_PATHS.includes(url.pathname) && req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain; charset=utf-8' }).end('method not allowed\n');
      return;
    }
    switch (url.pathname) {
      case '/healthz':
        this.#text(res, 200, 'ok\n');
        return;
      case '/readyz': {
        const { ready, detail } = this.#options.readiness();
        this.#text(res, ready ? 200 : 503, `${detail}\n`);
        return;
      }
      case '/':
        this.#text(res, 200, this.#indexPage());
        return;
      default:
        this.#text(res, 404, `not found: ${url.pathname}\n`);
    }
  }

  /** A failed handshake (plain HTTP on the TLS port, an unknown CA, no client certificate) just closes. */
  #onTlsClientError(err: NodeJS.ErrnoException, socket: Socket): void {
    this.#options.logger.debug({ remote: socket.remoteAddress, code: err.code }, 'TLS handshake failed');
    socket.destroy();
  }

  #indexPage(): string {
    const lines = ['nodemeter', '', 'endpoints:', '  /healthz  liveness', '  /readyz   readiness (every receiver has collected once)'];
    for (const [path, { description }] of this.#routes.routes) lines.push(`  ${path}  ${description}`);
    lines.push('', ...this.#options.describe(), '');
    return lines.join('\n');
  }

  #text(res: ServerResponse, status: number, body: string): void {
    res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8' }).end(body);
  }
}
