import { readdir } from 'node:fs/promises';
import type { KubeLookup } from '../../kube/lookup.ts';
import { parseQuantityBytes } from '../../kube/quantity.ts';
import type { PersistentVolumeClaimInfo, PersistentVolumeInfo, PodInfo } from '../../kube/types.ts';
import { claimOf, nodeIdentity, pinnedToNode, type NodeIdentity } from '../../kube/volume-node.ts';

export { LOCAL_PATH_NODE_ANNOTATION, PVC_SELECTED_NODE_ANNOTATION } from '../../kube/volume-node.ts';

/** How the volume got to this agent, as the `volume_plugin` label names it (filesystem receiver's spelling). */
export type VolumePlugin = 'host-path' | 'local-volume';

/** One directory to measure and what is known about it. */
export interface VolumeTarget {
  /** Stable identity across discoveries: the PV name, or the directory without a PV. */
  readonly key: string;
  /** The directory as the host sees it (labels). */
  readonly path: string;
  /** The directory as this process sees it: root_path + path. */
  readonly walkPath: string;
  readonly plugin: VolumePlugin;
  readonly persistentVolume?: string;
  readonly namespace?: string;
  readonly claim?: string;
  readonly storageClass?: string;
  /** From the PVC's request, else the PV's capacity; undefined: the filesystem's size is used. */
  readonly capacityBytes?: number;
  /** Why a quantity was not usable, when one was given but could not be parsed. */
  readonly capacityProblem?: string;
}

export interface ClusterDiscoveryOptions {
  readonly nodeName: string;
  /** Node label key whose nodeAffinity `In` values name the PV's node. */
  readonly affinityKey: string;
  readonly rootPath: string;
}

/**
 * The Bound hostPath and local PVs of this node, from the shared cache. The node comes, in
 * this order, from the PV's node affinity on `affinityKey` (matched against the node's name and
 * its own label value for the key), the local-path annotation, the PVC's selected-node
 * annotation (kube/volume-node.ts `pinnedToNode`), or a pod on this node that uses the claim; a
 * PV with none of them is not ours.
 * The directory is always the PV's own `hostPath.path` / `local.path`.
 */
export function discoverClusterVolumes(lookup: KubeLookup, options: ClusterDiscoveryOptions): VolumeTarget[] {
  const node = nodeIdentity(lookup, options.nodeName, options.affinityKey);
  const claimsInUse = claimsOfPods(lookup.list('pods'), options.nodeName);
  const targets: VolumeTarget[] = [];
  for (const pv of lookup.list('persistentvolumes')) {
    if (pv.deletedAt !== undefined || pv.phase !== 'Bound' || pv.path === undefined || !pv.claimRef) continue;
    if (pv.sourceType !== 'hostPath' && pv.sourceType !== 'local') continue;
    // A claim of the same name made after the PV's claim was deleted is not this PV's.
    const pvc = claimOf(lookup, pv);
    if (!isOnNode(pv, pvc, node, claimsInUse)) continue;
    targets.push(clusterTarget(pv, pvc, options.rootPath));
  }
  return targets;
}

/** Pinned by the PV's spec or annotations, else (hostPath PVs often name no node) used by a pod of this node. */
function isOnNode(pv: PersistentVolumeInfo, pvc: PersistentVolumeClaimInfo | undefined, node: NodeIdentity, claimsInUse: ReadonlySet<string>): boolean {
  const pinned = pinnedToNode(pv, pvc, node);
  if (pinned !== undefined) return pinned;
  const claim = pv.claimRef;
  return claim !== undefined && claimsInUse.has(`${claim.namespace}/${claim.name}`);
}

/** `namespace/claim` of every PVC that a live pod of this node mounts. */
function claimsOfPods(pods: readonly PodInfo[], nodeName: string): Set<string> {
  const claims = new Set<string>();
  for (const pod of pods) {
    if (pod.deletedAt !== undefined || pod.nodeName !== nodeName) continue;
    for (const claim of Object.values(pod.claims)) claims.add(`${pod.namespace}/${claim}`);
  }
  return claims;
}

function clusterTarget(pv: PersistentVolumeInfo, pvc: PersistentVolumeClaimInfo | undefined, rootPath: string): VolumeTarget {
  const path = normalise(pv.path as string);
  const claimRef = pv.claimRef as NonNullable<PersistentVolumeInfo['claimRef']>;
  const capacity = capacityOf(pv, pvc);
  return {
    key: pv.name,
    path,
    walkPath: rootPath + path,
    plugin: pv.sourceType === 'local' ? 'local-volume' : 'host-path',
    persistentVolume: pv.name,
    namespace: claimRef.namespace,
    claim: claimRef.name,
    storageClass: pvc?.storageClass || pv.storageClass || undefined,
    ...capacity,
  };
}

/** The PVC's request, else the PV's capacity; a bad quantity is reported and the next source tried. */
function capacityOf(pv: PersistentVolumeInfo, pvc: PersistentVolumeClaimInfo | undefined): { capacityBytes?: number; capacityProblem?: string } {
  const problems: string[] = [];
  const sources: Array<[string, string | undefined]> = [
    [`PVC ${pvc?.namespace}/${pvc?.name} spec.resources.requests.storage`, pvc?.requestStorage],
    [`PV ${pv.name} spec.capacity.storage`, pv.capacityBytes],
  ];
  for (const [where, text] of sources) {
    if (text === undefined) continue;
    const parsed = parseQuantityBytes(text);
    if (parsed.ok) return problems.length > 0 ? { capacityBytes: parsed.value, capacityProblem: problems.join('; ') } : { capacityBytes: parsed.value };
    problems.push(`${where}: ${parsed.message}`);
  }
  return problems.length > 0 ? { capacityProblem: problems.join('; ') } : {};
}

/** Collapses repeated and trailing slashes: the label shows one spelling per directory. */
function normalise(path: string): string {
  const collapsed = path.replace(/\/{2,}/g, '/');
  return collapsed.length > 1 ? collapsed.replace(/\/$/, '') : collapsed;
}

/**
 * local-path-provisioner's directory name: `pvc-<PV uid>_<namespace>_<claim>`. Namespaces are
 * DNS labels and claim names DNS subdomains, so neither holds `_` and the split is unambiguous.
 */
const LOCAL_PATH_NAME = /^(pvc-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})_([a-z0-9](?:[-a-z0-9]*[a-z0-9])?)_([a-z0-9](?:[-a-z0-9.]*[a-z0-9])?)$/;

/** Parses a local-path directory name; undefined when it is not one. */
export function parseLocalPathName(name: string): { persistentVolume: string; namespace: string; claim: string } | undefined {
  const m = LOCAL_PATH_NAME.exec(name);
  if (!m) return undefined;
  return { persistentVolume: m[1] as string, namespace: m[2] as string, claim: m[3] as string };
}

/** What a scan of the base directories found, and the directories it could not read. */
export interface LayoutScan {
  readonly targets: VolumeTarget[];
  readonly problems: ReadonlyArray<{ readonly path: string; readonly message: string }>;
}

/**
 * Without an API server: the entries of each base directory that are directories named in
 * local-path's layout. Capacity is unknown there, so the filesystem's size stands in.
 */
export async function discoverLayoutVolumes(baseDirs: readonly string[], rootPath: string): Promise<LayoutScan> {
  const targets: VolumeTarget[] = [];
  const problems: Array<{ path: string; message: string }> = [];
  for (const base of baseDirs) {
    const dir = normalise(base);
    let entries;
    try {
      entries = await readdir(rootPath + dir, { withFileTypes: true });
    } catch (err) {
      problems.push({ path: dir, message: `cannot list ${dir}: ${(err as Error).message}` });
      continue;
    }
    for (const entry of entries) {
      // A symlink named like a volume could point anywhere on the host: not followed.
      if (!entry.isDirectory()) continue;
      const parsed = parseLocalPathName(entry.name);
      if (!parsed) continue;
      const path = `${dir === '/' ? '' : dir}/${entry.name}`;
      targets.push({ key: path, path, walkPath: rootPath + path, plugin: 'host-path', ...parsed });
    }
  }
  return { targets, problems };
}
