import { posix } from 'node:path';
import type { MountInfo } from './mountinfo.ts';

/** A mount as the host sees it: where to statfs it from here, and the path to report. */
export interface HostMount {
  readonly info: MountInfo;
  /** Path to statfs from the agent's own mount namespace (with `root_path`). */
  readonly statfsPath: string;
  /** Mount point on the host (without `root_path`): the `mountpoint` label. */
  readonly mountPoint: string;
}

/** Normalises `root_path`: `''` and `/` both mean "the host is our root". */
export function normaliseRootPath(rootPath: string): string {
  const trimmed = rootPath === '' ? '' : posix.normalize(rootPath).replace(/\/+$/, '');
  return trimmed === '/' ? '' : trimmed;
}

function isUnder(path: string, prefix: string): boolean {
  return path === prefix || path.startsWith(prefix + '/');
}

/**
 * Maps mount-table entries to host mounts under `rootPath` (e.g. `/host`).
 *
 * The table may come from two views. The host's (`<root>/proc/1/mountinfo`) lists host
 * paths: statfs `<root><path>`, report `<path>`. The agent's own (`/proc/self/mountinfo`)
 * lists the host's mounts under `<root>` and the agent container's private mounts elsewhere:
 * statfs the path as listed, report it without `<root>`, and drop the private ones — they are
 * not the host's. The agent's view is recognised by the table listing `<root>` itself or
 * something under it, so a listed `/host/x` never becomes `/host/host/x`.
 */
export function toHostMounts(mounts: readonly MountInfo[], rootPath: string): HostMount[] {
  const root = normaliseRootPath(rootPath);
  if (root === '') return mounts.map((info) => ({ info, statfsPath: info.mountPoint, mountPoint: info.mountPoint }));
  const agentView = mounts.some((m) => isUnder(m.mountPoint, root));
  const out: HostMount[] = [];
  for (const info of mounts) {
    if (agentView) {
      if (!isUnder(info.mountPoint, root)) continue;
      out.push({ info, statfsPath: info.mountPoint, mountPoint: info.mountPoint.slice(root.length) || '/' });
    } else {
      out.push({ info, statfsPath: info.mountPoint === '/' ? root : root + info.mountPoint, mountPoint: info.mountPoint });
    }
  }
  return out;
}
