// From a benchmark's results object (what it writes to bench/results/<name>-<date>.json) to the
// report's rows. A benchmark that returns `reportRows` (the common shape, ReportRow[]) is taken as
// it is; the older ones are read here, field by field, so their results files keep their shape.
// A field that is missing shows as `-` in the table rather than failing the whole report.
import type { ReportRow } from './report-markdown.ts';

type Json = Record<string, unknown>;

/** The number at a dotted path (`a.b.c`), null when any step is missing or not a number. */
export function numberAt(obj: unknown, path: string): number | null {
  let at: unknown = obj;
  for (const key of path.split('.')) {
    if (at === null || typeof at !== 'object') return null;
    at = (at as Json)[key];
  }
  return typeof at === 'number' && Number.isFinite(at) ? at : null;
}

function stringAt(obj: unknown, path: string): string | undefined {
  let at: unknown = obj;
  for (const key of path.split('.')) {
    if (at === null || typeof at !== 'object') return undefined;
    at = (at as Json)[key];
  }
  return typeof at === 'string' ? at : undefined;
}

function filesystemRows(r: Json): ReportRow[] {
  const peer = `node_exporter ${stringAt(r, 'versions.nodeExporter') ?? ''} (filesystem collector)`.replace('  ', ' ');
  const b = `filesystem (${numberAt(r, 'parameters.mounts') ?? '?'} mounts)`;
  const row = (measure: string, path: string, better: ReportRow['better'] = 'lower', decimals?: number): ReportRow => ({
    benchmark: b,
    measure,
    nodemeter: numberAt(r, `nodemeter.${path}`),
    peer,
    peerValue: numberAt(r, `nodeExporter.${path}`),
    better,
    ...(decimals === undefined ? {} : { decimals }),
  });
  return [
    row('mounts reported', 'series.tmpfsMounts', 'higher', 0),
    row('scrape wall ms, median', 'wallMs.median'),
    row('scrape wall ms, p90', 'wallMs.p90'),
    row('CPU ms per scrape', 'cpuMsPerScrape'),
    row('RSS MiB, idle', 'rssMiB.afterIdle'),
    row('RSS MiB, after the scrapes', 'rssMiB.afterScrapes'),
    row('start → ready ms', 'readyMs'),
  ];
}

function hostpathRows(r: Json): ReportRow[] {
  const peer = `du -s -x (GNU coreutils ${(stringAt(r, 'versions.du') ?? '').replace(/^du \(GNU coreutils\) /, '')})`;
  const sizes = Array.isArray(r.sizes) ? (r.sizes as Json[]) : [];
  const wallBound = numberAt(r, 'targets.wallRatio');
  const cpuBound = numberAt(r, 'targets.cpuRatio');
  const rssBound = numberAt(r, 'targets.rssGrowthMiB');
  return sizes.flatMap((s): ReportRow[] => {
    const b = `hostpath walk (${(numberAt(s, 'files') ?? 0).toLocaleString('en-US')} files, ${stringAt(r, 'parameters.scanner') ?? 'native'})`;
    return [
      {
        benchmark: b,
        measure: 'walk wall ms, median',
        nodemeter: numberAt(s, 'nodemeter.wallMs.median'),
        peer,
        peerValue: numberAt(s, 'du.wallMs.median'),
        better: 'lower',
        ...(wallBound === null ? {} : { target: { of: 'ratio', kind: 'atMost', bound: wallBound } }),
      },
      {
        benchmark: b,
        measure: 'walk CPU ms, median',
        nodemeter: numberAt(s, 'nodemeter.cpuMs.median'),
        peer,
        peerValue: numberAt(s, 'du.cpuMs.median'),
        better: 'lower',
        ...(cpuBound === null ? {} : { target: { of: 'ratio', kind: 'atMost', bound: cpuBound } }),
      },
      { benchmark: b, measure: 'peak RSS MiB (whole process)', nodemeter: numberAt(s, 'nodemeter.rssMiB.peak'), peer, peerValue: numberAt(s, 'du.maxRssMiB.median'), better: 'lower' },
      {
        benchmark: b,
        measure: 'RSS growth MiB during the walks',
        nodemeter: numberAt(s, 'nodemeter.rssMiB.growth'),
        peer: null,
        peerValue: null,
        better: 'lower',
        ...(rssBound === null ? {} : { target: { of: 'nodemeter', kind: 'atMost', bound: rssBound, unit: ' MiB' } }),
      },
    ];
  });
}

function dockerRows(r: Json): ReportRow[] {
  const peer = `docker stats --no-stream (dockerd ${(stringAt(r, 'versions.dockerd') ?? '').split(' ')[0]})`;
  const b = `docker (${numberAt(r, 'parameters.containers') ?? '?'} containers)`;
  const runs = (tool: string, path: string): number | null => numberAt((r.runs as Json | undefined)?.[tool], path);
  const apiBound = numberAt(r, 'targets.apiWallRatio.target');
  const cgroupBound = numberAt(r, 'targets.cgroupWallMs.target');
  return [
    {
      benchmark: b,
      measure: 'API source: collection wall ms, median',
      nodemeter: runs('nodemeter api', 'wallMs.median'),
      peer,
      peerValue: runs('docker stats', 'wallMs.median'),
      better: 'lower',
      ...(apiBound === null ? {} : { target: { of: 'ratio', kind: 'atMost', bound: apiBound } }),
    },
    { benchmark: b, measure: 'API source: client CPU ms, median', nodemeter: runs('nodemeter api', 'cpuMs.median'), peer, peerValue: runs('docker stats', 'cpuMs.median'), better: 'lower' },
    { benchmark: b, measure: 'API source: dockerd CPU ms, median', nodemeter: runs('nodemeter api', 'daemonCpuMs.median'), peer, peerValue: runs('docker stats', 'daemonCpuMs.median'), better: 'lower' },
    {
      benchmark: b,
      measure: 'cgroup source: collection wall ms, median',
      nodemeter: runs('nodemeter cgroup', 'wallMs.median'),
      peer,
      peerValue: runs('docker stats', 'wallMs.median'),
      better: 'lower',
      ...(cgroupBound === null ? {} : { target: { of: 'nodemeter', kind: 'atMost', bound: cgroupBound, unit: ' ms' } }),
    },
    { benchmark: b, measure: 'cgroup source: client CPU ms, median', nodemeter: runs('nodemeter cgroup', 'cpuMs.median'), peer, peerValue: runs('docker stats', 'cpuMs.median'), better: 'lower' },
  ];
}

function podscrapeRows(r: Json): ReportRow[] {
  const peer = `Prometheus ${stringAt(r, 'versions.prometheus') ?? ''}`.trim();
  const b = `podscrape (${numberAt(r, 'parameters.targets') ?? '?'} targets, ${(numberAt(r, 'parameters.samples') ?? 0).toLocaleString('en-US')} series)`;
  const phases = Array.isArray(r.phases) ? (r.phases as Json[]) : [];
  const rows = phases.flatMap((p): ReportRow[] => {
    const encoding = stringAt(p, 'encoding') ?? '?';
    // The key holds a dot (`pullWallMs.identity`), so it is looked up as one key.
    const bound = numberAt((r.targets as Json | undefined)?.[`pullWallMs.${encoding}`], 'target');
    return [
      {
        benchmark: b,
        measure: `${encoding}: pull wall ms vs Σ scrape_duration per round, median`,
        nodemeter: numberAt(p, 'nodemeter.wallMs.median'),
        peer,
        peerValue: numberAt(p, 'prometheus.scrapeDurationSumMsPerRound.median'),
        better: 'lower',
        ...(bound === null ? {} : { target: { of: 'nodemeter', kind: 'atMost', bound, unit: ' ms' } }),
      },
      { benchmark: b, measure: `${encoding}: CPU ms per pull vs per round`, nodemeter: numberAt(p, 'nodemeter.cpuMs.median'), peer, peerValue: numberAt(p, 'prometheus.cpuMsPerRound'), better: 'lower' },
      { benchmark: b, measure: `${encoding}: RSS MiB (process)`, nodemeter: numberAt(p, 'nodemeter.peakMiB.median'), peer, peerValue: numberAt(p, 'prometheus.rssMiB'), better: 'lower' },
    ];
  });
  const growthBound = numberAt((r.targets as Json | undefined)?.rssGrowthPerPayload, 'target');
  rows.push({
    benchmark: b,
    measure: 'RSS growth during a pull ÷ payload bytes',
    nodemeter: numberAt(r, 'rssGrowth.perPayload'),
    peer: null,
    peerValue: null,
    better: 'lower',
    ...(growthBound === null ? {} : { target: { of: 'nodemeter', kind: 'atMost', bound: growthBound, unit: '×' } }),
  });
  return rows;
}

function parserRows(r: Json): ReportRow[] {
  const peer = `parse-prometheus-text-format ${stringAt(r, 'versions.parse-prometheus-text-format') ?? ''}`.trim();
  const b = `parser (${(numberAt(r, 'parameters.samplesPerRun') ?? 0).toLocaleString('en-US')} samples, one core)`;
  const bound = numberAt(r, 'targets.samplesPerSecond.target');
  return [
    {
      benchmark: b,
      measure: 'samples/s per CPU second, Buffer input',
      nodemeter: numberAt(r, 'figures.nodemeterBuffer.samplesPerSecondCpu'),
      peer,
      peerValue: numberAt(r, 'figures.parsePrometheusTextFormatBuffer.samplesPerSecondCpu'),
      better: 'higher',
      ...(bound === null ? {} : { target: { of: 'nodemeter', kind: 'atLeast', bound, unit: '/s' } }),
    },
    {
      benchmark: b,
      measure: 'samples/s per CPU second, string input',
      nodemeter: numberAt(r, 'figures.nodemeterString.samplesPerSecondCpu'),
      peer,
      peerValue: numberAt(r, 'figures.parsePrometheusTextFormatString.samplesPerSecondCpu'),
      better: 'higher',
    },
  ];
}

/** bench/load.bench.ts: nodemeter alone under an open loop of pulls; no peer, so no ratio. */
function loadRows(r: Json): ReportRow[] {
  const o = (k: string): string => (numberAt(r, `options.${k}`) ?? '?').toLocaleString('en-US');
  const b = `load (${o('volumes')} volumes, ${o('containers')} containers, ${o('targets')} targets, ${o('pullsPerSecond')} pulls/s for ${o('seconds')} s)`;
  const alone = (measure: string, value: number | null, decimals?: number): ReportRow => ({ benchmark: b, measure, nodemeter: value, peer: null, peerValue: null, better: 'lower', ...(decimals === undefined ? {} : { decimals }) });
  const bytes = numberAt(r, 'agent.peakRssBytes');
  return [
    alone('pull latency ms, p50', numberAt(r, 'latencyMs.p50')),
    alone('pull latency ms, p90', numberAt(r, 'latencyMs.p90')),
    alone('pull latency ms, p99', numberAt(r, 'latencyMs.p99')),
    alone(`failed pulls (of ${(numberAt(r, 'pulls.scheduled') ?? '?').toLocaleString('en-US')})`, numberAt(r, 'pulls.errors'), 0),
    alone('agent CPU, % of one core', numberAt(r, 'agent.cpuPercentOfOneCore')),
    alone('agent peak RSS MiB', bytes === null ? null : Math.round((bytes / 1048576) * 10) / 10),
  ];
}

const EXTRACTORS: Record<string, (r: Json) => ReportRow[]> = {
  filesystem: filesystemRows,
  hostpath: hostpathRows,
  docker: dockerRows,
  podscrape: podscrapeRows,
  parser: parserRows,
  load: loadRows,
};

function isRow(v: unknown): v is ReportRow {
  const r = v as ReportRow;
  return r !== null && typeof r === 'object' && typeof r.benchmark === 'string' && typeof r.measure === 'string' && (r.better === 'lower' || r.better === 'higher');
}

/** The report rows of one benchmark's results object. */
export function rowsFor(name: string, result: Json): ReportRow[] {
  const own = result.reportRows;
  if (Array.isArray(own)) {
    const bad = own.findIndex((r) => !isRow(r));
    if (bad !== -1) throw new Error(`${name}: reportRows[${bad}] is not a report row (benchmark, measure, better, figures): ${JSON.stringify(own[bad])}`);
    return own as ReportRow[];
  }
  const extract = EXTRACTORS[name];
  if (extract === undefined) throw new Error(`${name}: its results carry no reportRows and there is no reader for them in bench/lib/report-rows.ts`);
  return extract(result);
}
