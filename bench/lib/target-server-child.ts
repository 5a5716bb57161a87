// The scrape targets of bench/podscrape.bench.ts: one Node process serving N instrumented "pods"
// on 127.0.0.1, each on its own port, each with its own body from bench/lib/exposition-payload.ts
// (Prometheus text 0.0.4). It runs apart from the agent and from Prometheus, so serving costs
// neither of them CPU; bodies (and their gzip forms) are built once at start, so a request costs
// a buffer write. Idle keep-alive connections are never closed by the server, as with a Go
// exporter (net/http has no idle timeout unless told). Every request is logged (target, arrival,
// end, encoding, bytes) so the benchmark can check that each pull fetched every target once, and
// see when the fetches of a pull began and ended.
// Run by the benchmark: node bench/lib/target-server-child.ts <targets> <series>, with an IPC
// channel. Import only types from here: importing a value would run the child.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { gzipSync } from 'node:zlib';

import { generateTargetExposition } from './exposition-payload.ts';

export type Encoding = 'identity' | 'gzip';

export type TargetServerRequest =
  /** `gzip`: a request whose Accept-Encoding allows gzip gets the gzip body; `identity`: plain, whatever it asks. */
  | { readonly type: 'encoding'; readonly encoding: Encoding }
  /** Forget the request log (the next `log` starts from here). */
  | { readonly type: 'reset' }
  | { readonly type: 'log' }
  | { readonly type: 'shutdown' };

export interface TargetInfo {
  port: number;
  /** Sample lines in the body. */
  samples: number;
  /** Body bytes as served without compression. */
  bytes: number;
  /** Body bytes gzip-compressed (level 6, zlib's default, as client_golang's promhttp compresses). */
  gzipBytes: number;
}

export interface RequestLog {
  /** Requests per target index since the last reset. */
  perTarget: number[];
  /** Requests answered with gzip / without. */
  gzip: number;
  identity: number;
  /** Requests not for /metrics of a known target (404). */
  other: number;
  /** Body bytes written (as sent: compressed when gzip). */
  bytesSent: number;
  /** Epoch ms (performance.timeOrigin + now(), sub-millisecond) of the first request's arrival and the last response's end; null when none. */
  firstArrivalMs: number | null;
  lastEndMs: number | null;
  /** Accept-Encoding and Accept of the last /metrics request, to report what the clients asked for. */
  lastAcceptEncoding: string | null;
  lastAccept: string | null;
  lastUserAgent: string | null;
}

export type TargetServerReply =
  | { readonly type: 'ready'; readonly pid: number; readonly targets: TargetInfo[]; readonly buildMs: number }
  | { readonly type: 'ok' }
  | { readonly type: 'log'; readonly log: RequestLog }
  | { readonly type: 'error'; readonly message: string };

const CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

function send(reply: TargetServerReply): void {
  process.send?.(reply);
}

function epochMs(): number {
  return performance.timeOrigin + performance.now();
}

function emptyLog(targets: number): RequestLog {
  return {
    perTarget: new Array<number>(targets).fill(0),
    gzip: 0,
    identity: 0,
    other: 0,
    bytesSent: 0,
    firstArrivalMs: null,
    lastEndMs: null,
    lastAcceptEncoding: null,
    lastAccept: null,
    lastUserAgent: null,
  };
}

/** Whether an Accept-Encoding value allows gzip (q > 0). */
function acceptsGzip(header: string | undefined): boolean {
  if (header === undefined) return false;
  for (const part of header.split(',')) {
    const [coding = '', ...params] = part.trim().toLowerCase().split(';');
    if (coding.trim() !== 'gzip' && coding.trim() !== '*') continue;
    const q = params.map((p) => p.trim()).find((p) => p.startsWith('q='));
    return q === undefined || Number(q.slice(2)) > 0;
  }
  return false;
}

function listen(server: Server): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject);
      const address = server.address();
      if (address === null || typeof address === 'string') reject(new Error('no port assigned'));
      else resolve(address.port);
    });
  });
}

async function main(): Promise<void> {
  if (process.send === undefined) throw new Error('target-server-child.ts is started by bench/podscrape.bench.ts with an IPC channel');
  const targets = Number(process.argv[2]);
  const series = Number(process.argv[3]);
  if (!Number.isInteger(targets) || targets < 1 || !Number.isInteger(series) || series < 1) throw new Error('usage: target-server-child.ts <targets> <series>');

  const buildStarted = performance.now();
  const bodies: Array<{ plain: Buffer; gzip: Buffer; samples: number }> = [];
  for (let i = 0; i < targets; i++) {
    const { text, samples } = generateTargetExposition(i, series);
    const plain = Buffer.from(text, 'utf8');
    bodies.push({ plain, gzip: gzipSync(plain, { level: 6 }), samples });
  }
  const buildMs = performance.now() - buildStarted;

  let encoding: Encoding = 'identity';
  let log = emptyLog(targets);
  const servers: Server[] = [];
  const sockets = new Set<Socket>();

  const handler = (index: number) => (req: IncomingMessage, res: ServerResponse): void => {
    const arrived = epochMs();
    log.firstArrivalMs ??= arrived;
    const body = bodies[index];
    const path = (req.url ?? '').split('?')[0];
    if (body === undefined || req.method !== 'GET' || path !== '/metrics') {
      log.other++;
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
      return;
    }
    log.perTarget[index] = (log.perTarget[index] ?? 0) + 1;
    log.lastAcceptEncoding = req.headers['accept-encoding'] ?? null;
    log.lastAccept = req.headers.accept ?? null;
    log.lastUserAgent = req.headers['user-agent'] ?? null;
    const gzip = encoding === 'gzip' && acceptsGzip(req.headers['accept-encoding']);
    const payload = gzip ? body.gzip : body.plain;
    if (gzip) log.gzip++;
    else log.identity++;
    log.bytesSent += payload.length;
    res.on('finish', () => {
      log.lastEndMs = epochMs();
    });
    res.writeHead(200, {
      'content-type': CONTENT_TYPE,
      'content-length': String(payload.length),
      ...(gzip ? { 'content-encoding': 'gzip' } : {}),
      vary: 'Accept-Encoding',
    });
    res.end(payload);
  };

  for (let i = 0; i < targets; i++) {
    const server = createServer(handler(i));
    // Like a Go exporter: idle keep-alive connections stay open until the client closes them.
    server.keepAliveTimeout = 0;
    server.on('connection', (socket: Socket) => {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
    });
    servers.push(server);
  }
  const ports: number[] = [];
  for (const server of servers) ports.push(await listen(server));

  const shutdown = async (): Promise<void> => {
    const closed = servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve())));
    for (const s of sockets) s.destroy();
    await Promise.all(closed);
  };

  process.on('message', (req: TargetServerRequest) => {
    try {
      if (req.type === 'encoding') {
        encoding = req.encoding;
        send({ type: 'ok' });
      } else if (req.type === 'reset') {
        log = emptyLog(targets);
        send({ type: 'ok' });
      } else if (req.type === 'log') {
        send({ type: 'log', log });
      } else {
        void shutdown().finally(() => process.disconnect());
      }
    } catch (err) {
      send({ type: 'error', message: err instanceof Error ? (err.stack ?? err.message) : String(err) });
    }
  });
  // The benchmark went away (even SIGKILLed): nothing is left listening.
  process.on('disconnect', () => process.exit(0));
  send({
    type: 'ready',
    pid: process.pid,
    buildMs,
    targets: bodies.map((b, i) => ({ port: ports[i] as number, samples: b.samples, bytes: b.plain.length, gzipBytes: b.gzip.length })),
  });
}

main().catch((err: unknown) => {
  process.stderr.write(`target-server-child: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
