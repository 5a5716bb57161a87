import { DeadlineError } from './errors.ts';

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
