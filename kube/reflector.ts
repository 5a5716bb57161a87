import type { Logger } from 'pino';
import { errorMessage } from '../pipeline/errors.ts';
import { Backoff, sleep, type BackoffOptions } from './backoff.ts';
import { KubeHttpError, KubeTimeoutError, type KubeHttpClient, type Query } from './client.ts';
import type { KubeMetrics, RestartReason } from './metrics.ts';
import type { ChangeOrigin, ObjectStore, StoreChange } from './store.ts';
import { obj, resourceVersionOf, type ApiObject } from './strip.ts';
import type { ObjectMetaInfo } from './types.ts';

/** Tuning of one list/watch loop; every field has a production default. */
export interface ReflectorTuning {
  /** LIST page size (`limit`, with `continue`); 0 lists in one response. Default 500. */
  readonly pageSize?: number;
  /** Watch `timeoutSeconds` is drawn uniformly from [min, max] so agents do not rewatch in step. Default [300, 600]. */
  readonly watchTimeoutSeconds?: readonly [number, number];
  /** Deadline of one LIST page, ms. Default 60 000. */
  readonly requestTimeoutMs?: number;
  /** Reconnect backoff. Default 200 ms → 30 s, full jitter. */
  readonly backoff?: BackoffOptions;
}

/** What a reflector needs; the cache builds one per kind. */
export interface ReflectorOptions<T extends ObjectMetaInfo> extends ReflectorTuning {
  /** Kind name for logs and metrics (`pods`, `persistentvolumes`, …). */
  readonly kind: string;
  /** Collection path, e.g. `/api/v1/pods`, `/apis/storage.k8s.io/v1/storageclasses`. */
  readonly path: string;
  readonly fieldSelector?: string;
  readonly client: KubeHttpClient;
  readonly store: ObjectStore<T>;
  readonly strip: (object: ApiObject) => T;
  readonly logger: Logger;
  readonly metrics?: KubeMetrics;
  /** How long deleted objects stay resolvable, ms. */
  readonly graceMs: number;
  /**
   * Called for every add/update/delete, after the store has changed, with where it came from.
   * The changes of a LIST come after the whole list is in the store. Must not throw: the cache
   * guards each listener.
   */
  readonly onChange?: (change: StoreChange<T>, origin: ChangeOrigin) => void;
}

/**
 * One kind's list/watch loop, as client-go's reflector: LIST (paged), then WATCH from the
 * list's resourceVersion with bookmarks, resuming from the last version seen whenever a watch
 * ends; a 410 Gone (status or ERROR event) relists and replaces the store; connection errors
 * back off (capped, full jitter). The loop never throws; the store keeps the last known state
 * while the API server is away.
 */
export class Reflector<T extends ObjectMetaInfo> {
  readonly #o: ReflectorOptions<T>;
  readonly #backoff: Backoff;
  readonly #abort = new AbortController();
  readonly #log: Logger;
  #loop: Promise<void> | undefined;
  #resourceVersion = '';
  #lastError: string | undefined;
  /** True once a LIST succeeded: later ones are relists. */
  #listed = false;

  constructor(options: ReflectorOptions<T>) {
    this.#o = options;
    this.#backoff = new Backoff(options.backoff);
    this.#log = options.logger.child({ kind: options.kind });
  }

  /** Last resourceVersion seen (list, event or bookmark); '' before the first list. */
  get resourceVersion(): string {
    return this.#resourceVersion;
  }

  get lastError(): string | undefined {
    return this.#lastError;
  }

  /** Starts the loop in the background; a second call does nothing. */
  start(): void {
    // The loop catches everything itself; the catch here only guards against a bug there.
    this.#loop ??= this.#run().catch((err: unknown) => this.#log.error({ err: errorMessage(err) }, 'reflector loop ended unexpectedly'));
  }

  /** Aborts the request in flight and waits for the loop to end. Idempotent. */
  async stop(): Promise<void> {
    this.#abort.abort(new Error('reflector stopped'));
    await this.#loop;
  }

  async #run(): Promise<void> {
    const signal = this.#abort.signal;
    let needList = true;
    while (!signal.aborted) {
      if (needList) {
        try {
          this.#resourceVersion = await this.#list(signal);
          needList = false;
          this.#lastError = undefined;
        } catch (err) {
          if (signal.aborted) break;
          this.#fail('list', err);
          await sleep(this.#backoff.next(), signal);
          continue;
        }
      }
      const [minS, maxS] = this.#o.watchTimeoutSeconds ?? [300, 600];
      const timeoutSeconds = Math.round(minS + Math.random() * Math.max(0, maxS - minS));
      const started = Date.now();
      let events = 0;
      let reason: RestartReason;
      try {
        // A watch silent (no event, no bookmark) for a minute past its timeout is dropped and resumed.
        await this.#o.client.watch(this.#o.path, this.#query({ resourceVersion: this.#resourceVersion, allowWatchBookmarks: true, timeoutSeconds }), {
          signal,
          timeoutMs: timeoutSeconds * 1000 + 60_000,
        }, (line) => {
          this.#onEvent(line);
          events++;
        });
        reason = Date.now() - started >= timeoutSeconds * 900 ? 'timeout' : 'closed';
      } catch (err) {
        if (signal.aborted) break;
        // HTTP 410, or an ERROR event with code 410: the resume point is too old.
        if (err instanceof KubeHttpError && err.status === 410) {
          reason = 'gone';
          needList = true;
          this.#log.info({ resourceVersion: this.#resourceVersion }, 'watch resourceVersion expired (410 Gone): relisting');
        } else {
          reason = err instanceof KubeTimeoutError ? 'idle' : 'error';
          this.#fail('watch', err);
        }
      }
      this.#o.metrics?.restart(this.#o.kind, reason);
      const upMs = Date.now() - started;
      // Only a watch that delivered something, or stayed up a while, proves the server healthy.
      if (events > 0 || upMs >= 5000) this.#backoff.reset();
      // Errors back off; so does a watch (or a relist that is at once too old again) that ends
      // at once without sending anything, so such a server is not hammered.
      if (reason === 'error' || reason === 'idle' || (events === 0 && upMs < 1000)) await sleep(this.#backoff.next(), signal);
    }
  }

  #fail(what: 'list' | 'watch', err: unknown): void {
    const message = errorMessage(err);
    // Log a repeated failure at debug so an API server outage does not flood the log.
    const level = message === this.#lastError ? 'debug' : 'warn';
    this.#lastError = message;
    this.#log[level]({ err: message, retryInMaxMs: this.#backoff.ceilingMs }, `${what} failed; retrying with backoff`);
  }

  #query(extra: Query): Query {
    return { fieldSelector: this.#o.fieldSelector, ...extra };
  }

  async #list(signal: AbortSignal): Promise<string> {
    let pageSize = this.#o.pageSize ?? 500;
    for (;;) {
      const items: T[] = [];
      let cont = '';
      let resourceVersion: string;
      try {
        do {
          const page = await this.#o.client.getJson('LIST', this.#o.path, this.#query({ limit: pageSize || undefined, continue: cont }), {
            signal,
            timeoutMs: this.#o.requestTimeoutMs ?? 60_000,
          });
          const list = obj(page);
          const rawItems = list?.['items'];
          if (!list || !Array.isArray(rawItems)) throw new Error(`LIST ${this.#o.path}: response is not a list`);
          for (const item of rawItems) {
            const stripped = this.#strip(item);
            if (stripped) items.push(stripped);
          }
          const meta = obj(list['metadata']);
          cont = typeof meta?.['continue'] === 'string' ? meta['continue'] : '';
          resourceVersion = typeof meta?.['resourceVersion'] === 'string' ? meta['resourceVersion'] : '';
        } while (cont !== '');
      } catch (err) {
        // An expired continue token: list again in one piece (what client-go falls back to).
        if (cont !== '' && err instanceof KubeHttpError && err.status === 410 && pageSize !== 0) {
          pageSize = 0;
          continue;
        }
        throw err;
      }
      const changes = this.#o.store.replace(items, Date.now(), this.#o.graceMs);
      this.#log.debug({ objects: items.length, resourceVersion, changes: changes.length }, 'listed');
      const origin: ChangeOrigin = this.#listed ? 'relist' : 'list';
      this.#listed = true;
      for (const change of changes) this.#notify(change, origin);
      return resourceVersion;
    }
  }

  #notify(change: StoreChange<T>, origin: ChangeOrigin): void {
    this.#o.onChange?.(change, origin);
  }

  #strip(raw: unknown): T | undefined {
    const object = obj(raw);
    if (!object) return undefined;
    try {
      return this.#o.strip(object);
    } catch (err) {
      this.#log.warn({ err: errorMessage(err) }, 'object could not be read; skipped');
      return undefined;
    }
  }

  #onEvent(line: string): void {
    let event: { type?: unknown; object?: unknown };
    try {
      event = JSON.parse(line) as typeof event;
    } catch {
      this.#log.warn({ bytes: line.length }, 'watch event is not JSON; skipped');
      return;
    }
    const object = obj(event.object);
    switch (event.type) {
      case 'ADDED':
      case 'MODIFIED': {
        const stripped = this.#strip(object);
        if (!stripped) return;
        for (const change of this.#o.store.upsert(stripped, Date.now(), this.#o.graceMs)) this.#notify(change, 'watch');
        break;
      }
      case 'DELETED': {
        const stripped = this.#strip(object);
        if (!stripped) return;
        const change = this.#o.store.markDeleted(stripped.namespace, stripped.name, Date.now(), this.#o.graceMs, stripped);
        if (change) this.#notify(change, 'watch');
        break;
      }
      case 'BOOKMARK':
        break;
      case 'ERROR': {
        const code = object?.['code'];
        const message = typeof object?.['message'] === 'string' ? object['message'] : JSON.stringify(object);
        throw new KubeHttpError(typeof code === 'number' ? code : 500, typeof object?.['reason'] === 'string' ? object['reason'] : '', `watch ${this.#o.path}: ERROR event: ${message}`);
      }
      default:
        this.#log.warn({ type: event.type }, 'unknown watch event type; skipped');
        return;
    }
    // Every event, bookmarks included, moves the resume point forward.
    const rv = resourceVersionOf(object);
    if (rv !== '') this.#resourceVersion = rv;
  }
}
