/**
 * Runs the real agent (`bin/nodemeter.js` under the Node 24 from node_modules) as a
 * child process for integration tests.
 *
 * {@link startAgent} writes the config to a temp file, starts
 * `node bin/nodemeter.js --config <file> --listen-host 127.0.0.1 --listen-port 0`
 * (optionally behind a command prefix such as `nsenter -t <pid> -m --`), learns the
 * port from the JSON `listening` log line and waits until `GET /readyz` answers 200.
 * Always pair it with `after(() => agent.kill())` (or `stop()`): the agent is also
 * SIGKILLed if the test process exits first.
 */
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { parseExposition, type Sample } from './exposition.ts';
import { httpRequest, type HttpGetOptions, type HttpResponse } from './http.ts';
import { makeTempDir, spawnTracked, waitFor, waitForExit } from './proc.ts';

export const REPO_ROOT = resolve(import.meta.dirname, '..', '..');
export const NODE24 = join(REPO_ROOT, 'node_modules', '.bin', 'node');
export const AGENT_BIN = join(REPO_ROOT, 'bin', 'nodemeter.js');

/** The Node flags the launcher's `#!/usr/bin/env -S node …` line gives the agent. */
export function launcherNodeFlags(): string[] {
  const shebang = readFileSync(AGENT_BIN, 'utf8').split('\n', 1)[0] ?? '';
  const match = /^#!\/usr\/bin\/env -S node((?: --?[\w=.-]+)*)$/.exec(shebang);
  if (match === null) throw new Error(`${AGENT_BIN}:1: expected "#!/usr/bin/env -S node [flags]", found ${JSON.stringify(shebang)}`);
  return (match[1] ?? '').trim().split(/\s+/).filter((f) => f !== '');
}

/** One parsed JSON log line (pino: `level`, `time`, `msg`, plus any fields). */
export type LogLine = Record<string, unknown> & { level?: number; msg?: string };

export interface AgentOptions {
  /** Config file contents (YAML). Written to a temp file passed as `--config`. */
  config: string;
  /** Command (and arguments) the agent's command line is appended to, e.g. `ns.prefix`. */
  prefix?: readonly string[];
  /** Flags for node itself, before the script (e.g. `['--cpu-prof']`). */
  nodeArgs?: readonly string[];
  /** Extra CLI flags after the standard ones (e.g. `['--log-level', 'debug']`). */
  extraArgs?: readonly string[];
  /** Extra environment variables. */
  env?: Record<string, string>;
  /** How long to wait for `listening` and `/readyz` = 200; default 20 s. */
  readyTimeoutMs?: number;
  /** How often to look for `listening` and to try `/readyz` until then; default 20 ms and 50 ms. */
  pollIntervalMs?: number;
  /** Web config file contents (YAML), written beside the config and passed as `--web-config-file`. */
  webConfig?: string;
  /** PEM CA the helper's own requests trust when the agent speaks HTTPS. */
  ca?: string;
  /** Credentials the helper's own requests (`get`, `scrape`, the `/readyz` wait) send. */
  credentials?: AgentCredentials;
}

/** Basic-auth user and password, or a bearer token. */
export type AgentCredentials = { readonly username: string; readonly password: string } | { readonly bearer: string };

/** The `Authorization` header value for `credentials`. */
export function authorizationHeader(credentials: AgentCredentials): string {
  return 'bearer' in credentials
    ? `Bearer ${credentials.bearer}`
    : `Basic ${Buffer.from(`${credentials.username}:${credentials.password}`, 'utf8').toString('base64')}`;
}

export interface StopResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** True when the agent did not exit within the grace period and was SIGKILLed. */
  killed: boolean;
  /** False when the process had still not ended 5 s after that SIGKILL (see waitForExit). */
  exited: boolean;
  logs: LogLine[];
  stderr: string;
}

export class Agent {
  readonly host = '127.0.0.1';
  port = 0;
  /** From the `listening` log line: `https` when the web config turns TLS on. */
  scheme: 'http' | 'https' = 'http';
  /** The `--web-config-file` written from {@link AgentOptions.webConfig}, if any. */
  webConfigPath: string | undefined;
  /** What the helper's own requests trust and send (see {@link AgentOptions}). */
  ca: string | undefined;
  credentials: AgentCredentials | undefined;
  /** Every JSON line the agent wrote to stdout so far. */
  readonly logs: LogLine[] = [];
  /** Lines on stdout that were not JSON, and everything on stderr. */
  stderr = '';
  readonly child: ChildProcess;
  /** The agent's command line (without the prefix). */
  readonly command: readonly string[];
  /** From spawning to the `listening` log line, and to the first `/readyz` = 200, ms. */
  listeningMs: number | undefined;
  readyMs: number | undefined;
  /** `performance.now()` when the agent was spawned. */
  readonly spawnedAt = performance.now();
  private readonly cleanup: () => Promise<void>;
  private stdoutBuf = '';
  private stopped: Promise<StopResult> | undefined;

  constructor(child: ChildProcess, command: readonly string[], cleanup: () => Promise<void>) {
    this.child = child;
    this.command = command;
    this.cleanup = cleanup;
    child.stdout?.setEncoding('utf8').on('data', (d: string) => this.onStdout(d));
    child.stderr?.setEncoding('utf8').on('data', (d: string) => (this.stderr += d));
  }

  private onStdout(data: string): void {
    this.stdoutBuf += data;
    let nl: number;
    while ((nl = this.stdoutBuf.indexOf('\n')) >= 0) {
      const line = this.stdoutBuf.slice(0, nl);
      this.stdoutBuf = this.stdoutBuf.slice(nl + 1);
      if (line.trim() === '') continue;
      let entry: LogLine;
      try {
        entry = JSON.parse(line) as LogLine;
      } catch {
        this.stderr += `${line}\n`;
        continue;
      }
      this.logs.push(entry);
      if (entry.msg === 'listening' && typeof entry.port === 'number') this.listeningMs ??= performance.now() - this.spawnedAt;
    }
  }

  get url(): string {
    return `${this.scheme}://${this.host}:${this.port}`;
  }

  get exited(): boolean {
    return this.child.exitCode !== null || this.child.signalCode !== null;
  }

  /** GET any path on the agent's HTTP server, trusting the CA and sending the credentials the agent was started with. */
  get(path: string, options: HttpGetOptions = {}): Promise<HttpResponse> {
    const headers = { ...(this.credentials ? { authorization: authorizationHeader(this.credentials) } : {}), ...options.headers };
    return httpRequest(`${this.url}${path}`, { ...options, headers, ...(this.ca === undefined ? {} : { ca: this.ca }) });
  }

  /** GET `/metrics` (or `path`); rejects unless the status is 200. */
  async scrape(path = '/metrics', options?: HttpGetOptions): Promise<HttpResponse> {
    const res = await this.get(path, options);
    if (res.status !== 200) throw new Error(`GET ${path}: status ${res.status}: ${res.body.slice(0, 2000)}`);
    return res;
  }

  /** Waits for a log line matching `pred`; returns it. */
  waitForLog(what: string, pred: (l: LogLine) => boolean, timeoutMs = 10_000, intervalMs = 20): Promise<LogLine> {
    return waitFor(
      `agent log line: ${what}`,
      () => {
        const found = this.logs.find(pred);
        if (found) return found;
        if (this.exited) throw new Error(`agent exited (${this.child.exitCode ?? this.child.signalCode}) first\n${this.describe()}`);
        return undefined;
      },
      { timeoutMs, intervalMs },
    );
  }

  /**
   * Sends `signal` (none if null: for an agent already signalled) and waits up to
   * `graceMs` (default 15 s, then SIGKILL) for it to exit.
   */
  stop(signal: NodeJS.Signals | null = 'SIGTERM', graceMs = 15_000): Promise<StopResult> {
    this.stopped ??= (async () => {
      if (!this.exited && signal) this.child.kill(signal);
      const r = await waitForExit(this.child, graceMs);
      if (r.exited) await this.cleanup();
      else this.stopped = undefined; // unkillable for now (blocked syscall): let a later kill() retry
      return { ...r, logs: this.logs, stderr: this.stderr };
    })();
    return this.stopped;
  }

  /** SIGKILL if still running; for `after()` hooks. Never rejects. */
  async kill(): Promise<void> {
    await this.stop('SIGKILL', 5_000).catch(() => undefined);
  }

  /** Logs and stderr, for assertion messages. */
  describe(): string {
    const logs = this.logs.map((l) => JSON.stringify(l)).join('\n');
    return `agent logs:\n${logs || '(none)'}\nagent stderr:\n${this.stderr || '(none)'}`;
  }
}

export async function startAgent(options: AgentOptions): Promise<Agent> {
  const tmp = await makeTempDir('nodemeter-agent-');
  const configPath = join(tmp.path, 'config.yaml');
  await writeFile(configPath, options.config);
  const webConfigPath = options.webConfig === undefined ? undefined : join(tmp.path, 'web.yaml');
  if (webConfigPath !== undefined) await writeFile(webConfigPath, options.webConfig ?? '');
  const agentCommand = [
    NODE24,
    // As the agent runs when installed: the launcher's own flags, then the test's.
    ...launcherNodeFlags(),
    ...(options.nodeArgs ?? []),
    AGENT_BIN,
    '--config',
    configPath,
    '--listen-host',
    '127.0.0.1',
    '--listen-port',
    '0',
    ...(webConfigPath === undefined ? [] : ['--web-config-file', webConfigPath]),
    ...(options.extraArgs ?? []),
  ];
  const [command, ...args] = [...(options.prefix ?? []), ...agentCommand];
  const child = spawnTracked(command!, args, {
    cwd: REPO_ROOT,
    env: { ...process.env, ...options.env },
  });
  const agent = new Agent(child, agentCommand, tmp.remove);
  agent.webConfigPath = webConfigPath;
  agent.ca = options.ca;
  agent.credentials = options.credentials;
  const timeoutMs = options.readyTimeoutMs ?? 20_000;
  try {
    const isListening = (l: LogLine): boolean => l.msg === 'listening' && typeof l.port === 'number';
    const listening = await agent.waitForLog('listening', isListening, timeoutMs, options.pollIntervalMs ?? 20);
    agent.port = listening.port as number;
    if (listening.scheme === 'https') agent.scheme = 'https';
    await waitFor(
      'GET /readyz = 200',
      async () => {
        if (agent.exited) throw new Error(`agent exited first\n${agent.describe()}`);
        const res = await agent.get('/readyz', { timeoutMs: 2_000 }).catch(() => undefined);
        return res?.status === 200 ? true : undefined;
      },
      { timeoutMs, intervalMs: options.pollIntervalMs ?? 50 },
    );
    agent.readyMs = performance.now() - agent.spawnedAt;
  } catch (err) {
    await agent.kill();
    throw new Error(`agent did not become ready: ${(err as Error).message}\n${agent.describe()}`, { cause: err });
  }
  return agent;
}

/** The families the filesystem receiver reports for every kubelet volume, with one label set among them. */
export const VOLUME_FAMILIES: readonly string[] = [
  'kubelet_volume_stats_capacity_bytes',
  'kubelet_volume_stats_available_bytes',
  'kubelet_volume_stats_used_bytes',
  'kubelet_volume_stats_inodes',
  'kubelet_volume_stats_inodes_free',
  'kubelet_volume_stats_inodes_used',
];

export interface FilesystemConfigOptions {
  /** The receiver's `statfs_timeout`; default `500ms`; null leaves the receiver's default. */
  statfsTimeout?: string | null;
  /** The receiver's `mountinfo_path`; default `/proc/self/mountinfo` (see {@link filesystemConfig}). */
  mountinfoPath?: string;
  /** False writes `node_filesystems: {enabled: false}`: kubelet volumes only. Default: the receiver's (on). */
  nodeFilesystems?: boolean;
  /** Lines appended under `filesystem:` (indent them 4 spaces). */
  receiverExtra?: string[];
  /** Processors of the pipeline, in order, each with its config lines (indented 4 spaces; none: `{}`). */
  processors?: Record<string, string[]>;
  /** Exporters beside `prometheus`, each with its config lines (indented 4 spaces; none: `{}`). */
  exporters?: Record<string, string[]>;
}

/**
 * The agent config the filesystem tests and the filesystem benchmark use: one
 * filesystem receiver → (processors) → Prometheus exporter. `mountinfo_path` is the
 * agent's own table by default: run in a test mount namespace (no PID namespace), the
 * receiver's default `/proc/1/mountinfo` is the host's.
 */
export function filesystemConfig(kubeletRoot: string, options: FilesystemConfigOptions = {}): string {
  const statfsTimeout = options.statfsTimeout === undefined ? '500ms' : options.statfsTimeout;
  const processors = Object.entries(options.processors ?? {});
  const exporters = Object.entries(options.exporters ?? {});
  const section = (entries: Array<[string, string[]]>): string[] => entries.flatMap(([name, config]) => (config.length === 0 ? [`  ${name}: {}`] : [`  ${name}:`, ...config]));
  const lines = [
    'receivers:',
    '  filesystem:',
    `    kubelet_root: ${JSON.stringify(kubeletRoot)}`,
    `    mountinfo_path: ${options.mountinfoPath ?? '/proc/self/mountinfo'}`,
    ...(statfsTimeout === null ? [] : [`    statfs_timeout: ${statfsTimeout}`]),
    ...(options.nodeFilesystems === undefined ? [] : ['    node_filesystems:', `      enabled: ${options.nodeFilesystems}`]),
    ...(options.receiverExtra ?? []),
  ];
  if (processors.length > 0) {
    lines.push('processors:', ...section(processors));
  }
  lines.push(
    'exporters:',
    '  prometheus: {}',
    ...section(exporters),
    'service:',
    '  pipelines:',
    '    metrics:',
    '      receivers: [filesystem]',
    ...(processors.length === 0 ? [] : [`      processors: [${processors.map(([name]) => name).join(', ')}]`]),
    `      exporters: [${['prometheus', ...exporters.map(([name]) => name)].join(', ')}]`,
    '',
  );
  return lines.join('\n');
}

/**
 * Scrapes the agent's `/metrics` until `check` returns something other than undefined, every
 * `intervalMs` for at most `timeoutMs`. An agent that exited fails at once; on time-out the error
 * shows `show(the last scrape's samples)` and the agent's state.
 */
export async function waitForSamples<T>(
  agent: Agent,
  what: string,
  check: (samples: Sample[]) => T | undefined,
  options: { readonly timeoutMs: number; readonly intervalMs: number; readonly show: (samples: Sample[]) => string },
): Promise<T> {
  let last: Sample[] = [];
  try {
    return await waitFor(
      what,
      async () => {
        if (agent.exited) throw new Error(`agent exited\n${agent.describe()}`);
        last = parseExposition((await agent.scrape()).body);
        return check(last);
      },
      { timeoutMs: options.timeoutMs, intervalMs: options.intervalMs },
    );
  } catch (err) {
    throw new Error(`${(err as Error).message}\n${options.show(last)}\n${agent.describe()}`, { cause: err });
  }
}

/** Still running; nothing logged at error or fatal; nothing alarming on stderr; /healthz 200. */
export async function assertHealthy(agent: Agent): Promise<void> {
  assert.equal(agent.exited, false, `agent exited\n${agent.describe()}`);
  assert.deepEqual(agent.logs.filter((l) => (l.level ?? 0) >= 50), [], 'error/fatal log lines');
  assert.doesNotMatch(agent.stderr, /unhandledRejection|Unhandled|uncaught|fatal|heap out of memory/i, 'agent stderr');
  assert.equal((await agent.get('/healthz')).status, 200, '/healthz');
}
