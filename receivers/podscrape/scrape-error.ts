import { NodemeterError } from '../../pipeline/errors.ts';

/**
 * Why one scrape failed, as a short fixed word: the `reason` label of the receiver's failure
 * counter, so the set must stay small and stable (adding one is fine, renaming one breaks alerts).
 */
export const SCRAPE_FAILURE_REASONS = [
  /** The whole scrape (connect, headers, body, decoding) did not finish within `timeoutMs`. */
  'timeout',
  /** No TCP connection: refused, unreachable, unknown host. */
  'connect',
  /** The TLS handshake failed: untrusted or mismatched certificate, protocol mismatch. */
  'tls',
  /** The connection broke after it was established, before the body was complete. */
  'read',
  /** The target did not speak HTTP/1.1 the parser accepts (garbage, oversized headers). */
  'protocol',
  /** The target answered with a status outside 2xx and 3xx. */
  'http_status',
  /** The target answered 3xx; redirects are never followed. */
  'redirect',
  /** More body bytes on the wire than `maxBodyBytes` (or a Content-Length saying so). */
  'body_too_large',
  /** The decompressed body grew past `maxDecompressedBytes`. */
  'decompressed_too_large',
  /** An unknown or unrequested Content-Encoding, or a gzip stream that does not decode. */
  'bad_encoding',
  /** The bearer token file cannot be read or holds no usable token. */
  'token_file',
  /** The TLS CA file cannot be read. */
  'ca_file',
  /** The caller aborted the scrape (its signal, or the client was destroyed). */
  'aborted',
  /** The request itself is unusable: not an http(s) URL, a reserved or invalid extra header. */
  'bad_request',
] as const;

export type ScrapeFailureReason = (typeof SCRAPE_FAILURE_REASONS)[number];

export interface ScrapeErrorOptions {
  /** The HTTP status, for `http_status` and `redirect`. */
  status?: number;
  /** The limit that was passed (ms or bytes), for `timeout` and the size reasons. */
  limit?: number;
  retryable?: boolean;
  cause?: unknown;
}

/** Reasons where the same scrape a little later may well succeed. */
const RETRYABLE = new Set<ScrapeFailureReason>(['timeout', 'connect', 'read', 'token_file', 'ca_file']);

/**
 * One failed scrape. `code` is `NM_SCRAPE_<REASON>`; the message names the URL without
 * credentials or query values and the limit that was hit, and never holds the bearer token.
 */
export class ScrapeError extends NodemeterError {
  readonly reason: ScrapeFailureReason;
  /** The scraped URL as shown in the message (see {@link redactUrl}). */
  readonly url: string;
  readonly status: number | undefined;
  readonly limit: number | undefined;

  constructor(reason: ScrapeFailureReason, url: string, detail: string, options: ScrapeErrorOptions = {}) {
    super(`NM_SCRAPE_${reason.toUpperCase()}`, `GET ${url}: ${detail}`, {
      retryable: options.retryable ?? RETRYABLE.has(reason),
      cause: options.cause,
    });
    this.name = 'ScrapeError';
    this.reason = reason;
    this.url = url;
    this.status = options.status;
    this.limit = options.limit;
  }
}

/**
 * The URL fit for logs and messages: no user info, no fragment, and every query value replaced
 * (a target's params may carry a key, and which ones do is not knowable here). Keys stay so two
 * targets on the same path remain distinguishable.
 */
export function redactUrl(url: URL): string {
  const base = `${url.protocol}//${url.host}${url.pathname}`;
  if (url.search === '') return base;
  const keys = [...url.searchParams.keys()].map((key) => `${encodeURIComponent(key)}=<redacted>`);
  return `${base}?${keys.join('&')}`;
}
