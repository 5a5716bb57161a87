import type { Resource } from '@opentelemetry/resources';
import type { CollectionResult, MetricCollectOptions, MetricData, MetricProducer, ResourceMetrics, ScopeMetrics } from '@opentelemetry/sdk-metrics';
import type { Logger } from 'pino';
import type { CollectContext, PipelineSource, Processor } from './component.ts';
import { collectContext, withDeadline } from './deadline.ts';
import { DeadlineError, errorMessage, NodemeterError } from './errors.ts';
import type { ReceiverHandle } from './receiver-handle.ts';
import type { PipelineTelemetry } from './self-telemetry.ts';

export interface PipelineOptions {
  readonly id: string;
  readonly receivers: readonly ReceiverHandle[];
  readonly processors: ReadonlyArray<{ id: string; processor: Processor }>;
  readonly resource: Resource;
  readonly telemetry: PipelineTelemetry;
  readonly logger: Logger;
}

/**
 * One `service.pipelines` entry: an SDK MetricProducer that asks every receiver for its
 * latest batch in parallel (each under the request's deadline), runs the processors in
 * order and returns the batch with every error met on the way. It never throws.
 */
export class Pipeline implements MetricProducer, PipelineSource {
  readonly id: string;
  readonly #options: PipelineOptions;

  constructor(options: PipelineOptions) {
    this.id = options.id;
    this.#options = options;
  }

  get receiverIds(): string[] {
    return this.#options.receivers.map((r) => r.id);
  }

  selectorValues(key: string): readonly string[] | undefined {
    let values: Set<string> | undefined;
    for (const handle of this.#options.receivers) {
      const own = handle.receiver.selectorValues?.(key);
      if (own === undefined) continue;
      values ??= new Set();
      for (const v of own) values.add(v);
    }
    return values === undefined ? undefined : [...values].sort();
  }

  /** SDK entry point: a reader's collect without request context. */
  collect(options?: MetricCollectOptions): Promise<CollectionResult>;
  collect(ctx: CollectContext): Promise<CollectionResult>;
  async collect(arg?: MetricCollectOptions | CollectContext): Promise<CollectionResult> {
    const ctx = arg !== undefined && 'deadline' in arg ? arg : collectContext(arg?.timeoutMillis);
    const started = performance.now();
    const errors: unknown[] = [];
    const results = await Promise.all(
      this.#options.receivers.map(async (handle) => {
        try {
          const result = await withDeadline(handle.collect(ctx), ctx.deadline, `receiver ${handle.id}`);
          for (const err of result.errors ?? []) errors.push(tagError(err, handle.id));
          return result.scopeMetrics;
        } catch (err) {
          // The handle counts failures the receiver raised; a deadline is met here, so count it here.
          if (err instanceof DeadlineError) this.#options.telemetry.collectFailures.add(1, { receiver: handle.id, reason: 'deadline' });
          errors.push(tagError(err, handle.id));
          return undefined;
        }
      }),
    );
    const scopeMetrics = results.filter((s): s is ScopeMetrics => s !== undefined && s.metrics.length > 0);
    let batch: ResourceMetrics = {
      resource: this.#options.resource,
      // Receivers' results may be cached or shared with other pipelines: processors get their own copy.
      scopeMetrics: this.#options.processors.length > 0 ? scopeMetrics.map(copyScope) : scopeMetrics,
    };
    for (const { id, processor } of this.#options.processors) {
      try {
        batch = await processor.process(batch, ctx);
      } catch (err) {
        // A failing processor passes the batch through untouched rather than losing it.
        errors.push(tagError(err, id));
        this.#options.logger.warn({ err, processor: id, pipeline: this.id }, 'processor failed; batch passed on unprocessed');
      }
    }
    this.#options.telemetry.pipelineDuration.record((performance.now() - started) / 1000, { pipeline: this.id });
    return { resourceMetrics: batch, errors };
  }
}

function copyScope(scope: ScopeMetrics): ScopeMetrics {
  return {
    scope: scope.scope,
    metrics: scope.metrics.map(
      (metric) =>
        ({
          ...metric,
          // Points are copied, attribute objects are not: processors replace a point's attributes,
          // never mutate them (receivers share one attributes object across families and collects).
          dataPoints: metric.dataPoints.map((point) => ({ ...point })),
        }) as MetricData,
    ),
  };
}

function tagError(err: unknown, componentId: string): Error {
  if (err instanceof NodemeterError) return new NodemeterError(err.code, `${componentId}: ${err.message}`, { retryable: err.retryable, cause: err });
  return new NodemeterError('NM_COLLECT_FAILED', `${componentId}: ${errorMessage(err)}`, { retryable: true, cause: err });
}
