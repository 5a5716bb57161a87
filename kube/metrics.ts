import type { Counter, Histogram, Meter } from '@opentelemetry/api';

/** Request verbs as the local volume provisioner's `apiserver_requests_*{method}` label them. */
export type KubeMethod = 'LIST' | 'WATCH' | 'GET';

/** Why a watch was started again (`nodemeter_kube_watch_restarts_total{reason}`). */
export type RestartReason = 'timeout' | 'closed' | 'error' | 'gone' | 'idle';

/** The cache's own instruments; created once per cache on the agent's self-telemetry meter. */
export class KubeMetrics {
  readonly requests: Counter;
  readonly failed: Counter;
  readonly duration: Histogram;
  readonly restarts: Counter;
  readonly meter: Meter;

  constructor(meter: Meter) {
    this.meter = meter;
    this.requests = meter.createCounter('nodemeter_kube_apiserver_requests_total', {
      description: 'Requests the Kubernetes cache made to the API server, by method (LIST, WATCH, GET).',
    });
    this.failed = meter.createCounter('nodemeter_kube_apiserver_requests_failed_total', {
      description: 'Requests to the API server that failed (connection error, timeout or HTTP status >= 400), by method.',
    });
    this.duration = meter.createHistogram('nodemeter_kube_apiserver_request_duration_seconds', {
      description: 'API server request duration by method: the whole response for LIST/GET, until the response headers for WATCH.',
      unit: 's',
      advice: { explicitBucketBoundaries: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60] },
    });
    this.restarts = meter.createCounter('nodemeter_kube_watch_restarts_total', {
      description: 'Watches started again, by kind and reason (timeout, closed, error, gone = 410 relist, idle = no data).',
    });
  }

  request(method: KubeMethod, seconds: number, failed: boolean): void {
    this.requests.add(1, { method });
    if (failed) this.failed.add(1, { method });
    this.duration.record(seconds, { method });
  }

  restart(kind: string, reason: RestartReason): void {
    this.restarts.add(1, { kind, reason });
  }
}
