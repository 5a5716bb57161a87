import type { CollectContext, Factory, Processor, Receiver, ReceiverResult } from './component.ts';
import { gauge } from './datapoints.ts';
import type { ResourceMetrics } from '@opentelemetry/sdk-metrics';

/** A receiver for tests: answers after `delayMs` with one gauge, or throws `failWith`. */
export class FakeReceiver implements Receiver {
  starts = 0;
  shutdowns = 0;
  collects = 0;
  readonly id: string;
  delayMs: number;
  failWith: Error | undefined;
  value: number;
  /** Jobs it answers `?job=` pulls for; undefined: it does not filter by job. */
  jobs: string[] | undefined;

  constructor(id: string, options: { delayMs?: number; value?: number; failWith?: Error; jobs?: string[] } = {}) {
    this.id = id;
    this.delayMs = options.delayMs ?? 0;
    this.value = options.value ?? 1;
    this.failWith = options.failWith;
    this.jobs = options.jobs;
  }

  selectorValues(key: string): readonly string[] | undefined {
    return key === 'job' ? this.jobs : undefined;
  }

  start(): Promise<void> {
    this.starts++;
    return Promise.resolve();
  }

  shutdown(): Promise<void> {
    this.shutdowns++;
    return Promise.resolve();
  }

  async collect(ctx: CollectContext): Promise<ReceiverResult> {
    this.collects++;
    if (this.delayMs > 0) await new Promise((resolve) => setTimeout(resolve, this.delayMs).unref());
    if (this.failWith) throw this.failWith;
    return {
      scopeMetrics: {
        scope: { name: `test/${this.id}` },
        metrics: [gauge({ name: 'fake_value', description: 'A test value.' }, [{ attributes: { receiver: this.id, ...ctx.selectors }, value: this.value }])],
      },
    };
  }
}

/** A processor for tests: appends its id to the `trail` attribute of every point. */
export class TrailProcessor implements Processor {
  readonly id: string;
  constructor(id: string) {
    this.id = id;
  }
  start(): Promise<void> {
    return Promise.resolve();
  }
  shutdown(): Promise<void> {
    return Promise.resolve();
  }
  process(batch: ResourceMetrics): ResourceMetrics {
    for (const scope of batch.scopeMetrics) {
      for (const metric of scope.metrics) {
        for (const point of metric.dataPoints) {
          const trail = point.attributes['trail'];
          (point as { attributes: Record<string, unknown> }).attributes = { ...point.attributes, trail: `${typeof trail === 'string' ? trail : ''}${this.id};` };
        }
      }
    }
    return batch;
  }
}

/** Factories over the fakes, sharing instances through `instances` so tests can inspect them. */
export function fakeFactories(instances: Map<string, FakeReceiver>): Factory[] {
  const receiver: Factory<'receiver', { delay_ms: number; value: number; jobs: string[] | null }> = {
    type: 'fake',
    kind: 'receiver',
    schema: {
      delay_ms: { doc: 'delay', format: 'nat', default: 0 },
      value: { doc: 'value', format: Number, default: 1 },
      jobs: { doc: 'jobs answered on ?job= pulls', format: '*', default: null },
    },
    createDefaultConfig: () => ({ delay_ms: 0, value: 1, jobs: null }),
    create: (settings, config) => {
      const r = new FakeReceiver(settings.id, { delayMs: config.delay_ms, value: config.value, ...(config.jobs ? { jobs: config.jobs } : {}) });
      instances.set(settings.id, r);
      return r;
    },
  };
  const processor: Factory<'processor', object> = {
    type: 'trail',
    kind: 'processor',
    schema: {},
    createDefaultConfig: () => ({}),
    create: (settings) => new TrailProcessor(settings.id),
  };
  return [receiver, processor];
}
