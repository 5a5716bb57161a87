import type { Dirent } from 'node:fs';
import { lstat, readdir, readFile, readlink, stat } from 'node:fs/promises';
import type { Logger } from 'pino';
import { errorMessage, NodemeterError } from '../../pipeline/errors.ts';
import { normaliseRootPath } from '../filesystem/host-view.ts';
import { mountTableCandidates, readMountTable } from '../filesystem/mount-table.ts';
import { MountinfoParser } from '../filesystem/mountinfo.ts';
import type { ProbeOutcome, StatfsPool } from '../filesystem/statfs-pool.ts';
import {
  deviceNumbers,
  entryPath,
  isMountPoint,
  linkTarget,
  mountPoints,
  type DiscoveryDirectory,
  type DiscoveryRound,
  type FoundVolume,
  type IgnoredEntry,
  type MountPoints,
} from './discovery.ts';

/** Symbolic links followed from one entry before giving up, as the kernel's ELOOP limit. */
const MAX_LINKS = 40;

export interface LocalDiscoveryOptions {
  readonly directories: readonly DiscoveryDirectory[];
  readonly rootPath: string;
  readonly mountinfoPath: string;
  /** The time-limited statfs of the filesystem receiver, owned by the caller. */
  readonly pool: Pick<StatfsPool, 'probeMany'>;
  readonly logger: Logger;
}

/** What one round found, and what went wrong on the way (the round is still good). */
export interface DiscoveryResult extends DiscoveryRound {
  readonly errors: Error[];
}

/** A block device found at the end of an entry's links. */
type BlockProbe = { readonly ok: true; readonly device: string; readonly sizeBytes: number | undefined; readonly error?: string } | { readonly ok: false; readonly detail: string };

/**
 * Reads the discovery directories each round. Only reads: directory listings, the mount
 * table, lstat/stat/readlink of entries, statfs (in the filesystem receiver's worker threads,
 * so a hung mount costs one blocked thread and a `timeout`, never the collection) and the
 * device size from sysfs. No device is ever opened. Ignored entries and unreadable
 * directories are logged once, when they first show up, not every round.
 */
export class LocalDiscovery {
  readonly #options: LocalDiscoveryOptions;
  readonly #root: string;
  readonly #candidates: string[];
  readonly #parser = new MountinfoParser();
  /** Host paths of the ignored entries already logged; an entry that goes away (or becomes a volume) is logged again if it comes back. */
  #loggedIgnored = new Set<string>();
  /** Directories (mount_dir) whose failure was logged, until they are readable again. */
  #failingDirs = new Set<string>();

  constructor(options: LocalDiscoveryOptions) {
    this.#options = options;
    this.#root = normaliseRootPath(options.rootPath);
    this.#candidates = mountTableCandidates(options.mountinfoPath, options.rootPath);
  }

  /** One round; never rejects. `signal` cuts statfs short (those answer `aborted`, the volume's capacity unknown). */
  async discover(signal?: AbortSignal): Promise<DiscoveryResult> {
    const errors: Error[] = [];
    const needsTable = this.#options.directories.some((d) => d.mode === 'Filesystem');
    let points: MountPoints | undefined;
    if (needsTable) {
      try {
        const table = await readMountTable(this.#candidates, this.#parser);
        points = mountPoints(table.mounts, this.#options.rootPath);
      } catch (err) {
        errors.push(err as Error);
      }
    }
    const volumes: Array<{ dir: DiscoveryDirectory; name: string; hostPath: string; mountPath: string; capacityBytes: number | undefined }> = [];
    const ignored: IgnoredEntry[] = [];
    const failing = new Set<string>();
    for (const dir of this.#options.directories) {
      // Without a mount table nothing can be told to be a mount point: the directory is skipped, not reported empty of volumes.
      if (dir.mode === 'Filesystem' && !points) continue;
      let entries: Dirent[];
      try {
        entries = await readdir(dir.mountDir, { withFileTypes: true });
      } catch (err) {
        failing.add(dir.mountDir);
        const message = `discovery directory ${dir.mountDir} (storage class ${dir.storageClass}): ${errorMessage(err)}`;
        errors.push(new NodemeterError('NM_PROVISIONER_DISCOVERY', message, { retryable: true, cause: err }));
        if (!this.#failingDirs.has(dir.mountDir)) this.#options.logger.warn({ err, dir: dir.mountDir, storageClass: dir.storageClass }, 'cannot read a discovery directory');
        continue;
      }
      entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
      for (const entry of entries) {
        if (!dir.match.test(entry.name)) continue;
        const hostPath = entryPath(dir.hostDir, entry.name);
        const mountPath = entryPath(dir.mountDir, entry.name);
        if (dir.mode === 'Filesystem') {
          // The listing's type, not a stat: a stat of a mount point asks the mounted filesystem, which may hang.
          if (entry.isDirectory() && points && isMountPoint(points, hostPath, mountPath)) volumes.push({ dir, name: entry.name, hostPath, mountPath, capacityBytes: undefined });
          else ignored.push({ dir, hostPath, reason: 'not_mount_point', detail: entry.isDirectory() ? 'a directory that is not a mount point' : kindOf(entry) });
          continue;
        }
        const probe = await this.#blockDevice(mountPath);
        if (!probe.ok) {
          ignored.push({ dir, hostPath, reason: 'not_block_device', detail: probe.detail });
          continue;
        }
        if (probe.error !== undefined) errors.push(new NodemeterError('NM_PROVISIONER_DISCOVERY', `${hostPath}: block device ${probe.device}: ${probe.error}`, { retryable: true }));
        volumes.push({ dir, name: entry.name, hostPath, mountPath, capacityBytes: probe.sizeBytes });
      }
    }
    for (const dir of this.#failingDirs) if (!failing.has(dir)) this.#options.logger.info({ dir }, 'discovery directory readable again');
    this.#failingDirs = failing;
    this.#logIgnored(ignored);
    await this.#statfs(volumes, errors, signal);
    const found: FoundVolume[] = volumes.map(({ dir, name, hostPath, capacityBytes }) => ({ dir, name, hostPath, capacityBytes }));
    return { volumes: found, ignored, errors };
  }

  /** Fills in the capacity of the Filesystem volumes: f_blocks × f_bsize, as the static provisioner (and df's size) has it. */
  async #statfs(volumes: Array<{ dir: DiscoveryDirectory; hostPath: string; mountPath: string; capacityBytes: number | undefined }>, errors: Error[], signal?: AbortSignal): Promise<void> {
    const filesystems = volumes.filter((v) => v.dir.mode === 'Filesystem');
    if (filesystems.length === 0) return;
    const outcomes: ProbeOutcome[] = await this.#options.pool.probeMany(
      filesystems.map((v) => v.mountPath),
      signal,
    );
    filesystems.forEach((v, i) => {
      const outcome = outcomes[i];
      if (outcome?.ok) v.capacityBytes = outcome.stats.blocks * outcome.stats.bsize;
      else errors.push(new NodemeterError('NM_PROVISIONER_STATFS', `${v.hostPath}: ${outcome?.reason ?? 'unknown'}: ${outcome?.message ?? ''}`, { retryable: true }));
    });
  }

  /**
   * Whether the entry is a block device, or a symbolic link (chain) to one, as the static
   * provisioner links `/dev/disk/by-id/…` into its directories. Absolute link targets are host
   * paths, followed under `root_path`. Only lstat, readlink and stat: the device is not opened.
   */
  async #blockDevice(mountPath: string): Promise<BlockProbe> {
    let path = mountPath;
    let linked = false;
    try {
      for (let hops = 0; ; hops++) {
        const st = await lstat(path, { bigint: true });
        if (!st.isSymbolicLink()) break;
        if (hops === MAX_LINKS) return { ok: false, detail: `more than ${MAX_LINKS} symbolic links` };
        linked = true;
        path = linkTarget(path, await readlink(path), this.#root);
      }
      // stat, not lstat: a directory on the way may still be a link (resolved by the kernel, against the agent's own root).
      const st = await stat(path, { bigint: true });
      const via = linked ? 'a symbolic link to ' : '';
      if (!st.isBlockDevice()) return { ok: false, detail: `${via}${st.isCharacterDevice() ? 'a character device' : st.isDirectory() ? 'a directory' : st.isFile() ? 'a regular file' : 'not a block device'}` };
      const { major, minor } = deviceNumbers(st.rdev);
      const size = await this.#deviceSize(major, minor);
      return { ok: true, device: `${major}:${minor}`, ...size };
    } catch (err) {
      return { ok: false, detail: `${linked ? `a broken symbolic link (${path})` : 'unreadable'}: ${errorMessage(err)}` };
    }
  }

  /** `/sys/dev/block/<major>:<minor>/size` (512-byte sectors, whatever the device's block size) under `root_path`, then the agent's own /sys. */
  async #deviceSize(major: number, minor: number): Promise<{ sizeBytes: number | undefined; error?: string }> {
    const suffix = `/sys/dev/block/${major}:${minor}/size`;
    const candidates = this.#root === '' ? [suffix] : [this.#root + suffix, suffix];
    const failures: string[] = [];
    for (const file of candidates) {
      try {
        const text = (await readFile(file, 'utf8')).trim();
        if (!/^\d+$/.test(text)) throw new Error(`not a sector count: ${JSON.stringify(text)}`);
        return { sizeBytes: Number(text) * 512 };
      } catch (err) {
        failures.push(`${file}: ${errorMessage(err)}`);
      }
    }
    return { sizeBytes: undefined, error: `size unknown (${failures.join('; ')})` };
  }

  #logIgnored(ignored: readonly IgnoredEntry[]): void {
    const now = new Set<string>();
    for (const e of ignored) {
      now.add(e.hostPath);
      if (this.#loggedIgnored.has(e.hostPath)) continue;
      const why = e.reason === 'not_mount_point' ? 'Filesystem entries must be mount points' : 'Block entries must be block devices or links to them';
      this.#options.logger.info({ path: e.hostPath, storageClass: e.dir.storageClass, reason: e.reason }, `discovery ignores ${e.hostPath}: ${e.detail} (${why})`);
    }
    this.#loggedIgnored = now;
  }
}

function kindOf(entry: Dirent): string {
  if (entry.isSymbolicLink()) return 'a symbolic link';
  if (entry.isFile()) return 'a regular file';
  if (entry.isBlockDevice()) return 'a block device';
  if (entry.isCharacterDevice()) return 'a character device';
  return 'not a directory';
}
