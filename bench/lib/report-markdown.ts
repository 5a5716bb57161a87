// The one-page benchmark report `npm run bench` writes: the machine, then one table holding, for
// every measure of every benchmark that ran, nodemeter's figure, the peer's figure from the same
// run and their ratio, with the target where the benchmark has one. Pure: no I/O, so a unit test
// can feed it rows and read the table.

/** Which way a figure improves: times, CPU, memory and bytes go down; throughputs go up. */
export type Better = 'lower' | 'higher';

/** A bound a benchmark holds nodemeter to: on its own figure, or on the ratio nodemeter ÷ peer. */
export interface RowTarget {
  of: 'nodemeter' | 'ratio';
  kind: 'atMost' | 'atLeast';
  bound: number;
  /** Shown after the bound, e.g. ` ms`. */
  unit?: string;
}

/** One measure of one benchmark: the common shape every benchmark's results come down to. */
export interface ReportRow {
  benchmark: string;
  /** What is measured, with its unit ("pull wall ms, median"). */
  measure: string;
  nodemeter: number | null;
  /** The peer's name and version; null when the measure has no peer. */
  peer: string | null;
  peerValue: number | null;
  better: Better;
  /** Decimals of both figures; default depends on the size of the number. */
  decimals?: number;
  target?: RowTarget;
}

export interface MachineDescription {
  cpu: string;
  cores: number;
  memoryMiB: number;
  kernel: string;
  /** The distribution, e.g. `Debian GNU/Linux 12 (bookworm), 12.8`. */
  os: string;
  node: string;
  /** The commit the agent ran from (`+uncommitted` when sources differ). */
  nodemeter: string;
  /** Peer program → its version line, `not installed` when absent. */
  peers: Record<string, string>;
}

/** What one benchmark of the run came to. */
export interface BenchOutcome {
  name: string;
  /** The sizes and repetitions it ran with, one line. */
  parameters: string;
  rows: ReportRow[];
  seconds: number;
  resultsFile?: string;
  /** Set when the benchmark failed: its rows may be missing. */
  error?: string;
  /** Set when it was not run, and why. */
  skipped?: string;
}

export interface ReportInput {
  date: Date;
  /** `--quick`: small sizes, a smoke test, not figures to quote. */
  quick: boolean;
  /** The command line that produced the report. */
  command: string;
  machine: MachineDescription;
  outcomes: readonly BenchOutcome[];
}

/** nodemeter ÷ peer; null when either is unknown or the peer's figure is 0. */
export function rowRatio(row: ReportRow): number | null {
  if (row.nodemeter === null || row.peerValue === null || row.peerValue === 0) return null;
  return row.nodemeter / row.peerValue;
}

/** The target as text and whether the row meets it; `n/a` when the figure it checks is unknown. */
export function rowVerdict(row: ReportRow): { target: string; result: 'PASS' | 'FAIL' | 'n/a' | '' } {
  const t = row.target;
  if (t === undefined) return { target: '', result: '' };
  const value = t.of === 'ratio' ? rowRatio(row) : row.nodemeter;
  const sign = t.kind === 'atMost' ? '≤' : '≥';
  const target = `${t.of === 'ratio' ? 'ratio ' : ''}${sign} ${formatFigure(t.bound)}${t.unit ?? ''}`;
  if (value === null) return { target, result: 'n/a' };
  const pass = t.kind === 'atMost' ? value <= t.bound : value >= t.bound;
  return { target, result: pass ? 'PASS' : 'FAIL' };
}

/** A figure for the table: thousands grouped, fewer decimals the larger it is; `-` when unknown. */
export function formatFigure(value: number | null, decimals?: number): string {
  if (value === null || !Number.isFinite(value)) return '-';
  const abs = Math.abs(value);
  const d = decimals ?? (abs >= 100 || Number.isInteger(value) ? 0 : abs >= 10 ? 1 : 2);
  return value.toLocaleString('en-US', { minimumFractionDigits: d, maximumFractionDigits: d });
}

/** A ratio as `0.50×`; two significant digits below 0.1 so a small one does not read as 0. */
export function formatRatio(ratio: number | null): string {
  if (ratio === null || !Number.isFinite(ratio)) return '-';
  return `${ratio !== 0 && Math.abs(ratio) < 0.1 ? ratio.toPrecision(2) : ratio.toFixed(2)}×`;
}

/** Text safe inside a markdown table cell. */
export function escapeCell(text: string): string {
  return text.replace(/\\/g, '\\\\').replace(/\|/g, '\\|').replace(/\r?\n/g, ' ');
}

function tableRow(cells: readonly string[]): string {
  return `| ${cells.map(escapeCell).join(' | ')} |`;
}

function duration(seconds: number): string {
  // Rounded first, so 119.6 s reads "2 min 0 s", not "1 min 60 s".
  const whole = Math.round(seconds);
  if (whole < 60) return `${whole} s`;
  return `${Math.floor(whole / 60)} min ${whole % 60} s`;
}

export function renderReport(input: ReportInput): string {
  const { machine } = input;
  const lines: string[] = [];
  const day = input.date.toISOString().slice(0, 10);
  lines.push(`# nodemeter benchmarks, ${day}${input.quick ? ' (QUICK run)' : ''}`, '');
  if (input.quick) {
    lines.push('> **Quick run** (`--quick`): every benchmark at small sizes, to check that the harness works. These figures are not the ones to quote; run `sudo npm run bench` for those.', '');
  }
  lines.push(`Run ${input.date.toISOString()} with \`${input.command}\`, nodemeter ${machine.nodemeter}.`, '');

  lines.push('## Machine', '', tableRow(['', '']), tableRow(['---', '---']));
  lines.push(tableRow(['CPU', `${machine.cpu}, ${machine.cores} cores`]));
  lines.push(tableRow(['memory', `${formatFigure(machine.memoryMiB)} MiB`]));
  lines.push(tableRow(['kernel', machine.kernel]));
  lines.push(tableRow(['OS', machine.os]));
  lines.push(tableRow(['Node.js', machine.node]));
  for (const [peer, version] of Object.entries(machine.peers)) lines.push(tableRow([peer, version]));
  lines.push('');

  lines.push('## Results', '');
  lines.push('ratio = nodemeter ÷ peer, from the same run. ↓ lower is better (time, CPU, memory, bytes); ↑ higher is better (throughput).', '');
  lines.push(tableRow(['benchmark', 'measure', 'nodemeter', 'peer', 'peer figure', 'ratio', 'target', 'result']));
  lines.push(tableRow(['---', '---', '---:', '---', '---:', '---:', '---', '---']));
  for (const outcome of input.outcomes) {
    for (const row of outcome.rows) {
      const verdict = rowVerdict(row);
      lines.push(
        tableRow([
          row.benchmark,
          `${row.measure} ${row.better === 'higher' ? '↑' : '↓'}`,
          formatFigure(row.nodemeter, row.decimals),
          row.peer ?? '-',
          row.peer === null ? '-' : formatFigure(row.peerValue, row.decimals),
          formatRatio(rowRatio(row)),
          verdict.target,
          verdict.result,
        ]),
      );
    }
    if (outcome.error !== undefined) lines.push(tableRow([outcome.name, 'FAILED (see below)', '-', '-', '-', '-', '', '']));
  }
  lines.push('');

  lines.push('## Runs', '', tableRow(['benchmark', 'parameters', 'took', 'results file', 'status']), tableRow(['---', '---', '---:', '---', '---']));
  for (const o of input.outcomes) {
    const status = o.error !== undefined ? 'FAILED' : o.skipped !== undefined ? `skipped: ${o.skipped}` : 'ok';
    lines.push(tableRow([o.name, o.parameters, duration(o.seconds), o.resultsFile ?? '-', status]));
  }
  const failed = input.outcomes.filter((o) => o.error !== undefined);
  if (failed.length > 0) {
    lines.push('', '### Failures', '');
    for (const o of failed) lines.push(`- **${o.name}**: ${(o.error ?? '').split('\n')[0]}`);
  }
  const total = input.outcomes.reduce((sum, o) => sum + o.seconds, 0);
  lines.push('', `Total: ${duration(total)}. Targets are reported, not asserted. How to read each row: docs/performance.md.`, '');
  return lines.join('\n');
}
