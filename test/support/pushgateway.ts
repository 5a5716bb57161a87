/**
 * Runs Debian's real Pushgateway (`/usr/bin/prometheus-pushgateway`, 1.5.1) on 127.0.0.1 for
 * integration tests: a free port (retried if taken), persistence off (no `--persistence.file`, so
 * nothing is written to disk and every start is empty), ready when `/-/ready` answers 200.
 *
 * {@link Pushgateway.push} sends one group in the text format the way a batch job does
 * (`PUT` replaces the whole group, `POST` only the families it names); {@link Pushgateway.metricsUrl}
 * is what Prometheus (or the agent) scrapes. Always pair `start()` with `after(() => pg.close())`;
 * the process is also SIGKILLed if the test process exits first (see proc.ts).
 */
import type { ChildProcess } from 'node:child_process';
import { request } from 'node:http';
import { ChildServer } from './child-server.ts';
import { httpGet } from './http.ts';
import { freePort } from './ports.ts';
import { spawnTracked, waitFor, waitForExit } from './proc.ts';

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
  private closed = false;

  private constructor(port: number, child: ChildProcess, command: readonly string[]) {
    super(port, child);
    this.command = command;
  }

  static async start(options: PushgatewayOptions = {}): Promise<Pushgateway> {
    let lastError: unknown;
    for (let attempt = 0; attempt < (options.port === undefined ? 5 : 1); attempt++) {
      const port = options.port ?? (await freePort());
      const args = [`--web.listen-address=127.0.0.1:${port}`, '--log.level=warn', ...(options.extraArgs ?? [])];
      const child = spawnTracked(PUSHGATEWAY, args);
      const pg = new Pushgateway(port, child, [PUSHGATEWAY, ...args]);
      try {
        await waitFor(
          'pushgateway /-/ready',
          async () => {
            if (child.exitCode !== null || child.signalCode !== null) throw new Error(`pushgateway exited ${child.exitCode ?? child.signalCode}: ${pg.output}`);
            const res = await httpGet(`${pg.url}/-/ready`, { timeoutMs: 2_000 }).catch(() => undefined);
            return res?.status === 200 ? true : undefined;
          },
          { timeoutMs: options.readyTimeoutMs ?? 15_000, intervalMs: 50 },
        );
        return pg;
      } catch (err) {
        lastError = err;
        const inUse = /address already in use/i.test(pg.output);
        await pg.close();
        if (!inUse) break;
      }
    }
    throw new Error(`pushgateway did not start: ${(lastError as Error | undefined)?.message ?? 'unknown'}`);
  }

  /** `http://127.0.0.1:<port>/metrics`: every pushed group plus the Pushgateway's own metrics. */
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
  push(job: string, groupingLabels: Readonly<Record<string, string>>, body: string, options: PushOptions = {}): Promise<void> {
    const path = groupPath(job, groupingLabels);
    const method = options.method ?? 'PUT';
    const payload = Buffer.from(body, 'utf8');
    return new Promise((resolve, reject) => {
      const req = request(
        `${this.url}${path}`,
        { method, agent: false, headers: { 'content-type': TEXT_FORMAT, 'content-length': payload.length, connection: 'close' } },
        (res) => {
          let answer = '';
          res.setEncoding('utf8').on('data', (d: string) => (answer += d));
          res.on('error', reject);
          res.on('end', () => {
            clearTimeout(timer);
            const status = res.statusCode ?? 0;
            if (status >= 200 && status < 300) resolve();
            else reject(new Error(`${method} ${path}: HTTP ${status}: ${answer.trim()}`));
          });
        },
      );
      const timeoutMs = options.timeoutMs ?? 10_000;
      const timer = setTimeout(() => req.destroy(new Error(`${method} ${path} took longer than ${timeoutMs} ms`)), timeoutMs);
      req.on('error', (err) => {
        clearTimeout(timer);
        reject(err);
      });
      req.end(payload);
    });
  }

  /** GET {@link metricsUrl} in the text format; rejects unless 200. */
  async scrape(): Promise<string> {
    const res = await httpGet(this.metricsUrl, { timeoutMs: 10_000 });
    if (res.status !== 200) throw new Error(`pushgateway /metrics: HTTP ${res.status}: ${res.body.slice(0, 500)}`);
    return res.body;
  }

  /** Stops it (SIGTERM, then SIGKILL after 5 s). Idempotent; nothing is left on disk. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.child.kill('SIGTERM');
    await waitForExit(this.child, 5_000);
  }
}
