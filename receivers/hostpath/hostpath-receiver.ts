import type { BatchObservableCallback, ObservableGauge } from '@opentelemetry/api';
import type { KubeLookup } from '../../kube/lookup.ts';
import type { CollectContext, ComponentSettings, Receiver, ReceiverResult } from '../../pipeline/component.ts';
import { nowHr } from '../../pipeline/datapoints.ts';
import type { HostpathReceiverConfig } from './config.ts';
import { discoverClusterVolumes, discoverLayoutVolumes, type VolumeTarget } from './discovery.ts';
import { buildFamilies } from './volume-families.ts';
import { VolumeScheduler } from './volume-scheduler.ts';
import { WalkPool } from './walk-pool.ts';

/**
 * How often the volume list is refreshed from the cache or the base directories: cheap (a pass
 * over the cached PVs, or one readdir per base), and it bounds how long a deleted PV's series live.
 */
const DISCOVERY_INTERVAL_MS = 1000;
/** How soon discovery looks again while the cache has not loaded its first lists (a cheap check). */
const UNSYNCED_RETRY_MS = 100;

/**
 * Per-volume usage of hostPath and local PVs (and, without an API server, local-path
 * directories) from directory walks in worker threads. Costly, so walks run in the background
 * on each volume's own interval and collect() serves the last complete walk with its age.
 */
export class HostpathReceiver implements Receiver {
  readonly #settings: ComponentSettings;
  readonly #config: Readonly<HostpathReceiverConfig>;
  readonly #lookup: KubeLookup | undefined;
  readonly #pool: WalkPool;
  readonly #scheduler: VolumeScheduler;
  readonly #startTime = nowHr();
  #discoveryTimer: NodeJS.Timeout | undefined;
  #discovering: Promise<void> | undefined;
  #discoveryProblems = '';
  #threadsGauge: ObservableGauge | undefined;
  #observe: BatchObservableCallback | undefined;
  #state: 'new' | 'started' | 'stopped' = 'new';

  constructor(settings: ComponentSettings, config: Readonly<HostpathReceiverConfig>) {
    this.#settings = settings;
    this.#config = config;
    // PVs name their directories; pods tell which unpinned hostPath PVs are used here; the node's labels match affinity.
    this.#lookup = config.persistent_volumes && settings.kube ? settings.kube.require(['persistentvolumes', 'persistentvolumeclaims', 'pods', 'nodes']) : undefined;
    this.#pool = new WalkPool({ threads: config.threads, maxStuck: config.max_stuck, ...(config.scanner === 'auto' ? {} : { scanner: config.scanner }) });
    this.#scheduler = new VolumeScheduler({
      pool: this.#pool,
      logger: settings.logger,
      intervalMs: config.collection_interval,
      jitter: config.jitter,
      walkTimeoutMs: config.walk_timeout,
      maxEntries: config.max_entries,
      concurrency: config.concurrency,
    });
  }

  start(): Promise<void> {
    if (this.#state !== 'new') return Promise.resolve();
    this.#state = 'started';
    const threads = this.#settings.meter.createObservableGauge('nodemeter_hostpath_walk_threads', {
      description: 'Walk threads by state: busy, idle, or stuck (blocked in an abandoned walk of a hung filesystem and replaced).',
    });
    this.#threadsGauge = threads;
    this.#observe = (result) => {
      const t = this.#pool.threads;
      for (const [state, n] of Object.entries(t)) result.observe(threads, n, { receiver: this.#settings.id, state });
    };
    this.#settings.meter.addBatchObservableCallback(this.#observe, [threads]);
    const scanner = this.#pool.scanner;
    if (scanner.kind === 'native' || this.#config.scanner === 'node-fs') this.#settings.logger.info({ scanner: scanner.kind }, 'hostpath walk scanner');
    else this.#settings.logger.warn({ scanner: scanner.kind, reason: scanner.reason }, 'hostpath walks use node-fs, the slower scanner');
    this.#discover();
    return Promise.resolve();
  }

  async shutdown(): Promise<void> {
    if (this.#state === 'stopped') return;
    this.#state = 'stopped';
    clearTimeout(this.#discoveryTimer);
    if (this.#observe && this.#threadsGauge) this.#settings.meter.removeBatchObservableCallback(this.#observe, [this.#threadsGauge]);
    this.#scheduler.stop();
    await this.#discovering;
    await this.#pool.shutdown();
  }

  /** Resolves once every volume found so far has been walked once (for `collect --once`). */
  async settled(): Promise<void> {
    if (this.#state !== 'started') return;
    clearTimeout(this.#discoveryTimer);
    this.#discover();
    await this.#discovering;
    await this.#scheduler.firstRound();
  }

  collect(_ctx: CollectContext): Promise<ReceiverResult> {
    const time = nowHr();
    const volumes = [...this.#scheduler.volumes.values()];
    const metrics = buildFamilies(volumes, { nodeName: this.#settings.agent.nodeName, sizeMode: this.#config.size_mode, compat: this.#config.compat_metrics, startTime: this.#startTime }, time);
    let oldest: number | undefined;
    for (const v of volumes) if (v.succeededAt !== undefined) oldest = Math.min(oldest ?? Infinity, v.succeededAt);
    const result: ReceiverResult = { scopeMetrics: { scope: { name: `nodemeter/receiver/${this.#settings.id}` }, metrics } };
    return Promise.resolve(oldest === undefined ? result : { ...result, ageMs: Math.max(0, Date.now() - oldest) });
  }

  /** Refreshes the volume list now and then every DISCOVERY_INTERVAL_MS; never throws. */
  #discover(): void {
    if (this.#state !== 'started' || this.#discovering) return;
    this.#discovering = this.#findVolumes()
      .then((targets) => this.#scheduler.reconcile(targets))
      .catch((err: unknown) => this.#settings.logger.warn({ err }, 'volume discovery failed'))
      .finally(() => {
        this.#discovering = undefined;
        if (this.#state !== 'started') return;
        // The first round runs before the cache has synced: find the volumes as soon as it has, not a full interval later.
        const delay = this.#lookup && !this.#lookup.synced ? UNSYNCED_RETRY_MS : DISCOVERY_INTERVAL_MS;
        this.#discoveryTimer = setTimeout(() => this.#discover(), delay);
        this.#discoveryTimer.unref();
      });
  }

  async #findVolumes(): Promise<VolumeTarget[]> {
    const config = this.#config;
    if (this.#lookup) {
      // Until the first list arrives, an empty cache would read as "every volume deleted".
      if (!this.#lookup.synced) return [...this.#scheduler.volumes.values()].map((v) => v.target);
      const targets = discoverClusterVolumes(this.#lookup, { nodeName: this.#settings.agent.nodeName, affinityKey: config.node_affinity_key, rootPath: config.root_path });
      this.#reportProblems(targets.filter((t) => t.capacityProblem !== undefined).map((t) => `${t.key}: ${t.capacityProblem}`));
      return targets;
    }
    if (this.#settings.kube && config.persistent_volumes) return [];
    const scan = await discoverLayoutVolumes(config.local_path_base_dirs, config.root_path);
    this.#reportProblems(scan.problems.map((p) => p.message));
    return scan.targets;
  }

  /** Logs discovery problems when they change, not every round. */
  #reportProblems(messages: string[]): void {
    const key = messages.sort().join('\n');
    if (key === this.#discoveryProblems) return;
    this.#discoveryProblems = key;
    if (messages.length > 0) this.#settings.logger.warn({ problems: messages }, 'volume discovery problems');
  }
}
