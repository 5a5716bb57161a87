import type { KubeChange } from '../../kube/lookup.ts';

/**
 * Occurrences of a Kubernetes Event that a change brings, counted from `startMs`. A recorder
 * repeats an event by bumping `count` and `lastTimestamp` on the same object, so what counts
 * is the increase of `count`, never the object itself:
 *
 * - an event in the initial list (`list`), or in the cache when counting starts, is baseline:
 *   its occurrences happened before and are never counted, only its later increases;
 * - an `update` (watch or relist) brings `count` − the previous state's count, never below 0
 *   (the cache hands the previous state with every update, so nothing needs remembering);
 * - a watch `add` is a new event object: all its `count` occurrences are new;
 * - a `relist` add (made while the watch was down) brings its whole `count` when its first
 *   occurrence is not before the start, else none (occurrences before and after the start
 *   cannot be told apart);
 * - a `delete` (the API server expires events after its `--event-ttl`) brings none.
 */
export function newOccurrences(change: KubeChange<'persistentvolumeevents'> | KubeChange<'persistentvolumeclaimevents'>, startMs: number): number {
  const event = change.object;
  switch (change.type) {
    case 'delete':
      return 0;
    case 'update':
      return Math.max(0, event.count - change.old.count);
    case 'add':
      if (change.origin === 'list') return 0;
      if (change.origin === 'relist' && event.firstTimestampMs < startMs) return 0;
      return event.count;
  }
}
