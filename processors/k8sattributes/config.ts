import '../../config/formats.ts';
import convict from 'convict';
import { nonEmptyString, objectList, oneOf, onlyKeys } from '../../config/object-list.ts';

export type PodSource = 'pod_uid' | 'pod_ip' | 'container_id' | 'pod_name';
export type VolumeSource = 'pv_name' | 'pvc';
export type MetadataSource = 'pod' | 'namespace' | 'node' | 'pv' | 'pvc';

/** One pod association rule: which data-point attribute identifies the pod, and how. */
export interface PodAssociationRule {
  readonly from: PodSource;
  /** Attribute holding the UID, IP, container ID or pod name. */
  readonly attribute: string;
  /** For `pod_name`: the attribute holding the namespace. */
  readonly namespace_attribute?: string;
}

export interface VolumeAssociationRule {
  readonly from: VolumeSource;
  readonly attribute: string;
  /** For `pvc`: the attribute holding the claim's namespace. */
  readonly namespace_attribute?: string;
}

/** Copies one label or annotation (or every one matching a regexp) onto the data point. */
export interface ExtractRule {
  readonly from: MetadataSource;
  readonly key?: string;
  readonly key_regex?: string;
  /** Attribute name; `$1`… refer to key_regex groups. Sanitised to Prometheus label rules. */
  readonly tag_name?: string;
}

export interface K8sAttributesConfig {
  readonly pod_association: readonly PodAssociationRule[];
  readonly volume_association: readonly VolumeAssociationRule[];
  readonly owner_workload: boolean;
  readonly volume_pod_labels: boolean;
  readonly keep_non_pvc_volumes: boolean;
  readonly non_pvc_volume_plugins: readonly string[];
  readonly extract: { readonly labels: readonly ExtractRule[]; readonly annotations: readonly ExtractRule[] };
  readonly preset: '' | 'pv_disk_usage';
}

const POD_SOURCES: readonly PodSource[] = ['pod_uid', 'pod_ip', 'container_id', 'pod_name'];
const VOLUME_SOURCES: readonly VolumeSource[] = ['pv_name', 'pvc'];
const METADATA_SOURCES: readonly MetadataSource[] = ['pod', 'namespace', 'node', 'pv', 'pvc'];

/** Pod and volume association rules share one shape: `from`, `attribute`, and a namespace attribute for name lookups. */
function associationRules(what: string, sources: readonly string[], namedSource: string) {
  return objectList(what, (item, at) => {
    onlyKeys(item, at, ['from', 'attribute', 'namespace_attribute']);
    oneOf(item, at, 'from', sources);
    nonEmptyString(item, at, 'attribute', true);
    nonEmptyString(item, at, 'namespace_attribute', item['from'] === namedSource);
  });
}

// Module code runs once, so each format is registered once.
convict.addFormat({ name: 'k8s-pod-association', validate: associationRules('pod association rules', POD_SOURCES, 'pod_name') });
convict.addFormat({ name: 'k8s-volume-association', validate: associationRules('volume association rules', VOLUME_SOURCES, 'pvc') });
convict.addFormat({
  name: 'k8s-extract-rules',
  validate: objectList('extraction rules', (item, at) => {
    onlyKeys(item, at, ['from', 'key', 'key_regex', 'tag_name']);
    oneOf(item, at, 'from', METADATA_SOURCES);
    nonEmptyString(item, at, 'key', false);
    nonEmptyString(item, at, 'key_regex', false);
    nonEmptyString(item, at, 'tag_name', false);
    if ((item['key'] === undefined) === (item['key_regex'] === undefined)) throw new Error(`${at}: give exactly one of "key" and "key_regex"`);
    if (typeof item['key_regex'] === 'string') {
      try {
        new RegExp(item['key_regex']);
      } catch (err) {
        throw new Error(`${at}: key_regex is not a valid regular expression: ${(err as Error).message}`, { cause: err });
      }
    }
  }),
});

export const DEFAULT_POD_ASSOCIATION: readonly PodAssociationRule[] = [
  { from: 'pod_uid', attribute: 'pod_uid' },
  { from: 'pod_ip', attribute: 'pod_ip' },
  { from: 'container_id', attribute: 'container_id' },
  { from: 'pod_name', attribute: 'pod', namespace_attribute: 'namespace' },
];

export const DEFAULT_VOLUME_ASSOCIATION: readonly VolumeAssociationRule[] = [
  { from: 'pv_name', attribute: 'persistentvolume' },
  { from: 'pvc', attribute: 'persistentvolumeclaim', namespace_attribute: 'namespace' },
];

/** The kubelet reports no volume stats for these: they are not storage a user provisioned. */
export const DEFAULT_NON_PVC_PLUGINS = ['empty-dir', 'configmap', 'secret', 'projected', 'downward-api', 'git-repo'];

export const schema = {
  pod_association: {
    doc: 'Ordered rules finding the pod of a data point (first match wins): from pod_uid, pod_ip, container_id or pod_name (+namespace_attribute), each naming the attribute to read.',
    format: 'k8s-pod-association',
    default: DEFAULT_POD_ASSOCIATION,
  },
  volume_association: {
    doc: 'Ordered rules finding the volume of a data point: from pv_name or pvc (+namespace_attribute). A pod volume backed by a claim is found through the pod as well.',
    format: 'k8s-volume-association',
    default: DEFAULT_VOLUME_ASSOCIATION,
  },
  owner_workload: {
    doc: 'Add the owning workload: deployment (through its ReplicaSet), statefulset, daemonset, job, cronjob.',
    format: Boolean,
    default: true,
  },
  volume_pod_labels: {
    doc: 'Also add pod, owner workload and pod metadata to PVC-backed volume series (the kubelet labels them by namespace and claim only).',
    format: Boolean,
    default: false,
  },
  keep_non_pvc_volumes: {
    doc: 'Keep volume series of non-PVC plugins (emptyDir, ConfigMap, Secret, projected, downward API), labelled with their pod; by default they are dropped, as the kubelet does.',
    format: Boolean,
    default: false,
  },
  non_pvc_volume_plugins: {
    doc: 'Volume plugins (the volume_plugin attribute) whose series are not PVC-backed.',
    format: 'string-array',
    default: DEFAULT_NON_PVC_PLUGINS,
  },
  extract: {
    labels: {
      doc: 'Labels to copy from pod, namespace, node, pv or pvc: {from, key | key_regex, tag_name ($1 for regex groups)}.',
      format: 'k8s-extract-rules',
      default: [] as ExtractRule[],
    },
    annotations: {
      doc: 'Annotations to copy, with the same rule shape as labels.',
      format: 'k8s-extract-rules',
      default: [] as ExtractRule[],
    },
  },
  preset: {
    doc: 'Extra labels reproducing a replaced exporter: "pv_disk_usage" adds pv_name, pvc_name, pv_<label>, pvc_<label> as k8s-pv-disk-usage-exporter did.',
    format: ['', 'pv_disk_usage'],
    default: '',
  },
};

export function createDefaultConfig(): K8sAttributesConfig {
  return {
    pod_association: DEFAULT_POD_ASSOCIATION,
    volume_association: DEFAULT_VOLUME_ASSOCIATION,
    owner_workload: true,
    volume_pod_labels: false,
    keep_non_pvc_volumes: false,
    non_pvc_volume_plugins: DEFAULT_NON_PVC_PLUGINS,
    extract: { labels: [], annotations: [] },
    preset: '',
  };
}
