/**
 * Runs Debian's real `prometheus-node-exporter` (1.5) with only its filesystem
 * collector, inside a {@link MountNamespace}, as the reference the agent's
 * `node_filesystem_*` families are compared with.
 *
 * node_exporter reads `/proc/1/mounts`; in the test namespace (no PID namespace of its
 * own) that is the host's init's table. So it runs under `unshare --pid --fork
 * --mount-proc` inside the test namespace: a copy of that namespace's mounts with a
 * /proc where pid 1 is the exporter itself.
 */
import type { ChildProcess } from 'node:child_process';
import { ChildServer } from './child-server.ts';
import { httpGet } from './http.ts';
import type { MountNamespace } from './mountns.ts';
import { freePort } from './ports.ts';
import { spawnTracked, waitFor, waitForExit } from './proc.ts';

export interface NodeExporterOptions {
  /** Extra flags, e.g. a `--collector.filesystem.mount-points-exclude=…`. */
  extraArgs?: string[];
}

export class NodeExporter extends ChildServer {
  private closed = false;

  private constructor(port: number, child: ChildProcess) {
    super(port, child);
  }



  static async start(ns: MountNamespace, options: NodeExporterOptions = {}): Promise<NodeExporter> {
    let lastError: unknown;
    for (let attempt = 0; attempt < 5; attempt++) {
      const port = await freePort();
      const [cmd, ...prefix] = ns.prefix;
      const child = spawnTracked(cmd!, [
        ...prefix,
        'unshare',
        '--pid',
        '--fork',
        '--mount-proc',
        '--kill-child',
        '--',
        'prometheus-node-exporter',
        '--collector.disable-defaults',
        '--collector.filesystem',
        `--web.listen-address=127.0.0.1:${port}`,
        '--log.level=warn',
        ...(options.extraArgs ?? []),
      ]);
      const exporter = new NodeExporter(port, child);
      try {
        await waitFor(
          'node_exporter /metrics',
          async () => {
            if (child.exitCode !== null) throw new Error(`node_exporter exited ${child.exitCode}: ${exporter.output}`);
            const res = await httpGet(`${exporter.url}/metrics`, { timeoutMs: 2_000 }).catch(() => undefined);
            return res?.status === 200 ? true : undefined;
          },
          { timeoutMs: 15_000, intervalMs: 100 },
        );
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
