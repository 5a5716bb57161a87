import { parseQuantityBytes } from '../../kube/quantity.ts';
import type { PersistentVolumeClaimInfo, PersistentVolumeInfo, StorageClassInfo } from '../../kube/types.ts';

/** The PV's `volumeMode` as the `mode` label: `Filesystem` (the API default, also when unset) or `Block`. */
export function modeOf(pv: PersistentVolumeInfo): string {
  return pv.volumeMode === '' ? 'Filesystem' : pv.volumeMode;
}

/** The two modes the API knows, whose counter series exist from the start. */
export const MODES = ['Filesystem', 'Block'] as const;

/** The PV's `spec.capacity.storage` in bytes; 0 when absent or not a quantity. */
export function capacityBytesOf(pv: PersistentVolumeInfo): number {
  if (pv.capacityBytes === undefined) return 0;
  const parsed = parseQuantityBytes(pv.capacityBytes);
  return parsed.ok ? parsed.value : 0;
}

const GIB = 2 ** 30;

/**
 * The local volume provisioner's `capacity` label: the capacity rounded up to a multiple of
 * 500 GiB, written in units of GiB with a `G` suffix (0 → `0G`, (0, 500Gi] → `500G`,
 * (500Gi, 1000Gi] → `1000G`).
 */
export function capacityLabel(bytes: number): string {
  return `${Math.ceil(bytes / (500 * GIB)) * 500}G`;
}

/** Annotation the PV controller and external provisioners put on the PVs they provision. */
export const PROVISIONED_BY_ANNOTATION = 'pv.kubernetes.io/provisioned-by';
/** Annotations naming the provisioner a claim waits for (current, then the beta spelling). */
export const PVC_PROVISIONER_ANNOTATIONS = ['volume.kubernetes.io/storage-provisioner', 'volume.beta.kubernetes.io/storage-provisioner'] as const;

/**
 * The `provisioner` label of a claim bound to `pv`: the PV's `pv.kubernetes.io/provisioned-by`,
 * else the claim's storage-provisioner annotation, else the storage class's provisioner, else
 * `none`. The static provisioner writes `local-volume-provisioner-<node>-<uid>`, one value per
 * node; it is reported as `local-volume-provisioner` so the series do not multiply by node.
 */
export function provisionerOf(pv: PersistentVolumeInfo, pvc: PersistentVolumeClaimInfo | undefined, storageClass: StorageClassInfo | undefined): string {
  let name = pv.annotations[PROVISIONED_BY_ANNOTATION];
  for (const key of PVC_PROVISIONER_ANNOTATIONS) name ||= pvc?.annotations[key];
  name ||= storageClass?.provisioner;
  if (!name) return 'none';
  return name.startsWith('local-volume-provisioner-') ? 'local-volume-provisioner' : name;
}
