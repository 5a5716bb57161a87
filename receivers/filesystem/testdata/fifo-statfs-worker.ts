// Test double for statfs-worker.js: a path that is a FIFO blocks this thread in open(2) — a
// real, uninterruptible-by-terminate syscall, like statfs on a hung mount — until the test
// opens the FIFO for writing; it then answers with the statfs of the FIFO's directory.
import { closeSync, openSync, statSync, statfsSync } from 'node:fs';
import { dirname } from 'node:path';
import { parentPort } from 'node:worker_threads';
import type { StatfsReply, StatfsRequest } from '../worker-protocol.ts';

const port = parentPort;
if (!port) throw new Error('must run as a worker thread');

function reply(msg: StatfsReply): void {
  port?.postMessage(msg);
}

port.on('message', (req: StatfsRequest) => {
  try {
    let target = req.path;
    if (statSync(req.path, { throwIfNoEntry: false })?.isFIFO()) {
      closeSync(openSync(req.path, 'r'));
      target = dirname(req.path);
    }
    const s = statfsSync(target);
    reply({ type: 'result', id: req.id, ok: true, stats: { type: s.type, bsize: s.bsize, blocks: s.blocks, bfree: s.bfree, bavail: s.bavail, files: s.files, ffree: s.ffree } });
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    reply({ type: 'result', id: req.id, ok: false, code: e.code ?? 'EIO', message: e.message });
  }
});
reply({ type: 'ready' });
