/**
 * The kinds the test API server serves, described the way discovery describes them, plus the
 * fields each kind lets a field selector use (the real server's `*ToSelectableFields`).
 */

export type KubeObject = {
  kind?: string;
  apiVersion?: string;
  metadata: {
    name: string;
    namespace?: string;
    uid?: string;
    resourceVersion?: string;
    creationTimestamp?: string | null;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    [key: string]: unknown;
  };
  [key: string]: unknown;
};

export type Resource = {
  /** Plural resource name, the key everything else uses ("pods"). */
  name: string;
  singularName: string;
  kind: string;
  listKind: string;
  group: string;
  version: string;
  namespaced: boolean;
  shortNames: string[];
  categories: string[];
  /** Field selector paths this kind supports; anything else is a 400, as on a real server. */
  fields: Record<string, (obj: KubeObject) => string>;
};

function path(obj: unknown, dotted: string): string {
  let cur: unknown = obj;
  for (const part of dotted.split('.')) {
    if (cur === null || typeof cur !== 'object') return '';
    cur = (cur as Record<string, unknown>)[part];
  }
  if (cur === undefined || cur === null) return '';
  return typeof cur === 'string' ? cur : JSON.stringify(cur);
}

function fieldsOf(extra: string[]): Resource['fields'] {
  // Every kind accepts the two metadata fields (a cluster-scoped object's namespace is "").
  const fields: Resource['fields'] = {
    'metadata.name': (o) => o.metadata.name,
    'metadata.namespace': (o) => o.metadata.namespace ?? '',
  };
  for (const f of extra) fields[f] = (o) => path(o, f);
  return fields;
}

const podFields = fieldsOf([
  'spec.nodeName',
  'spec.restartPolicy',
  'spec.schedulerName',
  'spec.serviceAccountName',
  'status.phase',
  'status.podIP',
  'status.nominatedNodeName',
]);
// Booleans render as "true"/"false" and an unset hostNetwork is "false", like the real server.
podFields['spec.hostNetwork'] = (o) => String(path(o, 'spec.hostNetwork') === 'true');

// As kubernetes pkg/apis/core/v1 EventToSelectableFields: `source` is source.component, or the
// reportingComponent of an event written through events.k8s.io (which has no source).
const eventFields = fieldsOf([
  'involvedObject.kind', 'involvedObject.namespace', 'involvedObject.name', 'involvedObject.uid',
  'involvedObject.apiVersion', 'involvedObject.resourceVersion', 'involvedObject.fieldPath',
  'reason', 'reportingComponent', 'type',
]);
eventFields['source'] = (o) => path(o, 'source.component') || path(o, 'reportingComponent');

const nodeFields = fieldsOf([]);
nodeFields['spec.unschedulable'] = (o) => String(path(o, 'spec.unschedulable') === 'true');

export const RESOURCES: Resource[] = [
  {
    name: 'pods', singularName: 'pod', kind: 'Pod', listKind: 'PodList', group: '', version: 'v1',
    namespaced: true, shortNames: ['po'], categories: ['all'], fields: podFields,
  },
  {
    name: 'nodes', singularName: 'node', kind: 'Node', listKind: 'NodeList', group: '', version: 'v1',
    namespaced: false, shortNames: ['no'], categories: [], fields: nodeFields,
  },
  {
    name: 'namespaces', singularName: 'namespace', kind: 'Namespace', listKind: 'NamespaceList', group: '',
    version: 'v1', namespaced: false, shortNames: ['ns'], categories: [], fields: fieldsOf(['status.phase']),
  },
  {
    name: 'events', singularName: 'event', kind: 'Event', listKind: 'EventList', group: '', version: 'v1',
    namespaced: true, shortNames: ['ev'], categories: [],
    fields: eventFields,
  },
  {
    name: 'persistentvolumes', singularName: 'persistentvolume', kind: 'PersistentVolume',
    listKind: 'PersistentVolumeList', group: '', version: 'v1', namespaced: false, shortNames: ['pv'],
    categories: [], fields: fieldsOf([]),
  },
  {
    name: 'persistentvolumeclaims', singularName: 'persistentvolumeclaim', kind: 'PersistentVolumeClaim',
    listKind: 'PersistentVolumeClaimList', group: '', version: 'v1', namespaced: true, shortNames: ['pvc'],
    categories: [], fields: fieldsOf([]),
  },
  {
    name: 'storageclasses', singularName: 'storageclass', kind: 'StorageClass', listKind: 'StorageClassList',
    group: 'storage.k8s.io', version: 'v1', namespaced: false, shortNames: ['sc'], categories: [],
    fields: fieldsOf([]),
  },
];

export function apiVersionOf(r: Resource): string {
  return r.group ? `${r.group}/${r.version}` : r.version;
}

/** By plural name ("pods"), kind ("Pod") or short name ("po"). */
export function resourceFor(kindOrName: string): Resource {
  const r = RESOURCES.find(
    (x) => x.name === kindOrName || x.kind === kindOrName || x.shortNames.includes(kindOrName),
  );
  if (!r) throw new Error(`test API server: unknown kind ${JSON.stringify(kindOrName)}`);
  return r;
}
