// Open-loop load: GETs started on a fixed schedule (one every 1000 / perSecond ms) whether or not
// the earlier ones have finished, as independent scrapers do. A closed loop (next request after
// the previous answer) would slow down with the server and hide its queueing; here a slow server
// shows as growing latency, concurrency and time-outs. Bodies are counted, never kept or parsed,
// so the client's own CPU stays small next to the server's.
import { Agent, request } from 'node:http';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';

export interface OpenLoopOptions {
  readonly url: string;
  readonly perSecond: number;
  readonly seconds: number;
  /** A request not finished after this long is abandoned and counted as an error. */
  readonly timeoutMs: number;
  readonly headers?: Record<string, string>;
}

export interface PullRecord {
  /** Scheduled start, ms after the first. */
  readonly dueMs: number;
  /** How late it actually started (the client's own lag), ms. */
  readonly lagMs: number;
  /** From the request to the last byte of the body (or to the error), ms. */
  readonly latencyMs: number;
  /** HTTP status; 0 when there was no response. */
  readonly status: number;
  readonly bytes: number;
  /** `status <code>`, `timeout` or the network error's code; undefined for a 200. */
  readonly error?: string;
}

export interface OpenLoopResult {
  readonly pulls: PullRecord[];
  /** Most requests in flight at once. */
  readonly maxInFlight: number;
  /** From the first start to the last answer, ms. */
  readonly wallMs: number;
}

function pullOnce(url: string, agent: Agent, options: OpenLoopOptions): Promise<Omit<PullRecord, 'dueMs' | 'lagMs'>> {
  const started = performance.now();
  return new Promise((resolve) => {
    let settled = false;
    const done = (status: number, bytes: number, error?: string): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve({ latencyMs: performance.now() - started, status, bytes, ...(error === undefined ? {} : { error }) });
    };
    const req = request(url, { method: 'GET', agent, headers: options.headers ?? {} }, (res) => {
      let bytes = 0;
      res.on('data', (chunk: Buffer) => (bytes += chunk.length));
      res.on('error', (err: NodeJS.ErrnoException) => done(res.statusCode ?? 0, bytes, err.code ?? err.message));
      res.on('end', () => done(res.statusCode ?? 0, bytes, res.statusCode === 200 ? undefined : `status ${res.statusCode}`));
    });
    const timer = setTimeout(() => {
      done(0, 0, 'timeout');
      req.destroy();
    }, options.timeoutMs);
    req.on('error', (err: NodeJS.ErrnoException) => done(0, 0, err.code ?? err.message));
    req.end();
  });
}

/** Runs the schedule to its end and waits for every request to finish or time out. */
export async function runOpenLoop(options: OpenLoopOptions): Promise<OpenLoopResult> {
  if (!(options.perSecond > 0) || !(options.seconds > 0)) throw new Error(`open loop: perSecond (${options.perSecond}) and seconds (${options.seconds}) must be > 0`);
  const gapMs = 1000 / options.perSecond;
  const total = Math.round(options.perSecond * options.seconds);
  // Keep-alive, as scrapers keep their connections, with as many sockets as requests in flight.
  const agent = new Agent({ keepAlive: true, maxSockets: Infinity });
  const pending: Array<Promise<PullRecord>> = [];
  let inFlight = 0;
  let maxInFlight = 0;
  const first = performance.now();
  try {
    for (let i = 0; i < total; i++) {
      const dueMs = i * gapMs;
      const wait = first + dueMs - performance.now();
      if (wait > 0) await sleep(wait);
      const lagMs = Math.max(0, performance.now() - first - dueMs);
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      pending.push(
        pullOnce(options.url, agent, options).then((r) => {
          inFlight--;
          return { dueMs, lagMs, ...r };
        }),
      );
    }
    const pulls = await Promise.all(pending);
    return { pulls, maxInFlight, wallMs: performance.now() - first };
  } finally {
    agent.destroy();
  }
}
