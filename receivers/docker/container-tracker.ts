import type { Logger } from 'pino';
import { containerInfo, type ContainerInfo, type InfoOptions } from './container-info.ts';
import { EngineError, type EngineClient, type EventStream } from './engine-client.ts';
import type { EngineEvent } from './engine-types.ts';

export interface TrackerOptions {
  readonly client: EngineClient;
  readonly logger: Logger;
  readonly refreshIntervalMs: number;
  readonly includeStopped: boolean;
  readonly info: InfoOptions;
  /** Counts a failed operation (`version`, `list`, `inspect`, `events`) for self-telemetry. */
  readonly onError: (operation: string, err: unknown) => void;
  /** Called when the daemon answers after not answering (or for the first time), and when it stops answering. */
  readonly onConnection?: (up: boolean) => void;
  /** First and longest wait between reconnection attempts, ms. */
  readonly backoffMinMs?: number;
  readonly backoffMaxMs?: number;
}

/** Event actions after which a container is inspected again; `destroy` removes it. */
const REINSPECT = new Set(['create', 'start', 'restart', 'die', 'stop', 'kill', 'oom', 'pause', 'unpause', 'rename', 'update']);

/**
 * The daemon's containers, kept current: a full list every refresh interval and, in between,
 * the /events stream. Connects with capped exponential backoff and jitter while the daemon is
 * absent or restarting; while it does not answer, no container is known (their series go).
 * Never throws from its background loop.
 */
export class ContainerTracker {
  readonly #opts: TrackerOptions;
  readonly #containers = new Map<string, ContainerInfo>();
  #up = false;
  #stopped = true;
  #loop: Promise<void> | undefined;
  #events: EventStream | undefined;
  #refreshTimer: NodeJS.Timeout | undefined;
  #wake: (() => void) | undefined;
  #refreshing: Promise<void> | undefined;
  #firstList: { promise: Promise<void>; resolve: () => void };
  #daemonVersion: string | undefined;

  constructor(options: TrackerOptions) {
    this.#opts = options;
    let resolve!: () => void;
    const promise = new Promise<void>((r) => (resolve = r));
    this.#firstList = { promise, resolve };
  }

  /** Known containers by id, excluded ones included (check `excluded`). */
  get containers(): ReadonlyMap<string, ContainerInfo> {
    return this.#containers;
  }

  /** Whether the daemon answered the last request. */
  get up(): boolean {
    return this.#up;
  }

  get daemonVersion(): string | undefined {
    return this.#daemonVersion;
  }

  /** Resolves after the first complete list, or the first failed connection attempt. */
  firstList(): Promise<void> {
    return this.#firstList.promise;
  }

  start(): void {
    if (!this.#stopped) return;
    this.#stopped = false;
    this.#loop = this.#run();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#refreshTimer);
    this.#events?.close();
    this.#wake?.();
    await this.#loop;
    this.#firstList.resolve();
  }

  async #run(): Promise<void> {
    const min = this.#opts.backoffMinMs ?? 500;
    const max = this.#opts.backoffMaxMs ?? 30_000;
    let backoff = min;
    while (!this.#stopped) {
      // What the loop is waiting on, so a failure is counted against it.
      let operation = 'version';
      try {
        const { apiVersion, daemon } = await this.#opts.client.negotiate();
        this.#daemonVersion = daemon.Version;
        this.#opts.logger.info({ endpoint: this.#opts.client.endpoint, apiVersion, daemonVersion: daemon.Version, daemonApiVersion: daemon.ApiVersion }, 'docker daemon answered');
        // Events first, so nothing that happens during the list is missed.
        const events = this.#opts.client.events(
          (e) => this.#onEvent(e),
          (line) => this.#opts.logger.warn({ line }, 'docker event that is not JSON, skipped'),
        );
        this.#events = events;
        // Awaited below; until then a failed stream must not count as an unhandled rejection.
        events.closed.catch(() => undefined);
        operation = 'list';
        await this.#refresh();
        this.#setUp(true);
        // Only now: whoever waits on the first list reads `up` next and must see it true.
        this.#firstList.resolve();
        backoff = min;
        this.#scheduleRefresh();
        operation = 'events';
        await events.closed;
        if (!this.#stopped) throw new EngineError('NM_DOCKER_EVENTS_ENDED', `${this.#opts.client.endpoint}: the event stream ended`, { retryable: true });
      } catch (err) {
        if (this.#stopped) break;
        this.#opts.onError(operation, err);
        this.#opts.logger.warn({ err, retryInMs: backoff }, 'docker daemon not answering; retrying');
      } finally {
        clearTimeout(this.#refreshTimer);
        this.#events?.close();
        this.#events = undefined;
      }
      this.#setUp(false);
      this.#containers.clear();
      this.#firstList.resolve();
      if (this.#stopped) break;
      // Full jitter over the upper half, so many agents do not retry in step after a daemon restart.
      await this.#sleep(backoff / 2 + Math.random() * (backoff / 2));
      backoff = Math.min(max, backoff * 2);
    }
  }

  #setUp(up: boolean): void {
    if (this.#up === up) return;
    this.#up = up;
    this.#opts.onConnection?.(up);
  }

  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.#wake = undefined;
        resolve();
      }, ms);
      timer.unref();
      this.#wake = () => {
        clearTimeout(timer);
        this.#wake = undefined;
        resolve();
      };
    });
  }

  #scheduleRefresh(): void {
    clearTimeout(this.#refreshTimer);
    if (this.#stopped) return;
    this.#refreshTimer = setTimeout(() => {
      this.#refresh()
        .catch((err: unknown) => {
          this.#opts.onError('list', err);
          this.#opts.logger.warn({ err }, 'docker container list failed');
        })
        .finally(() => this.#scheduleRefresh());
    }, this.#opts.refreshIntervalMs);
    this.#refreshTimer.unref();
  }

  /** Lists the containers and inspects the new ones and those whose state changed. */
  #refresh(): Promise<void> {
    this.#refreshing ??= this.#doRefresh().finally(() => {
      this.#refreshing = undefined;
    });
    return this.#refreshing;
  }

  async #doRefresh(): Promise<void> {
    const list = await this.#opts.client.listContainers(this.#opts.includeStopped);
    const seen = new Set<string>();
    const toInspect: string[] = [];
    for (const c of list) {
      seen.add(c.Id);
      const known = this.#containers.get(c.Id);
      const running = c.State === 'running';
      if (!known || known.running !== running) toInspect.push(c.Id);
    }
    for (const id of this.#containers.keys()) if (!seen.has(id)) this.#containers.delete(id);
    // A few at a time: a node may have hundreds of containers.
    for (let i = 0; i < toInspect.length; i += 16) {
      await Promise.all(toInspect.slice(i, i + 16).map((id) => this.#inspect(id)));
    }
  }

  async #inspect(id: string): Promise<void> {
    try {
      const info = containerInfo(await this.#opts.client.inspect(id), this.#opts.info);
      if (!info.running && !this.#opts.includeStopped) this.#containers.delete(id);
      else this.#containers.set(id, info);
    } catch (err) {
      // Gone between the list (or event) and the inspect.
      if (err instanceof EngineError && err.status === 404) {
        this.#containers.delete(id);
        return;
      }
      this.#opts.onError('inspect', err);
      this.#opts.logger.warn({ err, id }, 'docker inspect failed');
    }
  }

  #onEvent(event: EngineEvent): void {
    const id = event.Actor?.ID ?? event.id;
    const action = event.Action ?? '';
    if (event.Type !== undefined && event.Type !== 'container') return;
    if (typeof id !== 'string' || id === '') return;
    if (action === 'destroy') {
      this.#containers.delete(id);
      return;
    }
    // A stopped container's usage must go at once, not after the inspect answers.
    if (action === 'die' || action === 'stop' || action === 'kill') {
      const known = this.#containers.get(id);
      if (known?.running) this.#containers.set(id, { ...known, running: false, pid: 0 });
    }
    if (REINSPECT.has(action) || action.startsWith('health_status')) void this.#inspect(id);
  }
}
