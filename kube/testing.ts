import type { KubeLookup, KubeProvider } from './lookup.ts';
import type { KindMap, KindName, NamespaceInfo, NodeInfo, ObjectMetaInfo, PersistentVolumeClaimInfo, PersistentVolumeInfo, PodInfo, StorageClassInfo } from './types.ts';

/** Test builders and an in-memory KubeLookup, for components' unit tests. */

export function meta(name: string, namespace = '', labels: Record<string, string> = {}, annotations: Record<string, string> = {}): ObjectMetaInfo {
  return { uid: `uid-${namespace}-${name}`, name, namespace, labels, annotations, resourceVersion: '1' };
}

export function pod(overrides: Partial<PodInfo> & { name: string; namespace: string }): PodInfo {
  return {
    ...meta(overrides.name, overrides.namespace),
    nodeName: 'node-a',
    podIPs: [],
    containers: [],
    claims: {},
    phase: 'Running',
    ports: [],
    ...overrides,
  };
}

export function pv(name: string, overrides: Partial<PersistentVolumeInfo> = {}): PersistentVolumeInfo {
  return { ...meta(name), storageClass: 'standard', sourceType: 'csi', volumeMode: 'Filesystem', phase: 'Bound', nodeAffinity: {}, ...overrides };
}

export function pvc(namespace: string, name: string, overrides: Partial<PersistentVolumeClaimInfo> = {}): PersistentVolumeClaimInfo {
  return { ...meta(name, namespace), volumeName: '', storageClass: 'standard', phase: 'Bound', ...overrides };
}

export function namespace(name: string, labels: Record<string, string> = {}): NamespaceInfo {
  return meta(name, '', labels);
}

/** An in-memory KubeLookup over plain arrays, with the kinds a component required recorded. */
export class FakeKube implements KubeProvider, KubeLookup {
  pods: PodInfo[] = [];
  pvs: PersistentVolumeInfo[] = [];
  pvcs: PersistentVolumeClaimInfo[] = [];
  namespaces: NamespaceInfo[] = [];
  nodes: NodeInfo[] = [];
  storageClasses: StorageClassInfo[] = [];
  synced = true;
  required = new Set<KindName>();

  require(kinds: readonly KindName[]): KubeLookup {
    kinds.forEach((k) => this.required.add(k));
    return this;
  }
  podByUid(uid: string) {
    return this.pods.find((p) => p.uid === uid);
  }
  podByIp(ip: string) {
    return this.pods.find((p) => p.podIPs.includes(ip));
  }
  podByContainerId(id: string) {
    return this.pods.find((p) => p.containers.some((c) => c.id === id));
  }
  pod(ns: string, name: string) {
    return this.pods.find((p) => p.namespace === ns && p.name === name);
  }
  persistentVolume(name: string) {
    return this.pvs.find((p) => p.name === name);
  }
  persistentVolumeClaim(ns: string, name: string) {
    return this.pvcs.find((p) => p.namespace === ns && p.name === name);
  }
  namespace(name: string) {
    return this.namespaces.find((n) => n.name === name);
  }
  node(name: string) {
    return this.nodes.find((n) => n.name === name);
  }
  storageClass(name: string) {
    return this.storageClasses.find((s) => s.name === name);
  }
  list<K extends KindName>(kind: K): readonly KindMap[K][] {
    const all: { [Kind in KindName]: readonly KindMap[Kind][] } = {
      pods: this.pods,
      persistentvolumes: this.pvs,
      persistentvolumeclaims: this.pvcs,
      namespaces: this.namespaces,
      nodes: this.nodes,
      storageclasses: this.storageClasses,
    };
    return all[kind];
  }
}
