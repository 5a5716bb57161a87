import type { HttpHandler, HttpRouter } from './component.ts';

/** The kubelet's probes: liveness and readiness. */
export const PROBE_PATHS: readonly string[] = ['/healthz', '/readyz'];

/** Paths the agent's HTTP server answers itself: health, readiness, the index page. */
export const AGENT_PATHS: readonly string[] = ['/', ...PROBE_PATHS];

export interface Route {
  readonly description: string;
  readonly handler: HttpHandler;
}

/**
 * The paths components have registered, one handler per path. The agent's HTTP server
 * dispatches through one; `validate` and `collect --once`, which serve nothing, give
 * components one that is never listened on.
 */
export class RouteTable implements HttpRouter {
  readonly routes = new Map<string, Route>();
  readonly #reserved: ReadonlySet<string>;

  /** `reserved`: paths the owner answers itself, never handed to a component. */
  constructor(reserved: Iterable<string> = []) {
    this.#reserved = new Set(reserved);
  }

  route(path: string, description: string, handler: HttpHandler): () => void {
    if (this.routes.has(path) || this.#reserved.has(path)) throw new Error(`HTTP path ${path} is already served`);
    this.routes.set(path, { description, handler });
    return () => {
      if (this.routes.get(path)?.handler === handler) this.routes.delete(path);
    };
  }
}
