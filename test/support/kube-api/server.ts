/**
 * KubeApiServer: the HTTP side of the test API server (routing, list/get/watch, discovery) and
 * the controls tests drive it with. See README.md for what it implements and what it does not.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { apiGroup, apiGroupList, apiResourceList, apiVersions, SERVER_VERSION } from './discovery.ts';
import { RESOURCES, type KubeObject, type Resource } from './resources.ts';
import { parseFieldSelector, parseLabelSelector, SelectorError, type Matcher } from './selectors.ts';
import { HttpStatusError, statusObject } from './status.ts';
import { ExpiredError, Store } from './store.ts';
import { wantsTable, toTable } from './table.ts';
import { WatchStream } from './watch.ts';

export type KubeApiServerOptions = {
  /** 0 (default): a port the OS chooses. */
  port?: number;
  /** How often a watch with allowWatchBookmarks=true gets a BOOKMARK (default 1000 ms). */
  bookmarkIntervalMs?: number;
  /** Change events kept for watch resume and Exact lists (default 1000); older RVs → 410. */
  historyLimit?: number;
};

/** One request as the server saw it; `authorization` is the header's value, '' when absent. */
export type LoggedRequest = { method: string; path: string; query: Record<string, string>; watch: boolean; authorization: string };

type Route = { resource: Resource; namespace?: string; name?: string; watchPath: boolean };

const CORE_PREFIX = '/api/v1/';

type ContinueToken = { rv: number; after: string };

function encodeContinue(token: ContinueToken): string {
  return Buffer.from(JSON.stringify(token)).toString('base64url');
}

function decodeContinue(text: string): ContinueToken {
  try {
    const t = JSON.parse(Buffer.from(text, 'base64url').toString()) as ContinueToken;
    if (Number.isInteger(t.rv) && typeof t.after === 'string') return t;
  } catch {
    // fall through to the 400 below
  }
  throw new HttpStatusError(400, 'continue key is not valid: incorrect encoded start resourceVersion (version meta.k8s.io/v1)');
}

function parseRv(text: string): number {
  if (!/^\d+$/.test(text)) throw new HttpStatusError(400, `resourceVersion: Invalid value: "${text}": must be an integer`);
  return Number(text);
}

function isTrue(value: string | undefined): boolean {
  return value === 'true' || value === '1';
}

function keyOf(obj: KubeObject): string {
  return `${obj.metadata.namespace ?? ''}/${obj.metadata.name}`;
}

/** List items go out without kind/apiVersion, as the real server encodes them. */
function asListItem(obj: KubeObject): KubeObject {
  const { kind: _kind, apiVersion: _apiVersion, ...rest } = obj;
  return rest;
}

export class KubeApiServer {
  readonly requests: LoggedRequest[] = [];
  private readonly store: Store;
  private readonly server: Server;
  private readonly sockets = new Set<Socket>();
  private readonly watches = new Set<WatchStream>();
  private readonly bookmarkIntervalMs: number;
  private port: number;
  private stallMs = 0;
  private readonly stalled = new Set<() => void>();

  private constructor(options: KubeApiServerOptions) {
    this.port = options.port ?? 0;
    this.bookmarkIntervalMs = options.bookmarkIntervalMs ?? 1000;
    this.store = new Store(options.historyLimit ?? 1000);
    this.server = createServer((req, res) => void this.handle(req, res));
    this.server.on('connection', (socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
    });
  }

  static async start(options: KubeApiServerOptions = {}): Promise<KubeApiServer> {
    const server = new KubeApiServer(options);
    await server.listen();
    return server;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** Writes `<dir>/kubeconfig`: plain http to this server (insecure), a bearer-token user, namespace default. */
  kubeconfigPath(dir: string): string {
    const file = join(dir, 'kubeconfig');
    writeFileSync(
      file,
      [
        'apiVersion: v1',
        'kind: Config',
        'clusters:',
        '- name: test',
        '  cluster:',
        `    server: ${this.url}`,
        // client-node 2.x refuses plain http unless TLS verification is off; kubectl accepts it.
        '    insecure-skip-tls-verify: true',
        'users:',
        '- name: test',
        '  user:',
        '    token: nodemeter-test-token',
        'contexts:',
        '- name: test',
        '  context:',
        '    cluster: test',
        '    user: test',
        '    namespace: default',
        'current-context: test',
        '',
      ].join('\n'),
    );
    return file;
  }

  add(obj: object): KubeObject {
    return this.store.add(obj as KubeObject);
  }

  update(obj: object): KubeObject {
    return this.store.update(obj as KubeObject);
  }

  /** Merges labels like `kubectl label` (a null value removes the label). */
  patchLabels(kind: string, namespace: string, name: string, labels: Record<string, string | null>): KubeObject {
    const obj = this.store.get(kind, namespace, name);
    if (!obj) throw new Error(`test API server: ${kind} ${namespace}/${name} does not exist`);
    const merged: Record<string, string> = { ...obj.metadata.labels };
    for (const [k, v] of Object.entries(labels)) {
      if (v === null) delete merged[k];
      else merged[k] = v;
    }
    obj.metadata.labels = merged;
    return this.store.update(obj);
  }

  delete(kind: string, namespace: string, name: string): void {
    this.store.delete(kind, namespace, name);
  }

  get(kind: string, namespace: string, name: string): KubeObject | undefined {
    return this.store.get(kind, namespace, name);
  }

  /** The current (cluster-wide) resourceVersion. */
  get resourceVersion(): string {
    return String(this.store.currentRv);
  }

  expireVersions(): void {
    this.store.expire();
  }

  dropWatches(): void {
    for (const w of [...this.watches]) w.end();
  }

  /** Every later request waits `ms` before it is answered, until stall(0), which also frees the waiting ones. */
  stall(ms: number): void {
    this.stallMs = ms;
    if (ms <= 0) this.releaseStalled();
  }

  async stop(): Promise<void> {
    this.releaseStalled();
    for (const w of [...this.watches]) w.destroy();
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    for (const s of this.sockets) s.destroy();
    await closed;
  }

  async restart(): Promise<void> {
    if (this.server.listening) await this.stop();
    await this.listen();
  }

  private releaseStalled(): void {
    for (const release of [...this.stalled]) release();
    this.stalled.clear();
  }

  private listen(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(this.port, '127.0.0.1', () => {
        this.server.off('error', reject);
        const address = this.server.address();
        if (address && typeof address === 'object') this.port = address.port;
        resolve();
      });
    });
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const query = Object.fromEntries(url.searchParams);
    const route = this.route(url.pathname);
    const watch = isTrue(query.watch) || (route?.watchPath ?? false);
    this.requests.push({ method: req.method ?? '', path: url.pathname, query, watch, authorization: req.headers.authorization ?? '' });
    if (this.stallMs > 0) {
      await new Promise<void>((resolve) => {
        const release = (): void => {
          clearTimeout(timer);
          this.stalled.delete(release);
          resolve();
        };
        const timer = setTimeout(release, this.stallMs);
        this.stalled.add(release);
      });
      if (res.destroyed) return;
    }
    try {
      this.dispatch(req, res, url.pathname, query, route, watch);
    } catch (err) {
      if (err instanceof HttpStatusError) this.json(res, err.status.code, err.status);
      else if (err instanceof SelectorError) this.json(res, 400, statusObject(400, 'BadRequest', err.message));
      else if (err instanceof ExpiredError) this.json(res, 410, statusObject(410, 'Expired', err.message));
      else this.json(res, 500, statusObject(500, 'InternalError', String(err)));
    }
  }

  private json(res: ServerResponse, code: number, body: unknown): void {
    if (res.destroyed || res.headersSent) return;
    const text = JSON.stringify(body);
    res.writeHead(code, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) });
    res.end(text);
  }

  private route(pathname: string): Route | undefined {
    let rest: string;
    let group: string;
    if (pathname.startsWith(CORE_PREFIX)) {
      rest = pathname.slice(CORE_PREFIX.length);
      group = '';
    } else {
      const m = /^\/apis\/([^/]+)\/v1\/(.*)$/.exec(pathname);
      if (!m) return undefined;
      group = m[1]!;
      rest = m[2]!;
    }
    const parts = rest.split('/').filter((p) => p !== '');
    // The deprecated /watch/ path prefix that old clients still use.
    const watchPath = parts[0] === 'watch';
    if (watchPath) parts.shift();
    const find = (name: string | undefined): Resource | undefined =>
      RESOURCES.find((r) => r.name === name && r.group === group);
    if (parts[0] === 'namespaces' && parts.length >= 3) {
      const resource = find(parts[2]);
      if (!resource?.namespaced || parts.length > 4) return undefined;
      return { resource, namespace: parts[1]!, name: parts[3], watchPath };
    }
    const resource = find(parts[0]);
    if (!resource || parts.length > 2) return undefined;
    if (parts.length === 2 && resource.namespaced) return undefined;
    return { resource, name: parts[1], watchPath };
  }

  private dispatch(
    req: IncomingMessage,
    res: ServerResponse,
    pathname: string,
    query: Record<string, string>,
    route: Route | undefined,
    watch: boolean,
  ): void {
    const readOnly = req.method === 'GET' || req.method === 'HEAD';
    const discovery = this.discovery(pathname);
    if (discovery !== undefined || route) {
      if (!readOnly) {
        throw new HttpStatusError(405, 'the server does not allow this method on the requested resource', 'MethodNotAllowed');
      }
    }
    if (discovery !== undefined) {
      if (typeof discovery === 'string') {
        res.writeHead(200, { 'Content-Type': 'text/plain; charset=utf-8' });
        res.end(discovery);
      } else {
        this.json(res, 200, discovery);
      }
      return;
    }
    if (!route) throw new HttpStatusError(404, 'the server could not find the requested resource', 'NotFound', {});
    const { resource, namespace, name } = route;
    if (name !== undefined && !watch) {
      const obj = this.store.get(resource.name, namespace ?? '', name);
      if (!obj) {
        throw new HttpStatusError(404, `${resource.name}${resource.group ? `.${resource.group}` : ''} "${name}" not found`, 'NotFound', {
          name,
          ...(resource.group ? { group: resource.group } : {}),
          kind: resource.name,
        });
      }
      this.json(res, 200, wantsTable(req.headers.accept) ? toTable(resource, [obj], { resourceVersion: obj.metadata.resourceVersion }, query.includeObject) : obj);
      return;
    }
    const label = parseLabelSelector(query.labelSelector);
    let field = parseFieldSelector(query.fieldSelector, resource);
    if (name !== undefined) {
      // A watch on one object, as kubectl sends for `get <kind> <name> --watch` on old paths.
      const byField = field;
      field = (o) => o.metadata.name === name && byField(o);
    }
    const matches: Matcher = (o) => label(o) && field(o);
    if (watch) this.watch(req, res, resource, namespace, matches, query);
    else this.list(req, res, resource, namespace, matches, query);
  }

  private discovery(pathname: string): object | string | undefined {
    const path = pathname.replace(/\/+$/, '') || '/';
    if (path === '/api') return apiVersions(`127.0.0.1:${this.port}`);
    if (path === '/api/v1') return apiResourceList('');
    if (path === '/apis') return apiGroupList();
    if (path === '/version') return SERVER_VERSION;
    if (path === '/healthz' || path === '/readyz' || path === '/livez') return 'ok';
    let m = /^\/apis\/([^/]+)$/.exec(path);
    if (m) return apiGroup(m[1]!);
    m = /^\/apis\/([^/]+)\/v1$/.exec(path);
    if (m) return apiResourceList(m[1]!);
    return undefined;
  }

  /**
   * The list semantics of the API reference's resourceVersion table:
   * unset → most recent; "0" → any (served whole, no paging, like the watch cache);
   * X with limit or match=Exact → exactly X (410 once compacted); X otherwise → not older than X;
   * a continue token → the token's RV, exactly.
   */
  private list(
    req: IncomingMessage,
    res: ServerResponse,
    resource: Resource,
    namespace: string | undefined,
    matches: Matcher,
    query: Record<string, string>,
  ): void {
    const rvText = query.resourceVersion ?? '';
    const match = query.resourceVersionMatch ?? '';
    const limit = query.limit ? Number(query.limit) : 0;
    if (!Number.isInteger(limit) || limit < 0) throw new HttpStatusError(400, `limit: Invalid value: "${query.limit}"`);
    if (match && match !== 'Exact' && match !== 'NotOlderThan') {
      throw new HttpStatusError(400, `resourceVersionMatch: Unsupported value: "${match}": supported values: "Exact", "NotOlderThan"`);
    }
    if (match && rvText === '') throw new HttpStatusError(400, 'resourceVersionMatch is forbidden unless resourceVersion is provided');
    if (match === 'Exact' && rvText === '0') throw new HttpStatusError(400, 'resourceVersionMatch "exact" is forbidden for resourceVersion "0"');

    let atRv: number | undefined;
    let after = '';
    let paging = limit > 0;
    if (query.continue) {
      if (rvText !== '' && rvText !== '0') throw new HttpStatusError(400, 'specifying resource version is not allowed when using continue');
      if (match) throw new HttpStatusError(400, 'resourceVersionMatch is forbidden when continue is provided');
      const token = decodeContinue(query.continue);
      if (token.rv < this.store.oldestRv) {
        throw new HttpStatusError(410, 'The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter, or use the continue token in this response to retrieve the remainder of the results. Continuing with the provided token results in an inconsistent list - objects that were created, modified, or deleted between the time the first chunk was returned and now may show up in the list.', 'Expired');
      }
      atRv = token.rv;
      after = token.after;
    } else if (rvText === '0') {
      paging = false;
    } else if (rvText !== '') {
      const rv = parseRv(rvText);
      if (rv > this.store.currentRv) {
        throw new HttpStatusError(504, `Too large resource version: ${rv}, current: ${this.store.currentRv}`, 'Timeout', {
          causes: [{ reason: 'ResourceVersionTooLarge', message: 'Too large resource version' }],
          retryAfterSeconds: 1,
        });
      }
      const exact = match === 'Exact' || (match === '' && limit > 0);
      if (exact) atRv = rv;
    }

    const rv = atRv ?? this.store.currentRv;
    let items: KubeObject[];
    try {
      items = this.store.snapshot(resource, atRv);
    } catch (err) {
      if (err instanceof ExpiredError) {
        throw new HttpStatusError(410, `The resourceVersion for the provided list is too old.`, 'Expired');
      }
      throw err;
    }
    items = items.filter((o) => (namespace === undefined || o.metadata.namespace === namespace) && matches(o));
    if (after) items = items.filter((o) => keyOf(o) > after);
    const metadata: Record<string, unknown> = { resourceVersion: String(rv) };
    if (paging && items.length > limit) {
      const remaining = items.length - limit;
      items = items.slice(0, limit);
      metadata.continue = encodeContinue({ rv, after: keyOf(items[items.length - 1]!) });
      metadata.remainingItemCount = remaining;
    }
    if (wantsTable(req.headers.accept)) {
      this.json(res, 200, toTable(resource, items, metadata, query.includeObject));
      return;
    }
    this.json(res, 200, { kind: resource.listKind, apiVersion: resource.group ? `${resource.group}/v1` : 'v1', metadata, items: items.map(asListItem) });
  }

  private watch(
    req: IncomingMessage,
    res: ServerResponse,
    resource: Resource,
    namespace: string | undefined,
    matches: Matcher,
    query: Record<string, string>,
  ): void {
    const rvText = query.resourceVersion ?? '';
    const match = query.resourceVersionMatch ?? '';
    const sendInitialEvents = query.sendInitialEvents;
    const bookmarks = isTrue(query.allowWatchBookmarks);
    if (sendInitialEvents !== undefined) {
      if (match !== 'NotOlderThan') {
        throw new HttpStatusError(400, 'sendInitialEvents: Forbidden: sendInitialEvents is forbidden for watch unless resourceVersionMatch is set to NotOlderThan');
      }
      if (isTrue(sendInitialEvents) && !bookmarks) {
        throw new HttpStatusError(400, 'allowWatchBookmarks: Forbidden: allowWatchBookmarks must be set to true when sendInitialEvents is specified');
      }
    } else if (match) {
      throw new HttpStatusError(400, 'resourceVersionMatch: Forbidden: resourceVersionMatch is forbidden for watch unless sendInitialEvents is provided');
    }
    let fromRv: number | undefined = rvText === '' || rvText === '0' ? undefined : parseRv(rvText);
    if (isTrue(sendInitialEvents)) fromRv = undefined;
    else if (sendInitialEvents !== undefined && fromRv === undefined) fromRv = this.store.currentRv;
    const timeout = query.timeoutSeconds ? Number(query.timeoutSeconds) : undefined;
    if (timeout !== undefined && !(timeout >= 0)) throw new HttpStatusError(400, `timeoutSeconds: Invalid value: "${query.timeoutSeconds}"`);
    const stream: WatchStream = new WatchStream(
      this.store,
      res,
      {
        resource,
        namespace,
        matches,
        fromRv,
        sendInitialEvents: isTrue(sendInitialEvents),
        bookmarks,
        bookmarkIntervalMs: this.bookmarkIntervalMs,
        timeoutMs: timeout === undefined ? undefined : timeout * 1000,
        // kubectl's default output watches for one-row Tables.
        encode: wantsTable(req.headers.accept) ? (o) => toTable(resource, [o], { resourceVersion: o.metadata.resourceVersion }, query.includeObject) : undefined,
      },
      () => this.watches.delete(stream),
    );
    this.watches.add(stream);
    stream.start();
  }
}
