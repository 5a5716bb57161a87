/**
 * Runs Debian's real Pushgateway (`/usr/bin/prometheus-pushgateway`, 1.5.1) on 127.0.0.1 for
 * integration tests: a free port (retried if taken), persistence off (`--persistence.file=` empty:
 * Debian's build has a default file, so leaving the flag out is not enough; nothing is written to
 * disk and every start is empty), ready when `/-/ready` answers 200.
 *
 * {@link Pushgateway.push} sends one group in the text format the way a batch job does
 * (`PUT` replaces the whole group, `POST` only the families it names); {@link Pushgateway.metricsUrl}
 * is what Prometheus (or the agent) scrapes. Always pair `start()` with `after(() => pg.close())`;
 * the process is also SIGKILLed if the test process exits first (see proc.ts).
 *
 * With {@link PushgatewayOptions.webConfig} it is started with `--web.config.file` (the Prometheus
 * exporter-toolkit format): HTTPS only with a given certificate, and/or HTTP basic authentication
 * on every path. The helper's own requests (the readiness check, push, scrape, get) then go over
 * HTTPS trusting the given CA and with the given credentials.
 */
import type { ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import type { IncomingMessage } from 'node:http';
import { join } from 'node:path';
import { ChildServer } from './child-server.ts';
import { httpRequest } from './http.ts';
import { freePort } from './ports.ts';
import { makeTempDir, spawnTracked, waitFor, waitForExit } from './proc.ts';

/** The binary, by fixed path: the Debian package's (see scripts/install-test-deps.sh). */
export const PUSHGATEWAY = '/usr/bin/prometheus-pushgateway';

/** What a push sends as Content-Type: the text exposition format. */
const TEXT_FORMAT = 'text/plain; version=0.0.4; charset=utf-8';

export interface PushgatewayOptions {
  /** Extra flags, e.g. `--push.disable-consistency-check`. */
  extraArgs?: string[];
  /** How long to wait for `/-/ready` = 200; default 15 s. */
  readyTimeoutMs?: number;
  /** Listen on this port (one try) instead of a free one, e.g. to start it again where it was. */
  port?: number;
  /** Start it with a `--web.config.file` holding these settings (written to a temp dir, removed on close). */
  webConfig?: PushgatewayWebConfig;
}

/** What goes into the exporter-toolkit web config file, and how the helper itself gets in. */
export interface PushgatewayWebConfig {
  /**
   * `tls_server_config`: serve HTTPS (only) with this certificate and key. The helper's own
   * requests trust `caFile` alone (see test/support/tls.ts).
   */
  tls?: { certFile: string; keyFile: string; caFile: string };
  /** `basic_auth_users`: user name → bcrypt hash. Every path needs the credentials then, `/-/ready` too. */
  basicAuthUsers?: Readonly<Record<string, string>>;
  /** The user and password the helper's own requests send (needed with `basicAuthUsers`). */
  credentials?: { username: string; password: string };
}

/** An answer to one of the helper's requests. */
export interface PushgatewayResponse {
  status: number;
  headers: IncomingMessage['headers'];
  body: string;
}

export interface PushgatewayRequestOptions {
  /** Send the configured credentials (default true); false: none, to see the gateway refuse. */
  auth?: boolean;
  /** Give up after this long; default 10 s. */
  timeoutMs?: number;
}

export interface PushOptions {
  /** `PUT` (default) replaces every metric of the group; `POST` replaces only the families in `body`. */
  method?: 'PUT' | 'POST';
  /** Give up after this long; default 10 s. */
  timeoutMs?: number;
}

/**
 * The path of a group: `/metrics/job/<job>/<label>/<value>…`. A value that is empty or holds a
 * `/` cannot be a path segment, so it goes base64url-encoded as `<label>@base64/<value>` (an empty
 * one as `=`), as the Pushgateway's README prescribes; anything else is percent-encoded.
 */
export function groupPath(job: string, groupingLabels: Readonly<Record<string, string>> = {}): string {
  if (job === '') throw new Error('a Pushgateway group needs a non-empty job');
  const segment = (name: string, value: string): string =>
    value === '' ? `${name}@base64/=` : value.includes('/') ? `${name}@base64/${Buffer.from(value).toString('base64url')}` : `${name}/${encodeURIComponent(value)}`;
  return ['/metrics', segment('job', job), ...Object.entries(groupingLabels).map(([name, value]) => segment(name, value))].join('/');
}

export class Pushgateway extends ChildServer {
  /** The command line it was started with. */
  readonly command: readonly string[];
  /** The web config it runs with, if any. */
  readonly webConfig: PushgatewayWebConfig | undefined;
  private readonly removeWebConfig: () => Promise<void>;
  private closed = false;

  private constructor(port: number, child: ChildProcess, command: readonly string[], webConfig: PushgatewayWebConfig | undefined, removeWebConfig: () => Promise<void>) {
    super(port, child);
    this.command = command;
    this.webConfig = webConfig;
    this.removeWebConfig = removeWebConfig;
  }

  static async start(options: PushgatewayOptions = {}): Promise<Pushgateway> {
    const webConfig = options.webConfig;
    let lastError: unknown;
    for (let attempt = 0; attempt < (options.port === undefined ? 5 : 1); attempt++) {
      const port = options.port ?? (await freePort());
      // A dir per attempt: each Pushgateway reads its file on every request, so it lives until close().
      const dir = webConfig === undefined ? undefined : await makeTempDir('nodemeter-pgweb-');
      const extra: string[] = [];
      if (dir !== undefined && webConfig !== undefined) {
        const file = join(dir.path, 'web-config.yml');
        await writeFile(file, webConfigYaml(webConfig), { mode: 0o600 });
        extra.push(`--web.config.file=${file}`);
      }
      // Debian's build defaults --persistence.file to /var/lib/prometheus/pushgateway.data, which
      // every test gateway would then load at start and write at exit: empty turns persistence off.
      const args = [`--web.listen-address=127.0.0.1:${port}`, '--persistence.file=', '--log.level=warn', ...extra, ...(options.extraArgs ?? [])];
      const child = spawnTracked(PUSHGATEWAY, args);
      const pg = new Pushgateway(port, child, [PUSHGATEWAY, ...args], webConfig, dir?.remove ?? (() => Promise.resolve()));
      let lastReady = '';
      try {
        await waitFor(
          'pushgateway /-/ready',
          async () => {
            if (child.exitCode !== null || child.signalCode !== null) throw new Error(`pushgateway exited ${child.exitCode ?? child.signalCode}: ${pg.output}`);
            const res = await pg.get('/-/ready', { timeoutMs: 2_000 }).catch((err: Error) => {
              lastReady = err.message;
              return undefined;
            });
            if (res !== undefined) lastReady = `HTTP ${res.status}: ${res.body.trim().slice(0, 200)}`;
            return res?.status === 200 ? true : undefined;
          },
          { timeoutMs: options.readyTimeoutMs ?? 15_000, intervalMs: 50 },
        );
        return pg;
      } catch (err) {
        lastError = new Error(`${(err as Error).message} (last answer: ${lastReady || 'none'}; output: ${pg.output.trim().slice(-1_000)})`);
        const inUse = /address already in use/i.test(pg.output);
        await pg.close();
        if (!inUse) break;
      }
    }
    throw new Error(`pushgateway did not start: ${(lastError as Error | undefined)?.message ?? 'unknown'}`);
  }

  /** `http://127.0.0.1:<port>`, or `https://…` when it serves TLS. */
  override get url(): string {
    return `${this.webConfig?.tls === undefined ? 'http' : 'https'}://127.0.0.1:${this.port}`;
  }

  /** `http(s)://127.0.0.1:<port>/metrics`: every pushed group plus the Pushgateway's own metrics. */
  get metricsUrl(): string {
    return `${this.url}/metrics`;
  }

  /** The pid of the Pushgateway process. */
  get pid(): number {
    return this.child.pid!;
  }

  /**
   * Pushes `body` (text format) as the group `job` + `groupingLabels`. Resolves once the
   * Pushgateway accepted it (2xx; it checks the push against what it holds before answering);
   * rejects with its answer otherwise.
   */
  async push(job: string, groupingLabels: Readonly<Record<string, string>>, body: string, options: PushOptions = {}): Promise<void> {
    const path = groupPath(job, groupingLabels);
    const method = options.method ?? 'PUT';
    const res = await this.request(method, path, { body, contentType: TEXT_FORMAT, timeoutMs: options.timeoutMs });
    if (res.status < 200 || res.status >= 300) throw new Error(`${method} ${path}: HTTP ${res.status}: ${res.body.trim()}`);
  }

  /** GET {@link metricsUrl} in the text format; rejects unless 200. */
  async scrape(): Promise<string> {
    const res = await this.get('/metrics');
    if (res.status !== 200) throw new Error(`pushgateway /metrics: HTTP ${res.status}: ${res.body.slice(0, 500)}`);
    return res.body;
  }

  /** GET `path` (e.g. `/api/v1/metrics`) with the configured CA and credentials; any status resolves. */
  get(path: string, options: PushgatewayRequestOptions = {}): Promise<PushgatewayResponse> {
    return this.request('GET', path, options);
  }

  /** DELETE `path` (e.g. a group's path) with the configured CA and credentials; any status resolves. */
  delete(path: string, options: PushgatewayRequestOptions = {}): Promise<PushgatewayResponse> {
    return this.request('DELETE', path, options);
  }

  /** One request on a fresh connection, with the configured CA and (unless `auth: false`) credentials. */
  private request(method: string, path: string, options: PushgatewayRequestOptions & { body?: string; contentType?: string } = {}): Promise<PushgatewayResponse> {
    const web = this.webConfig;
    const headers: Record<string, string> = {};
    if (options.body !== undefined) headers['content-type'] = options.contentType ?? TEXT_FORMAT;
    if (options.auth !== false && web?.credentials !== undefined) {
      headers['authorization'] = `Basic ${Buffer.from(`${web.credentials.username}:${web.credentials.password}`, 'utf8').toString('base64')}`;
    }
    return httpRequest(`${this.url}${path}`, {
      method,
      headers,
      ...(options.body === undefined ? {} : { body: options.body }),
      ...(web?.tls === undefined ? {} : { ca: readFileSync(web.tls.caFile) }),
      timeoutMs: options.timeoutMs ?? 10_000,
    });
  }

  /** Stops it (SIGTERM, then SIGKILL after 5 s) and removes its web config. Idempotent; nothing is left on disk. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.child.kill('SIGTERM');
    await waitForExit(this.child, 5_000);
    await this.removeWebConfig();
  }
}

/**
 * The web config file. JSON is YAML, and the exporter-toolkit reads it with a YAML parser that
 * refuses unknown keys, so a typo here fails the start instead of being ignored.
 */
function webConfigYaml(web: PushgatewayWebConfig): string {
  const config: Record<string, unknown> = {};
  if (web.tls !== undefined) config['tls_server_config'] = { cert_file: web.tls.certFile, key_file: web.tls.keyFile };
  if (web.basicAuthUsers !== undefined) config['basic_auth_users'] = { ...web.basicAuthUsers };
  return `${JSON.stringify(config, null, 2)}\n`;
}
