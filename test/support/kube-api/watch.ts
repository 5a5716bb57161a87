/**
 * One watch stream: chunked `application/json`, one `{"type","object"}` JSON document per line,
 * with the real server's semantics (the watch cache's cacheWatcher):
 * - no resourceVersion (or "0"): synthetic ADDED for the current state, then changes;
 * - resourceVersion X: every change after X from history, or an ERROR event carrying a 410
 *   Expired Status when X was compacted (HTTP status stays 200, as on the real server);
 * - selectors apply to both sides of a change, so an object that stops matching is DELETED
 *   (with its previous content and the change's RV) and one that starts matching is ADDED;
 * - BOOKMARKs (only metadata.resourceVersion) every bookmarkIntervalMs when asked for;
 * - sendInitialEvents=true ends the initial ADDEDs with a BOOKMARK annotated
 *   `k8s.io/initial-events-end: "true"`;
 * - timeoutSeconds ends the stream cleanly.
 */
import type { ServerResponse } from 'node:http';
import { apiVersionOf, type KubeObject, type Resource } from './resources.ts';
import type { Matcher } from './selectors.ts';
import { ExpiredError, type Store, type StoreEvent } from './store.ts';
import { statusObject } from './status.ts';

export type WatchRequest = {
  resource: Resource;
  /** Only objects in this namespace (namespaced routes). */
  namespace?: string;
  matches: Matcher;
  /** undefined: start with the current state as ADDED events. */
  fromRv?: number;
  sendInitialEvents: boolean;
  bookmarks: boolean;
  bookmarkIntervalMs: number;
  timeoutMs?: number;
  /** How objects go out (default: as they are). */
  encode?: (obj: KubeObject) => object;
};

export class WatchStream {
  private readonly res: ServerResponse;
  private readonly req: WatchRequest;
  private readonly store: Store;
  private unsubscribe: (() => void) | undefined;
  private readonly timers: NodeJS.Timeout[] = [];
  private closed = false;
  private readonly onClose: () => void;

  constructor(store: Store, res: ServerResponse, req: WatchRequest, onClose: () => void) {
    this.store = store;
    this.res = res;
    this.req = req;
    this.onClose = onClose;
  }

  start(): void {
    const { res, req, store } = this;
    res.writeHead(200, { 'Content-Type': 'application/json', 'Cache-Control': 'no-cache, private' });
    // Headers now, so the client's request completes before the first event.
    res.flushHeaders();
    res.on('close', () => this.close());

    if (req.fromRv === undefined) {
      for (const obj of store.snapshot(req.resource)) {
        if (this.visible(obj)) this.send('ADDED', obj);
      }
      if (req.sendInitialEvents) this.bookmark({ 'k8s.io/initial-events-end': 'true' });
    } else {
      let backlog: StoreEvent[];
      try {
        backlog = store.eventsSince(req.fromRv);
      } catch (err) {
        if (!(err instanceof ExpiredError)) throw err;
        this.write({ type: 'ERROR', object: statusObject(410, 'Expired', err.message) });
        this.end();
        return;
      }
      for (const e of backlog) this.deliver(e);
    }
    // Subscribing in the same tick as the snapshot leaves no gap: the store is synchronous.
    this.unsubscribe = store.subscribe((e) => this.deliver(e));
    if (req.bookmarks) {
      const t = setInterval(() => this.bookmark(), req.bookmarkIntervalMs);
      this.timers.push(t);
    }
    if (req.timeoutMs !== undefined) this.timers.push(setTimeout(() => this.end(), req.timeoutMs));
  }

  private visible(obj: KubeObject): boolean {
    if (this.req.namespace !== undefined && obj.metadata.namespace !== this.req.namespace) return false;
    return this.req.matches(obj);
  }

  private deliver(e: StoreEvent): void {
    if (e.resource !== this.req.resource) return;
    const cur = e.type !== 'DELETED' && this.visible(e.object);
    const old = e.prev !== undefined && this.visible(e.prev);
    if (cur && !old) this.send('ADDED', e.object);
    else if (cur && old) this.send('MODIFIED', e.object);
    else if (old) {
      // The previous content, stamped with the change's resourceVersion.
      const gone = structuredClone(e.prev!);
      gone.metadata.resourceVersion = String(e.rv);
      this.send('DELETED', gone);
    }
  }

  private send(type: string, object: KubeObject): void {
    this.write({ type, object: this.req.encode ? this.req.encode(object) : object });
  }

  private bookmark(annotations?: Record<string, string>): void {
    const metadata: Record<string, unknown> = { resourceVersion: String(this.store.currentRv) };
    if (annotations) metadata.annotations = annotations;
    const r = this.req.resource;
    this.write({ type: 'BOOKMARK', object: { kind: r.kind, apiVersion: apiVersionOf(r), metadata } });
  }

  private write(event: object): void {
    if (this.closed) return;
    this.res.write(`${JSON.stringify(event)}\n`);
  }

  /** Ends the stream cleanly (the client sees a normal end of the response). */
  end(): void {
    if (!this.closed) this.res.end();
    this.close();
  }

  /** Ends it abruptly (the connection is reset). */
  destroy(): void {
    if (!this.closed) this.res.destroy();
    this.close();
  }

  private close(): void {
    if (this.closed) return;
    this.closed = true;
    this.unsubscribe?.();
    for (const t of this.timers) clearTimeout(t);
    this.onClose();
  }
}
