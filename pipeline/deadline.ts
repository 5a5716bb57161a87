import type { CollectContext } from './component.ts';
import { DeadlineError } from './errors.ts';

/** Used when a collection comes without a deadline of its own (warm-up, an SDK reader's collect). */
export const DEFAULT_COLLECT_TIMEOUT_MS = 10_000;

/** A collection context that ends `timeoutMs` from now, or earlier when `signal` aborts. */
export function collectContext(
  timeoutMs: number = DEFAULT_COLLECT_TIMEOUT_MS,
  selectors: Readonly<Record<string, string>> = {},
  signal?: AbortSignal,
): CollectContext {
  const timeout = AbortSignal.timeout(timeoutMs);
  return { deadline: Date.now() + timeoutMs, signal: signal ? AbortSignal.any([signal, timeout]) : timeout, selectors };
}

/**
 * Resolves with `work` or rejects with a DeadlineError when `deadline` (epoch ms) passes,
 * whichever comes first. The work itself is not cancelled: callers pass an AbortSignal
 * down so it can stop early.
 */
export async function withDeadline<T>(work: Promise<T>, deadline: number, what: string): Promise<T> {
  const remaining = deadline - Date.now();
  if (remaining <= 0) {
    work.catch(() => undefined);
    throw new DeadlineError(what, 0);
  }
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new DeadlineError(what, remaining)), remaining);
    timer.unref();
  });
  try {
    return await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
    // A late rejection of abandoned work must not become an unhandled rejection.
    work.catch(() => undefined);
  }
}
