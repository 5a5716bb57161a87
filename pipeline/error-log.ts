import type { Logger } from 'pino';
import { errorMessage } from './errors.ts';

/**
 * Logs a collection's errors when they change, not on every scrape: a mount stuck for an hour
 * would otherwise write the same warning at every scrape. Repeats go to debug.
 */
export class ChangeLogger {
  readonly #logger: Logger;
  #last = '';

  constructor(logger: Logger) {
    this.#logger = logger;
  }

  report(errors: readonly unknown[], what: string): void {
    const messages = errors.map(errorMessage).sort();
    const key = messages.join('\n');
    if (key === this.#last) {
      if (messages.length > 0) this.#logger.debug({ errors: messages }, `${what}: same ${messages.length} error(s) as before`);
      return;
    }
    this.#last = key;
    if (messages.length === 0) this.#logger.info(`${what}: errors cleared`);
    else this.#logger.warn({ errors: messages }, `${what}: ${messages.length} error(s)`);
  }
}
