import type { IndexSpec } from './store.ts';
import {
  stripEvent,
  stripMeta,
  stripPersistentVolume,
  stripPersistentVolumeClaim,
  stripPod,
  stripStorageClass,
  type ApiObject,
  type StripOptions,
} from './strip.ts';
import type { KindMap, KindName } from './types.ts';

/** How to list/watch one kind and what to keep of it. */
export interface KindSpec<K extends KindName> {
  /** Collection path on the API server. */
  readonly path: string;
  /**
   * Field selector sent with every LIST and WATCH: a function of this agent's node where the
   * kind is per node, or a constant where the kind is a filtered view of a collection.
   */
  readonly fieldSelector?: string | ((nodeName: string) => string);
  readonly strip: (object: ApiObject, options: StripOptions) => KindMap[K];
  readonly indexes: ReadonlyArray<IndexSpec<KindMap[K]>>;
  /**
   * How long a deleted object of this kind stays resolvable, ms, when not the cache's grace
   * period. Nothing resolves data points through events, so event kinds use 0: a deleted
   * (expired) event is delivered to listeners and dropped at the next purge.
   */
  readonly graceMs?: number;
}

/** The field selector a kind's LIST and WATCH requests carry for this node (undefined: none). */
export function fieldSelectorFor(spec: Pick<KindSpec<KindName>, 'fieldSelector'>, nodeName: string): string | undefined {
  return typeof spec.fieldSelector === 'function' ? spec.fieldSelector(nodeName) : spec.fieldSelector;
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
  // Events about volumes. events.k8s.io/v1 and core/v1 Events are two API views of one stored
  // resource: the events.k8s.io group is served by the core event registry
  // (kubernetes pkg/registry/events/rest/storage_events.go builds its storage with
  // pkg/registry/core/event/storage.NewREST, the same etcd prefix), and pkg/apis/events/v1
  // conversion.go maps regarding → involvedObject, note → message, deprecated{Source,
  // FirstTimestamp,LastTimestamp,Count} → source/firstTimestamp/lastTimestamp/count,
  // reportingController → reportingComponent (also the field selector name). So one core/v1
  // watch sees events written through either API. Field selectors cannot OR two values, hence
  // one filtered view per involved kind; events cannot be selected by node (a PV's event names
  // no node), so these are cluster-wide and the consumer filters by the involved object.
  persistentvolumeevents: {
    path: '/api/v1/events',
    fieldSelector: 'involvedObject.kind=PersistentVolume',
    strip: stripEvent,
    indexes: [],
    graceMs: 0,
  },
  persistentvolumeclaimevents: {
    path: '/api/v1/events',
    fieldSelector: 'involvedObject.kind=PersistentVolumeClaim',
    strip: stripEvent,
    indexes: [],
    graceMs: 0,
  },
};

export const KIND_NAMES = Object.keys(KINDS) as KindName[];
