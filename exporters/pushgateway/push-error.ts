import { NodemeterError } from '../../pipeline/errors.ts';

/**
 * Why one request to the Pushgateway failed, as a short fixed word (the log's `reason`):
 * `timeout`, `network` (refused, reset, unreachable), `tls` (the handshake failed or the
 * gateway's certificate did not verify), `http_status` (the gateway answered outside 2xx),
 * `token_file` / `ca_file` (a file of the config cannot be read), `bad_request` (the request
 * cannot be built).
 */
export type PushFailureReason = 'timeout' | 'network' | 'tls' | 'http_status' | 'token_file' | 'ca_file' | 'bad_request';

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
