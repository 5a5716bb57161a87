/**
 * Builders for realistic object JSON, shaped like what a real cluster returns (GKE, EKS,
 * local-path-provisioner, the local static provisioner). Builders never set resourceVersion;
 * the server does. UIDs are deterministic when a test passes one, so paths can be built first.
 */
import { createHash } from 'node:crypto';
import type { KubeObject } from './resources.ts';

type Labels = Record<string, string>;

/** A UUID derived from a seed, so a fixture set is the same on every run. */
export function uidFor(seed: string): string {
  const h = createHash('sha256').update(seed).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

const CREATED = '2025-01-15T10:00:00Z';

export function node(name: string, opts: { labels?: Labels; internalIP?: string; zone?: string } = {}): KubeObject {
  const zone = opts.zone ?? 'europe-west1-b';
  return {
    kind: 'Node',
    apiVersion: 'v1',
    metadata: {
      name,
      uid: uidFor(`node/${name}`),
      creationTimestamp: CREATED,
      labels: {
        'kubernetes.io/hostname': name,
        'kubernetes.io/os': 'linux',
        'kubernetes.io/arch': 'amd64',
        'topology.kubernetes.io/zone': zone,
        'node.kubernetes.io/instance-type': 'e2-standard-4',
        ...opts.labels,
      },
      annotations: { 'node.alpha.kubernetes.io/ttl': '0', 'volumes.kubernetes.io/controller-managed-attach-detach': 'true' },
    },
    spec: { podCIDR: '10.4.1.0/24', podCIDRs: ['10.4.1.0/24'], providerID: `gce://demo-project/${zone}/${name}` },
    status: {
      capacity: { cpu: '4', memory: '16393180Ki', pods: '110', 'ephemeral-storage': '98831908Ki' },
      allocatable: { cpu: '3920m', memory: '13626332Ki', pods: '110', 'ephemeral-storage': '47060071478' },
      conditions: [{ type: 'Ready', status: 'True', reason: 'KubeletReady', message: 'kubelet is posting ready status', lastHeartbeatTime: CREATED, lastTransitionTime: CREATED }],
      addresses: [
        { type: 'InternalIP', address: opts.internalIP ?? '10.132.0.10' },
        { type: 'Hostname', address: name },
      ],
      nodeInfo: {
        kubeletVersion: 'v1.32.0', kubeProxyVersion: 'v1.32.0', operatingSystem: 'linux', architecture: 'amd64',
        containerRuntimeVersion: 'containerd://1.7.24', kernelVersion: '6.6.56+', osImage: 'Container-Optimized OS from Google',
        machineID: '', systemUUID: '', bootID: '',
      },
    },
  };
}

export function namespace(name: string, labels: Labels = {}): KubeObject {
  return {
    kind: 'Namespace',
    apiVersion: 'v1',
    metadata: {
      name,
      uid: uidFor(`namespace/${name}`),
      creationTimestamp: CREATED,
      labels: { 'kubernetes.io/metadata.name': name, ...labels },
    },
    spec: { finalizers: ['kubernetes'] },
    status: { phase: 'Active' },
  };
}

export type Owner =
  | { kind: 'Deployment'; name: string; /** the ReplicaSet's pod-template-hash */ hash?: string }
  | { kind: 'StatefulSet' | 'DaemonSet' | 'ReplicaSet' | 'Job'; name: string };

export type PodOptions = {
  namespace?: string;
  node: string;
  uid?: string;
  podIP?: string;
  hostIP?: string;
  labels?: Labels;
  annotations?: Labels;
  owner?: Owner;
  /** Volume name → PVC claim name. */
  pvcs?: Record<string, string>;
  emptyDirs?: string[];
  phase?: string;
  containerIds?: string[];
  /** Ports the first container declares. */
  ports?: Array<{ name?: string; containerPort: number; protocol?: string }>;
};

export function pod(name: string, opts: PodOptions): KubeObject {
  const ns = opts.namespace ?? 'default';
  const labels: Labels = { ...opts.labels };
  const ownerReferences: object[] = [];
  const owner = opts.owner;
  if (owner) {
    let kind: string = owner.kind;
    let ownerName = owner.name;
    if (owner.kind === 'Deployment') {
      // A Deployment owns pods through a ReplicaSet named <deployment>-<pod-template-hash>.
      const hash = owner.hash ?? '7c9d8f5b6d';
      kind = 'ReplicaSet';
      ownerName = `${owner.name}-${hash}`;
      labels['pod-template-hash'] = hash;
    } else if (owner.kind === 'StatefulSet') {
      labels['statefulset.kubernetes.io/pod-name'] = name;
      labels['apps.kubernetes.io/pod-index'] = name.split('-').pop() ?? '0';
    } else if (owner.kind === 'Job') {
      labels['batch.kubernetes.io/job-name'] = owner.name;
      labels['job-name'] = owner.name;
    }
    ownerReferences.push({
      apiVersion: kind === 'Job' ? 'batch/v1' : 'apps/v1',
      kind,
      name: ownerName,
      uid: uidFor(`${kind}/${ns}/${ownerName}`),
      controller: true,
      blockOwnerDeletion: true,
    });
  }
  const uid = opts.uid ?? uidFor(`pod/${ns}/${name}`);
  const volumes: object[] = [
    ...Object.entries(opts.pvcs ?? {}).map(([vol, claimName]) => ({ name: vol, persistentVolumeClaim: { claimName } })),
    ...(opts.emptyDirs ?? []).map((vol) => ({ name: vol, emptyDir: {} })),
    {
      name: 'kube-api-access-x7k2p',
      projected: {
        defaultMode: 420,
        sources: [
          { serviceAccountToken: { expirationSeconds: 3607, path: 'token' } },
          { configMap: { name: 'kube-root-ca.crt', items: [{ key: 'ca.crt', path: 'ca.crt' }] } },
          { downwardAPI: { items: [{ path: 'namespace', fieldRef: { apiVersion: 'v1', fieldPath: 'metadata.namespace' } }] } },
        ],
      },
    },
  ];
  const podIP = opts.podIP ?? '10.4.1.23';
  const phase = opts.phase ?? 'Running';
  const containerIds = opts.containerIds ?? [`containerd://${createHash('sha256').update(uid).digest('hex')}`];
  const metadata: KubeObject['metadata'] = { name, namespace: ns, uid, creationTimestamp: CREATED, labels };
  if (opts.annotations) metadata.annotations = opts.annotations;
  if (owner) {
    metadata.generateName = owner.kind === 'Deployment' ? `${owner.name}-${owner.hash ?? '7c9d8f5b6d'}-` : `${owner.name}-`;
    metadata.ownerReferences = ownerReferences;
  }
  return {
    kind: 'Pod',
    apiVersion: 'v1',
    metadata,
    spec: {
      containers: containerIds.map((_, i) => ({
        name: i === 0 ? 'main' : `sidecar-${i}`,
        image: 'registry.example/app:1.0',
        ...(i === 0 && opts.ports ? { ports: opts.ports } : {}),
        volumeMounts: [
          ...Object.keys(opts.pvcs ?? {}).map((vol) => ({ name: vol, mountPath: `/data/${vol}` })),
          { name: 'kube-api-access-x7k2p', readOnly: true, mountPath: '/var/run/secrets/kubernetes.io/serviceaccount' },
        ],
      })),
      volumes,
      nodeName: opts.node,
      restartPolicy: owner?.kind === 'Job' ? 'Never' : 'Always',
      schedulerName: 'default-scheduler',
      serviceAccountName: 'default',
      dnsPolicy: 'ClusterFirst',
      terminationGracePeriodSeconds: 30,
    },
    status: {
      phase,
      hostIP: opts.hostIP ?? '10.132.0.10',
      hostIPs: [{ ip: opts.hostIP ?? '10.132.0.10' }],
      podIP,
      podIPs: [{ ip: podIP }],
      startTime: CREATED,
      qosClass: 'BestEffort',
      conditions: [{ type: 'Ready', status: phase === 'Running' ? 'True' : 'False', lastTransitionTime: CREATED }],
      containerStatuses: containerIds.map((containerID, i) => ({
        name: i === 0 ? 'main' : `sidecar-${i}`,
        containerID,
        image: 'registry.example/app:1.0',
        imageID: 'registry.example/app@sha256:0d3f4e8d2c5a6b7c8d9e0f1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e',
        ready: phase === 'Running',
        restartCount: 0,
        started: phase === 'Running',
        state: phase === 'Running' ? { running: { startedAt: CREATED } } : { terminated: { exitCode: 0, reason: 'Completed' } },
      })),
    },
  };
}

/** PV sources, each as its provisioner writes it. */
export type PvSource =
  | { type: 'gcePD'; pdName: string; fsType?: string }
  | { type: 'csi'; driver: string; volumeHandle: string; fsType?: string }
  | { type: 'hostPath'; path: string }
  | { type: 'local'; path: string; node: string; provisionerNode?: string }
  | { type: 'localPath'; node: string; claimNamespace: string; claimName: string; base?: string };

export type PvOptions = {
  capacity?: string;
  storageClassName?: string;
  labels?: Labels;
  /** The PVC this PV is bound to. */
  claim?: { namespace: string; name: string; uid?: string };
  reclaimPolicy?: 'Delete' | 'Retain';
  volumeMode?: 'Filesystem' | 'Block';
  uid?: string;
  /** Default `Bound` with a claim, else `Available`. */
  phase?: 'Pending' | 'Available' | 'Bound' | 'Released' | 'Failed';
  /**
   * status.lastPhaseTransitionTime (Kubernetes ≥ 1.28; default the creation time); `null`
   * leaves it out, as an older API server does.
   */
  lastPhaseTransitionTime?: string | null;
  /** metadata.creationTimestamp (default 2025-01-15T10:00:00Z). */
  created?: string;
  /** Extra annotations, merged over the provisioner's. */
  annotations?: Labels;
};

function hostnameAffinity(node: string): object {
  return {
    required: {
      nodeSelectorTerms: [{ matchExpressions: [{ key: 'kubernetes.io/hostname', operator: 'In', values: [node] }] }],
    },
  };
}

/**
 * A PersistentVolume. For `localPath` the name is `pvc-<PV uid>` and the path
 * `<base>/pvc-<uid>_<namespace>_<claim>` (rancher local-path-provisioner); pass `name` anyway
 * for the other types (GKE: `pvc-<uid>`, the local static provisioner: `local-pv-<hash>`).
 */
export function persistentVolume(name: string, source: PvSource, opts: PvOptions = {}): KubeObject {
  const uid = opts.uid ?? uidFor(`pv/${name}`);
  const annotations: Labels = {};
  const spec: Record<string, unknown> = {
    capacity: { storage: opts.capacity ?? '10Gi' },
    accessModes: ['ReadWriteOnce'],
    persistentVolumeReclaimPolicy: opts.reclaimPolicy ?? 'Delete',
    volumeMode: opts.volumeMode ?? 'Filesystem',
  };
  if (opts.storageClassName !== undefined) spec.storageClassName = opts.storageClassName;
  switch (source.type) {
    case 'gcePD':
      spec.gcePersistentDisk = { pdName: source.pdName, fsType: source.fsType ?? 'ext4' };
      annotations['pv.kubernetes.io/provisioned-by'] = 'kubernetes.io/gce-pd';
      break;
    case 'csi':
      spec.csi = {
        driver: source.driver,
        volumeHandle: source.volumeHandle,
        fsType: source.fsType ?? 'ext4',
        volumeAttributes: { 'storage.kubernetes.io/csiProvisionerIdentity': `1736935200000-8081-${source.driver}` },
      };
      annotations['pv.kubernetes.io/provisioned-by'] = source.driver;
      annotations['volume.kubernetes.io/provisioner-deletion-secret-name'] = '';
      annotations['volume.kubernetes.io/provisioner-deletion-secret-namespace'] = '';
      break;
    case 'hostPath':
      spec.hostPath = { path: source.path, type: '' };
      break;
    case 'local':
      spec.local = { path: source.path };
      spec.nodeAffinity = hostnameAffinity(source.node);
      annotations['pv.kubernetes.io/provisioned-by'] = `local-volume-provisioner-${source.provisionerNode ?? source.node}-${uidFor(`lvp/${source.node}`)}`;
      break;
    case 'localPath':
      spec.hostPath = {
        path: `${source.base ?? '/opt/local-path-provisioner'}/${name}_${source.claimNamespace}_${source.claimName}`,
        type: 'DirectoryOrCreate',
      };
      spec.nodeAffinity = hostnameAffinity(source.node);
      annotations['local.path.provisioner/selected-node'] = source.node;
      annotations['pv.kubernetes.io/provisioned-by'] = 'rancher.io/local-path';
      break;
  }
  if (opts.claim) {
    annotations['pv.kubernetes.io/bound-by-controller'] = 'yes';
    spec.claimRef = {
      kind: 'PersistentVolumeClaim',
      apiVersion: 'v1',
      namespace: opts.claim.namespace,
      name: opts.claim.name,
      uid: opts.claim.uid ?? uidFor(`pvc/${opts.claim.namespace}/${opts.claim.name}`),
    };
  }
  Object.assign(annotations, opts.annotations);
  const created = opts.created ?? CREATED;
  const metadata: KubeObject['metadata'] = { name, uid, creationTimestamp: created, finalizers: ['kubernetes.io/pv-protection'] };
  if (opts.labels) metadata.labels = opts.labels;
  if (Object.keys(annotations).length) metadata.annotations = annotations;
  const status: Record<string, unknown> = { phase: opts.phase ?? (opts.claim ? 'Bound' : 'Available') };
  if (opts.lastPhaseTransitionTime !== null) status.lastPhaseTransitionTime = opts.lastPhaseTransitionTime ?? created;
  return { kind: 'PersistentVolume', apiVersion: 'v1', metadata, spec, status };
}

/** The local static provisioner's PV name: `local-pv-` and 8 hex digits of a hash of the path. */
export function localPvName(node: string, path: string): string {
  return `local-pv-${createHash('sha256').update(`${node}:${path}`).digest('hex').slice(0, 8)}`;
}

/** GKE and CSI provisioners name a dynamic PV `pvc-<PVC uid>`. */
export function dynamicPvName(claimNamespace: string, claimName: string): string {
  return `pvc-${uidFor(`pvc/${claimNamespace}/${claimName}`)}`;
}

export type PvcOptions = {
  storageClassName?: string;
  /** As written by the user: `1Gi`, `10G`, `500M`… */
  request?: string;
  volumeName?: string;
  labels?: Labels;
  /** Set by the scheduler for WaitForFirstConsumer classes (local-path). */
  selectedNode?: string;
  provisioner?: string;
  phase?: 'Bound' | 'Pending' | 'Lost';
  /** metadata.creationTimestamp (default 2025-01-15T10:00:00Z). */
  created?: string;
};

export function persistentVolumeClaim(namespace: string, name: string, opts: PvcOptions = {}): KubeObject {
  const request = opts.request ?? '10Gi';
  const phase = opts.phase ?? (opts.volumeName ? 'Bound' : 'Pending');
  const annotations: Labels = {};
  if (phase === 'Bound') {
    annotations['pv.kubernetes.io/bind-completed'] = 'yes';
    annotations['pv.kubernetes.io/bound-by-controller'] = 'yes';
  }
  if (opts.provisioner) {
    annotations['volume.beta.kubernetes.io/storage-provisioner'] = opts.provisioner;
    annotations['volume.kubernetes.io/storage-provisioner'] = opts.provisioner;
  }
  if (opts.selectedNode) annotations['volume.kubernetes.io/selected-node'] = opts.selectedNode;
  const metadata: KubeObject['metadata'] = {
    name,
    namespace,
    uid: uidFor(`pvc/${namespace}/${name}`),
    creationTimestamp: opts.created ?? CREATED,
    finalizers: ['kubernetes.io/pvc-protection'],
    annotations,
  };
  if (opts.labels) metadata.labels = opts.labels;
  const spec: Record<string, unknown> = {
    accessModes: ['ReadWriteOnce'],
    resources: { requests: { storage: request } },
    volumeMode: 'Filesystem',
  };
  if (opts.storageClassName !== undefined) spec.storageClassName = opts.storageClassName;
  if (opts.volumeName) spec.volumeName = opts.volumeName;
  const status: Record<string, unknown> = { phase };
  if (phase === 'Bound') {
    status.accessModes = ['ReadWriteOnce'];
    status.capacity = { storage: request };
  }
  return { kind: 'PersistentVolumeClaim', apiVersion: 'v1', metadata, spec, status };
}

export function storageClass(
  name: string,
  provisioner: string,
  opts: { parameters?: Labels; default?: boolean; bindingMode?: 'Immediate' | 'WaitForFirstConsumer'; reclaimPolicy?: 'Delete' | 'Retain' } = {},
): KubeObject {
  const metadata: KubeObject['metadata'] = { name, uid: uidFor(`sc/${name}`), creationTimestamp: CREATED };
  if (opts.default) metadata.annotations = { 'storageclass.kubernetes.io/is-default-class': 'true' };
  const sc: KubeObject = {
    kind: 'StorageClass',
    apiVersion: 'storage.k8s.io/v1',
    metadata,
    provisioner,
    reclaimPolicy: opts.reclaimPolicy ?? 'Delete',
    volumeBindingMode: opts.bindingMode ?? 'Immediate',
    allowVolumeExpansion: true,
  };
  if (opts.parameters) sc.parameters = opts.parameters;
  return sc;
}

export function event(
  namespace: string,
  involved: { kind: string; name: string; uid?: string; apiVersion?: string },
  reason: string,
  message: string,
  type: 'Normal' | 'Warning' = 'Normal',
): KubeObject {
  const name = `${involved.name}.${createHash('sha256').update(`${reason}/${message}`).digest('hex').slice(0, 16)}`;
  return {
    kind: 'Event',
    apiVersion: 'v1',
    metadata: { name, namespace, uid: uidFor(`event/${namespace}/${name}`), creationTimestamp: CREATED },
    involvedObject: {
      kind: involved.kind,
      namespace,
      name: involved.name,
      uid: involved.uid ?? uidFor(`${involved.kind.toLowerCase()}/${namespace}/${involved.name}`),
      apiVersion: involved.apiVersion ?? 'v1',
    },
    reason,
    message,
    source: { component: 'kubelet', host: 'node-a' },
    firstTimestamp: CREATED,
    lastTimestamp: CREATED,
    count: 1,
    type,
    eventTime: null,
    reportingComponent: 'kubelet',
    reportingInstance: 'node-a',
  };
}

/** The object an Event is about; PersistentVolumes have no namespace. */
export type InvolvedObject = { kind: string; name: string; namespace?: string; uid?: string; apiVersion?: string };

function objectReference(involved: InvolvedObject): Record<string, unknown> {
  const ref: Record<string, unknown> = {
    kind: involved.kind,
    name: involved.name,
    uid: involved.uid ?? uidFor(`${involved.kind === 'PersistentVolumeClaim' ? 'pvc' : involved.kind === 'PersistentVolume' ? 'pv' : involved.kind.toLowerCase()}/${involved.namespace ? `${involved.namespace}/` : ''}${involved.name}`),
    apiVersion: involved.apiVersion ?? 'v1',
  };
  if (involved.namespace) ref.namespace = involved.namespace;
  return ref;
}

/** Recorders name an event `<involved name>.<hex of the time in ns>`; here a hash keeps it stable. */
function eventName(involved: InvolvedObject, reason: string, message: string): string {
  return `${involved.name}.${createHash('sha256').update(`${involved.kind}/${involved.namespace ?? ''}/${reason}/${message}`).digest('hex').slice(0, 16)}`;
}

export type CoreEventOptions = {
  type?: 'Normal' | 'Warning';
  /** source.component, e.g. `persistentvolume-controller`, `rancher.io/local-path_<pod>_<uuid>`. */
  component?: string;
  /** source.host (kubelet events; most controllers leave it empty). */
  host?: string;
  /**
   * reportingComponent/reportingInstance: the client-go recorder has filled them from source
   * since 1.19-ish; older libraries (sig-storage-lib-external-provisioner) leave them ''.
   */
  reporting?: { component: string; instance: string };
  count?: number;
  firstTimestamp?: string;
  lastTimestamp?: string;
  /** metadata.name (default `<involved>.<hash>`). */
  name?: string;
};

/**
 * An Event written through core/v1 by the old recorder (client-go tools/record): `source`,
 * `count`, `firstTimestamp`/`lastTimestamp`, `eventTime: null`. Events about cluster-scoped
 * objects (PVs) live in namespace `default`, as the recorder puts them.
 */
export function coreEvent(involved: InvolvedObject, reason: string, message: string, opts: CoreEventOptions = {}): KubeObject {
  const namespace = involved.namespace || 'default';
  const name = opts.name ?? eventName(involved, reason, message);
  const first = opts.firstTimestamp ?? CREATED;
  const source: Record<string, string> = { component: opts.component ?? 'persistentvolume-controller' };
  if (opts.host) source.host = opts.host;
  return {
    kind: 'Event',
    apiVersion: 'v1',
    metadata: { name, namespace, uid: uidFor(`event/${namespace}/${name}`), creationTimestamp: first },
    involvedObject: objectReference(involved),
    reason,
    message,
    source,
    firstTimestamp: first,
    lastTimestamp: opts.lastTimestamp ?? first,
    count: opts.count ?? 1,
    type: opts.type ?? 'Normal',
    eventTime: null,
    reportingComponent: opts.reporting?.component ?? '',
    reportingInstance: opts.reporting?.instance ?? '',
  };
}

export type EventsV1Options = {
  type?: 'Normal' | 'Warning';
  /** reportingController, e.g. `rancher.io/local-path`, `kubernetes.io/pv-controller`. */
  controller?: string;
  /** reportingInstance, e.g. the controller's pod or host. */
  instance?: string;
  /** machine-readable action (required for new events), e.g. `Provisioning`, `Deleting`. */
  action?: string;
  /** eventTime, a MicroTime (default 2025-01-15T10:00:00.000000Z). */
  eventTime?: string;
  /** A repeated event: client-go's events recorder starts a series at count 2. */
  series?: { count: number; lastObservedTime: string };
  name?: string;
};

/**
 * An Event as written through events.k8s.io/v1 (client-go tools/events): `regarding`, `note`,
 * `reportingController`, `eventTime`, `series`; none of the deprecated core fields. The test
 * server only serves core/v1: add {@link coreViewOf} of it, which is what a watch of
 * /api/v1/events shows for it.
 */
export function eventsV1Event(regarding: InvolvedObject, reason: string, note: string, opts: EventsV1Options = {}): KubeObject {
  const namespace = regarding.namespace || 'default';
  const name = opts.name ?? eventName(regarding, reason, note);
  const eventTime = opts.eventTime ?? '2025-01-15T10:00:00.000000Z';
  const e: KubeObject = {
    kind: 'Event',
    apiVersion: 'events.k8s.io/v1',
    metadata: { name, namespace, uid: uidFor(`event/${namespace}/${name}`), creationTimestamp: eventTime.replace(/\.\d+Z$/, 'Z') },
    eventTime,
    reportingController: opts.controller ?? 'kubernetes.io/pv-controller',
    reportingInstance: opts.instance ?? 'kube-controller-manager-control-plane-1',
    action: opts.action ?? 'Provisioning',
    reason,
    regarding: objectReference(regarding),
    note,
    type: opts.type ?? 'Normal',
  };
  if (opts.series) e.series = { ...opts.series };
  return e;
}

/**
 * The core/v1 view of an events.k8s.io/v1 Event, field for field as kubernetes
 * pkg/apis/events/v1 conversion.go maps it (regarding → involvedObject, note → message,
 * reportingController → reportingComponent, deprecated* → source/firstTimestamp/
 * lastTimestamp/count) and as core/v1 JSON encodes empty values (`source: {}`, null times,
 * no `count`).
 */
export function coreViewOf(e: KubeObject): KubeObject {
  const core: KubeObject = {
    kind: 'Event',
    apiVersion: 'v1',
    metadata: { ...e.metadata },
    involvedObject: e['regarding'] ?? {},
    reason: e['reason'],
    message: e['note'],
    source: e['deprecatedSource'] ?? {},
    firstTimestamp: e['deprecatedFirstTimestamp'] ?? null,
    lastTimestamp: e['deprecatedLastTimestamp'] ?? null,
    type: e['type'],
    eventTime: e['eventTime'],
    reportingComponent: e['reportingController'] ?? '',
    reportingInstance: e['reportingInstance'] ?? '',
  };
  if (typeof e['deprecatedCount'] === 'number' && e['deprecatedCount'] !== 0) core.count = e['deprecatedCount'];
  if (e['series'] !== undefined) core.series = e['series'];
  if (e['action'] !== undefined) core.action = e['action'];
  if (e['related'] !== undefined) core.related = e['related'];
  return core;
}

/**
 * Events about the demo cluster's volumes, as its controllers write them: the PV controller's
 * WaitForFirstConsumer and ExternalProvisioning (old recorder) on PVCs, local-path-provisioner's
 * Provisioning/ProvisioningSucceeded (old recorder, no reporting fields), a repeated
 * ProvisioningFailed through events.k8s.io, a VolumeFailedDelete Warning on the local PV, and
 * one Pod event that the volume views must not see (demoCluster() holds another). Add them
 * next to demoCluster(): the names do not clash.
 */
export function volumeEvents(): KubeObject[] {
  const lpp = 'rancher.io/local-path_local-path-provisioner-6d9d9b57c-8xk2q_5f0d7a2e-9b1c-4e3d-8a6f-1c2b3d4e5f60';
  const uploads = { kind: 'PersistentVolumeClaim', namespace: 'shop', name: 'uploads' };
  const localPv = localPvName('node-a', '/mnt/disks/ssd0');
  return [
    coreEvent(uploads, 'WaitForFirstConsumer', 'waiting for first consumer to be created before binding', {
      reporting: { component: 'persistentvolume-controller', instance: '' },
    }),
    coreEvent(uploads, 'ExternalProvisioning', "Waiting for a volume to be created either by the external provisioner 'rancher.io/local-path' or manually by the system administrator. If volume creation is delayed, please verify that the provisioner is running and correctly registered.", {
      count: 3,
      firstTimestamp: '2025-01-15T10:00:01Z',
      lastTimestamp: '2025-01-15T10:00:04Z',
      reporting: { component: 'persistentvolume-controller', instance: '' },
    }),
    coreEvent(uploads, 'Provisioning', 'External provisioner is provisioning volume for claim "shop/uploads"', { component: lpp, firstTimestamp: '2025-01-15T10:00:02Z' }),
    coreEvent(uploads, 'ProvisioningSucceeded', `Successfully provisioned volume ${dynamicPvName('shop', 'uploads')}`, { component: lpp, firstTimestamp: '2025-01-15T10:00:05Z' }),
    coreViewOf(
      eventsV1Event({ kind: 'PersistentVolumeClaim', namespace: 'batch', name: 'scratch' }, 'ProvisioningFailed', 'failed to provision volume with StorageClass "gp3": rpc error: code = ResourceExhausted desc = volume limit reached', {
        type: 'Warning',
        controller: 'ebs.csi.aws.com_ebs-csi-controller-7b9c5d6f4-2mxkq_1a2b3c4d',
        instance: 'ebs-csi-controller-7b9c5d6f4-2mxkq',
        eventTime: '2025-01-15T10:01:00.250000Z',
        series: { count: 4, lastObservedTime: '2025-01-15T10:03:30.500000Z' },
      }),
    ),
    coreEvent({ kind: 'PersistentVolume', name: localPv }, 'VolumeFailedDelete', `Error cleaning PV "${localPv}": failed to clean volume: device or resource busy`, {
      type: 'Warning',
      component: `local-volume-provisioner-node-a-${uidFor('lvp/node-a')}`,
      firstTimestamp: '2025-01-15T10:05:00Z',
      lastTimestamp: '2025-01-15T10:07:00Z',
      count: 2,
    }),
    event('shop', { kind: 'Pod', name: 'db-0' }, 'FailedMount', 'MountVolume.SetUp failed for volume "data" : rpc error: code = Internal', 'Warning'),
  ];
}

/**
 * A small, consistent cluster: node-a and node-b; namespaces; pods owned by a Deployment,
 * a StatefulSet, a DaemonSet and a Job; and one PVC/PV pair for each PV flavour (GCE PD,
 * PD CSI, EBS CSI, hostPath, local static provisioner, local-path-provisioner), with requests
 * in `Gi`, `G` and `M` forms.
 */
export function demoCluster(): KubeObject[] {
  const objects: KubeObject[] = [
    node('node-a', { internalIP: '10.132.0.10' }),
    node('node-b', { internalIP: '10.132.0.11' }),
    namespace('default'),
    namespace('shop', { team: 'payments', env: 'prod' }),
    namespace('batch', { team: 'data' }),
    storageClass('standard-rwo', 'pd.csi.storage.gke.io', { default: true, bindingMode: 'WaitForFirstConsumer', parameters: { type: 'pd-balanced' } }),
    storageClass('standard', 'kubernetes.io/gce-pd', { parameters: { type: 'pd-standard' } }),
    storageClass('gp3', 'ebs.csi.aws.com', { bindingMode: 'WaitForFirstConsumer', parameters: { type: 'gp3' } }),
    storageClass('local-path', 'rancher.io/local-path', { bindingMode: 'WaitForFirstConsumer' }),
    storageClass('local-storage', 'kubernetes.io/no-provisioner', { bindingMode: 'WaitForFirstConsumer' }),
  ];
  const claims: Array<{ ns: string; name: string; sc: string; request: string; labels?: Labels; source: (pv: string) => PvSource; provisioner?: string; pvName?: string }> = [
    { ns: 'shop', name: 'data-web-0', sc: 'standard', request: '1Gi', labels: { app: 'web' }, provisioner: 'kubernetes.io/gce-pd',
      source: (pv) => ({ type: 'gcePD', pdName: `gke-demo-${pv.slice(0, 40)}` }) },
    { ns: 'shop', name: 'data-db-0', sc: 'standard-rwo', request: '10G', labels: { app: 'db', tier: 'storage' }, provisioner: 'pd.csi.storage.gke.io',
      source: (pv) => ({ type: 'csi', driver: 'pd.csi.storage.gke.io', volumeHandle: `projects/demo-project/zones/europe-west1-b/disks/${pv}` }) },
    { ns: 'batch', name: 'scratch', sc: 'gp3', request: '500M', provisioner: 'ebs.csi.aws.com',
      source: () => ({ type: 'csi', driver: 'ebs.csi.aws.com', volumeHandle: 'vol-0a1b2c3d4e5f60718' }) },
    { ns: 'default', name: 'logs', sc: '', request: '2Gi', source: () => ({ type: 'hostPath', path: '/mnt/logs' }), pvName: 'logs-hostpath' },
    { ns: 'shop', name: 'cache', sc: 'local-storage', request: '100Gi', labels: { app: 'web' },
      source: () => ({ type: 'local', path: '/mnt/disks/ssd0', node: 'node-a' }), pvName: localPvName('node-a', '/mnt/disks/ssd0') },
    { ns: 'shop', name: 'uploads', sc: 'local-path', request: '5Gi', labels: { app: 'web' }, provisioner: 'rancher.io/local-path',
      source: () => ({ type: 'localPath', node: 'node-a', claimNamespace: 'shop', claimName: 'uploads' }) },
  ];
  for (const c of claims) {
    const pvName = c.pvName ?? dynamicPvName(c.ns, c.name);
    objects.push(
      persistentVolume(pvName, c.source(pvName), {
        capacity: c.request,
        storageClassName: c.sc,
        claim: { namespace: c.ns, name: c.name },
        reclaimPolicy: c.provisioner ? 'Delete' : 'Retain',
        labels: c.sc === 'standard' ? { 'topology.kubernetes.io/zone': 'europe-west1-b' } : undefined,
      }),
      persistentVolumeClaim(c.ns, c.name, {
        storageClassName: c.sc,
        request: c.request,
        volumeName: pvName,
        labels: c.labels,
        provisioner: c.provisioner,
        selectedNode: c.sc === 'local-path' || c.sc === 'standard-rwo' || c.sc === 'gp3' ? 'node-a' : undefined,
      }),
    );
  }
  objects.push(
    pod('web-7c9d8f5b6d-x2x4q', { namespace: 'shop', node: 'node-a', podIP: '10.4.1.21', labels: { app: 'web' }, owner: { kind: 'Deployment', name: 'web' }, pvcs: { uploads: 'uploads', cache: 'cache' } }),
    pod('web-0', { namespace: 'shop', node: 'node-a', podIP: '10.4.1.22', labels: { app: 'web' }, owner: { kind: 'StatefulSet', name: 'web' }, pvcs: { data: 'data-web-0' } }),
    pod('db-0', { namespace: 'shop', node: 'node-a', podIP: '10.4.1.23', labels: { app: 'db' }, owner: { kind: 'StatefulSet', name: 'db' }, pvcs: { data: 'data-db-0' } }),
    pod('node-agent-5xk8w', { namespace: 'default', node: 'node-a', podIP: '10.132.0.10', labels: { app: 'node-agent' }, owner: { kind: 'DaemonSet', name: 'node-agent' }, pvcs: { logs: 'logs' } }),
    pod('node-agent-q7m2n', { namespace: 'default', node: 'node-b', podIP: '10.132.0.11', hostIP: '10.132.0.11', labels: { app: 'node-agent' }, owner: { kind: 'DaemonSet', name: 'node-agent' } }),
    pod('report-28945320-abcde', { namespace: 'batch', node: 'node-b', podIP: '10.4.2.7', hostIP: '10.132.0.11', labels: { app: 'report' }, owner: { kind: 'Job', name: 'report-28945320' }, pvcs: { scratch: 'scratch' }, phase: 'Succeeded' }),
    event('shop', { kind: 'Pod', name: 'web-0' }, 'Scheduled', 'Successfully assigned shop/web-0 to node-a'),
  );
  return objects;
}
