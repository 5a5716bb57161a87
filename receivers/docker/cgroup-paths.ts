// Finding a Docker container's cgroup directories. Done once per container (the receiver caches
// the result), so it may readdir and stat a little; reading the sample is the hot path.
import { existsSync, readdirSync, readFileSync } from 'node:fs';

export type CgroupVersion = 1 | 2;

/** The v1 controllers a sample reads from. */
export type V1Controller = 'cpu' | 'cpuacct' | 'memory' | 'blkio' | 'pids';

/** A directory per v1 controller; a controller that is not mounted, or not found, is absent. */
export type CgroupV1Dirs = { readonly [C in V1Controller]?: string };

/** Where one container's cgroup files are. */
export type ContainerCgroup =
  | { readonly version: 1; readonly dirs: CgroupV1Dirs }
  | { readonly version: 2; readonly dir: string };

export interface CgroupLocation {
  /** Where the cgroup hierarchies are mounted, e.g. `/sys/fs/cgroup` or `/host/sys/fs/cgroup`. */
  readonly cgroupRoot: string;
  /** The host's proc, e.g. `/proc` or `/host/proc`. */
  readonly procRoot: string;
}

const V1_CONTROLLERS: readonly V1Controller[] = ['cpu', 'cpuacct', 'memory', 'blkio', 'pids'];

/** The controller whose hierarchy is searched for a known layout; the others follow its path. */
const PROBE_ORDER: readonly V1Controller[] = ['memory', 'cpuacct', 'cpu', 'pids', 'blkio'];

/**
 * Kubernetes pods' parent directories (QoS guaranteed, burstable, besteffort), for the kubelet's
 * cgroupfs and systemd drivers: the pod directory's name prefix and the container's child name.
 */
function kubepodsLayouts(id: string): ReadonlyArray<readonly [parent: string, podPrefix: string, child: string]> {
  const scope = `docker-${id}.scope`;
  return [
    ['/kubepods', 'pod', id],
    ['/kubepods/burstable', 'pod', id],
    ['/kubepods/besteffort', 'pod', id],
    ['/kubepods.slice', 'kubepods-pod', scope],
    ['/kubepods.slice/kubepods-burstable.slice', 'kubepods-burstable-pod', scope],
    ['/kubepods.slice/kubepods-besteffort.slice', 'kubepods-besteffort-pod', scope],
  ];
}

/** Pod directories looked into per QoS parent; kubelet's max-pods is 110 by default. */
const MAX_POD_DIRS = 2048;

/** v2 (unified) when the root has cgroup.controllers; v1 otherwise, hybrid systems included. */
export function detectCgroupVersion(cgroupRoot: string): CgroupVersion {
  return existsSync(`${trimSlash(cgroupRoot)}/cgroup.controllers`) ? 2 : 1;
}

/**
 * Finds a container's cgroup: first from `<procRoot>/<pid>/cgroup` when a pid is given, then from
 * Docker's known layouts (cgroupfs and systemd drivers, plain and under Kubernetes pods). Undefined
 * when neither finds it. The pid's cgroup is trusted as given (it need not name the id): the
 * caller takes the pid and id from the same inspect.
 */
export function locateContainerCgroup(options: CgroupLocation, id: string, pid?: number): ContainerCgroup | undefined {
  const root = trimSlash(options.cgroupRoot);
  const lines = pid === undefined ? undefined : readProcCgroup(options.procRoot, pid);
  if (detectCgroupVersion(root) === 2) {
    const rel = (lines && v2FromProc(root, lines, id)) ?? findLayout(root, id);
    return rel === undefined ? undefined : { version: 2, dir: root + rel };
  }
  const mounts = v1Mounts(root);
  const dirs = (lines && v1FromProc(root, mounts, lines, id)) ?? v1FromLayouts(mounts, id);
  return dirs === undefined ? undefined : { version: 1, dirs };
}

function trimSlash(path: string): string {
  return path.length > 1 && path.endsWith('/') ? path.slice(0, -1) : path;
}

function readProcCgroup(procRoot: string, pid: number): string[] | undefined {
  try {
    return readFileSync(`${trimSlash(procRoot)}/${pid}/cgroup`, 'utf8').split('\n');
  } catch {
    return undefined;
  }
}

/** A /proc/<pid>/cgroup line: `hierarchy-id:controller-list:path` (the path may hold colons). */
function splitProcLine(line: string): { hierarchy: string; controllers: string; path: string } | undefined {
  const first = line.indexOf(':');
  const second = first < 0 ? -1 : line.indexOf(':', first + 1);
  if (second < 0) return undefined;
  return { hierarchy: line.slice(0, first), controllers: line.slice(first + 1, second), path: line.slice(second + 1) };
}

/**
 * The path of a /proc cgroup line relative to the cgroup root, `''` for the root itself. Undefined
 * for paths outside the reader's cgroup namespace (`/..`: the agent runs in its own namespace and
 * the container is not below it). A path below the container's own directory (a container running
 * systemd puts its processes in `…/docker-<id>.scope/init.scope`) is cut back to that directory,
 * whose counters cover the whole container.
 */
function containerPath(path: string, id: string): string | undefined {
  if (!path.startsWith('/')) return undefined;
  const segments = path.split('/');
  if (segments.includes('..')) return undefined;
  const own = id === '' ? -1 : segments.findIndex((s) => s.includes(id));
  const kept = own > 0 ? segments.slice(0, own + 1) : segments;
  const rel = kept.join('/');
  return rel === '/' ? '' : trimSlash(rel);
}

function v2FromProc(root: string, lines: readonly string[], id: string): string | undefined {
  const line = lines.find((l) => l.startsWith('0::'));
  const rel = line === undefined ? undefined : containerPath(line.slice(3), id);
  return rel !== undefined && existsSync(root + rel) ? rel : undefined;
}

/**
 * Each v1 controller's mount directory under the root: its own name, else a combined mount such as
 * `cpu,cpuacct` (systemd adds `cpu` and `cpuacct` symlinks to it, other setups do not).
 */
function v1Mounts(root: string): Map<V1Controller, string> {
  const mounts = new Map<V1Controller, string>();
  let names: string[];
  try {
    names = readdirSync(root);
  } catch {
    return mounts;
  }
  for (const controller of V1_CONTROLLERS) {
    const name = names.includes(controller) ? controller : names.find((n) => n.split(',').includes(controller));
    if (name !== undefined) mounts.set(controller, `${root}/${name}`);
  }
  return mounts;
}

/**
 * Maps each v1 line's path under the root: `<root>/<controller-list>/<path>`, then
 * `<root>/<controller>/<path>`, then the controller's mount found by v1Mounts. Undefined (use the
 * layouts) if any wanted controller's path is outside the namespace or missing.
 */
function v1FromProc(root: string, mounts: ReadonlyMap<V1Controller, string>, lines: readonly string[], id: string): CgroupV1Dirs | undefined {
  const dirs: { [C in V1Controller]?: string } = {};
  let found = false;
  for (const line of lines) {
    const entry = splitProcLine(line);
    // Hierarchy 0 is the v2 one of a hybrid system; named hierarchies (name=systemd) have no controllers we read.
    if (entry === undefined || entry.hierarchy === '0') continue;
    const listed = entry.controllers.split(',').filter((c): c is V1Controller => (V1_CONTROLLERS as readonly string[]).includes(c));
    if (listed.length === 0) continue;
    const rel = containerPath(entry.path, id);
    if (rel === undefined) return undefined;
    for (const controller of listed) {
      const mount = mounts.get(controller);
      const candidates = [`${root}/${entry.controllers}${rel}`, `${root}/${controller}${rel}`];
      if (mount !== undefined) candidates.push(mount + rel);
      const dir = candidates.find((c) => existsSync(c));
      if (dir === undefined) return undefined;
      dirs[controller] = dir;
      found = true;
    }
  }
  return found ? dirs : undefined;
}

/**
 * Finds the container's path in one hierarchy (the first mounted in PROBE_ORDER; every hierarchy
 * of a Docker host has the same layout, so searching one is enough) and keeps each controller
 * whose hierarchy has it.
 */
function v1FromLayouts(mounts: ReadonlyMap<V1Controller, string>, id: string): CgroupV1Dirs | undefined {
  const probe = PROBE_ORDER.find((c) => mounts.has(c));
  if (probe === undefined) return undefined;
  const rel = findLayout(mounts.get(probe) as string, id);
  if (rel === undefined) return undefined;
  const dirs: { [C in V1Controller]?: string } = {};
  for (const [controller, mount] of mounts) if (existsSync(mount + rel)) dirs[controller] = mount + rel;
  return dirs;
}

/** The container's path below `base` (a v1 mount or the v2 root) in Docker's known layouts. */
function findLayout(base: string, id: string): string | undefined {
  // Engine ids are hex; anything that could name a parent directory would match the wrong one.
  if (id === '' || id === '.' || id === '..' || id.includes('/')) return undefined;
  for (const rel of [`/docker/${id}`, `/system.slice/docker-${id}.scope`]) if (existsSync(base + rel)) return rel;
  for (const [parent, podPrefix, child] of kubepodsLayouts(id)) {
    const rel = searchPods(base, parent, podPrefix, child);
    if (rel !== undefined) return rel;
  }
  return undefined;
}

/**
 * The pod uid is not known here, so list one QoS parent and stat `<pod>/<child>` in each pod
 * directory: one readdir and at most MAX_POD_DIRS stats, no recursion.
 */
function searchPods(base: string, parent: string, podPrefix: string, child: string): string | undefined {
  let names: string[];
  try {
    names = readdirSync(base + parent);
  } catch {
    return undefined;
  }
  let examined = 0;
  for (const name of names) {
    if (!name.startsWith(podPrefix)) continue;
    if (++examined > MAX_POD_DIRS) break;
    const rel = `${parent}/${name}/${child}`;
    if (existsSync(base + rel)) return rel;
  }
  return undefined;
}
