import type { Meter } from '@opentelemetry/api';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { MetricReader, ResourceMetrics, ScopeMetrics } from '@opentelemetry/sdk-metrics';
import type { Logger } from 'pino';
import type { KubeProvider } from '../kube/lookup.ts';

export type ComponentKind = 'receiver' | 'processor' | 'exporter';

/** Facts about the agent that every component may read. */
export interface AgentInfo {
  /** Kubernetes node this agent is responsible for (`NODE_NAME`), or the host name. */
  readonly nodeName: string;
  readonly version: string;
}

/** What a factory hands every component it creates. */
export interface ComponentSettings {
  /** Component ID as written in the config: `type` or `type/name`. */
  readonly id: string;
  readonly kind: ComponentKind;
  /** Child logger tagged with the component ID. */
  readonly logger: Logger;
  /**
   * Self-telemetry meter. Exporters must not touch it before `start()`: the
   * MeterProvider is built from the exporters' readers, so it exists only after them.
   */
  readonly meter: Meter;
  readonly agent: AgentInfo;
  /** The agent's one HTTP server, for components that serve endpoints. */
  readonly http: HttpRouter;
  /** The shared Kubernetes cache; absent when the agent has no API server to talk to. */
  readonly kube?: KubeProvider;
}

export type HttpHandler = (req: IncomingMessage, res: ServerResponse, url: URL) => void | Promise<void>;

/** Routes on the agent's HTTP server (exact path match, any method the handler accepts). */
export interface HttpRouter {
  /** Registers a handler; returns a function that removes it. A path can have one handler. */
  route(path: string, description: string, handler: HttpHandler): () => void;
}

/**
 * Lifecycle every component implements. `start()` returns quickly (long work goes to
 * background loops); `shutdown()` is idempotent and safe without a prior `start()`.
 */
export interface Component {
  start(): Promise<void>;
  shutdown(): Promise<void>;
}

/** One collection request as it travels down a pipeline. */
export interface CollectContext {
  /** Aborted when the deadline passes or the request goes away. */
  readonly signal: AbortSignal;
  /** Absolute deadline, epoch milliseconds. */
  readonly deadline: number;
  /** Selectors from the request (e.g. `?job=memcached`), for receivers that honour them. */
  readonly selectors: Readonly<Record<string, string>>;
}

/** What a receiver returns from one collection. */
export interface ReceiverResult {
  readonly scopeMetrics: ScopeMetrics;
  /** Age of the data in milliseconds when served from a background cache. */
  readonly ageMs?: number;
  /** Partial failures: the data above is still good. */
  readonly errors?: readonly Error[];
}

export interface Receiver extends Component {
  collect(ctx: CollectContext): Promise<ReceiverResult>;
  /**
   * Receivers that work in the background: resolves once their first round of work is done
   * (every volume walked once, say), so a one-shot collection reports complete data. Bounded by
   * the receiver's own budgets; never rejects.
   */
  settled?(): Promise<void>;
  /**
   * Receivers that answer pulls narrowed by a selector (`?job=<name>`): the values they know for
   * `key` now, or undefined when they do not filter by it. A pull that carries a selector skips
   * the receivers without it, and one for a value no receiver knows is refused.
   */
  selectorValues?(key: string): readonly string[] | undefined;
}

/**
 * Processors get their own copy of the batch's metric and point objects; attribute objects
 * are shared and must be replaced, never mutated.
 */
export interface Processor extends Component {
  process(batch: ResourceMetrics, ctx: CollectContext): ResourceMetrics | Promise<ResourceMetrics>;
}

/** A source an exporter pulls from: each pipeline that names the exporter. */
export interface PipelineSource {
  readonly id: string;
  collect(ctx: CollectContext): Promise<{ resourceMetrics: ResourceMetrics; errors: unknown[] }>;
  /** The union of its receivers' values for a selector key; undefined when none filters by it. */
  selectorValues(key: string): readonly string[] | undefined;
}

export interface Exporter extends Component {
  /** The SDK reader registered on the self-telemetry MeterProvider. */
  readonly reader: MetricReader;
  /** Called by the graph builder, before start, once per pipeline that names this exporter. */
  attach(source: PipelineSource): void;
}

export interface ComponentByKind {
  receiver: Receiver;
  processor: Processor;
  exporter: Exporter;
}

/**
 * A component type. `schema` is a convict schema: every key documented and defaulted;
 * keys it does not list are configuration errors.
 */
export interface Factory<K extends ComponentKind = ComponentKind, C extends object = object> {
  readonly type: string;
  readonly kind: K;
  readonly schema: Record<string, unknown>;
  /** A fresh default configuration (the schema's defaults). */
  createDefaultConfig(): C;
  /** Checks that need more than the schema (cross-field rules). Returns messages keyed by config path. */
  validate?(config: Readonly<C>): Array<{ path: string; message: string }>;
  create(settings: ComponentSettings, config: Readonly<C>): ComponentByKind[K];
}
