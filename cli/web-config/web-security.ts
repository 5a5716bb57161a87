import type { IncomingMessage } from 'node:http';
import type { SecureContextOptions, TLSSocket } from 'node:tls';
import type { Logger } from 'pino';
import type { Env } from '../../config/env-expand.ts';
import { ConfigValidationError } from '../../config/issues.ts';
import { errorMessage } from '../../pipeline/errors.ts';
import { FileSnapshots } from '../../pipeline/file-snapshots.ts';
import { PROBE_PATHS } from '../../pipeline/route-table.ts';
import { Authenticator, type AuthOutcome } from './authenticator.ts';
import { loadWebConfigFile, readTokenFile, type LoadedWebConfig } from './load.ts';
import { loadTlsMaterial, type TlsMaterial } from './tls-material.ts';
import { TokenBucket } from './token-bucket.ts';
import { authRequired, fileState, watchedFiles, type RateLimit, type WebConfig } from './web-config.ts';

/** How often the web config and the files it names are read for changes. */
export const DEFAULT_POLL_INTERVAL_MS = 3_000;

const MAX_WATCHED_BYTES = 1024 * 1024;

export interface WebSecurityOptions {
  readonly loaded: LoadedWebConfig;
  readonly logger: Logger;
  /** For `${env:…}` in the web config when it is read again. */
  readonly env: Env;
  readonly pollIntervalMs?: number;
}

/** The TLS server options that cannot change without a restart: whether and how client certificates are asked for. */
export interface ClientCertOptions {
  readonly requestCert: boolean;
  readonly rejectUnauthorized: boolean;
}

/**
 * What the web config asks of the agent's HTTP server: TLS material, credentials, open paths
 * and extra response headers. It keeps them current: every few seconds it reads the web config
 * and the files it names, and takes in what changed (a renewed certificate, a rotated token, new
 * users). A change that does not check out is logged, naming the files, and the previous state
 * stays in force. Whether the server speaks TLS at all, and the client certificate policy, are
 * fixed at start: changing them is logged as needing a restart.
 */
export class WebSecurity {
  readonly #logger: Logger;
  readonly #env: Env;
  readonly #pollIntervalMs: number;
  readonly #tlsAtStart: TlsMaterial | undefined;
  #config: WebConfig;
  #authenticator: Authenticator;
  #bucket: TokenBucket | undefined;
  #tokenDigests: Map<string, Buffer>;
  /** {@link fileState} of every watched file as last seen (or its read error): at first, as loading read it. */
  #seen: Map<string, string>;
  /** Polls stat the watched files and read one only when its stat changed. */
  readonly #snapshots = new FileSnapshots(MAX_WATCHED_BYTES);
  #polling = false;
  #timer: NodeJS.Timeout | undefined;
  #onTls: ((context: SecureContextOptions) => void) | undefined;

  constructor(options: WebSecurityOptions) {
    this.#logger = options.logger;
    this.#env = options.env;
    this.#pollIntervalMs = options.pollIntervalMs ?? DEFAULT_POLL_INTERVAL_MS;
    this.#tlsAtStart = options.loaded.tls;
    this.#config = options.loaded.config;
    this.#tokenDigests = new Map(options.loaded.tokenFileDigests);
    this.#authenticator = this.#makeAuthenticator(this.#config);
    this.#bucket = makeBucket(this.#config.rateLimit);
    this.#seen = new Map(options.loaded.fileStates);
  }

  /** The TLS material at start; undefined: plain HTTP. */
  get tls(): TlsMaterial | undefined {
    return this.#tlsAtStart;
  }

  get clientCertOptions(): ClientCertOptions {
    const type = this.#config.tls?.clientAuthType ?? 'NoClientCert';
    return { requestCert: type !== 'NoClientCert', rejectUnauthorized: type === 'RequireAndVerifyClientCert' };
  }

  /** For the `listening` log line: what is in force, no secrets. */
  describe(): Record<string, unknown> {
    const c = this.#config;
    return {
      webConfig: c.source,
      tls: c.tls !== undefined,
      clientAuth: c.tls?.clientAuthType ?? 'NoClientCert',
      basicAuthUsers: Object.keys(c.basicAuthUsers).length,
      bearerTokens: c.bearerTokenHashes.length + c.bearerTokenFiles.length,
      authExcludedPaths: authRequired(c) ? c.authExcludedPaths : undefined,
      rateLimit: c.rateLimit === undefined ? undefined : { intervalMs: c.rateLimit.intervalMs, burst: c.rateLimit.burst },
    };
  }

  get headers(): Readonly<Record<string, string>> {
    return this.#config.headers;
  }

  /**
   * Whether a request for `path` is within `rate_limit` (it then uses up one token), or else how
   * many seconds until the next is (for Retry-After). The probes are never limited, so a flood
   * of pulls cannot get the agent restarted by a failed liveness probe; they cost next to nothing.
   */
  admit(path: string): { admitted: true } | { admitted: false; retryAfterSeconds: number } {
    const bucket = this.#bucket;
    if (bucket === undefined || PROBE_PATHS.includes(path) || bucket.take()) return { admitted: true };
    return { admitted: false, retryAfterSeconds: bucket.retryAfterSeconds() };
  }

  /** True when `path` is served without credentials. */
  isOpen(path: string): boolean {
    return !authRequired(this.#config) || this.#config.authExcludedPaths.includes(path);
  }

  /** The request's credentials against the current users and tokens. */
  authenticate(req: IncomingMessage): Promise<AuthOutcome> {
    return this.#authenticator.check(req.headers.authorization);
  }

  /** `WWW-Authenticate` values for a 401: the schemes the agent accepts. */
  challenges(): string[] {
    const out: string[] = [];
    if (Object.keys(this.#config.basicAuthUsers).length > 0) out.push('Basic realm="nodemeter", charset="UTF-8"');
    if (this.#config.bearerTokenHashes.length > 0 || this.#config.bearerTokenFiles.length > 0) out.push('Bearer realm="nodemeter"');
    return out;
  }

  /**
   * Why a TLS connection must be dropped under the client certificate policy, or undefined.
   * RequireAndVerifyClientCert is enforced in the handshake itself (rejectUnauthorized); the
   * weaker policies and `client_allowed_sans` are checked here, right after it.
   */
  clientCertProblem(socket: TLSSocket): string | undefined {
    const tls = this.#config.tls;
    if (!tls || tls.clientAuthType === 'NoClientCert' || tls.clientAuthType === 'RequestClientCert') return undefined;
    const peer = socket.getPeerCertificate();
    const presented = peer !== null && Object.keys(peer).length > 0;
    if (!presented) return tls.clientAuthType === 'VerifyClientCertIfGiven' ? undefined : 'no client certificate';
    if (tls.clientAuthType === 'VerifyClientCertIfGiven' && !socket.authorized) return `client certificate not verified: ${String(socket.authorizationError)}`;
    if (tls.clientAllowedSans !== undefined) {
      const sans = (peer.subjectaltname ?? '').split(/,\s*/).map((s) => s.slice(s.indexOf(':') + 1));
      if (!sans.some((s) => tls.clientAllowedSans?.includes(s))) return 'client certificate has none of client_allowed_sans';
    }
    return undefined;
  }

  /** Starts watching; `onTls` gets each new, checked TLS context (server.setSecureContext). */
  start(onTls: (context: SecureContextOptions) => void): void {
    this.#onTls = onTls;
    if (this.#timer) return;
    this.#timer = setInterval(() => void this.poll(), this.#pollIntervalMs);
    this.#timer.unref();
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  /** One look for changes (the timer calls it; tests may too). Never rejects; a poll still under way makes it a no-op. */
  async poll(): Promise<void> {
    if (this.#polling) return;
    this.#polling = true;
    try {
      await this.#poll();
    } catch (err) {
      this.#logger.error({ err, webConfig: this.#config.source }, 'checking the web config for changes failed');
    } finally {
      this.#polling = false;
    }
  }

  async #poll(): Promise<void> {
    const changed: string[] = [];
    for (const file of watchedFiles(this.#config)) {
      const state = await this.#stateOf(file);
      if (this.#seen.get(file) === state) continue;
      this.#seen.set(file, state);
      changed.push(file);
    }
    if (changed.length === 0) return;
    if (changed.includes(this.#config.source)) {
      this.#reloadAll();
      return;
    }
    const tls = this.#config.tls;
    const tlsFiles = [tls?.cert, tls?.key, tls?.clientCa].flatMap((p) => (p && 'file' in p ? [p.file] : []));
    if (tls && changed.some((f) => tlsFiles.includes(f))) this.#reloadTls(tlsFiles);
    for (const file of changed.filter((f) => this.#config.bearerTokenFiles.includes(f))) {
      const r = readTokenFile(file);
      if ('error' in r) {
        this.#logger.warn({ file, problem: r.error }, 'bearer token file not usable; keeping the token read before');
        continue;
      }
      this.#tokenDigests.set(file, r.digest);
      this.#logger.info({ file }, 'bearer token file reloaded');
    }
  }

  #reloadTls(files: string[]): void {
    const tls = this.#config.tls;
    if (!tls || !this.#tlsAtStart) return;
    const result = loadTlsMaterial(tls);
    if (!result.ok) {
      this.#logger.warn(
        { files, problems: result.problems.map((p) => `${p.path.join('::')}: ${p.message}`) },
        'new TLS certificate or key not usable; keeping the previous ones',
      );
      return;
    }
    this.#onTls?.(result.material.context);
    this.#logger.info({ files, certificate: result.material.certificate }, 'TLS certificate reloaded');
  }

  #reloadAll(): void {
    let loaded: LoadedWebConfig;
    try {
      loaded = loadWebConfigFile(this.#config.source, this.#env);
    } catch (err) {
      const problems = err instanceof ConfigValidationError ? err.message.split('\n') : [errorMessage(err)];
      this.#logger.warn({ webConfig: this.#config.source, problems }, 'changed web config not usable; keeping the previous one');
      return;
    }
    const before = this.#config;
    if ((before.tls === undefined) !== (loaded.config.tls === undefined) || before.tls?.clientAuthType !== loaded.config.tls?.clientAuthType) {
      this.#logger.warn(
        { webConfig: before.source },
        'the web config now turns TLS or client certificates on or off; that takes a restart, the rest of the change is in force',
      );
    }
    // The TLS settings stay those of the start when TLS itself was switched; otherwise take the new ones.
    const tls = before.tls !== undefined && loaded.config.tls !== undefined ? { ...loaded.config.tls, clientAuthType: before.tls.clientAuthType } : before.tls;
    this.#config = { ...loaded.config, tls };
    this.#tokenDigests = new Map(loaded.tokenFileDigests);
    this.#authenticator = this.#makeAuthenticator(this.#config);
    // A new bucket only for new settings: rewriting the file must not hand out a fresh burst.
    if (!sameRateLimit(before.rateLimit, this.#config.rateLimit)) this.#bucket = makeBucket(this.#config.rateLimit);
    this.#seen = new Map(loaded.fileStates);
    if (loaded.tls && this.#tlsAtStart) this.#onTls?.(loaded.tls.context);
    this.#logger.info(this.describe(), 'web config reloaded');
  }

  #makeAuthenticator(config: WebConfig): Authenticator {
    return new Authenticator({
      users: config.basicAuthUsers,
      tokenDigests: () => [...config.bearerTokenHashes, ...this.#tokenDigests.values()],
    });
  }

  /**
   * A watched file's state for change detection: a hash of its bytes, or its read error. The
   * file is read (and hashed) only when its stat changed since the last poll.
   */
  async #stateOf(file: string): Promise<string> {
    try {
      const { contents, changed } = await this.#snapshots.read(file);
      const previous = this.#seen.get(file);
      if (!changed && previous !== undefined && !previous.startsWith('error: ')) return previous;
      return fileState(contents);
    } catch (err) {
      return `error: ${errorMessage(err)}`;
    }
  }
}

function makeBucket(limit: RateLimit | undefined): TokenBucket | undefined {
  return limit === undefined ? undefined : new TokenBucket(limit.intervalMs, limit.burst);
}

function sameRateLimit(a: RateLimit | undefined, b: RateLimit | undefined): boolean {
  return a?.intervalMs === b?.intervalMs && a?.burst === b?.burst;
}
