import { millisToHrTime } from '@opentelemetry/core';
import type { KubeLookup } from '../../kube/lookup.ts';
import type { MetricData } from '@opentelemetry/sdk-metrics';
import type { KindName } from '../../kube/types.ts';
import { nodeIdentity } from '../../kube/volume-node.ts';
import type { CollectContext, ComponentSettings, Receiver, ReceiverResult } from '../../pipeline/component.ts';
import { nowHr } from '../../pipeline/datapoints.ts';
import { withDeadline } from '../../pipeline/deadline.ts';
import { StatfsPool } from '../filesystem/statfs-pool.ts';
import type { ProvisionerReceiverConfig } from './config.ts';
import { claimedPaths, discoveryDirectories, discoverySamples, type DiscoveryDirectory } from './discovery.ts';
import { LifecycleLedger } from './lifecycle-ledger.ts';
import { LocalDiscovery } from './local-discovery.ts';
import { buildDiscoveryFamilies, buildProvisionerFamilies } from './provisioner-families.ts';

/** Kinds watched: volumes, claims, the events about both, storage classes (provisioner names) and this node (its affinity label). */
export const REQUIRED_KINDS: readonly KindName[] = ['persistentvolumes', 'persistentvolumeclaims', 'persistentvolumeevents', 'persistentvolumeclaimevents', 'storageclasses', 'nodes'];

export interface ProvisionerReceiverOptions {
  /** Clock (epoch ms), for tests. */
  readonly now?: () => number;
}

/** statfs threads of the discovery: one is plenty for a few dozen mount points; a few more may sit in hung mounts. */
const DISCOVERY_STATFS_THREADS = 1;
const DISCOVERY_MAX_STUCK = 4;

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
  readonly #directories: readonly DiscoveryDirectory[];
  readonly #pool: StatfsPool | undefined;
  readonly #discovery: LocalDiscovery | undefined;
  #ledger: LifecycleLedger | undefined;
  #startTime = nowHr();
  #failures = 0;
  #state: 'new' | 'started' | 'stopped' = 'new';

  constructor(settings: ComponentSettings, config: Readonly<ProvisionerReceiverConfig>, options: ProvisionerReceiverOptions = {}) {
    this.#settings = settings;
    this.#config = config;
    this.#now = options.now ?? Date.now;
    this.#lookup = settings.kube?.require(REQUIRED_KINDS);
    this.#directories = discoveryDirectories(config);
    // Discovery needs the cache to tell claimed from unclaimed: without it, no threads either.
    if (this.#directories.length > 0 && this.#lookup) {
      const logger = settings.logger;
      const pool = new StatfsPool({
        concurrency: DISCOVERY_STATFS_THREADS,
        maxStuck: DISCOVERY_MAX_STUCK,
        timeoutMs: config.statfs_timeout,
        onStuck: (path) => logger.warn({ path, timeoutMs: config.statfs_timeout }, 'statfs of a discovered volume timed out; skipped until it answers'),
        onRecovered: (path, stuckMs) => logger.info({ path, stuckMs }, 'discovered volume answers statfs again'),
      });
      this.#pool = pool;
      this.#discovery = new LocalDiscovery({ directories: this.#directories, rootPath: config.root_path, mountinfoPath: config.mountinfo_path, pool, logger });
    }
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

  async shutdown(): Promise<void> {
    if (this.#state === 'stopped') return;
    this.#state = 'stopped';
    for (const unsubscribe of this.#unsubscribe.splice(0)) unsubscribe();
    await this.#pool?.shutdown();
  }

  async collect(ctx: CollectContext): Promise<ReceiverResult> {
    const scope = { name: `nodemeter/receiver/${this.#settings.id}` };
    const ledger = this.#ledger;
    if (!ledger) return { scopeMetrics: { scope, metrics: [] } };
    const time = nowHr();
    let metrics: MetricData[];
    try {
      metrics = buildProvisionerFamilies(ledger, { startTime: this.#startTime, time, stuckThresholdMs: this.#config.stuck_threshold });
    } catch (err) {
      this.#settings.logger.warn({ err }, 'provisioner receiver collection failed');
      return { scopeMetrics: { scope, metrics: [] }, errors: [err instanceof Error ? err : new Error(String(err))] };
    }
    const errors: Error[] = [];
    if (this.#discovery) metrics.push(...(await this.#discover(ctx, time, errors)));
    return errors.length > 0 ? { scopeMetrics: { scope, metrics }, errors } : { scopeMetrics: { scope, metrics } };
  }

  /**
   * One discovery round, every collection: a listing per directory, the mount table, one batch
   * of statfs in the pool's thread (a stuck mount is skipped at once) and a sysfs read per
   * block device — a few milliseconds for dozens of entries, so nothing is cached between
   * collections. Nothing until the cache has synced: before the PVs are listed every entry
   * would look unclaimed.
   */
  async #discover(ctx: CollectContext, time: ReturnType<typeof nowHr>, errors: Error[]): Promise<MetricData[]> {
    const lookup = this.#lookup;
    const discovery = this.#discovery;
    if (!lookup || !discovery || !lookup.synced) return [];
    try {
      const round = await withDeadline(discovery.discover(ctx.signal), ctx.deadline, 'local volume discovery');
      errors.push(...round.errors);
      const claimed = claimedPaths(lookup, nodeIdentity(lookup, this.#settings.agent.nodeName, this.#config.node_affinity_key));
      return buildDiscoveryFamilies(discoverySamples(this.#directories, round, claimed), time);
    } catch (err) {
      errors.push(err instanceof Error ? err : new Error(String(err)));
      return [];
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
