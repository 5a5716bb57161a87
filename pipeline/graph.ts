import type { Meter } from '@opentelemetry/api';
import { resourceFromAttributes, type Resource } from '@opentelemetry/resources';
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import type { Logger } from 'pino';
import type { KubeService } from '../kube/lookup.ts';
import type { AgentInfo, ComponentKind, ComponentSettings, Exporter, HttpRouter, Processor, Receiver } from './component.ts';
import { NodemeterError } from './errors.ts';
import { Pipeline } from './pipeline.ts';
import { ReceiverHandle } from './receiver-handle.ts';
import type { FactoryRegistry } from './registry.ts';
import { PipelineTelemetry } from './self-telemetry.ts';

/** One configured component as the config loader hands it over. */
export interface ComponentEntry {
  readonly id: string;
  readonly type: string;
  readonly config: object;
}

export interface PipelineEntry {
  readonly id: string;
  readonly receivers: readonly string[];
  readonly processors: readonly string[];
  readonly exporters: readonly string[];
}

/** The validated config, as far as the graph builder needs it. */
export interface GraphConfig {
  readonly receivers: ReadonlyMap<string, ComponentEntry>;
  readonly processors: ReadonlyMap<string, ComponentEntry>;
  readonly exporters: ReadonlyMap<string, ComponentEntry>;
  readonly pipelines: ReadonlyMap<string, PipelineEntry>;
}

export interface GraphOptions {
  readonly config: GraphConfig;
  readonly registry: FactoryRegistry;
  readonly agent: AgentInfo;
  readonly logger: Logger;
  readonly http: HttpRouter;
  /**
   * Creates the shared Kubernetes cache, when the agent has an API server to watch. Called once
   * the self-telemetry meter exists and before any receiver or processor, which declare the
   * kinds they need as they are created.
   */
  readonly createKube?: (meter: Meter) => KubeService;
}

/** Everything `service.pipelines` describes, created but not started. */
export interface Graph {
  readonly receivers: ReadonlyMap<string, ReceiverHandle>;
  /** Processor instances: one per pipeline that lists the processor, as the Collector does. */
  readonly processors: ReadonlyArray<{ id: string; pipeline: string; processor: Processor }>;
  readonly exporters: ReadonlyMap<string, Exporter>;
  readonly pipelines: ReadonlyMap<string, Pipeline>;
  readonly meterProvider: MeterProvider;
  readonly resource: Resource;
  readonly kube: KubeService | undefined;
}

export function agentResource(agent: AgentInfo): Resource {
  return resourceFromAttributes({
    'service.name': 'nodemeter',
    'service.version': agent.version,
    'service.instance.id': agent.nodeName,
    'k8s.node.name': agent.nodeName,
  });
}

/**
 * Builds the component graph: exporters first (their SDK readers make up the self-telemetry
 * MeterProvider), then receivers and per-pipeline processors, then one Pipeline per entry,
 * attached to the exporters it names. Components used by several pipelines are created once.
 */
export function buildGraph(options: GraphOptions): Graph {
  const { config, registry, agent, logger, http } = options;
  const kubeRef: { current?: KubeService } = {};
  const resource = agentResource(agent);
  const providerRef: { current?: MeterProvider } = {};
  const meterFor = (id: string): Meter => {
    if (!providerRef.current) throw new NodemeterError('NM_TELEMETRY_NOT_READY', `component ${id} used its meter before the exporters were built`);
    return providerRef.current.getMeter(`nodemeter/${id}`, agent.version);
  };
  const settingsFor = (kind: ComponentKind, id: string): ComponentSettings => ({
    id,
    kind,
    logger: logger.child({ component: `${kind}/${id}` }),
    get meter() {
      return meterFor(id);
    },
    agent,
    http,
    ...(kubeRef.current ? { kube: kubeRef.current } : {}),
  });
  const factoryFor = <K extends ComponentKind>(kind: K, entry: ComponentEntry) => {
    const factory = registry.get(kind, entry.type);
    if (!factory) throw new NodemeterError('NM_UNKNOWN_COMPONENT', `${kind} type "${entry.type}" (used by ${entry.id}) is not built in`);
    return factory;
  };

  const used = usedComponents(config);
  const exporters = new Map<string, Exporter>();
  for (const id of used.exporters) {
    const entry = mustGet(config.exporters, id, 'exporter');
    exporters.set(id, factoryFor('exporter', entry).create(settingsFor('exporter', id), entry.config));
  }
  const meterProvider = new MeterProvider({ resource, readers: [...exporters.values()].map((e) => e.reader) });
  providerRef.current = meterProvider;
  const telemetry = new PipelineTelemetry(meterProvider.getMeter('nodemeter/pipeline', agent.version));
  const kube = options.createKube?.(meterProvider.getMeter('nodemeter/kube', agent.version));
  if (kube) kubeRef.current = kube;

  const receivers = new Map<string, ReceiverHandle>();
  for (const id of used.receivers) {
    const entry = mustGet(config.receivers, id, 'receiver');
    const receiver: Receiver = factoryFor('receiver', entry).create(settingsFor('receiver', id), entry.config);
    receivers.set(id, new ReceiverHandle(id, receiver, telemetry));
  }

  const processors: Array<{ id: string; pipeline: string; processor: Processor }> = [];
  const pipelines = new Map<string, Pipeline>();
  for (const [pipelineId, entry] of config.pipelines) {
    const own = entry.processors.map((id) => {
      const procEntry = mustGet(config.processors, id, 'processor');
      const processor = factoryFor('processor', procEntry).create(settingsFor('processor', id), procEntry.config);
      processors.push({ id, pipeline: pipelineId, processor });
      return { id, processor };
    });
    const pipeline = new Pipeline({
      id: pipelineId,
      receivers: entry.receivers.map((id) => mustGet(receivers, id, 'receiver')),
      processors: own,
      resource,
      telemetry,
      logger: logger.child({ pipeline: pipelineId }),
    });
    pipelines.set(pipelineId, pipeline);
    for (const exporterId of entry.exporters) mustGet(exporters, exporterId, 'exporter').attach(pipeline);
  }
  return { receivers, processors, exporters, pipelines, meterProvider, resource, kube };
}

function usedComponents(config: GraphConfig): { receivers: Set<string>; exporters: Set<string> } {
  const receivers = new Set<string>();
  const exporters = new Set<string>();
  for (const pipeline of config.pipelines.values()) {
    pipeline.receivers.forEach((id) => receivers.add(id));
    pipeline.exporters.forEach((id) => exporters.add(id));
  }
  return { receivers, exporters };
}

function mustGet<V>(map: ReadonlyMap<string, V>, id: string, kind: string): V {
  const value = map.get(id);
  // The config loader rejects dangling references; reaching this is a programming error.
  if (value === undefined) throw new NodemeterError('NM_DANGLING_REFERENCE', `${kind} "${id}" is referenced but not configured`);
  return value;
}
