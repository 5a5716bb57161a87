// statfs worker thread (protocol: worker-protocol.ts). Plain JavaScript on purpose: a .ts
// worker loads Node's type stripper into every thread, about 11 MB each.
// statfsSync blocks this thread only; async fs.statfs would block one of libuv's four shared
// pool threads, and with it every other file operation of the agent, for as long as a mount hangs.
import { statfsSync } from 'node:fs';
import { parentPort } from 'node:worker_threads';

const port = parentPort;
if (!port) throw new Error('statfs-worker.js must run as a worker thread');

port.on('message', (/** @type {{ id: number, path: string }} */ req) => {
  try {
    const s = statfsSync(req.path);
    port.postMessage({
      type: 'result',
      id: req.id,
      ok: true,
      stats: { type: s.type, bsize: s.bsize, blocks: s.blocks, bfree: s.bfree, bavail: s.bavail, files: s.files, ffree: s.ffree },
    });
  } catch (err) {
    const e = /** @type {NodeJS.ErrnoException} */ (err);
    port.postMessage({ type: 'result', id: req.id, ok: false, code: e.code ?? 'EIO', message: e.message });
  }
});
port.postMessage({ type: 'ready' });
