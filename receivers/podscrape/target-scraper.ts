import type { HrTime } from '@opentelemetry/api';
import type { MetricData } from '@opentelemetry/sdk-metrics';

import { nowHr } from '../../pipeline/datapoints.ts';
import type { PodScrapeReceiverConfig, TargetLabelSource } from './config.ts';
import type { ScrapeTarget } from './discovery.ts';
import { formatFromContentType } from './parser/content-type.ts';
import { ExpositionParseError } from './parser/parse-error.ts';
import { parseExposition } from './parser/parse-exposition.ts';
import { ScrapeError, type ScrapeClient } from './scrape-client.ts';
import { familiesToMetrics } from './to-otel.ts';

/** One scrape of one target, kept until the next. */
export interface TargetScrape {
  /** The target's series with target labels; empty when the scrape failed. */
  readonly metrics: readonly MetricData[];
  readonly up: boolean;
  readonly durationMs: number;
  /** Samples the target exposed (0 when the scrape failed). */
  readonly samples: number;
  /** Why it failed: a client reason (timeout, http_status, …) or parse, invalid_utf8, series_limit, limit. */
  readonly reason?: string;
  readonly error?: Error;
  /** When it finished, ms since the epoch. */
  readonly atMs: number;
}

/** The receiver's settings that every scrape uses. */
export type ScrapeSettings = Pick<
  PodScrapeReceiverConfig,
  | 'scrape_timeout'
  | 'max_body_bytes'
  | 'max_decompressed_bytes'
  | 'max_series'
  | 'max_label_value_length'
  | 'accept_openmetrics'
  | 'honor_labels'
  | 'instance_label'
  | 'target_labels'
  | 'bearer_token_file'
  | 'tls_ca_file'
  | 'tls_insecure_skip_verify'
>;

/** `job`, `instance` and the configured pod labels of a target, in that order. */
export function targetLabels(target: ScrapeTarget, settings: ScrapeSettings): Record<string, string> {
  const labels: Record<string, string> = { job: target.job, instance: settings.instance_label === 'pod' ? target.pod : target.address };
  const values: Record<TargetLabelSource, string> = { namespace: target.namespace, pod: target.pod, node: target.node, pod_ip: target.podIp, pod_uid: target.podUid };
  for (const [from, label] of Object.entries(settings.target_labels) as Array<[TargetLabelSource, string]>) {
    if (label !== '') labels[label] = values[from];
  }
  return labels;
}

/**
 * Frees a scrape body's memory now instead of at some later GC (nothing parsed refers to its
 * bytes): with many targets, bodies waiting for the collector add up to the whole payload again.
 * Only a buffer that owns its entire ArrayBuffer is released, never a slice of Node's shared pool.
 */
function releaseBody(body: Buffer): void {
  const whole = body.buffer;
  if (body.byteLength > 0 && body.byteOffset === 0 && whole.byteLength === body.byteLength && whole instanceof ArrayBuffer) whole.transfer(0);
}

function parseFailureReason(err: ExpositionParseError): string {
  if (err.code === 'NM_PARSE_UTF8') return 'invalid_utf8';
  if (err.code !== 'NM_PARSE_LIMIT') return 'parse';
  return err.limit === 'samples' ? 'series_limit' : 'limit';
}

/**
 * Fetches, parses and converts one target. Never rejects: every failure (network, HTTP status,
 * size limits, parse errors, series limit) becomes `up: false` with its reason, and the target
 * then contributes no series but its own `up`.
 */
export async function scrapeTarget(
  client: ScrapeClient,
  target: ScrapeTarget,
  startTime: HrTime,
  settings: ScrapeSettings,
  signal?: AbortSignal,
): Promise<TargetScrape> {
  const started = performance.now();
  const failed = (reason: string, error: Error): TargetScrape => ({ metrics: [], up: false, durationMs: performance.now() - started, samples: 0, reason, error, atMs: Date.now() });
  try {
    const insecure = settings.tls_insecure_skip_verify || !target.tlsVerify;
    const tls = insecure ? { insecureSkipVerify: true } : settings.tls_ca_file === '' ? undefined : { caFile: settings.tls_ca_file };
    const response = await client.scrape(
      {
        url: target.url,
        timeoutMs: target.timeoutMs ?? settings.scrape_timeout,
        maxBodyBytes: settings.max_body_bytes,
        maxDecompressedBytes: settings.max_decompressed_bytes,
        acceptOpenMetrics: settings.accept_openmetrics,
        ...(tls === undefined ? {} : { tls }),
        ...(settings.bearer_token_file === '' ? {} : { bearerTokenFile: settings.bearer_token_file }),
      },
      signal,
    );
    let parsed;
    try {
      parsed = parseExposition(response.body, {
        format: formatFromContentType(response.contentType),
        maxSamples: settings.max_series,
        maxLabelValueLength: settings.max_label_value_length,
      });
    } finally {
      releaseBody(response.body);
    }
    const time = nowHr();
    const metrics = familiesToMetrics(parsed.families, { targetLabels: targetLabels(target, settings), honorLabels: settings.honor_labels, startTime, time });
    return { metrics, up: true, durationMs: performance.now() - started, samples: parsed.sampleCount, atMs: Date.now() };
  } catch (err) {
    if (err instanceof ScrapeError) return failed(err.reason, err);
    if (err instanceof ExpositionParseError) return failed(parseFailureReason(err), err);
    return failed('internal', err instanceof Error ? err : new Error(String(err)));
  }
}
