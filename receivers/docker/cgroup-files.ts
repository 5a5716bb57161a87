// Parsers for the text formats of cgroup pseudo files (cgroup-v2.rst "Interface Files"; v1 stat
// files have the same shapes). They never throw: a bad line becomes a SampleProblem naming the
// file and line, and the values that could be read are still returned.
import type { BlockIoSample, SampleProblem } from './container-sample.ts';

/**
 * Parses an unsigned decimal integer (at most 20 digits, as a u64 prints); undefined for anything
 * else, including signs, spaces and the empty string. Values beyond 2^53 come back rounded to the
 * nearest double: a counter that large has lost its last digits, which metrics tolerate.
 */
export function parseUint(text: string): number | undefined {
  const length = text.length;
  if (length === 0 || length > 20) return undefined;
  let value = 0;
  for (let i = 0; i < length; i++) {
    const digit = text.charCodeAt(i) - 48;
    if (digit < 0 || digit > 9) return undefined;
    value = value * 10 + digit;
  }
  // Past 15 digits the running product may round at each step; Number() rounds once, correctly.
  return length > 15 ? Number(text) : value;
}

/** Splits on runs of spaces and tabs (the kernel pads columns with spaces). */
export function splitFields(line: string): string[] {
  const fields: string[] = [];
  let start = -1;
  const length = line.length;
  for (let i = 0; i <= length; i++) {
    const c = i < length ? line.charCodeAt(i) : 32;
    if (c === 32 || c === 9) {
      if (start >= 0) {
        fields.push(line.slice(start, i));
        start = -1;
      }
    } else if (start < 0) {
      start = i;
    }
  }
  return fields;
}

/** A problem about one line of a file; lines are counted from 1. */
export function lineProblem(source: string, index: number, line: string, what: string): SampleProblem {
  return { source, message: `line ${index + 1} ${JSON.stringify(line)}: ${what}` };
}

/** The text without its single trailing newline. */
function chomp(text: string): string {
  return text.endsWith('\n') ? text.slice(0, -1) : text;
}

/** True when a single-value file holds exactly `word`, e.g. `max` in v2 memory.max. */
export function isWord(text: string, word: string): boolean {
  return chomp(text) === word;
}

/** A file holding one number and a newline (memory.current, pids.current, cpuacct.usage…). */
export function parseSingleValue(text: string, source: string, problems: SampleProblem[]): number | undefined {
  const line = chomp(text);
  if (line === '') {
    problems.push({ source, message: 'file is empty' });
    return undefined;
  }
  const value = parseUint(line);
  if (value === undefined) problems.push(lineProblem(source, 0, line, 'not a decimal integer'));
  return value;
}

/**
 * Reads the wanted keys of a flat-keyed file (`key value` per line: cpu.stat, memory.stat,
 * cpuacct.stat). The result is aligned with `keys`; other lines are not looked at. A wanted key
 * whose line is malformed, or that is absent and not `optional`, is reported.
 */
export function parseFlatKeyed(
  text: string,
  source: string,
  keys: readonly string[],
  problems: SampleProblem[],
  optional?: (key: string) => boolean,
): Array<number | undefined> {
  const values = new Array<number | undefined>(keys.length).fill(undefined);
  const seen = new Array<boolean>(keys.length).fill(false);
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] as string;
    const space = line.indexOf(' ');
    const k = keys.indexOf(space < 0 ? line : line.slice(0, space));
    if (k < 0) continue;
    seen[k] = true;
    const value = space < 0 ? undefined : parseUint(line.slice(space + 1));
    if (value === undefined) problems.push(lineProblem(source, i, line, 'expected "<key> <decimal integer>"'));
    else values[k] = value;
  }
  for (let k = 0; k < keys.length; k++) {
    const key = keys[k] as string;
    if (!seen[k] && !optional?.(key)) problems.push({ source, message: `no "${key}" line` });
  }
  return values;
}

/** `MAJ:MIN` as two numbers, or undefined. */
function parseDevice(text: string): [number, number] | undefined {
  const colon = text.indexOf(':');
  if (colon < 0) return undefined;
  const major = parseUint(text.slice(0, colon));
  const minor = parseUint(text.slice(colon + 1));
  return major === undefined || minor === undefined ? undefined : [major, minor];
}

interface DeviceTotals {
  major: number;
  minor: number;
  readBytes: number;
  writeBytes: number;
}

/**
 * v1 blkio `*io_service_bytes*` files: `MAJ:MIN Op N` lines with Op one of Read, Write, Sync,
 * Async, Discard, Total, then a last `Total N`. Read and Write are summed per device; a device with
 * a malformed line is left out rather than reported with a partial count.
 */
export function parseBlkioServiceBytes(text: string, source: string, problems: SampleProblem[]): BlockIoSample[] {
  const devices = new Map<string, DeviceTotals>();
  const broken = new Set<string>();
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] as string;
    const fields = splitFields(line);
    const first = fields[0];
    if (first === undefined || first === 'Total') continue;
    const device = parseDevice(first);
    if (device === undefined || fields.length !== 3) {
      problems.push(lineProblem(source, i, line, 'expected "<major>:<minor> <operation> <bytes>"'));
      if (device !== undefined) broken.add(first);
      continue;
    }
    const op = fields[1];
    if (op !== 'Read' && op !== 'Write') continue;
    const bytes = parseUint(fields[2] as string);
    if (bytes === undefined) {
      problems.push(lineProblem(source, i, line, 'byte count is not a decimal integer'));
      broken.add(first);
      continue;
    }
    let totals = devices.get(first);
    if (totals === undefined) {
      totals = { major: device[0], minor: device[1], readBytes: 0, writeBytes: 0 };
      devices.set(first, totals);
    }
    if (op === 'Read') totals.readBytes += bytes;
    else totals.writeBytes += bytes;
  }
  const result: BlockIoSample[] = [];
  for (const [key, totals] of devices) if (!broken.has(key)) result.push(totals);
  return result;
}

/**
 * v2 io.stat: `MAJ:MIN rbytes=N wbytes=N rios=N wios=N dbytes=N dios=N` per device. Keys other than
 * rbytes and wbytes (including those iocost or iolatency append) are not looked at.
 */
export function parseIoStat(text: string, source: string, problems: SampleProblem[]): BlockIoSample[] {
  const result: BlockIoSample[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] as string;
    const fields = splitFields(line);
    if (fields.length === 0) continue;
    const device = parseDevice(fields[0] as string);
    let readBytes: number | undefined;
    let writeBytes: number | undefined;
    let bad = device === undefined;
    for (let f = 1; f < fields.length && !bad; f++) {
      const field = fields[f] as string;
      if (field.startsWith('rbytes=')) bad = (readBytes = parseUint(field.slice(7))) === undefined;
      else if (field.startsWith('wbytes=')) bad = (writeBytes = parseUint(field.slice(7))) === undefined;
    }
    if (device === undefined || bad || readBytes === undefined || writeBytes === undefined) {
      problems.push(lineProblem(source, i, line, 'expected "<major>:<minor> rbytes=<n> wbytes=<n> …"'));
      continue;
    }
    result.push({ major: device[0], minor: device[1], readBytes, writeBytes });
  }
  return result;
}
