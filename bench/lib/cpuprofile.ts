// Summaries of V8 .cpuprofile files (node --cpu-prof): where the sampled time went, by function
// (self time) and by source file (inclusive time), optionally limited to a time window.
import { readFileSync } from 'node:fs';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}

interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

export interface ProfileEntry {
  name: string;
  ms: number;
  percent: number;
}

export interface ProfileSummary {
  file: string;
  /** Sampled time inside the window, in milliseconds (idle excluded). */
  busyMs: number;
  idleMs: number;
  samples: number;
  topSelf: ProfileEntry[];
  /** Inclusive time per source file (a file counted once per sample, however deep). */
  topFiles: ProfileEntry[];
  /** Inclusive time per function (a function counted once per sample, however deep). */
  topInclusive: ProfileEntry[];
  /** Time per bucket of interest (see BUCKETS). */
  buckets: ProfileEntry[];
}

/** Shorten a file URL to something readable: repo-relative or package/file. */
function shortUrl(url: string, repoRoot: string): string {
  if (url === '') return '(native)';
  let u = url.replace(/^file:\/\//, '');
  if (u.startsWith(repoRoot)) u = u.slice(repoRoot.length + 1);
  const nm = u.lastIndexOf('node_modules/');
  if (nm !== -1) u = u.slice(nm + 'node_modules/'.length);
  return u;
}

/**
 * Buckets, first match wins, tested from the innermost frame outwards: a sample counts for the
 * bucket of the nearest frame whose file matches, so time in a library called by the receiver is
 * charged to the library, not the receiver.
 */
const BUCKETS: [string, RegExp][] = [
  ['receivers/filesystem', /^receivers\/filesystem\//],
  ['exporters/prometheus (ours)', /^exporters\/prometheus\//],
  ['pipeline/ (ours)', /^pipeline\//],
  ['@opentelemetry/exporter-prometheus', /^@opentelemetry\/exporter-prometheus\//],
  ['@opentelemetry/sdk-metrics', /^@opentelemetry\/sdk-metrics\//],
  ['other @opentelemetry', /^@opentelemetry\//],
  ['pino (logging)', /^(pino|thread-stream|sonic-boom)/],
  ['node:fs', /^node:(internal\/)?fs/],
  ['node:http / net', /^node:(internal\/)?(_http|http|net|stream|internal\/streams)/],
  ['node: other internals', /^node:/],
  ['other ours', /^(cli|config|kube|processors|receivers|exporters|bin)\//],
];

export function summarizeCpuProfile(
  file: string,
  repoRoot: string,
  window?: { startUs: number; endUs: number },
  top = 20,
): ProfileSummary {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map<number, ProfileNode>();
  const parent = new Map<number, number>();
  for (const node of profile.nodes) {
    byId.set(node.id, node);
    for (const child of node.children ?? []) parent.set(child, node.id);
  }
  // Timestamp of every sample, then each sample's duration = gap to the next one.
  const times: number[] = [];
  let t = profile.startTime;
  for (let i = 0; i < profile.samples.length; i++) {
    t += profile.timeDeltas[i] ?? 0;
    times.push(t);
  }
  const self = new Map<string, number>();
  const files = new Map<string, number>();
  const inclusive = new Map<string, number>();
  const buckets = new Map<string, number>();
  let busy = 0;
  let idle = 0;
  let counted = 0;
  for (let i = 0; i < profile.samples.length; i++) {
    const ts = times[i] as number;
    if (window !== undefined && (ts < window.startUs || ts > window.endUs)) continue;
    const next = i + 1 < times.length ? (times[i + 1] as number) : profile.endTime;
    const dur = Math.max(0, next - ts);
    const leaf = byId.get(profile.samples[i] as number);
    if (leaf === undefined) continue;
    counted++;
    const leafName = leaf.callFrame.functionName;
    if (leafName === '(idle)') {
      idle += dur;
      continue;
    }
    busy += dur;
    const selfKey = `${leafName || '(anonymous)'} ${shortUrl(leaf.callFrame.url, repoRoot)}:${leaf.callFrame.lineNumber + 1}`;
    self.set(selfKey, (self.get(selfKey) ?? 0) + dur);
    const seenFiles = new Set<string>();
    const seenFunctions = new Set<string>();
    let bucket: string | undefined;
    for (let id: number | undefined = leaf.id; id !== undefined; id = parent.get(id)) {
      const node = byId.get(id);
      if (node === undefined) break;
      const url = node.callFrame.url;
      if (url === '') continue;
      const short = shortUrl(url, repoRoot);
      seenFunctions.add(`${node.callFrame.functionName || '(anonymous)'} ${short}:${node.callFrame.lineNumber + 1}`);
      seenFiles.add(short);
      if (bucket === undefined) bucket = BUCKETS.find(([, re]) => re.test(short))?.[0];
    }
    if (bucket === undefined) bucket = leafName.startsWith('(') ? leafName : '(unattributed)';
    buckets.set(bucket, (buckets.get(bucket) ?? 0) + dur);
    for (const f of seenFiles) files.set(f, (files.get(f) ?? 0) + dur);
    for (const f of seenFunctions) inclusive.set(f, (inclusive.get(f) ?? 0) + dur);
  }
  const toEntries = (m: Map<string, number>, limit = top): ProfileEntry[] =>
    [...m.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, limit)
      .map(([name, us]) => ({ name, ms: Math.round(us / 100) / 10, percent: busy === 0 ? 0 : Math.round((1000 * us) / busy) / 10 }));
  return {
    file,
    busyMs: Math.round(busy / 100) / 10,
    idleMs: Math.round(idle / 100) / 10,
    samples: counted,
    topSelf: toEntries(self),
    topFiles: toEntries(files),
    topInclusive: toEntries(inclusive, 40),
    buckets: toEntries(buckets),
  };
}
