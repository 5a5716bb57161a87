import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ComponentSettings, Exporter, PipelineSource } from '../../pipeline/component.ts';
import { ChangeLogger } from '../../pipeline/error-log.ts';
import { FileSnapshots } from '../../pipeline/file-snapshots.ts';
import { errorMessage } from '../../pipeline/errors.ts';
import { PipelineFanIn } from '../../pipeline/fan-in.ts';
import { collectForPush, PushLoop, PushReader } from '../push-loop.ts';
import { countPoints, ExporterTelemetry, exporterTemporality, type PushOutcome } from '../exporter-telemetry.ts';
import { EXPOSITION_CONTENT_TYPE, writeExposition } from '../prometheus/text-writer.ts';
import type { PushgatewayExporterConfig } from './config.ts';
import { groupingKeyPath, groupingLabels, groupUrl } from './group-path.ts';
import { isTlsFailure } from '../../pipeline/tls-failure.ts';
import { credentialStrings, redact } from '../../pipeline/redact.ts';
import { boundedAnswer, MAX_ANSWER_CHARS, PushError, retryableStatus } from './push-error.ts';

export type { PushOutcome } from '../exporter-telemetry.ts';

/** First retry delay; doubled per attempt up to {@link BACKOFF_CAP_MS}, each with jitter. */
const BACKOFF_BASE_MS = 250;
const BACKOFF_CAP_MS = 15_000;
/** A retry is only started when at least this much of the interval is left for it. */
const MIN_ATTEMPT_MS = 100;
/** Token files are a few hundred bytes; anything this large is a mistake. */
const MAX_FILE_BYTES = 1024 * 1024;

/**
 * The delay before retry number `attempt` (0 = the first retry): exponential, capped, and
 * jittered over its upper half so agents that lost the gateway together do not return together.
 */
export function backoffDelay(attempt: number, random: () => number = Math.random): number {
  const ceiling = Math.min(BACKOFF_CAP_MS, BACKOFF_BASE_MS * 2 ** Math.min(attempt, 30));
  return ceiling / 2 + random() * (ceiling / 2);
}

/** What the last push round did, for `collect --once`-style callers and tests. */
export interface PushResult {
  readonly outcome: PushOutcome;
  /** Requests made in the round (1 + retries). */
  readonly attempts: number;
  readonly points: number;
  readonly error?: PushError | Error;
  /** Why it was not a success: `collection`, or the failed request's reason (`http_<status>` for an answer). */
  readonly reason?: string;
}

/**
 * Pushes every pipeline that names this exporter to a Pushgateway group on an interval: one
 * collection (under `timeout`) rendered in the text format, sent with PUT, which replaces the
 * group, so series gone from the pipelines are gone from the gateway after the next push.
 *
 * One round at a time: a round's retries (network errors, timeouts, 5xx, 408, 429; capped
 * exponential backoff with jitter) stay within its interval, and the next round collects afresh,
 * so nothing queues up while the gateway is away. Other 4xx answers (a type conflict with another
 * group, say) are logged with the gateway's message and not retried.
 */
export class PushgatewayExporter implements Exporter {
  readonly reader: PushReader;
  readonly #fanIn = new PipelineFanIn();
  readonly #settings: ComponentSettings;
  readonly #config: PushgatewayExporterConfig;
  readonly #url: URL | undefined;
  /** The URL as logged: no credentials can be in it (config refuses them). */
  readonly #shownUrl: string;
  readonly #collectLog: ChangeLogger;
  readonly #telemetry: ExporterTelemetry;
  readonly #loop: PushLoop<PushResult>;
  readonly #files = new FileSnapshots(MAX_FILE_BYTES);
  #agent: HttpAgent | undefined;
  #started = false;
  #shutdown = false;

  constructor(settings: ComponentSettings, config: PushgatewayExporterConfig) {
    this.#settings = settings;
    this.#config = config;
    this.#collectLog = new ChangeLogger(settings.logger);
    this.#telemetry = new ExporterTelemetry(settings.id, { push: true });
    this.reader = new PushReader({ metricProducers: [this.#fanIn], aggregationTemporalitySelector: exporterTemporality });
    const path = groupingKeyPath(config.job, groupingLabels(config.grouping_key, settings.agent.nodeName));
    this.#url = config.endpoint === '' ? undefined : groupUrl(config.endpoint, path);
    this.#shownUrl = this.#url?.href ?? `(no endpoint)${path}`;
    this.#loop = new PushLoop<PushResult>({
      intervalMs: config.interval,
      minPauseMs: 0,
      round: (signal, roundEnd) => this.#round(signal, roundEnd),
      telemetry: this.#telemetry,
      logger: settings.logger,
      logFields: (r) => {
        if (r === undefined) return { url: this.#shownUrl };
        const error = r.error;
        return { url: this.#shownUrl, attempts: r.attempts, reason: error instanceof PushError ? error.reason : 'collect', status: error instanceof PushError ? error.status : undefined };
      },
      messages: {
        failed: 'push to the Pushgateway failed',
        rejected: 'the Pushgateway rejected the push',
        again: 'push failed again',
        recovered: 'pushes to the Pushgateway succeed again',
      },
    });
  }

  attach(source: PipelineSource): void {
    this.#fanIn.attach(source);
  }

  /** The group's URL, e.g. `http://pg:9091/metrics/job/nodemeter/instance/node-a`. */
  get groupUrl(): string {
    return this.#shownUrl;
  }

  /** The last round's result. */
  get lastResult(): PushResult | undefined {
    return this.#loop.lastResult;
  }

  start(): Promise<void> {
    if (this.#shutdown) return Promise.reject(new Error(`exporter ${this.#settings.id} was shut down; create a new one`));
    if (this.#started) return Promise.resolve();
    this.#started = true;
    this.#telemetry.start(this.#settings.meter);
    if (this.#url === undefined) {
      this.#settings.logger.error('no endpoint configured: nothing will be pushed');
      return Promise.resolve();
    }
    this.#agent = this.#url.protocol === 'https:' ? new HttpsAgent({ keepAlive: true, maxSockets: 1, maxFreeSockets: 1 }) : new HttpAgent({ keepAlive: true, maxSockets: 1, maxFreeSockets: 1 });
    this.#loop.start();
    return Promise.resolve();
  }

  async shutdown(): Promise<void> {
    if (this.#shutdown) return;
    this.#shutdown = true;
    await this.#loop.stop({ outcome: 'failed', attempts: 0, points: 0, error: new Error('shut down') });
    if (this.#config.delete_on_shutdown && this.#started && this.#url !== undefined) {
      try {
        await this.#send('DELETE', undefined, AbortSignal.timeout(this.#config.timeout));
        this.#settings.logger.info({ url: this.#shownUrl }, 'deleted the group from the Pushgateway');
      } catch (err) {
        this.#settings.logger.warn({ url: this.#shownUrl, reason: err instanceof PushError ? err.reason : undefined, error: errorMessage(err) }, 'could not delete the group from the Pushgateway');
      }
    }
    this.#agent?.destroy();
    this.#agent = undefined;
    this.#telemetry.shutdown();
    await this.reader.shutdown().catch(() => undefined);
  }

  /** Resolves with the result of the next push round to end (for tests and one-shot callers). */
  nextPush(): Promise<PushResult> {
    return this.#loop.next();
  }

  /** One collection and its push, retried until `roundEnd` at the latest; undefined when stopped. */
  async #round(signal: AbortSignal, roundEnd: number): Promise<PushResult | undefined> {
    const collectMs = Math.max(MIN_ATTEMPT_MS, Math.min(this.#config.timeout, roundEnd - Date.now()));
    let body: string;
    let points: number;
    try {
      const resourceMetrics = await collectForPush(this.#fanIn, this.reader, collectMs, signal, this.#collectLog, 'collection for the Pushgateway');
      body = writeExposition(resourceMetrics, { prefix: '', targetInfo: false, scopeInfo: false, dedupe: this.#fanIn.sources.length > 1 });
      points = countPoints(resourceMetrics);
    } catch (err) {
      if (signal.aborted) return undefined;
      return { outcome: 'failed', attempts: 0, points: 0, error: err instanceof Error ? err : new Error(String(err)), reason: 'collection' };
    }
    for (let attempt = 0; ; attempt++) {
      const timeoutMs = Math.max(MIN_ATTEMPT_MS, Math.min(this.#config.timeout, roundEnd - Date.now()));
      try {
        await this.#send('PUT', body, AbortSignal.any([signal, AbortSignal.timeout(timeoutMs)]));
        return { outcome: 'success', attempts: attempt + 1, points };
      } catch (err) {
        if (signal.aborted) return undefined;
        const error = err instanceof Error ? err : new Error(String(err));
        const retryable = err instanceof PushError && err.retryable && err.reason !== 'token_file' && err.reason !== 'ca_file';
        const reason = failureReason(err);
        if (!retryable) return { outcome: err instanceof PushError && err.reason === 'http_status' ? 'rejected' : 'failed', attempts: attempt + 1, points, error, reason };
        const delay = backoffDelay(attempt);
        if (Date.now() + delay + MIN_ATTEMPT_MS > roundEnd) return { outcome: 'failed', attempts: attempt + 1, points, error, reason };
        this.#settings.logger.debug({ url: this.#shownUrl, attempt: attempt + 1, delayMs: Math.round(delay), error: error.message }, 'push failed; retrying');
        await sleep(delay, undefined, { signal, ref: false }).catch(() => undefined);
        if (signal.aborted) return undefined;
      }
    }
  }

  /** Headers of every request: the configured ones, then authorization. */
  async #headers(): Promise<Record<string, string>> {
    const headers: Record<string, string> = { 'user-agent': `nodemeter/${this.#settings.agent.version}`, ...this.#config.headers };
    const { username, password } = this.#config.basic_auth;
    if (username !== '') headers['authorization'] = `Basic ${Buffer.from(`${username}:${password}`, 'utf8').toString('base64')}`;
    if (this.#config.bearer_token_file !== '') {
      const token = (await this.#readSmall(this.#config.bearer_token_file, 'token_file')).toString('utf8').trim();
      if (token === '' || /[\r\n\0]/.test(token)) throw new PushError('token_file', `bearer token file ${this.#config.bearer_token_file} holds no usable token`, { retryable: false });
      headers['authorization'] = `Bearer ${token}`;
    }
    return headers;
  }

  /** A token or CA file, read again only when it changes (tokens rotate). */
  async #readSmall(path: string, reason: 'token_file' | 'ca_file'): Promise<Buffer> {
    try {
      return (await this.#files.read(path)).contents;
    } catch (err) {
      throw new PushError(reason, `${reason === 'token_file' ? 'bearer token' : 'CA'} file: ${errorMessage(err)}`, { retryable: false, cause: err });
    }
  }

  /** One request; resolves on 2xx, rejects with a {@link PushError} otherwise. */
  async #send(method: 'PUT' | 'DELETE', body: string | undefined, signal: AbortSignal): Promise<void> {
    const url = this.#url;
    const agent = this.#agent;
    if (url === undefined || agent === undefined) throw new PushError('bad_request', 'no endpoint configured', { retryable: false });
    const what = `${method} ${this.#shownUrl}`;
    const headers = await this.#headers();
    const payload = body === undefined ? undefined : Buffer.from(body, 'utf8');
    if (payload !== undefined) {
      headers['content-type'] = EXPOSITION_CONTENT_TYPE;
      headers['content-length'] = String(payload.length);
    }
    const https = url.protocol === 'https:';
    const tls = this.#config.tls;
    const ca = https && !tls.insecure_skip_verify && tls.ca_file !== '' ? await this.#readSmall(tls.ca_file, 'ca_file') : undefined;
    await new Promise<void>((resolve, reject) => {
      const onResponse = (res: IncomingMessage): void => {
        const status = res.statusCode ?? 0;
        let answer = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          // Keep the start of the answer for the message; drain the rest so the socket is reused.
          if (answer.length < MAX_ANSWER_CHARS * 2) answer += chunk.slice(0, MAX_ANSWER_CHARS * 2 - answer.length);
        });
        res.on('error', (err) => reject(new PushError(signal.aborted ? 'timeout' : 'network', `${what}: reading the answer: ${err.message}`, { retryable: true, cause: err })));
        res.on('end', () => {
          if (status >= 200 && status < 300) resolve();
          // A gateway or proxy may echo the request's headers: never pass credentials on.
          else reject(new PushError('http_status', `${what}: HTTP ${status}: ${boundedAnswer(redact(answer, credentialStrings(headers))) || '(no message)'}`, { status, retryable: retryableStatus(status) }));
        });
      };
      const options = {
        method,
        agent,
        headers,
        signal,
        ...(https ? { rejectUnauthorized: !tls.insecure_skip_verify, ...(ca ? { ca } : {}) } : {}),
      };
      let req;
      try {
        req = https ? httpsRequest(url, options, onResponse) : httpRequest(url, options, onResponse);
      } catch (err) {
        reject(new PushError('bad_request', `${what}: ${errorMessage(err)}`, { retryable: false, cause: err }));
        return;
      }
      req.on('error', (err) => {
        // The same text for every cut attempt (whatever was left of the interval), so a gateway that
        // stays slow is logged once, not again each time the last attempt of a round got less time.
        if (signal.aborted) reject(new PushError('timeout', `${what}: no answer within the timeout (${this.#config.timeout} ms, less at the end of an interval)`, { retryable: true, cause: err }));
        else if (isTlsFailure(err)) reject(new PushError('tls', `${what}: TLS: ${err.message}`, { retryable: false, cause: err }));
        else reject(new PushError('network', `${what}: ${err.message}`, { retryable: true, cause: err }));
      });
      req.end(payload);
    });
  }
}

/** A failed request's reason for the self-telemetry: the PushError's, with the status for an answer. */
function failureReason(err: unknown): string {
  if (!(err instanceof PushError)) return 'internal';
  return err.reason === 'http_status' && err.status !== undefined ? `http_${err.status}` : err.reason;
}
