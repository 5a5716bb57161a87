// The nodemeter side of bench/hostpath.bench.ts: a long-lived Node process holding one WalkPool
// that walks on request (IPC from the benchmark) and reports, per walk, its own wall time, its
// process.cpuUsage() delta (getrusage(RUSAGE_SELF): every thread of this process, the walk
// threads included) and the event-loop delay of its main thread while the walk ran. Node's
// start-up and module loading happen once, before the first walk, and are in no figure.
// Run by the benchmark: node bench/lib/walk-child.ts <threads> <delay resolution ms> <scanner>, with an
// IPC channel. Import only types from here: importing a value would run the child in the importer.
import { monitorEventLoopDelay, performance, type ELDHistogram } from 'node:perf_hooks';

import { WalkPool, type WalkOutcome } from '../../receivers/hostpath/walk-pool.ts';

export type ChildRequest =
  | { readonly type: 'walk'; readonly id: number; readonly root: string }
  | { readonly type: 'shutdown' };

export interface DelayStats {
  /** Samples (one per timer tick that ran). */
  count: number;
  minMs: number;
  maxMs: number;
  meanMs: number;
  p50Ms: number;
  p99Ms: number;
}

export type ChildReply =
  | { readonly type: 'ready'; readonly pid: number; readonly threads: number }
  | {
      readonly type: 'walked';
      readonly id: number;
      readonly outcome: WalkOutcome;
      /** Around `await pool.walk()`, ms. */
      readonly wallMs: number;
      readonly userMs: number;
      readonly systemMs: number;
      readonly delay: DelayStats;
    }
  | { readonly type: 'error'; readonly message: string };

function stats(h: ELDHistogram): DelayStats {
  const ms = (ns: number): number => ns / 1e6;
  return {
    count: h.count,
    minMs: h.count === 0 ? 0 : ms(h.min),
    maxMs: ms(h.max),
    meanMs: h.count === 0 ? 0 : ms(h.mean),
    p50Ms: ms(h.percentile(50)),
    p99Ms: ms(h.percentile(99)),
  };
}

function send(reply: ChildReply): void {
  process.send?.(reply);
}

function main(): void {
  if (process.send === undefined) throw new Error('walk-child.ts is started by bench/hostpath.bench.ts with an IPC channel');
  const threads = Number(process.argv[2]);
  const resolution = Number(process.argv[3]);
  if (!Number.isInteger(threads) || threads < 1) throw new Error(`threads must be a positive integer, got ${process.argv[2]}`);
  if (!Number.isInteger(resolution) || resolution < 1) throw new Error(`the delay resolution must be a positive integer (ms), got ${process.argv[3]}`);
  const scanner = process.argv[4];
  if (scanner !== 'native' && scanner !== 'node-fs') throw new Error(`the scanner must be native or node-fs, got ${process.argv[4]}`);
  const pool = new WalkPool({ threads, scanner });
  // Samples the interval between ticks of a `resolution` ms timer: an idle loop records
  // ≈ resolution, a loop blocked for B ms records up to resolution + B. Reset for every walk (only
  // reset() forgets the last tick: re-enabling alone would record the whole pause as one sample),
  // so it holds one walk's samples. An ELDHistogram cannot be added to another histogram, so the
  // benchmark combines the walks' statistics itself.
  const delay = monitorEventLoopDelay({ resolution });
  let queue = Promise.resolve();

  const serve = async (req: ChildRequest): Promise<void> => {
    if (req.type === 'walk') {
      delay.reset();
      delay.enable();
      const cpu = process.cpuUsage();
      const started = performance.now();
      const outcome = await pool.walk(req.root, { timeoutMs: 0, maxEntries: 0 });
      const wallMs = performance.now() - started;
      const used = process.cpuUsage(cpu);
      delay.disable();
      send({ type: 'walked', id: req.id, outcome, wallMs, userMs: used.user / 1000, systemMs: used.system / 1000, delay: stats(delay) });
    } else {
      await pool.shutdown();
      process.disconnect();
    }
  };

  const handle = async (req: ChildRequest): Promise<void> => {
    try {
      await serve(req);
    } catch (err) {
      send({ type: 'error', message: err instanceof Error ? (err.stack ?? err.message) : String(err) });
    }
  };

  // One request at a time, in order (the benchmark sends one and waits anyway).
  process.on('message', (req: ChildRequest) => {
    queue = queue.then(() => handle(req));
  });
  // The benchmark went away (ended, or was killed): nothing to report to any more.
  process.on('disconnect', () => process.exit(0));
  send({ type: 'ready', pid: process.pid, threads });
}

try {
  main();
} catch (err) {
  process.stderr.write(`walk-child: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
}
