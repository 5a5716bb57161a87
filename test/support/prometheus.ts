/**
 * Runs Debian's real `prometheus` on 127.0.0.1 for integration tests: a generated
 * config that scrapes the given targets every second, TSDB in a temp dir, a free port
 * (retried if taken), ready when `/-/ready` answers 200. {@link Prometheus.close}
 * stops it (SIGTERM, then SIGKILL) and removes the temp dir. With `ruleFiles` it also
 * evaluates those rule files (every `evaluationInterval`); {@link Prometheus.alerts} and
 * {@link Prometheus.rules} read the results back.
 */
import type { ChildProcess } from 'node:child_process';
import { ChildServer } from './child-server.ts';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { httpGet } from './http.ts';
import { freePort } from './ports.ts';
import { makeTempDir, spawnTracked, waitFor, waitForExit } from './proc.ts';

export interface ScrapeTarget {
  /** `host:port` */
  address: string;
  /** Job name; default `nodemeter`. */
  job?: string;
  /** Metrics path; default `/metrics`. */
  metricsPath?: string;
  /** The job's `honor_labels`; default false (Prometheus' default). Targets of one job must agree. */
  honorLabels?: boolean;
  /** The job's `scheme`; default `http`. With `https`, `caFile` is the job's `tls_config.ca_file`. Targets of one job must agree (as on the settings below). */
  scheme?: 'http' | 'https';
  caFile?: string;
  /** The job's `basic_auth`. */
  basicAuth?: { username: string; password: string };
  /** The job's `authorization` (type Bearer) credentials. */
  bearerToken?: string;
}

export interface PrometheusOptions {
  targets: ScrapeTarget[];
  /** Scrape interval (and evaluation interval); default `1s`. */
  scrapeInterval?: string;
  /** How long to wait for `/-/ready`; default 30 s. */
  readyTimeoutMs?: number;
  /** Rule files (absolute paths) for `rule_files:`; default none. */
  ruleFiles?: string[];
  /** Rule evaluation interval; default the scrape interval. */
  evaluationInterval?: string;
}

/** One active (pending or firing) alert from `/api/v1/alerts`. */
export interface ActiveAlert {
  labels: Record<string, string>;
  annotations: Record<string, string>;
  state: 'pending' | 'firing';
  activeAt: string;
  value: string;
}

/** One rule of `/api/v1/rules`, with the group it belongs to. */
export interface RuleStatus {
  group: string;
  name: string;
  query: string;
  type: 'alerting' | 'recording';
  health: string;
  lastError?: string;
  /** Alerting rules: `inactive`, `pending` or `firing`. */
  state?: string;
}

/** One element of an instant-vector query result. */
export interface VectorSample {
  metric: Record<string, string>;
  value: number;
  timestamp: number;
}

export class Prometheus extends ChildServer {
  private readonly removeDir: () => Promise<void>;
  private closed = false;

  private constructor(port: number, child: ChildProcess, removeDir: () => Promise<void>) {
    super(port, child);
    this.removeDir = removeDir;
  }



  static async start(options: PrometheusOptions): Promise<Prometheus> {
    const dir = await makeTempDir('nodemeter-prom-');
    const interval = options.scrapeInterval ?? '1s';
    const jobs = new Map<string, ScrapeTarget[]>();
    for (const t of options.targets) {
      const key = `${t.job ?? 'nodemeter'}\u0000${t.metricsPath ?? '/metrics'}`;
      jobs.set(key, [...(jobs.get(key) ?? []), t]);
    }
    const config = [
      'global:',
      `  scrape_interval: ${interval}`,
      `  scrape_timeout: ${interval}`,
      `  evaluation_interval: ${options.evaluationInterval ?? interval}`,
      ...(options.ruleFiles?.length ? ['rule_files:', ...options.ruleFiles.map((f) => `  - ${JSON.stringify(f)}`)] : []),
      'scrape_configs:',
      ...[...jobs.values()].flatMap((ts) => [
        `  - job_name: ${JSON.stringify(ts[0]!.job ?? 'nodemeter')}`,
        `    metrics_path: ${JSON.stringify(ts[0]!.metricsPath ?? '/metrics')}`,
        ...(ts[0]!.honorLabels ? ['    honor_labels: true'] : []),
        ...(ts[0]!.scheme ? [`    scheme: ${ts[0]!.scheme}`] : []),
        ...(ts[0]!.caFile ? ['    tls_config:', `      ca_file: ${JSON.stringify(ts[0]!.caFile)}`] : []),
        ...(ts[0]!.basicAuth
          ? ['    basic_auth:', `      username: ${JSON.stringify(ts[0]!.basicAuth.username)}`, `      password: ${JSON.stringify(ts[0]!.basicAuth.password)}`]
          : []),
        ...(ts[0]!.bearerToken ? ['    authorization:', '      type: Bearer', `      credentials: ${JSON.stringify(ts[0]!.bearerToken)}`] : []),
        '    static_configs:',
        `      - targets: [${ts.map((t) => JSON.stringify(t.address)).join(', ')}]`,
      ]),
      '',
    ].join('\n');
    const configFile = join(dir.path, 'prometheus.yml');
    await writeFile(configFile, config);

    let lastError: unknown;
    for (let attempt = 0; attempt < 5; attempt++) {
      const port = await freePort();
      const child = spawnTracked('prometheus', [
        `--config.file=${configFile}`,
        `--storage.tsdb.path=${join(dir.path, 'data')}`,
        `--web.listen-address=127.0.0.1:${port}`,
        '--log.level=info',
      ], { cwd: dir.path });
      const prom = new Prometheus(port, child, dir.remove);
      try {
        await waitFor(
          'prometheus /-/ready',
          async () => {
            if (child.exitCode !== null) throw new Error(`prometheus exited ${child.exitCode}:\n${prom.output}`);
            const res = await httpGet(`${prom.url}/-/ready`, { timeoutMs: 2_000 }).catch(() => undefined);
            return res?.status === 200 ? true : undefined;
          },
          { timeoutMs: options.readyTimeoutMs ?? 30_000, intervalMs: 100 },
        );
        return prom;
      } catch (err) {
        lastError = err;
        const inUse = /address already in use/i.test(prom.output);
        child.kill('SIGKILL');
        await waitForExit(child, 5_000);
        if (!inUse) break;
      }
    }
    await dir.remove();
    throw new Error(`prometheus did not start: ${(lastError as Error | undefined)?.message ?? 'unknown'}`);
  }

  /** Runs an instant query (`/api/v1/query`); rejects unless status is success and the result a vector. */
  async query(expr: string): Promise<VectorSample[]> {
    const res = await httpGet(`${this.url}/api/v1/query?query=${encodeURIComponent(expr)}`, { timeoutMs: 10_000 });
    const body = JSON.parse(res.body) as {
      status: string;
      error?: string;
      data?: { resultType: string; result: { metric: Record<string, string>; value: [number, string] }[] };
    };
    if (res.status !== 200 || body.status !== 'success' || !body.data) {
      throw new Error(`query ${expr}: HTTP ${res.status}: ${body.error ?? res.body}`);
    }
    if (body.data.resultType !== 'vector') throw new Error(`query ${expr}: result type ${body.data.resultType}, not vector`);
    return body.data.result.map((r) => ({ metric: r.metric, timestamp: r.value[0], value: Number(r.value[1]) }));
  }

  /** Polls `query(expr)` until `accept` returns true for its result; returns that result. */
  waitForQuery(expr: string, accept: (r: VectorSample[]) => boolean, timeoutMs = 20_000): Promise<VectorSample[]> {
    let last: VectorSample[] = [];
    return waitFor(
      `query ${expr}`,
      async () => {
        last = await this.query(expr);
        return accept(last) ? last : undefined;
      },
      { timeoutMs, intervalMs: 250 },
    ).catch((err: Error) => {
      throw new Error(`${err.message}; last result: ${JSON.stringify(last)}`);
    });
  }

  /** `/api/v1/targets` active targets' health and last error, for assertion messages. */
  async targets(): Promise<{ scrapeUrl: string; health: string; lastError: string }[]> {
    const res = await httpGet(`${this.url}/api/v1/targets`, { timeoutMs: 10_000 });
    const body = JSON.parse(res.body) as { data: { activeTargets: { scrapeUrl: string; health: string; lastError: string }[] } };
    return body.data.activeTargets.map(({ scrapeUrl, health, lastError }) => ({ scrapeUrl, health, lastError }));
  }

  /** `/api/v1/alerts`: the alerts now pending or firing (resolved ones are not listed). */
  async alerts(): Promise<ActiveAlert[]> {
    const res = await httpGet(`${this.url}/api/v1/alerts`, { timeoutMs: 10_000 });
    const body = JSON.parse(res.body) as { status: string; error?: string; data?: { alerts: ActiveAlert[] } };
    if (res.status !== 200 || body.status !== 'success' || !body.data) throw new Error(`/api/v1/alerts: HTTP ${res.status}: ${body.error ?? res.body}`);
    return body.data.alerts;
  }

  /** `/api/v1/rules`: every loaded rule with its group, health and last evaluation error. */
  async rules(): Promise<RuleStatus[]> {
    const res = await httpGet(`${this.url}/api/v1/rules`, { timeoutMs: 10_000 });
    const body = JSON.parse(res.body) as {
      status: string;
      error?: string;
      data?: { groups: { name: string; rules: Omit<RuleStatus, 'group'>[] }[] };
    };
    if (res.status !== 200 || body.status !== 'success' || !body.data) throw new Error(`/api/v1/rules: HTTP ${res.status}: ${body.error ?? res.body}`);
    return body.data.groups.flatMap((g) => g.rules.map((r) => ({ ...r, group: g.name })));
  }

  /** Stops Prometheus and removes its temp dir. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.child.kill('SIGTERM');
    await waitForExit(this.child, 10_000);
    await this.removeDir();
  }
}
