import type { CollectContext, ComponentSettings, Receiver, ReceiverResult } from '../../pipeline/component.ts';
import { nowHr } from '../../pipeline/datapoints.ts';
import { ApiSampleSource } from './api-source.ts';
import { BlockDevices } from './block-devices.ts';
import { CgroupSampleSource } from './cgroup-source.ts';
import { buildContainerFamilies } from './container-families.ts';
import { ContainerTracker } from './container-tracker.ts';
import type { DockerReceiverConfig } from './config.ts';
import { EngineClient } from './engine-client.ts';
import { parseEndpoint, resolveEndpointUrl } from './engine-endpoint.ts';
import { compilePatterns } from './name-patterns.ts';
import { StatsRounds, type SampleSource } from './stats-rounds.ts';

/**
 * Per-container CPU, memory, network, block I/O and state, with cAdvisor's names, from the Docker
 * Engine API or straight from the cgroup files. The container list is kept by the tracker (list
 * + events); usage is read in rounds in the background and collect() serves the last round.
 */
export class DockerReceiver implements Receiver {
  readonly #settings: ComponentSettings;
  readonly #client: EngineClient;
  readonly #tracker: ContainerTracker;
  readonly #rounds: StatsRounds;
  readonly #devices: BlockDevices;
  readonly #errors = new Map<string, number>();
  readonly #startTime = nowHr();
  #state: 'new' | 'started' | 'stopped' = 'new';

  constructor(settings: ComponentSettings, config: Readonly<DockerReceiverConfig>) {
    this.#settings = settings;
    const logger = settings.logger;
    this.#client = new EngineClient({ endpoint: parseEndpoint(resolveEndpointUrl(config.endpoint)), timeoutMs: config.timeout, maxSockets: config.concurrency > 0 ? config.concurrency + 2 : Infinity });
    const onError = (operation: string): void => {
      this.#errors.set(operation, (this.#errors.get(operation) ?? 0) + 1);
    };
    this.#tracker = new ContainerTracker({
      client: this.#client,
      logger,
      refreshIntervalMs: config.container_refresh_interval,
      includeStopped: config.include_stopped,
      info: {
        labelsToMetricLabels: config.container_labels_to_metric_labels,
        envToMetricLabels: config.env_vars_to_metric_labels,
        isExcludedImage: compilePatterns(config.excluded_images),
        isExcludedName: compilePatterns(config.excluded_names),
      },
      onError,
      // The daemon is back (started or restarted): read usage now rather than up to an interval later.
      onConnection: (up) => {
        if (up) void this.#rounds.runNow();
      },
    });
    const source: SampleSource =
      config.source === 'cgroup' ? new CgroupSampleSource({ cgroupRoot: config.cgroup_root, procRoot: config.proc_root }) : new ApiSampleSource(this.#client);
    this.#rounds = new StatsRounds({
      source,
      running: () => [...this.#tracker.containers.values()].filter((c) => c.running && !c.excluded),
      intervalMs: config.collection_interval,
      concurrency: config.concurrency,
      roundTimeoutMs: Math.max(config.timeout * 2, config.collection_interval),
      logger,
      onError,
    });
    this.#devices = new BlockDevices(config.proc_root);
  }

  start(): Promise<void> {
    if (this.#state !== 'new') return Promise.resolve();
    this.#state = 'started';
    this.#tracker.start();
    // The first round waits for the first list; later ones run on the interval.
    void this.#tracker.firstList().then(() => {
      if (this.#state === 'started') this.#rounds.start();
    });
    return Promise.resolve();
  }

  async shutdown(): Promise<void> {
    if (this.#state === 'stopped') return;
    this.#state = 'stopped';
    await Promise.all([this.#tracker.stop(), this.#rounds.stop()]);
    this.#client.destroy();
  }

  /** Resolves once the containers were listed and read once (or the daemon did not answer). */
  async settled(): Promise<void> {
    if (this.#state !== 'started') return;
    await this.#tracker.firstList();
    if (this.#tracker.up) await this.#rounds.firstRound();
  }

  /**
   * Reads every running container's usage now instead of at the next interval, and resolves when
   * that round ends (joins the one under way, if any). What the benchmark times as one collection.
   */
  refresh(): Promise<void> {
    return this.#state === 'started' ? this.#rounds.runNow() : Promise.resolve();
  }

  collect(_ctx: CollectContext): Promise<ReceiverResult> {
    const time = nowHr();
    const last = this.#rounds.lastRound;
    const metrics = buildContainerFamilies(
      {
        containers: this.#tracker.containers.values(),
        samples: this.#rounds.samples,
        devices: this.#devices,
        up: this.#tracker.up,
        lastRound: last,
        errors: this.#errors,
        receiverStart: this.#startTime,
      },
      time,
    );
    const result: ReceiverResult = { scopeMetrics: { scope: { name: `nodemeter/receiver/${this.#settings.id}` }, metrics } };
    return Promise.resolve(last === undefined ? result : { ...result, ageMs: Math.max(0, Date.now() - last.finishedAtMs) });
  }
}
