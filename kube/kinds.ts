import type { IndexSpec } from './store.ts';
import { stripMeta, stripPersistentVolume, stripPersistentVolumeClaim, stripPod, stripStorageClass, type ApiObject, type StripOptions } from './strip.ts';
import type { KindMap, KindName } from './types.ts';

/** How to list/watch one kind and what to keep of it. */
export interface KindSpec<K extends KindName> {
  /** Collection path on the API server. */
  readonly path: string;
  /** Field selector for this agent's node, where the kind is per node. */
  readonly fieldSelector?: (nodeName: string) => string;
  readonly strip: (object: ApiObject, options: StripOptions) => KindMap[K];
  readonly indexes: ReadonlyArray<IndexSpec<KindMap[K]>>;
}

export const POD_BY_IP = 'ip';
export const POD_BY_CONTAINER_ID = 'containerId';

export const KINDS: { readonly [K in KindName]: KindSpec<K> } = {
  pods: {
    path: '/api/v1/pods',
    fieldSelector: (node) => `spec.nodeName=${node}`,
    strip: stripPod,
    indexes: [
      // A hostNetwork pod has its node's IP: indexing it would give every node-IP point to it.
      { name: POD_BY_IP, keys: (pod) => (pod.hostNetwork ? [] : pod.podIPs) },
      { name: POD_BY_CONTAINER_ID, keys: (pod) => pod.containers.map((c) => c.id) },
    ],
  },
  persistentvolumes: { path: '/api/v1/persistentvolumes', strip: stripPersistentVolume, indexes: [] },
  persistentvolumeclaims: { path: '/api/v1/persistentvolumeclaims', strip: stripPersistentVolumeClaim, indexes: [] },
  namespaces: { path: '/api/v1/namespaces', strip: stripMeta, indexes: [] },
  nodes: { path: '/api/v1/nodes', fieldSelector: (node) => `metadata.name=${node}`, strip: stripMeta, indexes: [] },
  storageclasses: { path: '/apis/storage.k8s.io/v1/storageclasses', strip: stripStorageClass, indexes: [] },
};

export const KIND_NAMES = Object.keys(KINDS) as KindName[];
