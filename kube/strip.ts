import type { Interner } from './intern.ts';
import type {
  EventInfo,
  ObjectMetaInfo,
  OwnerRef,
  PersistentVolumeClaimInfo,
  PersistentVolumeInfo,
  ContainerPort,
  PodInfo,
  StorageClassInfo,
} from './types.ts';

/** A JSON object as the API server sends it; only read through the helpers below. */
export type ApiObject = Record<string, unknown>;

/** Options for stripping; shared by every kind. */
export interface StripOptions {
  readonly interner: Interner;
}

/** Annotations never worth their memory: a full copy of the object as last applied. */
const DROPPED_ANNOTATIONS: ReadonlySet<string> = new Set(['kubectl.kubernetes.io/last-applied-configuration']);

/** PersistentVolume spec keys that name its volume source (core/v1 PersistentVolumeSource). */
const PV_SOURCES: readonly string[] = [
  'csi',
  'hostPath',
  'local',
  'nfs',
  'gcePersistentDisk',
  'awsElasticBlockStore',
  'azureDisk',
  'azureFile',
  'cephfs',
  'cinder',
  'fc',
  'flexVolume',
  'flocker',
  'glusterfs',
  'iscsi',
  'photonPersistentDisk',
  'portworxVolume',
  'quobyte',
  'rbd',
  'scaleIO',
  'storageos',
  'vsphereVolume',
];

const NO_STRINGS: readonly string[] = Object.freeze([]);
const NO_CLAIMS: Readonly<Record<string, string>> = Object.freeze({});
const NO_PORTS: readonly ContainerPort[] = Object.freeze([]);

export function obj(value: unknown): ApiObject | undefined {
  return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as ApiObject) : undefined;
}

function arr(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [];
}

function str(value: unknown): string {
  return typeof value === 'string' ? value : '';
}

/** An RFC 3339 time (`Time` or `MicroTime`) as epoch ms; undefined when absent or unreadable. */
export function timeMs(value: unknown): number | undefined {
  if (typeof value !== 'string' || value === '') return undefined;
  const ms = Date.parse(value);
  return Number.isFinite(ms) ? ms : undefined;
}

/** A non-negative integer count; 0 for anything else. */
function count(value: unknown): number {
  return typeof value === 'number' && Number.isInteger(value) && value > 0 ? value : 0;
}

/** The object's `metadata.resourceVersion` ('' when absent). */
export function resourceVersionOf(apiObject: unknown): string {
  return str(obj(obj(apiObject)?.['metadata'])?.['resourceVersion']);
}

/** Store key: `namespace/name`, or `name` for cluster-scoped objects. */
export function objectKey(namespace: string, name: string): string {
  return namespace === '' ? name : `${namespace}/${name}`;
}

/** The metadata every kind keeps; all that is kept of namespaces and nodes. */
export function stripMeta(o: ApiObject, options: StripOptions): ObjectMetaInfo {
  const meta = obj(o['metadata']) ?? {};
  const i = options.interner;
  return {
    // UIDs and names are unique per object: interning them would only grow the table.
    uid: str(meta['uid']),
    name: str(meta['name']),
    namespace: i.string(str(meta['namespace'])),
    labels: i.map(meta['labels']),
    annotations: i.map(meta['annotations'], DROPPED_ANNOTATIONS),
    resourceVersion: str(meta['resourceVersion']),
  };
}

/** Removes the runtime prefix (`docker://`, `containerd://`, `cri-o://`) of a container ID. */
export function bareContainerId(id: string): string {
  const at = id.indexOf('://');
  return at < 0 ? id : id.slice(at + 3);
}

function controllerOwner(meta: ApiObject | undefined, i: Interner): OwnerRef | undefined {
  for (const ref of arr(meta?.['ownerReferences'])) {
    const r = obj(ref);
    if (r?.['controller'] === true) return { kind: i.string(str(r['kind'])), name: str(r['name']) };
  }
  return undefined;
}

export function stripPod(o: ApiObject, options: StripOptions): PodInfo {
  const i = options.interner;
  const meta = stripMeta(o, options);
  const spec = obj(o['spec']) ?? {};
  const status = obj(o['status']) ?? {};

  const ips: string[] = [];
  for (const entry of arr(status['podIPs'])) {
    const ip = str(obj(entry)?.['ip']);
    if (ip !== '' && !ips.includes(ip)) ips.push(ip);
  }
  const podIP = str(status['podIP']);
  if (podIP !== '' && !ips.includes(podIP)) ips.unshift(podIP);

  const containers: Array<{ name: string; id: string }> = [];
  for (const list of ['initContainerStatuses', 'containerStatuses', 'ephemeralContainerStatuses']) {
    for (const entry of arr(status[list])) {
      const c = obj(entry);
      const id = bareContainerId(str(c?.['containerID']));
      // A container not started yet has no ID: nothing can be associated with it.
      if (id !== '') containers.push({ name: i.string(str(c?.['name'])), id });
    }
  }

  let claims: Record<string, string> | undefined;
  for (const entry of arr(spec['volumes'])) {
    const v = obj(entry);
    const volumeName = str(v?.['name']);
    let claim = str(obj(v?.['persistentVolumeClaim'])?.['claimName']);
    // A generic ephemeral volume's PVC is named `<pod>-<volume>` by the ephemeral controller.
    if (claim === '' && obj(v?.['ephemeral'])) claim = `${meta.name}-${volumeName}`;
    if (volumeName !== '' && claim !== '') (claims ??= {})[i.string(volumeName)] = claim;
  }

  let ports: ContainerPort[] | undefined;
  for (const entry of arr(spec['containers'])) {
    const c = obj(entry);
    for (const p of arr(c?.['ports'])) {
      const port = obj(p)?.['containerPort'];
      if (typeof port !== 'number' || !Number.isInteger(port) || port < 1 || port > 65535) continue;
      const protocol = str(obj(p)?.['protocol']);
      (ports ??= []).push({ container: i.string(str(c?.['name'])), name: i.string(str(obj(p)?.['name'])), port, protocol: protocol === '' ? 'TCP' : i.string(protocol) });
    }
  }

  const pod: PodInfo = {
    ...meta,
    nodeName: i.string(str(spec['nodeName'])),
    podIPs: ips.length > 0 ? ips : NO_STRINGS,
    containers,
    claims: claims ?? NO_CLAIMS,
    owner: controllerOwner(obj(o['metadata']), i),
    phase: i.string(str(status['phase'])),
    ports: ports ?? NO_PORTS,
  };
  return spec['hostNetwork'] === true ? { ...pod, hostNetwork: true } : pod;
}

const NO_AFFINITY: Readonly<Record<string, readonly string[]>> = Object.freeze({});

/**
 * A PV's required node affinity as label key → the values its `In` expressions allow, across
 * all terms; which key names the node is the reader's choice (`kubernetes.io/hostname` usually).
 */
function nodeAffinity(spec: ApiObject, i: Interner): Readonly<Record<string, readonly string[]>> {
  const required = obj(obj(obj(spec['nodeAffinity'])?.['required']));
  let out: Record<string, string[]> | undefined;
  for (const term of arr(required?.['nodeSelectorTerms'])) {
    for (const expr of arr(obj(term)?.['matchExpressions'])) {
      const e = obj(expr);
      const key = str(e?.['key']);
      if (key === '' || str(e?.['operator']) !== 'In') continue;
      for (const value of arr(e?.['values'])) {
        const v = str(value);
        if (v === '') continue;
        out ??= {};
        const values = (out[i.string(key)] ??= []);
        if (!values.includes(v)) values.push(i.string(v));
      }
    }
  }
  return out ?? NO_AFFINITY;
}

/** Before storageClassName existed the class was an annotation; old PVs and PVCs still carry only that. */
function storageClassOf(spec: ApiObject, meta: ObjectMetaInfo, i: Interner): string {
  return i.string(str(spec['storageClassName']) || str(meta.annotations['volume.beta.kubernetes.io/storage-class']));
}

export function stripPersistentVolume(o: ApiObject, options: StripOptions): PersistentVolumeInfo {
  const i = options.interner;
  const meta = stripMeta(o, options);
  const spec = obj(o['spec']) ?? {};
  const sourceType = PV_SOURCES.find((key) => obj(spec[key]) !== undefined) ?? '';
  const source = obj(spec[sourceType]);
  const claimRef = obj(spec['claimRef']);
  const pv: PersistentVolumeInfo = {
    ...meta,
    storageClass: storageClassOf(spec, meta, i),
    sourceType: i.string(sourceType),
    volumeMode: i.string(str(spec['volumeMode']) || 'Filesystem'),
    phase: i.string(str(obj(o['status'])?.['phase'])),
    nodeAffinity: nodeAffinity(spec, i),
    claimRef:
      claimRef && str(claimRef['name']) !== ''
        ? { namespace: i.string(str(claimRef['namespace'])), name: str(claimRef['name']), uid: str(claimRef['uid']) || undefined }
        : undefined,
    path: sourceType === 'hostPath' || sourceType === 'local' ? str(source?.['path']) || undefined : undefined,
    csiDriver: sourceType === 'csi' ? i.string(str(source?.['driver'])) || undefined : undefined,
    volumeHandle: sourceType === 'csi' ? str(source?.['volumeHandle']) || undefined : undefined,
    // As written (a Kubernetes quantity such as `10Gi`): parsing is the consumer's business.
    capacityBytes: i.string(str(obj(spec['capacity'])?.['storage'])) || undefined,
    creationTimestampMs: timeMs(obj(o['metadata'])?.['creationTimestamp']),
    lastPhaseTransitionTimeMs: timeMs(obj(o['status'])?.['lastPhaseTransitionTime']),
    reclaimPolicy: i.string(str(spec['persistentVolumeReclaimPolicy'])) || undefined,
  };
  return pv;
}

export function stripPersistentVolumeClaim(o: ApiObject, options: StripOptions): PersistentVolumeClaimInfo {
  const i = options.interner;
  const meta = stripMeta(o, options);
  const spec = obj(o['spec']) ?? {};
  return {
    ...meta,
    volumeName: str(spec['volumeName']),
    storageClass: storageClassOf(spec, meta, i),
    requestStorage: i.string(str(obj(obj(spec['resources'])?.['requests'])?.['storage'])) || undefined,
    phase: i.string(str(obj(o['status'])?.['phase'])),
    creationTimestampMs: timeMs(obj(o['metadata'])?.['creationTimestamp']),
  };
}

export function stripStorageClass(o: ApiObject, options: StripOptions): StorageClassInfo {
  const i = options.interner;
  return {
    ...stripMeta(o, options),
    provisioner: i.string(str(o['provisioner'])),
    volumeBindingMode: i.string(str(o['volumeBindingMode'])) || undefined,
    reclaimPolicy: i.string(str(o['reclaimPolicy'])) || undefined,
  };
}

/** Longest {@link EventInfo.message} kept, in UTF-16 code units (the API allows 1 kB; events.k8s.io notes up to 64 kB). */
export const EVENT_MESSAGE_MAX = 512;

/**
 * A message cut to EVENT_MESSAGE_MAX, `…` marking the cut, never splitting a surrogate pair.
 * The cut is copied out: V8 slices keep their parent string alive, which would defeat the bound.
 */
function boundedMessage(message: string): string {
  if (message.length <= EVENT_MESSAGE_MAX) return message;
  let end = EVENT_MESSAGE_MAX - 1;
  const last = message.charCodeAt(end - 1);
  if (last >= 0xd800 && last <= 0xdbff) end--;
  return Buffer.from(`${message.slice(0, end)}…`, 'utf8').toString('utf8');
}

/**
 * A Kubernetes Event as core/v1 serves it, written by either recorder; the events.k8s.io/v1
 * field names (`regarding`, `note`, `reportingController`, `deprecated*`) are read too, so the
 * same function strips an object from either API. See EventInfo for each field's sources.
 */
export function stripEvent(o: ApiObject, options: StripOptions): EventInfo {
  const i = options.interner;
  const meta = stripMeta(o, options);
  const ref = obj(o['involvedObject']) ?? obj(o['regarding']) ?? {};
  const source = obj(o['source']) ?? obj(o['deprecatedSource']) ?? {};
  const series = obj(o['series']);
  const created = timeMs(obj(o['metadata'])?.['creationTimestamp']);
  const eventTime = timeMs(o['eventTime']);
  const first = timeMs(o['firstTimestamp']) ?? timeMs(o['deprecatedFirstTimestamp']) ?? eventTime ?? created ?? 0;
  let last = first;
  for (const t of [timeMs(o['lastTimestamp']) ?? timeMs(o['deprecatedLastTimestamp']), timeMs(series?.['lastObservedTime']), eventTime]) {
    if (t !== undefined && t > last) last = t;
  }
  return {
    ...meta,
    reason: i.string(str(o['reason'])),
    type: i.string(str(o['type'])),
    reportingComponent: i.string(str(o['reportingComponent']) || str(o['reportingController']) || str(source['component'])),
    reportingInstance: i.string(str(o['reportingInstance']) || str(source['host'])),
    involvedObject: {
      kind: i.string(str(ref['kind'])),
      namespace: i.string(str(ref['namespace'])),
      name: str(ref['name']),
      uid: str(ref['uid']),
    },
    count: Math.max(1, count(o['count']), count(o['deprecatedCount']), count(series?.['count'])),
    firstTimestampMs: first,
    lastTimestampMs: last,
    message: boundedMessage(str(o['message']) || str(o['note'])),
  };
}
