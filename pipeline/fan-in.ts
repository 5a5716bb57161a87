import { AsyncLocalStorage } from 'node:async_hooks';
import { emptyResource } from '@opentelemetry/resources';
import type { CollectionResult, MetricCollectOptions, MetricProducer, ScopeMetrics } from '@opentelemetry/sdk-metrics';
import type { CollectContext, PipelineSource } from './component.ts';
import { collectContext } from './deadline.ts';

/**
 * The one MetricProducer an exporter's reader is given: it asks every pipeline attached to
 * the exporter. The SDK's producer interface carries only a timeout, so the request's
 * context (deadline, abort signal, selectors) rides along in AsyncLocalStorage.
 */
export class PipelineFanIn implements MetricProducer {
  readonly #sources: PipelineSource[] = [];
  readonly #context = new AsyncLocalStorage<CollectContext>();

  attach(source: PipelineSource): void {
    if (!this.#sources.includes(source)) this.#sources.push(source);
  }

  get sources(): readonly PipelineSource[] {
    return this.#sources;
  }

  /** Runs `fn` (typically `reader.collect()`) with `ctx` visible to the pipelines. */
  withContext<T>(ctx: CollectContext, fn: () => Promise<T>): Promise<T> {
    return this.#context.run(ctx, fn);
  }

  async collect(options?: MetricCollectOptions): Promise<CollectionResult> {
    const ctx = this.#context.getStore() ?? collectContext(options?.timeoutMillis);
    const results = await Promise.all(this.#sources.map((source) => source.collect(ctx)));
    const scopeMetrics: ScopeMetrics[] = [];
    const errors: unknown[] = [];
    for (const result of results) {
      scopeMetrics.push(...result.resourceMetrics.scopeMetrics);
      errors.push(...result.errors);
    }
    // The SDK reader replaces the resource with the MeterProvider's own.
    const resource = results[0]?.resourceMetrics.resource ?? emptyResource();
    return { resourceMetrics: { resource, scopeMetrics }, errors };
  }
}
