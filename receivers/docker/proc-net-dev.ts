import type { NetworkSample, SampleProblem } from './container-sample.ts';
import { lineProblem, parseUint, splitFields } from './cgroup-files.ts';

/** Counters after `iface:`: 8 receive ones, then 8 transmit ones. */
const COLUMNS = 16;
/** The columns kept, as indexes into the counters, and their names for problem messages. */
const USED = [0, 1, 2, 3, 8, 9, 10, 11] as const;
const USED_NAMES = ['rx_bytes', 'rx_packets', 'rx_errs', 'rx_drop', 'tx_bytes', 'tx_packets', 'tx_errs', 'tx_drop'] as const;

/**
 * Parses /proc/<pid>/net/dev (the interfaces of that process's network namespace), loopback left
 * out. Two header lines, then `iface: rx_bytes rx_packets rx_errs rx_drop rx_fifo rx_frame
 * rx_compressed rx_multicast tx_bytes tx_packets tx_errs tx_drop tx_fifo tx_colls tx_carrier
 * tx_compressed`. The name is right-aligned and the colon may touch the first number (old kernels
 * printed `%6s:%8lu`). An interface whose line is malformed is left out and reported.
 */
export function parseNetDev(text: string, source: string, problems: SampleProblem[]): NetworkSample[] {
  const result: NetworkSample[] = [];
  const lines = text.split('\n');
  for (let i = 2; i < lines.length; i++) {
    const line = lines[i] as string;
    if (line === '') continue;
    const colon = line.indexOf(':');
    const name = colon < 0 ? '' : line.slice(0, colon).trim();
    if (name === '') {
      problems.push(lineProblem(source, i, line, 'expected "<interface>: <counters>"'));
      continue;
    }
    if (name === 'lo') continue;
    const fields = splitFields(line.slice(colon + 1));
    if (fields.length < COLUMNS) {
      problems.push(lineProblem(source, i, line, `expected ${COLUMNS} counters, found ${fields.length}`));
      continue;
    }
    const v: number[] = [];
    let bad: string | undefined;
    for (let c = 0; c < USED.length && bad === undefined; c++) {
      const value = parseUint(fields[USED[c] as number] as string);
      if (value === undefined) bad = USED_NAMES[c];
      else v.push(value);
    }
    if (bad !== undefined) {
      problems.push(lineProblem(source, i, line, `${bad} is not a decimal integer`));
      continue;
    }
    result.push({
      interface: name,
      receiveBytes: v[0] as number,
      receivePackets: v[1] as number,
      receiveErrors: v[2] as number,
      receiveDropped: v[3] as number,
      transmitBytes: v[4] as number,
      transmitPackets: v[5] as number,
      transmitErrors: v[6] as number,
      transmitDropped: v[7] as number,
    });
  }
  return result;
}
