// The benchmark report writer (bench/lib/report-markdown.ts) and the readers that turn each
// benchmark's results object into report rows (bench/lib/report-rows.ts).
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';

import { formatFigure, formatRatio, renderReport, rowRatio, rowVerdict, type BenchOutcome, type MachineDescription, type ReportRow } from '../bench/lib/report-markdown.ts';
import { numberAt, rowsFor } from '../bench/lib/report-rows.ts';

const MACHINE: MachineDescription = {
  cpu: 'Test CPU Model 9000',
  cores: 2,
  memoryMiB: 24152,
  kernel: '6.1.0-test',
  os: 'Debian GNU/Linux 12 (bookworm) (12.11)',
  node: 'v24.21.0',
  nodemeter: 'abc1234',
  peers: { node_exporter: '1.5.0', 'GNU du': '9.1', dockerd: 'not installed' },
};

function row(partial: Partial<ReportRow>): ReportRow {
  return { benchmark: 'b', measure: 'm', nodemeter: 1, peer: 'peer 1.0', peerValue: 1, better: 'lower', ...partial };
}

/** The cells of the results table's line whose measure cell starts with `measure`. */
function cells(markdown: string, measure: string): string[] {
  const line = markdown.split('\n').find((l) => l.startsWith('| ') && l.split(' | ')[1]?.startsWith(measure));
  assert.ok(line !== undefined, `no table line for ${measure} in:\n${markdown}`);
  return line
    .slice(2, -2)
    .split(' | ')
    .map((c) => c.trim());
}

function report(outcomes: BenchOutcome[], quick = false): string {
  return renderReport({ date: new Date('2026-11-22T10:00:00Z'), quick, command: 'npm run bench', machine: MACHINE, outcomes });
}

describe('benchmark report', () => {
  it('computes the ratio nodemeter ÷ peer in each row', () => {
    const md = report([
      {
        name: 'filesystem',
        parameters: '1000 mounts',
        seconds: 42,
        rows: [row({ benchmark: 'filesystem', measure: 'scrape wall ms, median', nodemeter: 17, peerValue: 34 }), row({ measure: 'samples/s', nodemeter: 2_500_000, peerValue: 400_000, better: 'higher' })],
      },
    ]);
    assert.deepEqual(cells(md, 'scrape wall ms'), ['filesystem', 'scrape wall ms, median ↓', '17', 'peer 1.0', '34', '0.50×', '', '']);
    assert.deepEqual(cells(md, 'samples/s').slice(1, 6), ['samples/s ↑', '2,500,000', 'peer 1.0', '400,000', '6.25×']);
  });

  it('shows a missing peer or figure as -, and no ratio', () => {
    const md = report([
      {
        name: 'hostpath',
        parameters: 'x',
        seconds: 1,
        rows: [row({ measure: 'RSS growth MiB', nodemeter: 36.1, peer: null, peerValue: null }), row({ measure: 'peer failed', nodemeter: 5, peerValue: null }), row({ measure: 'zero peer', nodemeter: 5, peerValue: 0 })],
      },
    ]);
    assert.deepEqual(cells(md, 'RSS growth').slice(2, 6), ['36.1', '-', '-', '-']);
    assert.deepEqual(cells(md, 'peer failed').slice(2, 6), ['5', 'peer 1.0', '-', '-']);
    assert.equal(cells(md, 'zero peer')[5], '-');
    assert.equal(rowRatio(row({ nodemeter: null, peerValue: 3 })), null);
  });

  it('describes the machine and every peer version', () => {
    const md = report([]);
    for (const text of ['Test CPU Model 9000, 2 cores', '24,152 MiB', '6.1.0-test', 'Debian GNU/Linux 12 (bookworm) (12.11)', 'v24.21.0', '| node_exporter | 1.5.0 |', '| GNU du | 9.1 |', '| dockerd | not installed |', 'nodemeter abc1234']) {
      assert.ok(md.includes(text), `missing ${JSON.stringify(text)} in:\n${md}`);
    }
  });

  it('says so when the run was quick, and only then', () => {
    assert.match(report([], true), /^# nodemeter benchmarks, 2026-11-22 \(QUICK run\)$/m);
    assert.match(report([], true), /\*\*Quick run\*\*/);
    assert.doesNotMatch(report([], false), /quick/i);
  });

  it('checks targets on the ratio or on nodemeter’s own figure, either way', () => {
    const ratioTarget = row({ nodemeter: 120, peerValue: 240, target: { of: 'ratio', kind: 'atMost', bound: 0.8 } });
    assert.deepEqual(rowVerdict(ratioTarget), { target: 'ratio ≤ 0.80', result: 'PASS' });
    assert.deepEqual(rowVerdict({ ...ratioTarget, nodemeter: 200 }), { target: 'ratio ≤ 0.80', result: 'FAIL' });
    const floor = row({ nodemeter: 900_000, peer: null, peerValue: null, better: 'higher', target: { of: 'nodemeter', kind: 'atLeast', bound: 1_000_000, unit: '/s' } });
    assert.deepEqual(rowVerdict(floor), { target: '≥ 1,000,000/s', result: 'FAIL' });
    assert.equal(rowVerdict({ ...floor, nodemeter: 1_000_000 }).result, 'PASS');
    assert.equal(rowVerdict({ ...ratioTarget, peerValue: null }).result, 'n/a');
    assert.deepEqual(rowVerdict(row({})), { target: '', result: '' });
    const md = report([{ name: 'docker', parameters: 'x', seconds: 1, rows: [{ ...ratioTarget, measure: 'API wall' }] }]);
    assert.deepEqual(cells(md, 'API wall').slice(5), ['0.50×', 'ratio ≤ 0.80', 'PASS']);
  });

  it('lists failed and skipped benchmarks with the reason, and escapes table cells', () => {
    const md = report([
      { name: 'docker', parameters: '5 containers', seconds: 3, rows: [], error: 'dockerd did not start: no overlay\nsecond line' },
      { name: 'load', parameters: '-', seconds: 0, rows: [], skipped: 'bench/load.bench.ts does not exist yet' },
      { name: 'parser', parameters: 'a | b', seconds: 75, rows: [row({ measure: 'odd | measure' })], resultsFile: 'bench/results/parser-2026-11-22.json' },
    ]);
    assert.match(md, /^\| docker \| FAILED \(see below\) \|/m);
    assert.match(md, /^- \*\*docker\*\*: dockerd did not start: no overlay$/m);
    assert.match(md, /^\| load \| - \| 0 s \| - \| skipped: bench\/load\.bench\.ts does not exist yet \|$/m);
    assert.match(md, /^\| parser \| a \\\| b \| 1 min 15 s \| bench\/results\/parser-2026-11-22\.json \| ok \|$/m);
    assert.match(md, /\| odd \\\| measure ↓ \|/);  });

  it('rounds a benchmark\'s duration before splitting it into minutes and seconds', () => {
    const took = (seconds: number): string | undefined =>
      /^\| podscrape \| - \| ([^|]+) \|/m.exec(report([{ name: 'podscrape', parameters: '-', seconds, rows: [] }]))?.[1]?.trim();
    assert.equal(took(119.6), '2 min 0 s');
    assert.equal(took(59.6), '1 min 0 s');
    assert.equal(took(59.4), '59 s');
    assert.equal(took(125.2), '2 min 5 s');
  });

  it('formats figures and ratios readably', () => {
    assert.equal(formatFigure(2509379), '2,509,379');
    assert.equal(formatFigure(16.938), '16.9');
    assert.equal(formatFigure(9.2), '9.20');
    assert.equal(formatFigure(null), '-');
    assert.equal(formatFigure(NaN), '-');
    assert.equal(formatFigure(1234.5, 2), '1,234.50');
    assert.equal(formatRatio(0.0047), '0.0047×');
    assert.equal(formatRatio(6.53), '6.53×');
    assert.equal(formatRatio(null), '-');
  });
});

describe('report rows from results objects', () => {
  it('takes a benchmark’s own reportRows as they are, and refuses malformed ones by index', () => {
    const rows = [row({ benchmark: 'exposition', measure: 'pull wall ms' })];
    assert.deepEqual(rowsFor('exposition', { reportRows: rows }), rows);
    assert.throws(() => rowsFor('load', { reportRows: [rows[0], { benchmark: 'load' }] }), /load: reportRows\[1\] is not a report row/);
    assert.throws(() => rowsFor('mystery', { figures: {} }), /mystery: its results carry no reportRows/);
  });

  it('reads the filesystem results: nodemeter against node_exporter, field by field', () => {
    const result = {
      versions: { nodeExporter: '1.5.0' },
      parameters: { mounts: 1000 },
      nodemeter: { wallMs: { median: 17, p90: 50 }, cpuMsPerScrape: 18.8, rssMiB: { afterIdle: 115, afterScrapes: 217 }, readyMs: 220, series: { tmpfsMounts: 1000 } },
      nodeExporter: { wallMs: { median: 34, p90: 54 }, cpuMsPerScrape: 32.2, rssMiB: { afterIdle: 22.4, afterScrapes: 26.5 }, readyMs: 72.6, series: { tmpfsMounts: 1000 } },
    };
    const rows = rowsFor('filesystem', result);
    const wall = rows.find((r) => r.measure === 'scrape wall ms, median');
    assert.ok(wall !== undefined);
    assert.equal(wall.benchmark, 'filesystem (1000 mounts)');
    assert.equal(wall.peer, 'node_exporter 1.5.0 (filesystem collector)');
    assert.equal(rowRatio(wall), 0.5);
    // A field the results lack shows as unknown, not as a crash.
    const partial = rowsFor('filesystem', { ...result, nodemeter: {} });
    assert.ok(partial.every((r) => r.nodemeter === null));
  });

  it('reads targets with a dot in their key (podscrape) and ≥ targets (parser)', () => {
    const podscrape = rowsFor('podscrape', {
      parameters: { targets: 2, samples: 2000 },
      versions: { prometheus: '2.42.0' },
      phases: [{ encoding: 'gzip', nodemeter: { wallMs: { median: 500 }, cpuMs: { median: 600 }, peakMiB: { median: 200 } }, prometheus: { scrapeDurationSumMsPerRound: { median: 400 }, cpuMsPerRound: 500, rssMiB: 440 } }],
      targets: { 'pullWallMs.gzip': { target: 1500, value: 500, pass: true }, rssGrowthPerPayload: { target: 3, value: 2.5, pass: true } },
      rssGrowth: { perPayload: 2.5 },
    });
    const pull = podscrape.find((r) => r.measure.startsWith('gzip: pull wall'));
    assert.ok(pull !== undefined, 'no gzip pull row');
    assert.deepEqual(pull.target, { of: 'nodemeter', kind: 'atMost', bound: 1500, unit: ' ms' });
    assert.equal(rowVerdict(pull).result, 'PASS');
    const parser = rowsFor('parser', {
      parameters: { samplesPerRun: 200_000 },
      figures: { nodemeterBuffer: { samplesPerSecondCpu: 900_000 }, parsePrometheusTextFormatBuffer: { samplesPerSecondCpu: 380_000 } },
      targets: { samplesPerSecond: { target: 1_000_000, value: 900_000, pass: false } },
    });
    assert.equal(rowVerdict(parser[0] as ReportRow).result, 'FAIL');
  });

  it('finds every figure in the latest committed results file of each older benchmark', () => {
    const dir = join(import.meta.dirname, '..', 'bench', 'results');
    for (const name of ['filesystem', 'hostpath', 'docker', 'podscrape', 'parser']) {
      const files = readdirSync(dir)
        .filter((f) => new RegExp(`^${name}-\\d{4}-\\d{2}-\\d{2}\\.json$`).test(f))
        .sort();
      const latest = files[files.length - 1];
      assert.ok(latest !== undefined, `no bench/results/${name}-<date>.json`);
      const rows = rowsFor(name, JSON.parse(readFileSync(join(dir, latest), 'utf8')) as Record<string, unknown>);
      assert.ok(rows.length > 0, `${latest}: no rows`);
      for (const r of rows) {
        assert.notEqual(r.nodemeter, null, `${latest}: no nodemeter figure for ${r.measure}`);
        if (r.peer !== null) assert.notEqual(r.peerValue, null, `${latest}: no peer figure for ${r.measure}`);
      }
    }
  });

  it('reads the load results: nodemeter alone, no peer and no ratio', () => {
    const rows = rowsFor('load', {
      options: { volumes: 1000, containers: 100, targets: 50, pullsPerSecond: 20, seconds: 60 },
      pulls: { scheduled: 1200, errors: 3 },
      latencyMs: { p50: 40, p90: 80, p99: 150 },
      agent: { cpuPercentOfOneCore: 35.5, peakRssBytes: 300 * 1048576 },
    });
    assert.equal(rows[0]?.benchmark, 'load (1,000 volumes, 100 containers, 50 targets, 20 pulls/s for 60 s)');
    assert.deepEqual(
      rows.map((r) => [r.measure, r.nodemeter, r.peer, rowRatio(r)]),
      [
        ['pull latency ms, p50', 40, null, null],
        ['pull latency ms, p90', 80, null, null],
        ['pull latency ms, p99', 150, null, null],
        ['failed pulls (of 1,200)', 3, null, null],
        ['agent CPU, % of one core', 35.5, null, null],
        ['agent peak RSS MiB', 300, null, null],
      ],
    );
  });

  it('numberAt follows dotted paths and yields null for anything else', () => {
    assert.equal(numberAt({ a: { b: { c: 3 } } }, 'a.b.c'), 3);
    assert.equal(numberAt({ a: { b: '3' } }, 'a.b'), null);
    assert.equal(numberAt({ a: null }, 'a.b'), null);
    assert.equal(numberAt(undefined, 'a'), null);
  });
});
