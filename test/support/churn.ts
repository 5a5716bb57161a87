/**
 * Cluster churn for the soak test: each {@link ClusterChurn.step} creates one generation of
 * objects the way a node sees a short-lived pod come and go, and deletes the generation made
 * `live` steps earlier. A generation is
 *
 * - a pod on the agent's node (test Kubernetes API server), annotated to be scraped at one of the
 *   given loopback targets, with its container's id in its status;
 * - a CSI PersistentVolume and its bound claim, the volume a tmpfs at the pod's
 *   `volumes/kubernetes.io~csi/<pv>/mount`, and an emptyDir tmpfs, in the {@link KubeletTree}'s
 *   namespace;
 * - a local-path (hostPath) PersistentVolume and its bound claim, its directory under `hostRoot`
 *   holding one small file;
 * - a Docker container labelled as the kubelet labels the pod's container: created on every step,
 *   started on every `startEvery`-th (starting one costs about a third of a CPU second).
 *
 * Mounts made here are not registered with the namespace: they are unmounted here when their
 * generation goes, and with the namespace if the test dies first.
 */
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { engineCreateContainer, engineRemoveContainer } from './docker-engine.ts';
import type { Dockerd } from './dockerd.ts';
import { persistentVolume, persistentVolumeClaim, pod } from './kube-api/fixtures.ts';
import type { KubeApiServer } from './kube-api/server.ts';
import type { KubeletTree, MountNamespace } from './mountns.ts';

export const CHURN_NAMESPACE = 'soak';
export const CHURN_CSI_DRIVER = 'pd.csi.storage.gke.io';
export const CHURN_CSI_CLASS = 'standard-rwo';
export const CHURN_LOCAL_CLASS = 'local-path';
const LOCAL_PATH_BASE = '/opt/local-path-provisioner';

export interface ChurnOptions {
  readonly node: string;
  readonly ns: MountNamespace;
  readonly tree: KubeletTree;
  readonly api: KubeApiServer;
  readonly dockerd: Dockerd;
  /** The directory standing in for the host root (the hostpath receiver's `root_path`). */
  readonly hostRoot: string;
  /** Ports of loopback scrape targets; pods take them in turn. */
  readonly targetPorts: readonly number[];
  /** Generations alive at once: a generation is deleted `live` steps after it was made. */
  readonly live: number;
  /** Start the container of every n-th generation; the others are only created. */
  readonly startEvery: number;
}

/** One generation: every name and id the agent may put in a label. */
export interface Generation {
  readonly index: number;
  readonly pod: string;
  readonly podUid: string;
  readonly containerId: string;
  readonly containerName: string;
  readonly csiPv: string;
  readonly csiClaim: string;
  readonly localPv: string;
  readonly localClaim: string;
  /** The local-path PV's path as the PV names it (on the host). */
  readonly localPath: string;
  readonly emptyDirMount: string;
  readonly csiMount: string;
  readonly started: boolean;
}

function shQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

export class ClusterChurn {
  readonly #options: ChurnOptions;
  readonly #live: Generation[] = [];
  /** Every generation ever made, deleted ones included. */
  readonly made: Generation[] = [];
  #next = 0;

  constructor(options: ChurnOptions) {
    if (!(options.live >= 1) || !(options.startEvery >= 1) || options.targetPorts.length === 0) {
      throw new Error(`ClusterChurn: live (${options.live}) and startEvery (${options.startEvery}) must be ≥ 1, and targetPorts non-empty`);
    }
    this.#options = options;
  }

  /** Generations alive now, oldest first. */
  get live(): readonly Generation[] {
    return this.#live;
  }

  /** Makes the next generation and deletes the one `live` steps old. */
  async step(): Promise<Generation> {
    const made = await this.#make(this.#next++);
    const expired = this.#live.length > this.#options.live ? this.#live.shift() : undefined;
    if (expired) await this.#remove([expired]);
    return made;
  }

  /** Deletes every live generation. */
  async deleteAll(): Promise<void> {
    await this.#remove(this.#live.splice(0));
  }

  async #make(index: number): Promise<Generation> {
    const { node, ns, tree, api, dockerd, hostRoot, targetPorts, startEvery } = this.#options;
    const podName = `churn-${index}`;
    const podUid = randomUUID();
    const started = index % startEvery === 0;
    const containerId = await engineCreateContainer(dockerd, {
      name: `churn-${index}-main`,
      start: started,
      labels: {
        'io.kubernetes.pod.namespace': CHURN_NAMESPACE,
        'io.kubernetes.pod.name': podName,
        'io.kubernetes.pod.uid': podUid,
        'io.kubernetes.container.name': 'main',
      },
    });
    const csiPv = `pvc-${randomUUID()}`;
    const localPv = `pvc-${randomUUID()}`;
    const csiClaim = `data-${index}`;
    const localClaim = `local-${index}`;
    const localPath = `${LOCAL_PATH_BASE}/${localPv}_${CHURN_NAMESPACE}_${localClaim}`;
    const emptyDirMount = tree.volumeDir(podUid, 'empty-dir', 'scratch');
    const csiMount = join(tree.volumeDir(podUid, 'csi', csiPv), 'mount');
    const localDir = join(hostRoot, localPath);
    // One nsenter for the whole generation: a process per mount would be most of the churn's cost.
    await ns.exec('sh', [
      '-ec',
      [
        `mkdir -p ${shQuote(emptyDirMount)} ${shQuote(csiMount)} ${shQuote(localDir)}`,
        `mount -t tmpfs -o size=1m tmpfs ${shQuote(emptyDirMount)}`,
        `mount -t tmpfs -o size=4m tmpfs ${shQuote(csiMount)}`,
        `echo soak > ${shQuote(join(csiMount, 'data'))}`,
        `head -c 5000 /dev/zero > ${shQuote(join(localDir, 'data'))}`,
      ].join('\n'),
    ]);
    api.add(
      persistentVolume(csiPv, { type: 'csi', driver: CHURN_CSI_DRIVER, volumeHandle: `projects/soak/disks/${csiPv}` }, {
        storageClassName: CHURN_CSI_CLASS,
        claim: { namespace: CHURN_NAMESPACE, name: csiClaim },
        capacity: '4Mi',
      }),
    );
    api.add(persistentVolumeClaim(CHURN_NAMESPACE, csiClaim, { storageClassName: CHURN_CSI_CLASS, volumeName: csiPv, provisioner: CHURN_CSI_DRIVER, request: '4Mi' }));
    api.add(
      persistentVolume(localPv, { type: 'localPath', node, claimNamespace: CHURN_NAMESPACE, claimName: localClaim, base: LOCAL_PATH_BASE }, {
        storageClassName: CHURN_LOCAL_CLASS,
        claim: { namespace: CHURN_NAMESPACE, name: localClaim },
        capacity: '1Gi',
      }),
    );
    api.add(persistentVolumeClaim(CHURN_NAMESPACE, localClaim, { storageClassName: CHURN_LOCAL_CLASS, volumeName: localPv, provisioner: 'rancher.io/local-path', selectedNode: node, request: '1Gi' }));
    api.add(
      pod(podName, {
        namespace: CHURN_NAMESPACE,
        node,
        uid: podUid,
        podIP: '127.0.0.1',
        annotations: { 'prometheus.io/scrape': 'true', 'prometheus.io/port': String(targetPorts[index % targetPorts.length]) },
        pvcs: { data: csiClaim, local: localClaim },
        emptyDirs: ['scratch'],
        containerIds: [`docker://${containerId}`],
        owner: { kind: 'Job', name: `churn-${index}` },
      }),
    );
    const generation: Generation = {
      index,
      pod: podName,
      podUid,
      containerId,
      containerName: `churn-${index}-main`,
      csiPv,
      csiClaim,
      localPv,
      localClaim,
      localPath,
      emptyDirMount,
      csiMount,
      started,
    };
    this.#live.push(generation);
    this.made.push(generation);
    return generation;
  }

  /** API objects first (as the kubelet and the controllers would), then mounts, directories and containers. */
  async #remove(generations: readonly Generation[]): Promise<void> {
    if (generations.length === 0) return;
    const { ns, tree, api, dockerd, hostRoot } = this.#options;
    for (const g of generations) {
      api.delete('pods', CHURN_NAMESPACE, g.pod);
      api.delete('persistentvolumeclaims', CHURN_NAMESPACE, g.csiClaim);
      api.delete('persistentvolumeclaims', CHURN_NAMESPACE, g.localClaim);
      api.delete('persistentvolumes', '', g.csiPv);
      api.delete('persistentvolumes', '', g.localPv);
    }
    await ns.exec('sh', [
      '-ec',
      generations
        .flatMap((g) => [
          `umount ${shQuote(g.csiMount)} ${shQuote(g.emptyDirMount)}`,
          `rm -rf ${shQuote(join(tree.kubeletRoot, 'pods', g.podUid))} ${shQuote(join(hostRoot, g.localPath))}`,
        ])
        .join('\n'),
    ]);
    for (const g of generations) await engineRemoveContainer(dockerd, g.containerId);
  }
}
