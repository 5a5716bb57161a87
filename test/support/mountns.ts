/**
 * A private mount namespace with a kubelet-like volume tree, for the filesystem tests.
 *
 * {@link MountNamespace.create} starts `unshare -m --propagation private` holding
 * `cat` on a pipe from this process (so the namespace dies with the test process even
 * if it is SIGKILLed: the pipe closes, `cat` exits). Commands run inside it with
 * `nsenter -t <pid> -m`, long-running programs with {@link MountNamespace.spawn}.
 * Mounts made there are invisible to the host.
 *
 * {@link MountNamespace.close} unmounts everything it mounted (newest first, lazily
 * if busy), detaches its loop devices, kills the holder and removes its temp dir.
 */
import type { ChildProcess, SpawnOptions } from 'node:child_process';
import { readlinkSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { makeTempDir, run, spawnTracked, waitFor, waitForExit, type RunOptions, type RunResult } from './proc.ts';

export interface DfBytes {
  size: number;
  used: number;
  avail: number;
}
export interface DfInodes {
  itotal: number;
  ifree: number;
  iused: number;
}

export interface ImageMountOptions {
  fstype: 'ext4' | 'xfs';
  /** Image size in MiB (a sparse file). mkfs.xfs needs ≥ 300. Default 64 (ext4) / 300 (xfs). */
  sizeMiB?: number;
  /** Extra mount options, e.g. `['ro']`. */
  options?: string[];
}

export interface TmpfsOptions {
  /** tmpfs `size=` option, e.g. `64m`. Default `16m`. */
  size?: string;
  /** tmpfs `nr_inodes=` option. */
  nrInodes?: number;
}

interface MountRecord {
  target: string;
  loop?: string;
}

export class MountNamespace {
  /** Host-visible temp dir that holds the tree and the images. */
  readonly root: string;
  /** PID of the holder process whose mount namespace this is. */
  readonly pid: number;
  private readonly holder: ChildProcess;
  private readonly removeRoot: () => Promise<void>;
  private readonly mounts: MountRecord[] = [];
  private imageSeq = 0;
  private closed = false;

  private constructor(root: string, removeRoot: () => Promise<void>, holder: ChildProcess) {
    this.root = root;
    this.removeRoot = removeRoot;
    this.holder = holder;
    if (holder.pid === undefined) throw new Error('mount namespace holder has no pid');
    this.pid = holder.pid;
  }

  /** Creates the namespace and its temp dir. Needs root, `unshare` and `nsenter`. */
  static async create(): Promise<MountNamespace> {
    const tmp = await makeTempDir('nodemeter-ns-');
    // `unshare` (without --fork) execs `cat` in the new namespace, so the child's
    // pid is the namespace holder. stdin is a pipe we never write to.
    const holder = spawnTracked('unshare', ['-m', '--propagation', 'private', '--', 'cat'], {
      stdio: ['pipe', 'ignore', 'pipe'],
    });
    let stderr = '';
    holder.stderr?.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const ns = new MountNamespace(tmp.path, tmp.remove, holder);
    try {
      // Ready once the holder's mount namespace differs from ours.
      const { readlink } = await import('node:fs/promises');
      const own = await readlink('/proc/self/ns/mnt');
      await waitFor(
        'the mount namespace holder',
        async () => {
          if (holder.exitCode !== null) throw new Error(`unshare exited ${holder.exitCode}: ${stderr}`);
          const theirs = await readlink(`/proc/${ns.pid}/ns/mnt`);
          return theirs !== own ? true : undefined;
        },
        { timeoutMs: 10_000, intervalMs: 20 },
      );
    } catch (err) {
      await ns.close();
      throw err;
    }
    return ns;
  }

  /** `nsenter` arguments that run a command inside this namespace: `[...prefix, cmd, ...args]`. */
  get prefix(): string[] {
    return ['nsenter', '-t', String(this.pid), '-m', '--'];
  }

  /** Runs a command inside the namespace; rejects on non-zero exit unless `allowFail`. */
  exec(command: string, args: readonly string[], options: RunOptions = {}): Promise<RunResult> {
    const [cmd, ...rest] = this.prefix;
    return run(cmd!, [...rest, command, ...args], options);
  }

  /**
   * Starts a long-running program inside the namespace through {@link spawnTracked}
   * (killed with the test process). `setpriv` and `nsenter` (without -p) exec, so the
   * child's pid is the program's own: its /proc entry describes the program.
   */
  spawn(command: string, args: readonly string[], options: SpawnOptions = {}): ChildProcess {
    const [cmd, ...rest] = this.prefix;
    return spawnTracked(cmd!, [...rest, command, ...args], options);
  }

  /** True when process `pid` runs in this mount namespace. */
  holds(pid: number): boolean {
    try {
      return readlinkSync(`/proc/${pid}/ns/mnt`) === readlinkSync(`/proc/${this.pid}/ns/mnt`);
    } catch {
      return false;
    }
  }

  /** Creates `dir` (on the host) and mounts a tmpfs on it inside the namespace. */
  async mountTmpfs(dir: string, options: TmpfsOptions = {}): Promise<void> {
    await mkdir(dir, { recursive: true });
    const opts = [`size=${options.size ?? '16m'}`];
    if (options.nrInodes !== undefined) opts.push(`nr_inodes=${options.nrInodes}`);
    await this.exec('mount', ['-t', 'tmpfs', '-o', opts.join(','), 'tmpfs', dir]);
    this.mounts.push({ target: dir });
  }

  /**
   * Makes a sparse image file, formats it, attaches it to a loop device and mounts it
   * on `dir` inside the namespace. Returns the loop device.
   */
  async mountImage(dir: string, options: ImageMountOptions): Promise<string> {
    await mkdir(dir, { recursive: true });
    const sizeMiB = options.sizeMiB ?? (options.fstype === 'xfs' ? 300 : 64);
    const image = join(this.root, `image-${++this.imageSeq}.${options.fstype}`);
    await run('truncate', ['-s', `${sizeMiB}M`, image]);
    // No lazy inode-table/journal init: nothing changes on the disk behind the test's back.
    if (options.fstype === 'ext4') await run('mkfs.ext4', ['-q', '-F', '-E', 'lazy_itable_init=0,lazy_journal_init=0', image]);
    else await run('mkfs.xfs', ['-q', '-f', image]);
    const loop = (await run('losetup', ['--find', '--show', image])).stdout.trim();
    const record: MountRecord = { target: dir, loop };
    try {
      const args = options.options?.length ? ['-o', options.options.join(',')] : [];
      await this.exec('mount', ['-t', options.fstype, ...args, loop, dir]);
    } catch (err) {
      await run('losetup', ['-d', loop], { allowFail: true });
      throw err;
    }
    this.mounts.push(record);
    // Detaching a busy loop device only sets autoclear: the kernel frees it when the
    // last mount goes, which also covers a test process that dies without close().
    await run('losetup', ['-d', loop], { allowFail: true });
    return loop;
  }

  /** Bind-mounts `source` on `dir` inside the namespace (as the kubelet does for CSI). */
  async bindMount(source: string, dir: string): Promise<void> {
    await mkdir(dir, { recursive: true });
    await this.exec('mount', ['--bind', source, dir]);
    this.mounts.push({ target: dir });
  }

  /** Records a mount made by someone else (e.g. a FUSE daemon) for teardown. */
  track(dir: string): void {
    this.mounts.push({ target: dir });
  }

  /** Writes `bytes` bytes of zeros to `file` inside the namespace and syncs its filesystem. */
  async writeZeros(file: string, bytes: number): Promise<void> {
    await this.exec('sh', ['-c', 'head -c "$1" /dev/zero > "$2" && sync -f "$2"', 'sh', String(bytes), file]);
  }

  /** `df -B1 --output=size,used,avail` of a mount point, run inside the namespace. */
  async dfBytes(dir: string): Promise<DfBytes> {
    const [size, used, avail] = await this.dfNumbers(['-B1', '--output=size,used,avail', dir], 3);
    return { size: size!, used: used!, avail: avail! };
  }

  /**
   * `df --output=itotal,iavail,iused` (what `df -i` shows; `iavail` is statfs's
   * f_ffree, reported here as `ifree`) of a mount point, run inside the namespace.
   */
  async dfInodes(dir: string): Promise<DfInodes> {
    const [itotal, ifree, iused] = await this.dfNumbers(['--output=itotal,iavail,iused', dir], 3);
    return { itotal: itotal!, ifree: ifree!, iused: iused! };
  }

  private async dfNumbers(args: string[], count: number): Promise<number[]> {
    const { stdout } = await this.exec('df', args, { timeoutMs: 10_000 });
    const lines = stdout.trim().split('\n');
    const values = (lines[1] ?? '').trim().split(/\s+/).map(Number);
    if (values.length !== count || values.some((v) => !Number.isFinite(v))) {
      throw new Error(`unexpected df output for ${args.join(' ')}:\n${stdout}`);
    }
    return values;
  }

  /** The namespace's /proc/<pid>/mountinfo lines whose mount point is under `prefix`. */
  async mountinfo(prefix = this.root): Promise<string[]> {
    const { readFile } = await import('node:fs/promises');
    const text = await readFile(`/proc/${this.pid}/mountinfo`, 'utf8');
    const escaped = prefix.replace(/ /g, '\\040');
    return text.split('\n').filter((l) => l.split(' ')[4]?.startsWith(escaped));
  }

  /** Unmounts everything (newest first), detaches loop devices, kills the holder, removes the temp dir. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const errors: string[] = [];
    if (this.holder.exitCode === null && this.holder.signalCode === null) {
      for (const m of [...this.mounts].reverse()) {
        const r = await this.exec('umount', [m.target], { allowFail: true, timeoutMs: 10_000 }).catch((e: Error) => ({
          code: -1,
          stderr: e.message,
        }));
        if (r.code !== 0) {
          const lazy = await this.exec('umount', ['-l', m.target], { allowFail: true, timeoutMs: 10_000 }).catch(
            (e: Error) => ({ code: -1, stderr: e.message }),
          );
          if (lazy.code !== 0) errors.push(`umount ${m.target}: ${r.stderr.trim()} / ${lazy.stderr.trim()}`);
        }
      }
    }
    this.holder.stdin?.end();
    this.holder.kill('SIGKILL');
    await waitForExit(this.holder, 5_000);
    // Any loop device still bound to one of our images (autoclear normally frees them).
    const { stdout } = await run('losetup', ['--list', '--noheadings', '--output', 'NAME,BACK-FILE'], {
      allowFail: true,
    }).catch(() => ({ stdout: '' }));
    for (const line of stdout.split('\n')) {
      const [name, file] = line.trim().split(/\s+/, 2);
      if (name && file?.startsWith(this.root)) {
        const r = await run('losetup', ['-d', name], { allowFail: true });
        if (r.code !== 0 && !/No such device/i.test(r.stderr)) errors.push(`losetup -d ${name}: ${r.stderr.trim()}`);
      }
    }
    await this.removeRoot();
    if (errors.length > 0) throw new Error(`mount namespace teardown:\n${errors.join('\n')}`);
  }
}

/** Where one volume of the {@link KubeletTree} lives and what it is. */
export interface Volume {
  /** Mount point (absolute, host path == namespace path). */
  mountpoint: string;
  podUid: string;
  /** `kubernetes.io~<plugin>` directory name's plugin part: `empty-dir`, `csi`, `local-volume`. */
  plugin: string;
  /** Volume directory name under `volumes/kubernetes.io~<plugin>/` (the PV name for PV plugins). */
  name: string;
  /** PV name for PV-backed plugins (csi, local-volume), else undefined. */
  persistentVolume?: string;
  fstype: string;
}

/** Paths of a kubelet-like tree rooted at `<root>/var/lib/kubelet`. */
export class KubeletTree {
  readonly kubeletRoot: string;
  readonly volumes: Volume[] = [];
  private readonly ns: MountNamespace;

  constructor(ns: MountNamespace) {
    this.ns = ns;
    this.kubeletRoot = join(ns.root, 'var', 'lib', 'kubelet');
  }

  /** `<kubelet>/pods/<uid>/volumes/kubernetes.io~<plugin>/<name>` */
  volumeDir(podUid: string, plugin: string, name: string): string {
    return join(this.kubeletRoot, 'pods', podUid, 'volumes', `kubernetes.io~${plugin}`, name);
  }

  /** `<kubelet>/plugins/kubernetes.io/csi/<driver>/<hash>/globalmount` */
  globalMountDir(driver: string, hash: string): string {
    return join(this.kubeletRoot, 'plugins', 'kubernetes.io', 'csi', driver, hash, 'globalmount');
  }

  /** An emptyDir volume backed by tmpfs (medium: Memory). */
  async emptyDir(podUid: string, name: string, options: TmpfsOptions = {}): Promise<Volume> {
    const mountpoint = this.volumeDir(podUid, 'empty-dir', name);
    await this.ns.mountTmpfs(mountpoint, options);
    return this.add({ mountpoint, podUid, plugin: 'empty-dir', name, fstype: 'tmpfs' });
  }

  /**
   * A CSI volume as the kubelet lays it out for a block-backed driver: the device is
   * staged at the driver's `globalmount` and bind-mounted at the pod's `<pv>/mount`.
   */
  async csiVolume(podUid: string, pv: string, options: ImageMountOptions & { driver?: string }): Promise<Volume> {
    const driver = options.driver ?? 'ebs.csi.example.com';
    const hash = Buffer.from(pv).toString('hex').slice(0, 32).padEnd(32, '0');
    const global = this.globalMountDir(driver, hash);
    await this.ns.mountImage(global, options);
    const mountpoint = join(this.volumeDir(podUid, 'csi', pv), 'mount');
    await this.ns.bindMount(global, mountpoint);
    await writeFile(join(this.volumeDir(podUid, 'csi', pv), 'vol_data.json'), JSON.stringify({ specVolID: pv, driverName: driver }));
    return this.add({ mountpoint, podUid, plugin: 'csi', name: pv, persistentVolume: pv, fstype: options.fstype });
  }

  /** A local PersistentVolume mounted directly at the pod's volume dir. */
  async localVolume(podUid: string, pv: string, options: ImageMountOptions): Promise<Volume> {
    const mountpoint = this.volumeDir(podUid, 'local-volume', pv);
    await this.ns.mountImage(mountpoint, options);
    return this.add({ mountpoint, podUid, plugin: 'local-volume', name: pv, persistentVolume: pv, fstype: options.fstype });
  }

  /** Records a volume mounted by the caller (e.g. a FUSE mount) so tests can find it. */
  add(volume: Volume): Volume {
    this.volumes.push(volume);
    return volume;
  }
}
