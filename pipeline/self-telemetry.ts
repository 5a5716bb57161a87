import type { Counter, Histogram, Meter } from '@opentelemetry/api';

/** Bucket bounds in seconds: collections run from sub-millisecond statfs to multi-second walks. */
export const DURATION_BUCKETS_SECONDS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

/**
 * The agent's own instruments for pipelines and receivers. Names are Prometheus-style
 * (unit and `_total` suffixes) because the Prometheus serializer keeps OTel names as they are.
 */
export class PipelineTelemetry {
  readonly collectDuration: Histogram;
  readonly collectFailures: Counter;
  readonly pipelineDuration: Histogram;

  constructor(meter: Meter) {
    this.collectDuration = meter.createHistogram('nodemeter_receiver_collect_duration_seconds', {
      description: 'Time one receiver took to answer a collection, by receiver and outcome.',
      unit: 's',
      advice: { explicitBucketBoundaries: DURATION_BUCKETS_SECONDS },
    });
    this.collectFailures = meter.createCounter('nodemeter_receiver_collect_failures_total', {
      description: 'Receiver collections that failed or returned partial errors, by receiver and reason.',
    });
    this.pipelineDuration = meter.createHistogram('nodemeter_pipeline_collect_duration_seconds', {
      description: 'Time one pipeline collection took end to end (receivers and processors).',
      unit: 's',
      advice: { explicitBucketBoundaries: DURATION_BUCKETS_SECONDS },
    });
  }
}
