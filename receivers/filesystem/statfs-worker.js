// statfs worker thread (protocol: worker-protocol.ts). Plain JavaScript on purpose: a .ts
// worker loads Node's type stripper into every thread, about 11 MB each.
// statfsSync blocks this thread only; async fs.statfs would block one of libuv's four shared
// pool threads, and with it every other file operation of the agent, for as long as a mount hangs.
import { statfsSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { parentPort, workerData } from 'node:worker_threads';

const port = parentPort;
if (!port) throw new Error('statfs-worker.js must run as a worker thread');

// Test seam: a module whose `statfs(path)` stands in for fs.statfsSync (testdata/fifo-statfs.ts
// blocks on FIFOs), so tests drive this very loop rather than a copy of it.
/** @type {(path: string) => import('node:fs').StatsFs} */
const statfs = workerData?.statfsModule ? (await import(workerData.statfsModule)).statfs : statfsSync;

// Repeated from worker-protocol.ts (a .js worker cannot import .ts).
const NEXT = 0;
const COMPLETED = 1;
const STARTED = 1;
const OK = 2;
const ERRNO = 3;
const FAILED = 4;
const ABANDONED = 5;
const STATS_FIELDS = 7;

port.on('message', (/** @type {import('./worker-protocol.ts').RoundMessage} */ msg) => {
  const { buffer, layout, member } = msg;
  const n = layout.n;
  const paths = msg.paths.split('\0');
  const control = new Int32Array(buffer, 0, 2);
  const status = new Int32Array(buffer, layout.status, n);
  const owner = new Int32Array(buffer, layout.owner, n);
  const errno = new Int32Array(buffer, layout.errno, n);
  const started = new Float64Array(buffer, layout.started, n);
  const stats = new Float64Array(buffer, layout.stats, n * STATS_FIELDS);
  for (;;) {
    const i = Atomics.add(control, NEXT, 1);
    if (i >= n) break;
    owner[i] = member;
    started[i] = performance.timeOrigin + performance.now();
    // Publishes owner and start time: the pool reads them only after seeing STARTED.
    Atomics.store(status, i, STARTED);
    let code = OK;
    try {
      const s = statfs(/** @type {string} */ (paths[i]));
      const o = i * STATS_FIELDS;
      stats[o] = s.type;
      stats[o + 1] = s.bsize;
      stats[o + 2] = s.blocks;
      stats[o + 3] = s.bfree;
      stats[o + 4] = s.bavail;
      stats[o + 5] = s.files;
      stats[o + 6] = s.ffree;
    } catch (err) {
      const e = /** @type {NodeJS.ErrnoException} */ (err);
      if (typeof e.errno === 'number') {
        errno[i] = e.errno;
        code = ERRNO;
      } else {
        code = FAILED;
      }
    }
    if (Atomics.compareExchange(status, i, STARTED, code) === ABANDONED) {
      // The pool timed this call out and set this thread aside: the rest of the round is
      // someone else's. Say the mount answers again and wait for orders.
      port.postMessage({ type: 'recovered' });
      return;
    }
    Atomics.add(control, COMPLETED, 1);
  }
  port.postMessage({ type: 'done', round: msg.round });
});
port.postMessage({ type: 'ready' });
