import { NodemeterError } from '../../pipeline/errors.ts';

/**
 * Why one request to the Pushgateway failed, as a short fixed word (the log's `reason`):
 * `timeout`, `network` (refused, reset, unreachable), `tls` (the handshake failed or the
 * gateway's certificate did not verify), `http_status` (the gateway answered outside 2xx),
 * `token_file` / `ca_file` (a file of the config cannot be read), `bad_request` (the request
 * cannot be built).
 */
export type PushFailureReason = 'timeout' | 'network' | 'tls' | 'http_status' | 'token_file' | 'ca_file' | 'bad_request';

/** OpenSSL's certificate verification failures, as Node reports them in `err.code`. */
const CERTIFICATE_CODES = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'CERT_UNTRUSTED',
  'CERT_REJECTED',
  'CERT_SIGNATURE_FAILURE',
  'HOSTNAME_MISMATCH',
]);

/**
 * A request error that is the TLS layer's: a certificate that does not verify, or a handshake
 * that failed (for example TLS spoken to a plain-HTTP gateway). Trying again cannot help.
 */
export function isTlsFailure(err: unknown): boolean {
  const code = (err as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' && (CERTIFICATE_CODES.has(code) || code.startsWith('ERR_TLS_') || code.startsWith('ERR_SSL_'));
}

/** Longest part of the gateway's answer kept in a message: enough for its error text, never a page. */
export const MAX_ANSWER_CHARS = 512;

/**
 * One failed request. `code` is `NM_PUSH_<REASON>`; `retryable` says whether the same push a
 * little later may succeed (network failures, timeouts, 5xx, 408 and 429). The message names the
 * URL (no credentials) and, for a status, the gateway's answer cut to {@link MAX_ANSWER_CHARS}.
 */
export class PushError extends NodemeterError {
  readonly reason: PushFailureReason;
  readonly status: number | undefined;

  constructor(reason: PushFailureReason, message: string, options: { status?: number; retryable: boolean; cause?: unknown }) {
    super(`NM_PUSH_${reason.toUpperCase()}`, message, { retryable: options.retryable, cause: options.cause });
    this.name = 'PushError';
    this.reason = reason;
    this.status = options.status;
  }
}

/** A status worth trying again: the gateway (or a proxy before it) is overloaded or restarting. */
export function retryableStatus(status: number): boolean {
  return status >= 500 || status === 408 || status === 429;
}

/** The gateway's answer fit for a log line: one line, at most {@link MAX_ANSWER_CHARS}. */
export function boundedAnswer(text: string): string {
  const line = text.replace(/\s+/g, ' ').trim();
  return line.length > MAX_ANSWER_CHARS ? `${line.slice(0, MAX_ANSWER_CHARS)}…` : line;
}
