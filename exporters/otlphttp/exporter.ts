import { setTimeout as sleep } from 'node:timers/promises';
import { ExportResultCode, type ExportResult } from '@opentelemetry/core';
import { AggregationTemporalityPreference, OTLPMetricExporter as JsonMetricExporter } from '@opentelemetry/exporter-metrics-otlp-http';
import { OTLPMetricExporter as ProtobufMetricExporter } from '@opentelemetry/exporter-metrics-otlp-proto';
import { resourceFromAttributes, type Resource } from '@opentelemetry/resources';
import type { PushMetricExporter, ResourceMetrics } from '@opentelemetry/sdk-metrics';
import type { ComponentSettings, Exporter, PipelineSource } from '../../pipeline/component.ts';
import { collectContext, withDeadline } from '../../pipeline/deadline.ts';
import { ChangeLogger } from '../../pipeline/error-log.ts';
import { PipelineFanIn } from '../../pipeline/fan-in.ts';
import { PushReader } from '../pushgateway/exporter.ts';
import { countPoints, PushTelemetry, type PushOutcome } from '../push-telemetry.ts';
import type { OtlpHttpExporterConfig } from './config.ts';

/** The shortest wait before the next round, so a failing collection cannot spin. */
const MIN_ATTEMPT_MS = 100;

/** What one export round did, for tests and one-shot callers. */
export interface ExportRoundResult {
  readonly outcome: PushOutcome;
  readonly points: number;
  /** The HTTP status of a refused export, when the SDK reported one. */
  readonly status?: number;
  readonly error?: Error;
}

/** The status the SDK's OTLPExporterError carries as `code`, if any. */
function statusOf(error: Error | undefined): number | undefined {
  const code = (error as { code?: unknown } | undefined)?.code;
  return typeof code === 'number' ? code : undefined;
}

/**
 * Exports every pipeline that names this exporter to an OTLP/HTTP receiver on an interval.
 *
 * Its own loop rather than a PeriodicExportingMetricReader: the SDK reader's timer starts a new
 * export every interval whether or not the last one finished (its timeout only stops waiting),
 * so a slow receiver makes exports overlap. Here one round runs at a time: collect (bounded by
 * `timeout`), hand the batch to the SDK's `OTLPMetricExporter`, wait for its answer, then wait
 * for the next interval. The SDK exporter retries 429, 502, 503 and 504 answers and network
 * errors (refused, reset, timed out…) up to 5 times with backoff from 1 s (×1.5, ±20 % jitter,
 * at most 5 s, or the answer's Retry-After) while `timeout` lasts; other answers are not retried.
 */
export class OtlpHttpExporter implements Exporter {
  readonly reader: PushReader;
  readonly #fanIn = new PipelineFanIn();
  readonly #settings: ComponentSettings;
  readonly #config: OtlpHttpExporterConfig;
  readonly #telemetry: PushTelemetry;
  readonly #collectLog: ChangeLogger;
  /** Attributes every export's resource gets (the agent's, when the reader is not registered). */
  readonly #baseResource: Resource;
  readonly #clusterResource: Resource;
  readonly #stop = new AbortController();
  #otlp: PushMetricExporter | undefined;
  #loop: Promise<void> | undefined;
  #started = false;
  #shutdown = false;
  #lastFailure = '';
  #waiters: Array<(result: ExportRoundResult) => void> = [];
  lastResult: ExportRoundResult | undefined;

  constructor(settings: ComponentSettings, config: OtlpHttpExporterConfig) {
    this.#settings = settings;
    this.#config = config;
    this.#telemetry = new PushTelemetry(settings.id);
    this.#collectLog = new ChangeLogger(settings.logger);
    this.reader = new PushReader({ metricProducers: [this.#fanIn] });
    this.#baseResource = resourceFromAttributes({
      'service.name': 'nodemeter',
      'service.version': settings.agent.version,
      'service.instance.id': settings.agent.nodeName,
      'k8s.node.name': settings.agent.nodeName,
    });
    this.#clusterResource = resourceFromAttributes(config.cluster_name === '' ? {} : { 'k8s.cluster.name': config.cluster_name });
  }

  attach(source: PipelineSource): void {
    this.#fanIn.attach(source);
  }

  start(): Promise<void> {
    if (this.#shutdown) return Promise.reject(new Error(`exporter ${this.#settings.id} was shut down; create a new one`));
    if (this.#started) return Promise.resolve();
    this.#started = true;
    this.#telemetry.start(this.#settings.meter);
    if (this.#config.endpoint === '') {
      this.#settings.logger.error('no endpoint configured: nothing will be exported');
      return Promise.resolve();
    }
    const options = {
      url: this.#config.endpoint,
      // A copy: the SDK may add its own (User-Agent) to the object it is given.
      headers: { ...this.#config.headers },
      compression: this.#config.compression,
      timeoutMillis: this.#config.timeout,
      temporalityPreference: AggregationTemporalityPreference.CUMULATIVE,
      // One export at a time: more sockets would only sit idle.
      httpAgentOptions: { keepAlive: true, maxSockets: 1 },
    } as ConstructorParameters<typeof JsonMetricExporter>[0];
    this.#otlp = this.#config.protocol === 'http/protobuf' ? new ProtobufMetricExporter(options) : new JsonMetricExporter(options);
    this.#loop = this.#run();
    return Promise.resolve();
  }

  async shutdown(): Promise<void> {
    if (this.#shutdown) return;
    this.#shutdown = true;
    this.#stop.abort();
    await this.#loop;
    // Waits for an export still in flight (at most `timeout`), then closes the sockets.
    await this.#otlp?.shutdown().catch(() => undefined);
    this.#telemetry.shutdown();
    await this.reader.shutdown().catch(() => undefined);
    for (const waiter of this.#waiters.splice(0)) waiter(this.lastResult ?? { outcome: 'failed', points: 0, error: new Error('shut down') });
  }

  /** Resolves with the result of the next export round to end. */
  nextExport(): Promise<ExportRoundResult> {
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  async #run(): Promise<void> {
    const signal = this.#stop.signal;
    while (!signal.aborted) {
      const began = Date.now();
      const result = await this.#round();
      if (result !== undefined) {
        this.lastResult = result;
        for (const waiter of this.#waiters.splice(0)) waiter(result);
      }
      const wait = Math.max(MIN_ATTEMPT_MS, began + this.#config.interval - Date.now());
      await sleep(wait, undefined, { signal, ref: false }).catch(() => undefined);
    }
  }

  /** One collection and its export; undefined when stopped during the collection. */
  async #round(): Promise<ExportRoundResult | undefined> {
    const signal = this.#stop.signal;
    const collectMs = this.#config.timeout;
    let batch: ResourceMetrics;
    try {
      const ctx = collectContext(collectMs, {}, signal);
      const work = this.#fanIn.withContext(ctx, () => (this.reader.bound ? this.reader.collect({ timeoutMillis: collectMs }) : this.#fanIn.collect({ timeoutMillis: collectMs })));
      const { resourceMetrics, errors } = await withDeadline(work, ctx.deadline, 'collection for the OTLP export');
      this.#collectLog.report(errors, 'collection');
      batch = { resource: this.#baseResource.merge(resourceMetrics.resource).merge(this.#clusterResource), scopeMetrics: resourceMetrics.scopeMetrics };
    } catch (err) {
      if (signal.aborted) return undefined;
      return this.#finish({ outcome: 'failed', points: 0, error: err instanceof Error ? err : new Error(String(err)) });
    }
    const points = countPoints(batch);
    const otlp = this.#otlp;
    if (otlp === undefined) return undefined;
    const result = await new Promise<ExportResult>((resolve) => otlp.export(batch, resolve));
    if (result.code === ExportResultCode.SUCCESS) return this.#finish({ outcome: 'success', points });
    const error = result.error ?? new Error('export failed');
    const status = statusOf(error);
    // A status the SDK does not retry (4xx other than 429) is the receiver refusing the data.
    const outcome: PushOutcome = status !== undefined && status >= 400 && status < 500 && status !== 429 ? 'rejected' : 'failed';
    return this.#finish({ outcome, points, error, ...(status === undefined ? {} : { status }) });
  }

  /** Counts and logs a round; a failure is logged when it differs from the last one, and recovery. */
  #finish(result: ExportRoundResult): ExportRoundResult {
    this.#telemetry.record(result.outcome, result.points);
    const logger = this.#settings.logger;
    // The endpoint cannot hold credentials (config refuses them); headers are never logged.
    const url = this.#config.endpoint;
    if (result.outcome === 'success') {
      if (this.#lastFailure !== '') logger.info({ url }, 'OTLP exports succeed again');
      this.#lastFailure = '';
      return result;
    }
    const message = result.error?.message ?? 'unknown error';
    const fields = { url, outcome: result.outcome, status: result.status, points: result.points, error: message };
    if (message === this.#lastFailure) logger.debug(fields, 'OTLP export failed again');
    else if (result.outcome === 'rejected') logger.error(fields, 'the OTLP receiver rejected the export');
    else logger.warn(fields, 'OTLP export failed');
    this.#lastFailure = message;
    return result;
  }
}
