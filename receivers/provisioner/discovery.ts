import { posix } from 'node:path';
import type { KubeLookup } from '../../kube/lookup.ts';
import { claimOf, pinnedToNode, type NodeIdentity } from '../../kube/volume-node.ts';
import type { Sample } from '../../pipeline/datapoints.ts';
import { normaliseRootPath, toHostMounts } from '../filesystem/host-view.ts';
import type { MountInfo } from '../filesystem/mountinfo.ts';
import { normaliseDir, type ProvisionerReceiverConfig, type VolumeMode } from './config.ts';
import { namePatternRegExp } from './name-pattern.ts';

/**
 * The pure parts of local volume discovery (see README.md, "Discovery directories"): the
 * directories with their defaults filled in, which paths are mount points, which entries PVs
 * claim, where a block device link leads under `root_path`, and the samples of one round.
 */

/** A discovery directory with every default filled in. */
export interface DiscoveryDirectory {
  readonly storageClass: string;
  /** Host path, normalised: PVs name `<hostDir>/<name>`. */
  readonly hostDir: string;
  /** Where the agent reads it, normalised. */
  readonly mountDir: string;
  readonly mode: VolumeMode;
  readonly namePattern: string;
  readonly match: RegExp;
}

/** The configured directories, defaults filled in (the config is validated before). */
export function discoveryDirectories(config: Pick<ProvisionerReceiverConfig, 'discovery_directories' | 'root_path'>): DiscoveryDirectory[] {
  const root = normaliseRootPath(config.root_path);
  return config.discovery_directories.map((d) => {
    const hostDir = normaliseDir(d.host_dir);
    const namePattern = d.name_pattern ?? '*';
    return {
      storageClass: d.storage_class,
      hostDir,
      mountDir: normaliseDir(d.mount_dir ?? (hostDir === '/' ? root || '/' : root + hostDir)),
      mode: d.volume_mode ?? 'Filesystem',
      namePattern,
      match: namePatternRegExp(namePattern),
    };
  });
}

/** `<dir>/<name>` without a doubled slash when `dir` is `/`. */
export function entryPath(dir: string, name: string): string {
  return dir === '/' ? `/${name}` : `${dir}/${name}`;
}

/** Mount points of one mount table: as host paths (`root_path` handled as the filesystem receiver does) and as listed. */
export interface MountPoints {
  readonly host: ReadonlySet<string>;
  readonly listed: ReadonlySet<string>;
}

export function mountPoints(mounts: readonly MountInfo[], rootPath: string): MountPoints {
  return {
    host: new Set(toHostMounts(mounts, rootPath).map((m) => m.mountPoint)),
    listed: new Set(mounts.map((m) => m.mountPoint)),
  };
}

/**
 * Whether an entry is a mount point: the table lists its host path (`<host_dir>/<name>`: the
 * host's table, or the agent's with the host under `root_path`), or the path the agent reads
 * it at (`<mount_dir>/<name>`: the agent's own table, the directory mounted into its container
 * with host-to-container propagation, as the static provisioner sees it).
 */
export function isMountPoint(points: MountPoints, hostPath: string, mountPath: string): boolean {
  return points.host.has(hostPath) || points.listed.has(mountPath);
}

/**
 * Host paths claimed by a PV: `local.path` of every live `local` PV the cache holds whose node
 * affinity (or, failing that, selected-node annotation) names this node, in any phase.
 */
export function claimedPaths(lookup: KubeLookup, node: NodeIdentity): Set<string> {
  const claimed = new Set<string>();
  for (const pv of lookup.list('persistentvolumes')) {
    if (pv.deletedAt !== undefined || pv.sourceType !== 'local' || !pv.path?.startsWith('/')) continue;
    if (pinnedToNode(pv, claimOf(lookup, pv), node) !== true) continue;
    claimed.add(normaliseDir(pv.path));
  }
  return claimed;
}

/**
 * Where the symbolic link at `linkPath` (a path the agent reads) leads: an absolute target is
 * a host path, read under `root_path`; a relative one is taken from the link's directory.
 */
export function linkTarget(linkPath: string, target: string, rootPath: string): string {
  if (target.startsWith('/')) {
    const root = normaliseRootPath(rootPath);
    return root === '' ? posix.normalize(target) : posix.normalize(`${root}/${target}`);
  }
  return posix.normalize(posix.join(posix.dirname(linkPath), target));
}

/** Major and minor numbers of a Linux `dev_t` (glibc's encoding: 12+20 bits of major, 8+24 of minor). */
export function deviceNumbers(rdev: bigint): { major: number; minor: number } {
  const major = ((rdev >> 8n) & 0xfffn) | ((rdev >> 32n) & 0xfffff000n);
  const minor = (rdev & 0xffn) | ((rdev >> 12n) & 0xffffff00n);
  return { major: Number(major), minor: Number(minor) };
}

/** Why an entry matching the name pattern is not a volume. */
export type IgnoreReason = 'not_mount_point' | 'not_block_device';

export function ignoreReason(mode: VolumeMode): IgnoreReason {
  return mode === 'Filesystem' ? 'not_mount_point' : 'not_block_device';
}

/** One volume found in a directory. */
export interface FoundVolume {
  readonly dir: DiscoveryDirectory;
  readonly name: string;
  readonly hostPath: string;
  /** Bytes (f_blocks × f_bsize, or the device size); undefined when it could not be read this time. */
  readonly capacityBytes: number | undefined;
}

/** One entry matching the pattern that is not a volume. */
export interface IgnoredEntry {
  readonly dir: DiscoveryDirectory;
  readonly hostPath: string;
  readonly reason: IgnoreReason;
  /** What it is instead, for the log: `directory`, `file`, `symlink to a character device`, … */
  readonly detail: string;
}

/** What one round found. */
export interface DiscoveryRound {
  readonly volumes: readonly FoundVolume[];
  readonly ignored: readonly IgnoredEntry[];
}

export interface DiscoverySamples {
  /** `{storageclass, mode, state}`: both states of every configured class and mode, also at 0. */
  readonly volumes: Sample[];
  /** `{storageclass, mode, path}`: one per unclaimed volume whose capacity is known. */
  readonly unclaimedCapacity: Sample[];
  /** `{storageclass, mode, reason}`: every configured class and mode, also at 0. */
  readonly ignored: Sample[];
}

/** The samples of one round, an entry being claimed when its host path is in `claimed`. */
export function discoverySamples(dirs: readonly DiscoveryDirectory[], round: DiscoveryRound, claimed: ReadonlySet<string>): DiscoverySamples {
  const key = (d: DiscoveryDirectory): string => `${d.storageClass}\u0000${d.mode}`;
  const counts = new Map<string, { storageclass: string; mode: VolumeMode; claimed: number; unclaimed: number; ignored: number }>();
  for (const d of dirs) if (!counts.has(key(d))) counts.set(key(d), { storageclass: d.storageClass, mode: d.mode, claimed: 0, unclaimed: 0, ignored: 0 });
  const unclaimedCapacity: Sample[] = [];
  for (const v of round.volumes) {
    const row = counts.get(key(v.dir));
    if (!row) continue;
    if (claimed.has(v.hostPath)) {
      row.claimed += 1;
      continue;
    }
    row.unclaimed += 1;
    if (v.capacityBytes !== undefined) unclaimedCapacity.push({ attributes: { storageclass: v.dir.storageClass, mode: v.dir.mode, path: v.hostPath }, value: v.capacityBytes });
  }
  for (const e of round.ignored) {
    const row = counts.get(key(e.dir));
    if (row) row.ignored += 1;
  }
  const rows = [...counts.values()];
  return {
    volumes: rows.flatMap((r) => [
      { attributes: { storageclass: r.storageclass, mode: r.mode, state: 'claimed' }, value: r.claimed },
      { attributes: { storageclass: r.storageclass, mode: r.mode, state: 'unclaimed' }, value: r.unclaimed },
    ]),
    unclaimedCapacity,
    ignored: rows.map((r) => ({ attributes: { storageclass: r.storageclass, mode: r.mode, reason: ignoreReason(r.mode) }, value: r.ignored })),
  };
}
