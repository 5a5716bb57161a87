/** `Status` objects, the body of every error the real API server returns. */

const REASONS: Record<number, string> = {
  400: 'BadRequest',
  404: 'NotFound',
  405: 'MethodNotAllowed',
  406: 'NotAcceptable',
  410: 'Expired',
  500: 'InternalError',
  504: 'Timeout',
};

export type Status = {
  kind: 'Status';
  apiVersion: 'v1';
  metadata: Record<string, never>;
  status: 'Failure';
  message: string;
  reason: string;
  details?: Record<string, unknown>;
  code: number;
};

export function statusObject(code: number, reason: string | undefined, message: string, details?: Record<string, unknown>): Status {
  const status: Status = {
    kind: 'Status',
    apiVersion: 'v1',
    metadata: {},
    status: 'Failure',
    message,
    reason: reason ?? REASONS[code] ?? 'Unknown',
    code,
  };
  if (details) status.details = details;
  return status;
}

/** Thrown by request handlers; the router answers with it. */
export class HttpStatusError extends Error {
  readonly status: Status;
  constructor(code: number, message: string, reason?: string, details?: Record<string, unknown>) {
    super(message);
    this.status = statusObject(code, reason, message, details);
  }
}
