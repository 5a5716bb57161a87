import type { Counter, Histogram, Meter } from '@opentelemetry/api';
import { sharedEventLoopDelayWindow, type EventLoopDelayWindow } from './event-loop-delay.ts';

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

  /** `eventLoop` defaults to the process's one window (sharedEventLoopDelayWindow); tests hand in their own. */
  constructor(meter: Meter, eventLoop: EventLoopDelayWindow = sharedEventLoopDelayWindow()) {
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
    // The window's maximum, not a histogram: one long stall is what holds pulls up, and a
    // trailing window shows it to every exporter whatever their intervals.
    meter
      .createObservableGauge('nodemeter_event_loop_delay_max_seconds', {
        description: 'Longest event-loop delay of the last 60 s (how late a 20 ms timer fired): how long timers and sockets waited.',
        unit: 's',
      })
      .addCallback((result) => result.observe(eventLoop.maxSeconds(Date.now())));
  }
}
