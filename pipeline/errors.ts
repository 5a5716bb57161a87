/**
 * Errors with stable codes (like fastify's) and a retry hint (like the Collector's
 * permanent/retryable split), so callers decide without parsing messages.
 */
export class NodemeterError extends Error {
  readonly code: string;
  /** True when trying the same thing again later may succeed. */
  readonly retryable: boolean;

  constructor(code: string, message: string, options: { retryable?: boolean; cause?: unknown } = {}) {
    super(message, { cause: options.cause });
    this.name = 'NodemeterError';
    this.code = code;
    this.retryable = options.retryable ?? false;
  }
}

/** Raised when a collection step passes its deadline. */
export class DeadlineError extends NodemeterError {
  constructor(what: string, timeoutMs: number) {
    super('NM_DEADLINE', `${what} did not finish within ${timeoutMs} ms`, { retryable: true });
    this.name = 'DeadlineError';
  }
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
