import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { Agent as HttpAgent, type ClientRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import { ExportResultCode, type ExportResult } from '@opentelemetry/core';
import { AggregationTemporalityPreference, OTLPMetricExporter as JsonMetricExporter } from '@opentelemetry/exporter-metrics-otlp-http';
import { OTLPMetricExporter as ProtobufMetricExporter } from '@opentelemetry/exporter-metrics-otlp-proto';
import { resourceFromAttributes, type Resource } from '@opentelemetry/resources';
import type { PushMetricExporter, ResourceMetrics } from '@opentelemetry/sdk-metrics';
import type { ComponentSettings, Exporter, PipelineSource } from '../../pipeline/component.ts';
import { ChangeLogger } from '../../pipeline/error-log.ts';
import { PipelineFanIn } from '../../pipeline/fan-in.ts';
import { collectForPush, PushLoop, PushReader } from '../push-loop.ts';
import { countPoints, ExporterTelemetry, exporterTemporality, type PushOutcome } from '../exporter-telemetry.ts';
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
  /** Why it was not a success: `collection`, `http_<status>`, `timeout` or `network`. */
  readonly reason?: string;
}

/**
 * Runs `build` (the SDK exporter's construction) with every `OTEL_EXPORTER_OTLP_*` variable
 * hidden, so the config alone decides where and how exports go.
 *
 * The 0.301.0 SDK reads those variables once, in its constructor, as fallbacks for the options
 * it is not given (otlp-exporter-base's `convertLegacyHttpOptions` →
 * `getNodeHttpConfigurationFromEnvironment`; `OTLPMetricExporterBase` for the temporality
 * preference). Every option is given below, so the endpoint, timeout, compression, agent and
 * temporality variables lose anyway; but headers are merged, not replaced: those of
 * `OTEL_EXPORTER_OTLP_HEADERS` and `OTEL_EXPORTER_OTLP_METRICS_HEADERS` would be sent along
 * with the configured ones. Hiding the variables for the (synchronous) construction closes that,
 * and whatever a later SDK might read there. Users put environment values into the config with
 * `${env:NAME}` instead.
 */
function withoutOtlpEnvironment<T>(build: () => T): T {
  const hidden = Object.entries(process.env).filter((e): e is [string, string] => e[0].startsWith('OTEL_EXPORTER_OTLP_') && e[1] !== undefined);
  for (const [name] of hidden) delete process.env[name];
  try {
    return build();
  } finally {
    for (const [name, value] of hidden) process.env[name] = value;
  }
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
  readonly #telemetry: ExporterTelemetry;
  readonly #collectLog: ChangeLogger;
  /** Attributes every export's resource gets (the agent's, when the reader is not registered). */
  readonly #baseResource: Resource;
  readonly #clusterResource: Resource;
  readonly #loop: PushLoop<ExportRoundResult>;
  #otlp: PushMetricExporter | undefined;
  /** The one connection pool the SDK exporter sends through (made by its agent factory). */
  #agent: HttpAgent | undefined;
  /**
   * The status of the last answer to a request of ours, cleared when a request starts: the SDK
   * drops the status of a retryable answer (429, 502, 503, 504) once its retries run out.
   */
  #lastStatus: number | undefined;
  // Node's HTTP diagnostics channels see every request of the process; ours are those of our agent
  // (ClientRequest keeps it as `agent`, which @types/node leaves out).
  readonly #onRequestStart = (message: unknown): void => {
    if ((message as { request: ClientRequest & { agent?: unknown } }).request.agent === this.#agent) this.#lastStatus = undefined;
  };
  readonly #onResponseFinish = (message: unknown): void => {
    const { request, response } = message as { request: ClientRequest & { agent?: unknown }; response: IncomingMessage };
    if (request.agent === this.#agent) this.#lastStatus = response.statusCode;
  };
  #started = false;
  #shutdown = false;

  constructor(settings: ComponentSettings, config: OtlpHttpExporterConfig) {
    this.#settings = settings;
    this.#config = config;
    this.#telemetry = new ExporterTelemetry(settings.id, { push: true });
    this.#collectLog = new ChangeLogger(settings.logger);
    this.reader = new PushReader({ metricProducers: [this.#fanIn], aggregationTemporalitySelector: exporterTemporality });
    this.#baseResource = resourceFromAttributes({
      'service.name': 'nodemeter',
      'service.version': settings.agent.version,
      'service.instance.id': settings.agent.nodeName,
      'k8s.node.name': settings.agent.nodeName,
    });
    this.#clusterResource = resourceFromAttributes(config.cluster_name === '' ? {} : { 'k8s.cluster.name': config.cluster_name });
    this.#loop = new PushLoop<ExportRoundResult>({
      intervalMs: config.interval,
      minPauseMs: MIN_ATTEMPT_MS,
      round: (signal) => this.#round(signal),
      telemetry: this.#telemetry,
      logger: settings.logger,
      // The endpoint cannot hold credentials (config refuses them); headers are never logged.
      logFields: (r) => (r === undefined ? { url: config.endpoint } : { url: config.endpoint, status: r.status, points: r.points }),
      messages: {
        failed: 'OTLP export failed',
        rejected: 'the OTLP receiver rejected the export',
        again: 'OTLP export failed again',
        recovered: 'OTLP exports succeed again',
      },
    });
  }

  /** The last round's result. */
  get lastResult(): ExportRoundResult | undefined {
    return this.#loop.lastResult;
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
    // Every option explicit: nothing falls back to OTEL_EXPORTER_OTLP_* (see withoutOtlpEnvironment).
    const options = {
      url: this.#config.endpoint,
      // A copy: the SDK may add its own (User-Agent) to the object it is given.
      headers: { ...this.#config.headers },
      compression: this.#config.compression,
      timeoutMillis: this.#config.timeout,
      temporalityPreference: AggregationTemporalityPreference.CUMULATIVE,
      // One export at a time: more sockets would only sit idle.
      httpAgentOptions: (protocol: string) => (this.#agent = protocol === 'http:' ? new HttpAgent({ keepAlive: true, maxSockets: 1 }) : new HttpsAgent({ keepAlive: true, maxSockets: 1 })),
    } as ConstructorParameters<typeof JsonMetricExporter>[0];
    const protobuf = this.#config.protocol === 'http/protobuf';
    this.#otlp = withoutOtlpEnvironment(() => (protobuf ? new ProtobufMetricExporter(options) : new JsonMetricExporter(options)));
    subscribe('http.client.request.start', this.#onRequestStart);
    subscribe('http.client.response.finish', this.#onResponseFinish);
    this.#loop.start();
    return Promise.resolve();
  }

  async shutdown(): Promise<void> {
    if (this.#shutdown) return;
    this.#shutdown = true;
    await this.#loop.stop({ outcome: 'failed', points: 0, error: new Error('shut down') });
    // Waits for an export still in flight (at most `timeout`), then closes the sockets.
    await this.#otlp?.shutdown().catch(() => undefined);
    unsubscribe('http.client.request.start', this.#onRequestStart);
    unsubscribe('http.client.response.finish', this.#onResponseFinish);
    this.#agent?.destroy();
    this.#telemetry.shutdown();
    await this.reader.shutdown().catch(() => undefined);
  }

  /** Resolves with the result of the next export round to end. */
  nextExport(): Promise<ExportRoundResult> {
    return this.#loop.next();
  }

  /** One collection and its export; undefined when stopped during the collection. */
  async #round(signal: AbortSignal): Promise<ExportRoundResult | undefined> {
    let batch: ResourceMetrics;
    try {
      const resourceMetrics = await collectForPush(this.#fanIn, this.reader, this.#config.timeout, signal, this.#collectLog, 'collection for the OTLP export');
      batch = { resource: this.#baseResource.merge(resourceMetrics.resource).merge(this.#clusterResource), scopeMetrics: resourceMetrics.scopeMetrics };
    } catch (err) {
      if (signal.aborted) return undefined;
      return { outcome: 'failed', points: 0, error: err instanceof Error ? err : new Error(String(err)), reason: 'collection' };
    }
    const points = countPoints(batch);
    const otlp = this.#otlp;
    if (otlp === undefined) return undefined;
    const result = await new Promise<ExportResult>((resolve) => otlp.export(batch, resolve));
    if (result.code === ExportResultCode.SUCCESS) return { outcome: 'success', points };
    const error = result.error ?? new Error('export failed');
    // A retryable status the SDK gave up on comes without its code: the last answer has it.
    const answered = this.#lastStatus !== undefined && this.#lastStatus >= 300 ? this.#lastStatus : undefined;
    const status = statusOf(error) ?? answered;
    // A status the SDK does not retry (4xx other than 429) is the receiver refusing the data.
    const outcome: PushOutcome = status !== undefined && status >= 400 && status < 500 && status !== 429 ? 'rejected' : 'failed';
    const reason = status !== undefined ? `http_${status}` : /timeout|timed out/i.test(`${error.name} ${error.message}`) ? 'timeout' : 'network';
    return { outcome, points, error, reason, ...(status === undefined ? {} : { status }) };
  }
}
