/**
 * Starts test/support/fuse-hang.py inside a {@link MountNamespace}: a FUSE mount whose
 * statfs blocks while `<controlDir>/hang` exists (see that script).
 *
 * {@link FuseHang.close} always lifts the hang first, so nothing stays blocked in
 * the kernel, then unmounts (`fusermount3 -u`, falling back to `umount -l`) and
 * stops the daemon.
 */
import type { ChildProcess } from 'node:child_process';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { MountNamespace } from './mountns.ts';
import { SYSTEM_PYTHON } from './prereqs.ts';
import { spawnTracked, waitFor, waitForExit } from './proc.ts';

export const FUSE_HANG_SCRIPT = join(import.meta.dirname, 'fuse-hang.py');

/** The numbers fuse-hang.py's statfs returns (bytes and inodes, as df shows them). */
export const FUSE_HANG_STATFS = {
  capacityBytes: 262144 * 4096,
  availableBytes: 196544 * 4096,
  usedBytes: (262144 - 196608) * 4096,
  inodes: 65536,
  inodesFree: 64536,
  inodesUsed: 65536 - 64536,
} as const;

export interface FuseHangOptions {
  /** Where to mount (created if missing), inside the namespace. */
  mountpoint: string;
  /** Directory for the `hang` control file; default `<ns.root>/fuse-ctl-<n>`. */
  controlDir?: string;
  /** Start with statfs already hanging. Default false. */
  hanging?: boolean;
}

let seq = 0;

export class FuseHang {
  readonly mountpoint: string;
  readonly controlDir: string;
  private readonly ns: MountNamespace;
  private readonly child: ChildProcess;
  private output = '';
  private closed = false;

  private constructor(ns: MountNamespace, mountpoint: string, controlDir: string, child: ChildProcess) {
    this.ns = ns;
    this.mountpoint = mountpoint;
    this.controlDir = controlDir;
    this.child = child;
    child.stdout?.setEncoding('utf8').on('data', (d: string) => (this.output += d));
    child.stderr?.setEncoding('utf8').on('data', (d: string) => (this.output += d));
  }

  static async start(ns: MountNamespace, options: FuseHangOptions): Promise<FuseHang> {
    const controlDir = options.controlDir ?? join(ns.root, `fuse-ctl-${++seq}`);
    await mkdir(controlDir, { recursive: true });
    await mkdir(options.mountpoint, { recursive: true });
    if (options.hanging) await writeFile(join(controlDir, 'hang'), '');
    const [cmd, ...rest] = ns.prefix;
    const child = spawnTracked(cmd!, [...rest, SYSTEM_PYTHON, '-W', 'ignore', FUSE_HANG_SCRIPT, options.mountpoint, controlDir]);
    const fuse = new FuseHang(ns, options.mountpoint, controlDir, child);
    try {
      await waitFor(
        `fuse-hang.py to mount ${options.mountpoint}`,
        async () => {
          if (child.exitCode !== null) throw new Error(`fuse-hang.py exited ${child.exitCode}: ${fuse.output}`);
          if (!fuse.output.includes('ready')) return undefined;
          const lines = await ns.mountinfo(options.mountpoint);
          return lines.some((l) => l.includes(' - fuse.')) ? true : undefined;
        },
        { timeoutMs: 10_000, intervalMs: 50 },
      );
    } catch (err) {
      await fuse.close();
      throw err;
    }
    return fuse;
  }

  /** Makes every statfs on the mount block until {@link unhang}. */
  async hang(): Promise<void> {
    await writeFile(join(this.controlDir, 'hang'), '');
  }

  /** Releases blocked and future statfs calls (they return within ~50 ms). */
  async unhang(): Promise<void> {
    await rm(join(this.controlDir, 'hang'), { force: true });
  }

  /** What the daemon printed (its "statfs hanging"/"released" lines included). */
  get log(): string {
    return this.output;
  }

  /** Unhangs, unmounts and stops the daemon. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.unhang();
    const mounted = async (): Promise<boolean> =>
      (await this.ns.mountinfo(this.mountpoint).catch(() => [])).some((l) => l.includes(' - fuse.'));
    if (await mounted()) {
      const r = await this.ns.exec('fusermount3', ['-u', this.mountpoint], { allowFail: true, timeoutMs: 10_000 }).catch(() => undefined);
      if (r?.code !== 0 && (await mounted())) {
        await this.ns.exec('umount', ['-l', this.mountpoint], { allowFail: true, timeoutMs: 10_000 }).catch(() => undefined);
      }
    }
    this.child.kill('SIGTERM');
    await waitForExit(this.child, 5_000);
    await rm(this.controlDir, { recursive: true, force: true });
  }
}
