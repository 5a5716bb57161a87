import type { KubeChange, KubeLookup } from '../../kube/lookup.ts';
import type { PersistentVolumeClaimInfo, PersistentVolumeInfo } from '../../kube/types.ts';
import { claimOf, nodeIdentity, pinnedToNode, PVC_SELECTED_NODE_ANNOTATION } from '../../kube/volume-node.ts';
import type { Sample } from '../../pipeline/datapoints.ts';
import { CounterTable, HistogramTable } from '../../pipeline/series-tables.ts';
import { newOccurrences } from './event-occurrences.ts';
import { capacityBytesOf, capacityLabel, MODES, modeOf, provisionerOf } from './volume-labels.ts';

export interface LedgerOptions {
  readonly lookup: KubeLookup;
  readonly nodeName: string;
  readonly affinityKey: string;
  /** The delete families' `type` label. */
  readonly deleteType: string;
  /** Seconds. */
  readonly latencyBuckets: readonly number[];
  /** Seconds. */
  readonly deleteDurationBuckets: readonly number[];
  /** When counting started (epoch ms): the receiver's start. */
  readonly startMs: number;
  readonly now: () => number;
}

/** What is remembered of one of this node's live PVs. */
interface VolumeRecord {
  /** The phase last seen, and since when it holds (epoch ms). */
  phase: string;
  phaseSinceMs: number;
  /** When the PV entered Released, when known (it stays set through a following Failed). */
  releasedAtMs: number | undefined;
}

/** A claim seen entering Bound whose PV is not in the cache yet (the two kinds arrive on separate watches). */
interface PendingClaim {
  readonly pvc: PersistentVolumeClaimInfo;
  /** When the watch saw it bind; undefined after a relist (the time is unknown). */
  readonly boundAtMs: number | undefined;
  readonly expiresAtMs: number;
}

/** How long a bound claim waits for its PV to show up before it is given up. */
const PENDING_CLAIM_MS = 10 * 60_000;

const FAILED_DELETE_REASON = 'VolumeFailedDelete';

/** The gauges of one collection, computed from the cache at that moment. */
export interface VolumeGauges {
  readonly capacity: Sample[];
  readonly phases: Sample[];
  readonly stuck: Sample[];
}

/**
 * The lifecycle of this node's PersistentVolumes, fed by the shared cache's changes (see
 * README.md, "Counting rules"): counters and histograms of what happened since the receiver
 * started, plus the gauges of what is there now. A PV is this node's when its node affinity,
 * local-path's selected-node annotation or its claim's selected-node annotation names this
 * node (`pinnedToNode`); once found to be ours it stays ours until deleted.
 */
export class LifecycleLedger {
  /** `{mode}` */
  readonly discovered = new CounterTable();
  /** `{mode, type}` */
  readonly deleted = new CounterTable();
  /** `{mode, type}` */
  readonly deleteFailed = new CounterTable();
  /** `{reason, type, reporting_component, kind}` */
  readonly events = new CounterTable();
  /** `{mode, type, capacity}`, seconds from Released to deletion. */
  readonly deleteDuration: HistogramTable;
  /** `{storageclass, provisioner}`, seconds from claim creation to Bound. */
  readonly provisioningLatency: HistogramTable;

  readonly #options: LedgerOptions;
  readonly #lookup: KubeLookup;
  /** This node's live PVs by UID. */
  readonly #ours = new Map<string, VolumeRecord>();
  /** Claims by UID that bound after the start and wait for their PV. */
  readonly #pendingClaims = new Map<string, PendingClaim>();
  /** Claims by UID already observed in the latency histogram (ours only; forgotten when the claim is deleted). */
  readonly #observedClaims = new Set<string>();

  constructor(options: LedgerOptions) {
    this.#options = options;
    this.#lookup = options.lookup;
    this.deleteDuration = new HistogramTable(options.deleteDurationBuckets);
    this.provisioningLatency = new HistogramTable(options.latencyBuckets);
    for (const mode of MODES) {
      this.discovered.ensure({ mode });
      this.deleted.ensure({ mode, type: options.deleteType });
      this.deleteFailed.ensure({ mode, type: options.deleteType });
    }
  }

  /**
   * Takes the PVs the cache holds now as the baseline, as if they came in the initial list: to
   * be called in the same synchronous step as subscribing, so nothing falls between. (Claims and
   * events need no baseline: a claim counts when an update shows it entering Bound, an event by
   * how much an update raises its count.)
   */
  baseline(): void {
    for (const pv of this.#lookup.list('persistentvolumes')) {
      if (pv.deletedAt === undefined) this.onVolume({ type: 'add', object: pv, origin: 'list' });
    }
  }

  onVolume(change: KubeChange<'persistentvolumes'>): void {
    const pv = change.object;
    const now = this.#options.now();
    if (change.type === 'delete') {
      this.#volumeDeleted(pv, change.origin === 'watch', now);
      return;
    }
    let record = this.#ours.get(pv.uid);
    if (!record) {
      if (!this.#pinnedHere(pv)) return;
      record = this.#newRecord(pv, now);
      if (this.#isNew(change)) this.discovered.add({ mode: modeOf(pv) });
    }
    const transition = change.origin === 'watch' && change.type === 'update' && change.old.phase !== pv.phase;
    if (record.phase !== pv.phase) {
      record.phase = pv.phase;
      record.phaseSinceMs = pv.lastPhaseTransitionTimeMs ?? now;
    } else if (pv.lastPhaseTransitionTimeMs !== undefined) record.phaseSinceMs = pv.lastPhaseTransitionTimeMs;
    if (pv.phase === 'Released') {
      if (pv.lastPhaseTransitionTimeMs !== undefined) record.releasedAtMs = pv.lastPhaseTransitionTimeMs;
      else if (record.releasedAtMs === undefined && transition) record.releasedAtMs = now;
    } else if (pv.phase !== 'Failed') record.releasedAtMs = undefined;
    for (const [uid, pending] of this.#pendingClaims) if (pending.pvc.volumeName === pv.name) this.#resolveClaim(uid);
  }

  onClaim(change: KubeChange<'persistentvolumeclaims'>): void {
    const pvc = change.object;
    const now = this.#options.now();
    this.#expireClaims(now);
    if (change.type === 'delete') {
      this.#pendingClaims.delete(pvc.uid);
      this.#observedClaims.delete(pvc.uid);
      return;
    }
    // Claims bound before the start (in the list, or already Bound before this update) are never observed.
    if (pvc.phase !== 'Bound' || change.origin === 'list') return;
    if (change.type === 'update' && change.old.phase === 'Bound') return;
    const created = pvc.creationTimestampMs;
    if (change.type === 'add' && change.origin === 'relist' && (created === undefined || created < this.#options.startMs)) return;
    if (this.#observedClaims.has(pvc.uid)) return;
    this.#pendingClaims.set(pvc.uid, { pvc, boundAtMs: change.origin === 'watch' ? now : undefined, expiresAtMs: now + PENDING_CLAIM_MS });
    this.#resolveClaim(pvc.uid);
  }

  onEvent(change: KubeChange<'persistentvolumeevents'> | KubeChange<'persistentvolumeclaimevents'>): void {
    const n = newOccurrences(change, this.#options.startMs);
    if (n === 0) return;
    const event = change.object;
    const ref = event.involvedObject;
    let pv: PersistentVolumeInfo | undefined;
    if (ref.kind === 'PersistentVolume') {
      pv = this.#lookup.persistentVolume(ref.name);
      if (!pv || (ref.uid !== '' && ref.uid !== pv.uid) || !this.#isOurs(pv)) return;
    } else if (ref.kind === 'PersistentVolumeClaim') {
      const pvc = this.#lookup.persistentVolumeClaim(ref.namespace, ref.name);
      if (!pvc || (ref.uid !== '' && ref.uid !== pvc.uid) || !this.#claimIsOurs(pvc)) return;
    } else return;
    this.events.add({ reason: event.reason, type: event.type, reporting_component: event.reportingComponent, kind: ref.kind }, n);
    if (pv && event.type === 'Warning' && event.reason === FAILED_DELETE_REASON) this.deleteFailed.add({ mode: modeOf(pv), type: this.#options.deleteType }, n);
  }

  /**
   * This node's live PVs now: capacity per mode (both modes always), count per phase and storage
   * class, and per phase (Failed, Pending: both always) those in it longer than `stuckThresholdMs`.
   */
  volumeGauges(stuckThresholdMs: number): VolumeGauges {
    const now = this.#options.now();
    const capacity = new Map<string, number>(MODES.map((m) => [m, 0]));
    const phases = new Map<string, { phase: string; storageclass: string; n: number }>();
    const stuck = new Map<string, number>([
      ['Failed', 0],
      ['Pending', 0],
    ]);
    for (const pv of this.#lookup.list('persistentvolumes')) {
      if (pv.deletedAt !== undefined) continue;
      // A PV never delivered (the cache listed it before the ledger existed) is recorded at its first sighting.
      const record = this.#ours.get(pv.uid) ?? (this.#pinnedHere(pv) ? this.#newRecord(pv, now) : undefined);
      if (!record) continue;
      const mode = modeOf(pv);
      capacity.set(mode, (capacity.get(mode) ?? 0) + capacityBytesOf(pv));
      const phase = pv.phase || 'Pending';
      const key = `${phase}\u0000${pv.storageClass}`;
      const row = phases.get(key);
      if (row) row.n += 1;
      else phases.set(key, { phase, storageclass: pv.storageClass, n: 1 });
      const stuckCount = stuck.get(phase);
      if (stuckCount === undefined) continue;
      const since = pv.lastPhaseTransitionTimeMs ?? (record.phase === pv.phase ? record.phaseSinceMs : now);
      if (now - since > stuckThresholdMs) stuck.set(phase, stuckCount + 1);
    }
    return {
      capacity: [...capacity].map(([mode, value]) => ({ attributes: { mode }, value })),
      phases: [...phases.values()].map((r) => ({ attributes: { phase: r.phase, storageclass: r.storageclass }, value: r.n })),
      stuck: [...stuck].map(([phase, value]) => ({ attributes: { phase }, value })),
    };
  }

  /** Drops claims that waited too long for their PV; called at each collection too. */
  expire(): void {
    this.#expireClaims(this.#options.now());
  }

  /** Claims waiting for their PV (for tests). */
  get pendingClaims(): number {
    return this.#pendingClaims.size;
  }

  #newRecord(pv: PersistentVolumeInfo, now: number): VolumeRecord {
    // Without a transition time, a Pending PV has been Pending since it was made; another phase since it was first seen.
    const since = pv.lastPhaseTransitionTimeMs ?? (pv.phase === 'Pending' ? pv.creationTimestampMs : undefined) ?? now;
    const record: VolumeRecord = { phase: pv.phase, phaseSinceMs: since, releasedAtMs: pv.phase === 'Released' ? pv.lastPhaseTransitionTimeMs : undefined };
    this.#ours.set(pv.uid, record);
    return record;
  }

  /**
   * Whether a PV becoming ours is a discovery: never from the initial list; always for a watch
   * add; for a relist add when it was made after the start (or its creation time is unknown: the
   * cache did not hold it); for an update (a PV that was not ours, now is) only when made after the start.
   */
  #isNew(change: KubeChange<'persistentvolumes'>): boolean {
    if (change.origin === 'list') return false;
    if (change.type === 'add' && change.origin === 'watch') return true;
    const created = change.object.creationTimestampMs;
    if (change.type === 'add') return created === undefined || created >= this.#options.startMs;
    return created !== undefined && created >= this.#options.startMs;
  }

  #volumeDeleted(pv: PersistentVolumeInfo, watched: boolean, now: number): void {
    const record = this.#ours.get(pv.uid);
    this.#ours.delete(pv.uid);
    if (!record && !this.#pinnedHere(pv)) return;
    const labels = { mode: modeOf(pv), type: this.#options.deleteType };
    this.deleted.add(labels);
    // After a relist the deletion happened at some unknown time while the watch was down: no duration.
    if (!watched) return;
    const releasedAt = record?.releasedAtMs ?? (pv.phase === 'Released' ? pv.lastPhaseTransitionTimeMs : undefined);
    if (releasedAt === undefined) return;
    const deletedAt = pv.deletedAt ?? now;
    this.deleteDuration.observe({ ...labels, capacity: capacityLabel(capacityBytesOf(pv)) }, Math.max(0, deletedAt - releasedAt) / 1000);
  }

  #resolveClaim(uid: string): void {
    const pending = this.#pendingClaims.get(uid);
    if (!pending) return;
    const pvc = pending.pvc;
    const pv = pvc.volumeName === '' ? undefined : this.#lookup.persistentVolume(pvc.volumeName);
    // Not here yet: its add (on the PV watch) resolves the claim.
    if (!pv || pv.deletedAt !== undefined) return;
    this.#pendingClaims.delete(uid);
    if (pv.claimRef?.uid && pv.claimRef.uid !== pvc.uid) return;
    if (!this.#isOurs(pv) || pvc.creationTimestampMs === undefined) return;
    // The PV's Bound transition time is on the API server's clock, as the claim's creation is.
    const boundAt = pv.phase === 'Bound' && pv.lastPhaseTransitionTimeMs !== undefined ? pv.lastPhaseTransitionTimeMs : pending.boundAtMs;
    if (boundAt === undefined) return;
    this.#observedClaims.add(uid);
    const storageclass = pvc.storageClass || pv.storageClass;
    const provisioner = provisionerOf(pv, pvc, storageclass === '' ? undefined : this.#lookup.storageClass(storageclass));
    this.provisioningLatency.observe({ storageclass, provisioner }, Math.max(0, boundAt - pvc.creationTimestampMs) / 1000);
  }

  #expireClaims(now: number): void {
    for (const [uid, pending] of this.#pendingClaims) if (pending.expiresAtMs <= now) this.#pendingClaims.delete(uid);
  }

  #isOurs(pv: PersistentVolumeInfo): boolean {
    return this.#ours.has(pv.uid) || this.#pinnedHere(pv);
  }

  #pinnedHere(pv: PersistentVolumeInfo): boolean {
    const node = nodeIdentity(this.#lookup, this.#options.nodeName, this.#options.affinityKey);
    return pinnedToNode(pv, claimOf(this.#lookup, pv), node) === true;
  }

  /** A claim is ours when the scheduler picked this node for it, or its volume is one of ours. */
  #claimIsOurs(pvc: PersistentVolumeClaimInfo): boolean {
    if (pvc.annotations[PVC_SELECTED_NODE_ANNOTATION] === this.#options.nodeName) return true;
    const pv = pvc.volumeName === '' ? undefined : this.#lookup.persistentVolume(pvc.volumeName);
    return pv !== undefined && this.#isOurs(pv);
  }
}
