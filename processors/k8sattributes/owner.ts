import type { PodInfo } from '../../kube/types.ts';

/** Cron-created Jobs are named `<cronjob>-<minutes since epoch>`. */
const CRONJOB_JOB = /^(.+)-(\d{8,})$/;

/**
 * The workload that owns a pod, from its controller reference alone (no ReplicaSet or Job
 * informer needed): a ReplicaSet named `<deployment>-<pod-template-hash>` belongs to that
 * Deployment; a Job named `<cronjob>-<digits>` to that CronJob.
 */
export function ownerWorkload(pod: PodInfo): Record<string, string> {
  const owner = pod.owner;
  if (!owner) return {};
  switch (owner.kind) {
    case 'ReplicaSet': {
      const hash = pod.labels['pod-template-hash'];
      if (hash && owner.name.endsWith(`-${hash}`)) return { deployment: owner.name.slice(0, -(hash.length + 1)) };
      return { replicaset: owner.name };
    }
    case 'StatefulSet':
      return { statefulset: owner.name };
    case 'DaemonSet':
      return { daemonset: owner.name };
    case 'Job': {
      const cron = CRONJOB_JOB.exec(owner.name);
      return cron?.[1] ? { job: owner.name, cronjob: cron[1] } : { job: owner.name };
    }
    default:
      return {};
  }
}
