import { millisToHrTime } from '@opentelemetry/core';
import type { KubeLookup } from '../../kube/lookup.ts';
import type { KindName } from '../../kube/types.ts';
import type { CollectContext, ComponentSettings, Receiver, ReceiverResult } from '../../pipeline/component.ts';
import { nowHr } from '../../pipeline/datapoints.ts';
import type { ProvisionerReceiverConfig } from './config.ts';
import { LifecycleLedger } from './lifecycle-ledger.ts';
import { buildProvisionerFamilies } from './provisioner-families.ts';

/** Kinds watched: volumes, claims, the events about both, storage classes (provisioner names) and this node (its affinity label). */
export const REQUIRED_KINDS: readonly KindName[] = ['persistentvolumes', 'persistentvolumeclaims', 'persistentvolumeevents', 'persistentvolumeclaimevents', 'storageclasses', 'nodes'];

export interface ProvisionerReceiverOptions {
  /** Clock (epoch ms), for tests. */
  readonly now?: () => number;
}

/**
 * The local volume provisioner's metrics, and more, derived from what the shared cache sees of
 * this node's PersistentVolumes, their claims and the Events about them: nothing is asked of
 * the provisioners themselves. Changes feed a ledger as they arrive; collect() reads it.
 */
export class ProvisionerReceiver implements Receiver {
  readonly #settings: ComponentSettings;
  readonly #config: Readonly<ProvisionerReceiverConfig>;
  readonly #lookup: KubeLookup | undefined;
  readonly #now: () => number;
  readonly #unsubscribe: Array<() => void> = [];
  #ledger: LifecycleLedger | undefined;
  #startTime = nowHr();
  #failures = 0;
  #state: 'new' | 'started' | 'stopped' = 'new';

  constructor(settings: ComponentSettings, config: Readonly<ProvisionerReceiverConfig>, options: ProvisionerReceiverOptions = {}) {
    this.#settings = settings;
    this.#config = config;
    this.#now = options.now ?? Date.now;
    this.#lookup = settings.kube?.require(REQUIRED_KINDS);
  }

  start(): Promise<void> {
    if (this.#state !== 'new') return Promise.resolve();
    this.#state = 'started';
    const lookup = this.#lookup;
    if (!lookup?.on) {
      this.#settings.logger.warn('no Kubernetes API to watch: the provisioner receiver reports nothing');
      return Promise.resolve();
    }
    const startMs = this.#now();
    this.#startTime = millisToHrTime(startMs);
    const ledger = new LifecycleLedger({
      lookup,
      nodeName: this.#settings.agent.nodeName,
      affinityKey: this.#config.node_affinity_key,
      deleteType: this.#config.delete_type,
      latencyBuckets: this.#config.latency_buckets,
      deleteDurationBuckets: this.#config.delete_duration_buckets,
      startMs,
      now: this.#now,
    });
    this.#ledger = ledger;
    // One synchronous step: what the cache holds is the baseline, and every later change is delivered.
    ledger.baseline();
    this.#unsubscribe.push(
      lookup.on('persistentvolumes', (c) => this.#guard(() => ledger.onVolume(c))),
      lookup.on('persistentvolumeclaims', (c) => this.#guard(() => ledger.onClaim(c))),
      lookup.on('persistentvolumeevents', (c) => this.#guard(() => ledger.onEvent(c))),
      lookup.on('persistentvolumeclaimevents', (c) => this.#guard(() => ledger.onEvent(c))),
    );
    return Promise.resolve();
  }

  shutdown(): Promise<void> {
    if (this.#state === 'stopped') return Promise.resolve();
    this.#state = 'stopped';
    for (const unsubscribe of this.#unsubscribe.splice(0)) unsubscribe();
    return Promise.resolve();
  }

  collect(_ctx: CollectContext): Promise<ReceiverResult> {
    const scope = { name: `nodemeter/receiver/${this.#settings.id}` };
    const ledger = this.#ledger;
    if (!ledger) return Promise.resolve({ scopeMetrics: { scope, metrics: [] } });
    try {
      const metrics = buildProvisionerFamilies(ledger, { startTime: this.#startTime, time: nowHr(), stuckThresholdMs: this.#config.stuck_threshold });
      return Promise.resolve({ scopeMetrics: { scope, metrics } });
    } catch (err) {
      this.#settings.logger.warn({ err }, 'provisioner receiver collection failed');
      return Promise.resolve({ scopeMetrics: { scope, metrics: [] }, errors: [err instanceof Error ? err : new Error(String(err))] });
    }
  }

  /** Listeners must not throw: a failure is logged (first at warn, repeats at debug) and the change skipped. */
  #guard(apply: () => void): void {
    try {
      apply();
    } catch (err) {
      this.#failures += 1;
      if (this.#failures === 1) this.#settings.logger.warn({ err }, 'provisioner receiver could not apply a Kubernetes change');
      else this.#settings.logger.debug({ err, failures: this.#failures }, 'provisioner receiver could not apply a Kubernetes change');
    }
  }
}
