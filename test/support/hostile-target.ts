/**
 * A scrape target that misbehaves on request, for the pod-scrape client's tests: one HTTP (or
 * HTTPS, self-signed) server on 127.0.0.1 with a port the OS picks, whose answer per path is
 * scripted with the behaviours below. It records every request (path, headers, which
 * connection carried it) so a test can prove what was sent and what was never asked for.
 *
 * Large bodies are made at request time (one deflated MiB of zeros repeated, repeated lines)
 * and paced by backpressure, so a 10 GiB bomb costs the test nothing until a client reads it,
 * and only as much as it reads. `close()` drops every connection, which ends every behaviour.
 */
import { once } from 'node:events';
import { readFile } from 'node:fs/promises';
import { createServer as createHttpServer, type IncomingHttpHeaders, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { Socket } from 'node:net';
import { TLSSocket } from 'node:tls';
import { Readable, pipeline } from 'node:stream';
import { constants, crc32, deflateRawSync, gzipSync } from 'node:zlib';
import { makeTestPki } from './tls.ts';

/** Answers one request. Anything it starts (timers, streams) must end when `res` closes. */
export type Behaviour = (req: IncomingMessage, res: ServerResponse, target: HostileTarget) => void;

export interface RecordedRequest {
  /** Path and query as requested. */
  readonly url: string;
  readonly headers: IncomingHttpHeaders;
  /** 1 for the first connection that carried a request, 2 for the next, … */
  readonly connection: number;
  /** How many requests this connection carried before this one. */
  readonly previousOnConnection: number;
  /** The SNI name the client sent (HTTPS only). */
  readonly tlsServerName: string | undefined;
}

export interface HostileTargetOptions {
  /** Serve HTTPS with a fresh certificate for 127.0.0.1 and {@link HOSTILE_TLS_NAME}, signed by a test CA (tls.ts). */
  https?: boolean;
}

/** The DNS name in the HTTPS certificate besides IP 127.0.0.1 (for SNI / serverName tests). */
export const HOSTILE_TLS_NAME = 'hostile-target.test';

const EXPOSITION_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

export class HostileTarget {
  /** `http://127.0.0.1:<port>` or `https://…`. */
  readonly origin: string;
  /** The test CA's certificate (PEM file) that signed the server's; undefined for HTTP. */
  readonly caFile: string | undefined;
  readonly requests: RecordedRequest[] = [];
  /** TCP connections accepted so far. */
  acceptedConnections = 0;

  readonly #server: Server;
  readonly #routes = new Map<string, Behaviour>();
  readonly #connectionIds = new WeakMap<Socket, { id: number; requests: number }>();
  readonly #removeTempDir: (() => Promise<void>) | undefined;
  #connectionCount = 0;
  #closed: Promise<void> | undefined;

  private constructor(server: Server, origin: string, caFile: string | undefined, removeTempDir: (() => Promise<void>) | undefined) {
    this.#server = server;
    this.origin = origin;
    this.caFile = caFile;
    this.#removeTempDir = removeTempDir;
    server.on('connection', () => {
      this.acceptedConnections += 1;
    });
    server.on('request', (req: IncomingMessage, res: ServerResponse) => this.#answer(req, res));
  }

  static async start(options: HostileTargetOptions = {}): Promise<HostileTarget> {
    let server: Server;
    let caFile: string | undefined;
    let removeTempDir: (() => Promise<void>) | undefined;
    if (options.https === true) {
      const pki = await makeTestPki({ dnsNames: [HOSTILE_TLS_NAME] });
      removeTempDir = () => pki.remove();
      caFile = pki.caFile;
      try {
        server = createHttpsServer({ key: await readFile(pki.serverKeyFile), cert: await readFile(pki.serverCertFile) });
      } catch (err) {
        await pki.remove();
        throw err;
      }
    } else {
      server = createHttpServer();
    }
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const address = server.address();
    const port = typeof address === 'object' && address !== null ? address.port : 0;
    const scheme = options.https === true ? 'https' : 'http';
    return new HostileTarget(server, `${scheme}://127.0.0.1:${port}`, caFile, removeTempDir);
  }

  /** `origin` + `path` as a URL. */
  url(path: string): URL {
    return new URL(path, this.origin);
  }

  /** Answers requests for `path` (query ignored) with `behaviour`; unrouted paths get 404. */
  route(path: string, behaviour: Behaviour): this {
    this.#routes.set(path, behaviour);
    return this;
  }

  /** Requests received for `path` (query ignored). */
  hits(path: string): number {
    return this.requests.filter((r) => new URL(r.url, this.origin).pathname === path).length;
  }

  /** The most recent request for `path`; throws when there is none. */
  lastRequest(path: string): RecordedRequest {
    const found = this.requests.findLast((r) => new URL(r.url, this.origin).pathname === path);
    if (found === undefined) throw new Error(`no request for ${path} among ${this.requests.map((r) => r.url).join(', ') || 'none'}`);
    return found;
  }

  /** Connections open right now, as the server counts them. */
  openConnections(): Promise<number> {
    return new Promise((resolve, reject) => this.#server.getConnections((err, count) => (err ? reject(err) : resolve(count))));
  }

  /** Stops listening, drops every connection (ending every behaviour in progress), removes the temp dir. Idempotent. */
  close(): Promise<void> {
    this.#closed ??= (async () => {
      const closed = new Promise<void>((resolve) => this.#server.close(() => resolve()));
      this.#server.closeAllConnections();
      await closed;
      await this.#removeTempDir?.();
    })();
    return this.#closed;
  }

  #answer(req: IncomingMessage, res: ServerResponse): void {
    const socket = req.socket;
    let connection = this.#connectionIds.get(socket);
    if (connection === undefined) {
      this.#connectionCount += 1;
      connection = { id: this.#connectionCount, requests: 0 };
      this.#connectionIds.set(socket, connection);
    }
    const sni = socket instanceof TLSSocket ? socket.servername : undefined;
    this.requests.push({
      url: req.url ?? '',
      headers: req.headers,
      connection: connection.id,
      previousOnConnection: connection.requests,
      tlsServerName: typeof sni === 'string' ? sni : undefined,
    });
    connection.requests += 1;
    const path = new URL(req.url ?? '/', this.origin).pathname;
    const behaviour = this.#routes.get(path) ?? status(404, 'no such route\n');
    behaviour(req, res, this);
  }
}

/** A normal answer: `body` (bytes as given: invalid UTF-8 stays invalid), optionally gzipped. */
export function exposition(body: string | Buffer, options: { gzip?: boolean; contentType?: string; status?: number } = {}): Behaviour {
  const raw = typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
  const payload = options.gzip === true ? gzipSync(raw) : raw;
  return (_req, res) => {
    res.writeHead(options.status ?? 200, {
      'content-type': options.contentType ?? EXPOSITION_TYPE,
      'content-length': payload.length,
      ...(options.gzip === true ? { 'content-encoding': 'gzip' } : {}),
    });
    res.end(payload);
  };
}

/** Any status, with a short body. */
export function status(code: number, body = ''): Behaviour {
  return (_req, res) => {
    res.writeHead(code, { 'content-type': 'text/plain', 'content-length': Buffer.byteLength(body) });
    res.end(body);
  };
}

/** A redirect to `location` (absolute or relative). */
export function redirect(location: string, code = 302): Behaviour {
  return (_req, res) => {
    res.writeHead(code, { location, 'content-length': 0 });
    res.end();
  };
}

/** The status line, then headers one byte every `intervalMs`, never finishing them. */
export function slowHeaders(intervalMs: number): Behaviour {
  return (req) => {
    const socket = req.socket;
    socket.write('HTTP/1.1 200 OK\r\n');
    const line = 'X-Trickle: ' + 'a'.repeat(1000);
    let i = 0;
    const timer = setInterval(() => {
      socket.write(line[i % line.length] ?? 'a');
      i += 1;
    }, intervalMs);
    socket.once('close', () => clearInterval(timer));
  };
}

/** 200 and headers at once, then a comment line every `intervalMs`, forever. */
export function endlessBody(intervalMs: number): Behaviour {
  return (_req, res) => {
    res.writeHead(200, { 'content-type': EXPOSITION_TYPE });
    res.write('# the body never ends\n');
    const timer = setInterval(() => res.write('#\n'), intervalMs);
    res.once('close', () => clearInterval(timer));
  };
}

/** Zeros per repeated deflate segment of {@link gzipBomb}. */
const BOMB_SEGMENT_BYTES = 1024 * 1024;

/**
 * One gzip member of `decompressedBytes` zeros (rounded up to MiB; 1 GiB ≈ 1 MiB on the wire),
 * streamed as it is read. 1 MiB of zeros is deflated once, fresh and ended with a full flush, so
 * the segment refers to nothing before it and can be repeated back to back as one valid
 * stream: the server spends no CPU per byte, and the client does all the decompressing it
 * chooses to do. The CRC in the trailer is only computed if a client reads that far.
 */
export function gzipBomb(decompressedBytes: number): Behaviour {
  const segments = Math.ceil(decompressedBytes / BOMB_SEGMENT_BYTES);
  let segment: Buffer | undefined;
  return (_req, res) => {
    segment ??= deflateRawSync(Buffer.alloc(BOMB_SEGMENT_BYTES), { level: 9, finishFlush: constants.Z_FULL_FLUSH });
    const repeated = Buffer.concat(Array.from({ length: 64 }, () => segment as Buffer));
    let sent = 0;
    let ended = false;
    const source = new Readable({
      read() {
        if (ended) return;
        if (sent === 0) this.push(GZIP_HEADER);
        if (sent < segments) {
          const n = Math.min(64, segments - sent);
          sent += n;
          this.push(n === 64 ? repeated : repeated.subarray(0, n * (segment as Buffer).length));
          return;
        }
        ended = true;
        this.push(Buffer.concat([FINAL_EMPTY_BLOCK, gzipTrailer(segments)]));
        this.push(null);
      },
    });
    res.writeHead(200, { 'content-type': EXPOSITION_TYPE, 'content-encoding': 'gzip' });
    // The client hanging up is the expected end; pipeline then destroys both streams.
    pipeline(source, res, () => undefined);
  };
}

/** Magic, deflate, no flags, no mtime, no extra flags, OS unknown. */
const GZIP_HEADER = Buffer.from([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff]);
/** A final, empty, fixed-Huffman deflate block: ends the stream after the segments. */
const FINAL_EMPTY_BLOCK = Buffer.from([0x03, 0x00]);

function gzipTrailer(segments: number): Buffer {
  const zeros = Buffer.alloc(BOMB_SEGMENT_BYTES);
  let crc = 0;
  for (let i = 0; i < segments; i++) crc = crc32(zeros, crc);
  const trailer = Buffer.alloc(8);
  trailer.writeUInt32LE(crc >>> 0, 0);
  trailer.writeUInt32LE((segments * BOMB_SEGMENT_BYTES) % 2 ** 32, 4);
  return trailer;
}

/** `bytes` of exposition lines, with a true Content-Length or chunked. */
export function hugeBody(bytes: number, options: { declareLength: boolean }): Behaviour {
  const line = Buffer.from(`filler_metric{pad="${'x'.repeat(100)}"} 1\n`);
  return (_req, res) => {
    let left = bytes;
    const source = new Readable({
      read() {
        if (left <= 0) {
          this.push(null);
          return;
        }
        const n = Math.min(left, line.length);
        left -= n;
        this.push(n === line.length ? line : line.subarray(0, n));
      },
    });
    res.writeHead(200, { 'content-type': EXPOSITION_TYPE, ...(options.declareLength ? { 'content-length': bytes } : {}) });
    pipeline(source, res, () => undefined);
  };
}

/** A Content-Length that claims `claimedBytes` and nothing sent: fails at the header. */
export function liesAboutLength(claimedBytes: number): Behaviour {
  return (_req, res) => {
    res.writeHead(200, { 'content-type': EXPOSITION_TYPE, 'content-length': claimedBytes });
    // Then silence: a client that waits for the body instead of checking the header times out.
    res.flushHeaders();
  };
}

/** `body` sent as is under a Content-Encoding the client did not ask for. */
export function wrongEncoding(encoding: string, body: string): Behaviour {
  return (_req, res) => {
    res.writeHead(200, { 'content-type': EXPOSITION_TYPE, 'content-encoding': encoding, 'content-length': Buffer.byteLength(body) });
    res.end(body);
  };
}

/** Claims gzip: `kind` 'crc' sends a real gzip stream with a wrong checksum, 'plain' sends plain text. */
export function corruptGzip(kind: 'crc' | 'plain', body = 'up 1\n'.repeat(100)): Behaviour {
  let payload: Buffer;
  if (kind === 'crc') {
    payload = gzipSync(body);
    const crcAt = payload.length - 8;
    payload.writeUInt32LE((payload.readUInt32LE(crcAt) ^ 0xffffffff) >>> 0, crcAt);
  } else {
    payload = Buffer.from(body);
  }
  return (_req, res) => {
    res.writeHead(200, { 'content-type': EXPOSITION_TYPE, 'content-encoding': 'gzip', 'content-length': payload.length });
    res.end(payload);
  };
}

/** Headers with a Content-Length of `declared`, `sent` bytes of it, then the connection drops. */
export function truncated(declared: number, sent: number): Behaviour {
  return (req, res) => {
    res.writeHead(200, { 'content-type': EXPOSITION_TYPE, 'content-length': declared });
    res.write('#'.repeat(sent), () => req.socket.destroy());
  };
}

/** Bytes that are not HTTP at all, then the connection closes. */
export function garbage(text = 'SSH-2.0-OpenSSH_9.2\r\n\r\n'): Behaviour {
  return (req) => {
    req.socket.end(text);
  };
}

/** Waits `ms`, then answers with `then` (nothing if the client left meanwhile). */
export function delayed(ms: number, then: Behaviour): Behaviour {
  return (req, res, target) => {
    const timer = setTimeout(() => then(req, res, target), ms);
    res.once('close', () => clearTimeout(timer));
  };
}

/**
 * Answers with `then` on a connection's first request and drops the connection without an
 * answer on any later one: a server that closed an idle keep-alive connection just as the
 * client reused it.
 */
export function dropsReusedConnections(then: Behaviour): Behaviour {
  return (req, res, target) => {
    const previous = target.requests.at(-1)?.previousOnConnection ?? 0;
    if (previous > 0) req.socket.destroy();
    else then(req, res, target);
  };
}

