/**
 * Runs Debian's real `prometheus-node-exporter` (1.5) with only its filesystem
 * collector, inside a {@link MountNamespace}, as the reference the agent's
 * `node_filesystem_*` families are compared with (the parity test, the filesystem
 * benchmark).
 *
 * node_exporter reads `/proc/1/mounts`; in the test namespace (no PID namespace of its
 * own) that is the host's init's table. So by default it runs under `unshare --pid
 * --fork --mount-proc` inside the test namespace: a copy of that namespace's mounts with
 * a /proc where pid 1 is the exporter itself. With `ownPidNamespace: false` it runs
 * directly in the namespace (its pid is then node_exporter's own, for /proc readings),
 * and the caller points `--path.procfs` at a directory whose `1` is the namespace.
 */
import type { ChildProcess } from 'node:child_process';
import { ChildServer } from './child-server.ts';
import { httpGet } from './http.ts';
import type { MountNamespace } from './mountns.ts';
import { freePort } from './ports.ts';
import { waitFor, waitForExit } from './proc.ts';

export const NODE_EXPORTER = 'prometheus-node-exporter';

export interface NodeExporterOptions {
  /** Extra flags, e.g. a `--collector.filesystem.mount-points-exclude=…`. */
  extraArgs?: string[];
  /** Run it in a PID namespace of its own with its own /proc (see above); default true. */
  ownPidNamespace?: boolean;
  /** How long to wait for the first 200 on `/metrics`; default 15 s. */
  readyTimeoutMs?: number;
  /** How often to try `/metrics` until then; default 100 ms. */
  pollIntervalMs?: number;
}

export class NodeExporter extends ChildServer {
  /** The exporter's command line (without the namespace prefix). */
  readonly command: string[];
  /** From spawning to the first 200 on `/metrics`, ms. */
  readyMs = 0;
  private closed = false;

  private constructor(port: number, child: ChildProcess, command: string[]) {
    super(port, child);
    this.command = command;
  }

  /** The pid spawned: node_exporter itself with `ownPidNamespace: false`, else the `unshare` holding its PID namespace. */
  get pid(): number {
    return this.child.pid!;
  }

  static async start(ns: MountNamespace, options: NodeExporterOptions = {}): Promise<NodeExporter> {
    const pidNamespace = options.ownPidNamespace === false ? [] : ['unshare', '--pid', '--fork', '--mount-proc', '--kill-child', '--'];
    let lastError: unknown;
    for (let attempt = 0; attempt < 5; attempt++) {
      const port = await freePort();
      const command = [
        NODE_EXPORTER,
        '--collector.disable-defaults',
        '--collector.filesystem',
        `--web.listen-address=127.0.0.1:${port}`,
        '--log.level=warn',
        ...(options.extraArgs ?? []),
      ];
      const started = performance.now();
      const [cmd, ...args] = [...pidNamespace, ...command];
      const child = ns.spawn(cmd!, args);
      const exporter = new NodeExporter(port, child, command);
      try {
        await waitFor(
          'node_exporter /metrics',
          async () => {
            if (child.exitCode !== null) throw new Error(`node_exporter exited ${child.exitCode}: ${exporter.output}`);
            const res = await httpGet(`${exporter.url}/metrics`, { timeoutMs: 2_000 }).catch(() => undefined);
            return res?.status === 200 ? true : undefined;
          },
          { timeoutMs: options.readyTimeoutMs ?? 15_000, intervalMs: options.pollIntervalMs ?? 100 },
        );
        exporter.readyMs = performance.now() - started;
        return exporter;
      } catch (err) {
        lastError = err;
        const inUse = /address already in use/i.test(exporter.output);
        await exporter.close();
        if (!inUse) break;
      }
    }
    throw new Error(`node_exporter did not start: ${(lastError as Error | undefined)?.message ?? 'unknown'}`);
  }

  async scrape(): Promise<string> {
    const res = await httpGet(`${this.url}/metrics`, { timeoutMs: 10_000 });
    if (res.status !== 200) throw new Error(`node_exporter /metrics: ${res.status}`);
    return res.body;
  }

  /**
   * Stops it. Idempotent. `unshare --fork` ignores SIGTERM while it waits for its
   * child, so the holder gets SIGKILL, and `--kill-child` takes node_exporter with it.
   */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.child.kill('SIGKILL');
    await waitForExit(this.child, 5_000);
  }
}
