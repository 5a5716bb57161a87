import type { KubeLookup } from './lookup.ts';
import type { PersistentVolumeClaimInfo, PersistentVolumeInfo } from './types.ts';

/**
 * Which node a PersistentVolume lives on, as every per-node component decides it (the hostpath
 * receiver measures this node's volumes, the provisioner receiver counts their lifecycle).
 */

/** Annotation rancher's local-path-provisioner puts on its PVs. */
export const LOCAL_PATH_NODE_ANNOTATION = 'local.path.provisioner/selected-node';
/** Annotation the scheduler puts on a WaitForFirstConsumer PVC. */
export const PVC_SELECTED_NODE_ANNOTATION = 'volume.kubernetes.io/selected-node';

/** This agent's node, as PV node affinity can name it. */
export interface NodeIdentity {
  readonly name: string;
  /** Node label key whose nodeAffinity `In` values name the PV's node. */
  readonly affinityKey: string;
  /** The node's own value of that label (often the hostname, which may differ from the name); undefined when unknown. */
  readonly label?: string | undefined;
}

/** The identity of `nodeName`, with its label for `affinityKey` from the cache when the node is there. */
export function nodeIdentity(lookup: KubeLookup, nodeName: string, affinityKey: string): NodeIdentity {
  return { name: nodeName, affinityKey, label: lookup.node(nodeName)?.labels[affinityKey] };
}

/**
 * The PV's claim from the cache, when it really is this PV's: a deleted claim, or a claim of
 * the same name bound to another volume (made after this PV's claim was deleted), is not.
 */
export function claimOf(lookup: KubeLookup, pv: PersistentVolumeInfo): PersistentVolumeClaimInfo | undefined {
  if (!pv.claimRef) return undefined;
  const pvc = lookup.persistentVolumeClaim(pv.claimRef.namespace, pv.claimRef.name);
  if (!pvc || pvc.deletedAt !== undefined || (pvc.volumeName !== '' && pvc.volumeName !== pv.name)) return undefined;
  return pvc;
}

/**
 * Whether the PV's own spec or annotations put it on `node`: true or false when something names
 * a node, undefined when nothing does. In this order: required node affinity on the identity's
 * key (what the scheduler obeys: when it names nodes, it alone decides; matched against the
 * node's name and its own label value), local-path's selected-node annotation on the PV, the
 * scheduler's selected-node annotation on the claim.
 */
export function pinnedToNode(pv: PersistentVolumeInfo, pvc: PersistentVolumeClaimInfo | undefined, node: NodeIdentity): boolean | undefined {
  const allowed = pv.nodeAffinity[node.affinityKey];
  if (allowed !== undefined) return allowed.includes(node.name) || (node.label !== undefined && allowed.includes(node.label));
  const annotated = pv.annotations[LOCAL_PATH_NODE_ANNOTATION] || pvc?.annotations[PVC_SELECTED_NODE_ANNOTATION];
  if (annotated) return annotated === node.name;
  return undefined;
}
