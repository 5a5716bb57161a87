/**
 * The paths inside the agent's container that a loaded config reads from the host: what a
 * DaemonSet must mount for it. Derived from each component's defaulted settings, so a default
 * that changes changes the answer.
 */
import { posix } from 'node:path';
import type { LoadedConfig } from '../../config/load.ts';
import type { DockerReceiverConfig } from '../../receivers/docker/config.ts';
import { parseEndpoint, resolveEndpointUrl } from '../../receivers/docker/engine-endpoint.ts';
import type { FilesystemReceiverConfig } from '../../receivers/filesystem/config.ts';
import type { HostpathReceiverConfig } from '../../receivers/hostpath/config.ts';
import type { ProvisionerReceiverConfig } from '../../receivers/provisioner/config.ts';

/** Receivers that read nothing from the host's filesystem (the API server and the network only). */
const NO_HOST_PATHS = new Set(['podscrape']);

/** `root` followed by a host path, normalised (`''` and `/` roots mean the agent sees the host as its own root). */
function under(root: string, hostPath: string): string {
  const base = root === '' || root === '/' ? '' : posix.normalize(root).replace(/\/+$/, '');
  return posix.normalize(base + hostPath).replace(/(.)\/+$/, '$1');
}

/** A mount table path `…/proc/1/mountinfo` read from `<root>/proc`; stands for the whole proc mount. */
function mountTableRoot(root: string, mountinfoPath: string): string {
  if (mountinfoPath === '') return under(root, '/proc');
  const match = /^(.*\/proc)\/(?:\d+|self)\/mountinfo$/.exec(posix.normalize(mountinfoPath));
  return match?.[1] ?? posix.normalize(mountinfoPath);
}

/**
 * Every in-container path each receiver of the config reads, with the receiver ID that reads it.
 * Throws for a receiver type it does not know, so a new receiver cannot slip past the check.
 */
export function configHostPaths(config: LoadedConfig): Map<string, string[]> {
  const paths = new Map<string, string[]>();
  const add = (path: string, by: string): void => {
    const readers = paths.get(path) ?? [];
    if (!readers.includes(by)) readers.push(by);
    paths.set(path, readers);
  };
  for (const [id, receiver] of config.receivers) {
    switch (receiver.type) {
      case 'filesystem': {
        const c = receiver.config as unknown as FilesystemReceiverConfig;
        add(mountTableRoot(c.root_path, c.mountinfo_path), id);
        if (c.kubelet_root !== '') add(under(c.root_path, c.kubelet_root), id);
        if (c.node_filesystems.enabled) add(under(c.root_path, '/'), id);
        break;
      }
      case 'hostpath': {
        const c = receiver.config as unknown as HostpathReceiverConfig;
        for (const dir of c.local_path_base_dirs) add(under(c.root_path, dir), id);
        break;
      }
      case 'provisioner': {
        const c = receiver.config as unknown as ProvisionerReceiverConfig;
        if (c.discovery_directories.length > 0) {
          add(mountTableRoot(c.root_path, c.mountinfo_path), id);
          add(under(c.root_path, '/sys'), id);
          for (const dir of c.discovery_directories) add(dir.mount_dir ?? under(c.root_path, dir.host_dir), id);
        }
        break;
      }
      case 'docker': {
        const c = receiver.config as unknown as DockerReceiverConfig;
        const endpoint = parseEndpoint(resolveEndpointUrl(c.endpoint, {}));
        if (endpoint.kind === 'unix') add(endpoint.socketPath, id);
        add(posix.normalize(c.proc_root), id);
        if (c.source === 'cgroup') add(posix.normalize(c.cgroup_root), id);
        break;
      }
      default:
        if (!NO_HOST_PATHS.has(receiver.type)) throw new Error(`receiver ${id}: configHostPaths does not know which host paths a ${receiver.type} receiver reads; teach it`);
    }
  }
  return paths;
}
