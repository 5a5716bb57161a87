// Stand-in for fs.statfsSync inside the real statfs worker (its `statfsModule` seam): a path
// that is a FIFO blocks the thread in open(2) — a real syscall that terminate() cannot
// interrupt, like statfs on a hung mount — until the test opens the FIFO for writing; it then
// answers with the statfs of the FIFO's directory.
import { closeSync, openSync, statSync, statfsSync, type StatsFs } from 'node:fs';
import { dirname } from 'node:path';

export function statfs(path: string): StatsFs {
  if (!statSync(path, { throwIfNoEntry: false })?.isFIFO()) return statfsSync(path);
  closeSync(openSync(path, 'r'));
  return statfsSync(dirname(path));
}
