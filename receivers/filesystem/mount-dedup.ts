import type { HostMount } from './host-view.ts';

/**
 * Keeps the last entry per mount point. A later mount on the same path covers the earlier
 * one, and statfs of the path reaches the covering one, so the covered entry's labels would lie.
 */
export function keepVisible<T extends HostMount>(mounts: readonly T[]): T[] {
  const last = new Map<string, number>();
  mounts.forEach((m, i) => last.set(m.mountPoint, i));
  return mounts.filter((m, i) => last.get(m.mountPoint) === i);
}

/** The same filesystem subtree is the same data: device and root directory together. */
export function deviceRootKey(m: HostMount): string {
  return `${m.info.majorMinor}\u0000${m.info.root}`;
}

/**
 * Reports each (major:minor, root) once, at its first mount point in table order (the
 * original mount precedes its bind mounts). Bind mounts of different subtrees of one
 * device stay separate: they are different directories.
 */
export function firstPerDeviceRoot<T extends HostMount>(mounts: readonly T[]): T[] {
  const seen = new Set<string>();
  return mounts.filter((m) => {
    const key = deviceRootKey(m);
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}
