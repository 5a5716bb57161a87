import pino, { type Logger } from 'pino';
import pretty from 'pino-pretty';

export interface LoggerOptions {
  readonly level: string;
  /** Human-readable lines instead of JSON lines. */
  readonly human: boolean;
  /** Where lines go; standard output by default (container log collectors read it). */
  readonly destination?: NodeJS.WritableStream;
}

/** The agent's root logger: JSON lines by default, pretty lines with --log-human. */
export function createLogger(options: LoggerOptions): Logger {
  const base = { level: options.level, base: { service: 'nodemeter' } };
  if (options.human) {
    // Synchronous pretty stream: no transport worker thread for a small agent.
    return pino(base, pretty({ sync: true, colorize: false, destination: options.destination ?? 1 }));
  }
  return pino(base, options.destination ?? pino.destination({ dest: 1, sync: true }));
}
