// Benchmark entry point: `npm run bench -- [benchmark …] [--quick] [options]`. With no benchmark
// named it runs them all, one after the other, then writes one markdown report of nodemeter's
// figure, the peer's and their ratio for every measure (bench/results/report-<date>.md). Needs
// root for filesystem and docker. See bench/README.md and docs/performance.md.
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';

import type { ScannerKind } from '../receivers/hostpath/native-scanner.ts';
import { runDockerBench } from './docker.bench.ts';
import { runExpositionBench } from './exposition.bench.ts';
import { runFilesystemBench } from './filesystem.bench.ts';
import type { LoadBenchOptions } from './load.bench.ts';
import { runParserBench } from './parser.bench.ts';
import { ENCODINGS, runPodscrapeBench } from './podscrape.bench.ts';
import { DEFAULT_SIZES, runHostpathBench } from './hostpath.bench.ts';
import { DEFAULT_TREE_CACHE } from './lib/file-tree.ts';
import { describeMachine } from './lib/machine.ts';
import { renderReport, type BenchOutcome } from './lib/report-markdown.ts';
import { rowsFor } from './lib/report-rows.ts';
import type { Encoding } from './lib/target-server-child.ts';
import { runStartupBench } from './startup.bench.ts';

/** Every side-by-side benchmark, in the order a full run goes through them. */
const BENCHES = ['filesystem', 'hostpath', 'docker', 'podscrape', 'parser', 'exposition', 'startup', 'load'];

/** `--quick`: sizes small enough for the whole run to take a few minutes (flags still override them). */
const QUICK = {
  mounts: 100,
  iterations: 10,
  warmup: 1,
  idleMs: 1000,
  sizes: [20_000],
  repetitions: 3,
  containers: 5,
  targets: 20,
  series: 1000,
  pulls: 3,
  promIntervalS: 2,
  promRounds: 2,
  parserIterations: 3,
  expositionSeries: 10_000,
  serializerRuns: 5,
  starts: 2,
  startupIdleMs: 2000,
  /** How long a benchmark waits for other processes to calm down before timing. */
  quietWaitMs: 5000,
  load: { volumes: 100, containers: 5, targets: 10, seconds: 10 },
};

/** Thrown for a bad command line: printed without a stack, exit code 2. */
class UsageError extends Error {}

const USAGE = `usage: node bench/run.ts [filesystem] [hostpath] [docker] [podscrape] [parser] [exposition] [startup] [load] [options]
       (with Node 24, as root; default: every one of them, then one report of them all)

  --quick             small sizes for every benchmark: a smoke test of a few minutes; the report says so
                      and results go to <name>-<date>-quick.json, report-<date>-quick.md

filesystem (as root): nodemeter's filesystem receiver vs node_exporter

  --mounts N          tmpfs mounts in the kubelet-like tree        (env BENCH_MOUNTS, default 1000)
  --iterations N      measured scrapes per tool                    (env BENCH_ITERATIONS, default 50)
  --warmup N          unmeasured scrapes per tool first            (env BENCH_WARMUP, default 5)
  --idle-ms N         idle time before the idle RSS reading        (env BENCH_IDLE_MS, default 2000)
  --cpu-prof          run nodemeter under node --cpu-prof and summarise the scrape window
  --skip-nodemeter    node_exporter only (checks the harness while the agent cannot run)

hostpath: nodemeter's hostPath walk vs du -s -x
  --sizes N,N…        tree sizes in files             (env BENCH_SIZES, default ${DEFAULT_SIZES.join(',')})
  --threads N         WalkPool threads                (env BENCH_THREADS, default 2)
  --scanner S         native or node-fs               (env BENCH_SCANNER, default native)
  --repetitions N     timed runs per tool and size    (env BENCH_REPETITIONS, default 11; 7 from 1 000 000 files)
  --cache-dir DIR     where the trees are kept        (env BENCH_TREE_CACHE, default ${DEFAULT_TREE_CACHE})
  --rebuild           build the trees again even if cached
  --drop-caches       (root) drop dentries and inodes before each size's warm-up

docker (as root): nodemeter's docker receiver (api and cgroup sources) vs docker stats --no-stream
  --containers N      running containers on a private dockerd  (env BENCH_CONTAINERS, default 100)
  --repetitions N     timed collections per tool               (default 11)
  --warmup N          unmeasured collections per tool first    (default 2)
  --concurrency N     the receiver's concurrency, 0 = all       (env BENCH_CONCURRENCY, default 0)

parser: the pod scrape parser vs parse-prometheus-text-format, one core
  --targets N         target bodies                            (env BENCH_TARGETS, default 200)
  --series N          samples per body                         (env BENCH_SERIES, default 1000)
  --iterations N      timed runs per parser                    (default 15)

podscrape: one on-demand aggregated pull (/metrics?job=bench) of every target through the agent
           vs Prometheus 2.42 scraping the same targets (sum of its scrape_duration_seconds)
  --targets N         targets, one port each                   (env BENCH_TARGETS, default 200)
  --series N          samples per target body                  (env BENCH_SERIES, default 1000)
  --pulls N           measured pulls per encoding              (env BENCH_PULLS, default 10)
  --warmup N          unmeasured pulls per encoding first      (env BENCH_WARMUP, default 3)
  --concurrency N     the receiver's concurrency               (env BENCH_CONCURRENCY, default 16)
  --encodings E,E     identity and/or gzip, in this order      (env BENCH_ENCODINGS, default identity,gzip)
  --prom-interval N   Prometheus scrape interval, seconds      (default 5)
  --prom-rounds N     Prometheus rounds read per encoding      (default 4)
  --skip-prometheus   nodemeter only (checks the harness; no results file)
  --cpu-prof          run the agent under node --cpu-prof and summarise the measured pulls (no results file)

exposition: 50,000 series served on /metrics by nodemeter (podscrape of loopback targets, served from its
            last scrape) vs Pushgateway 1.5.1 (the same series pushed) vs node_exporter's textfile collector,
            plus the SDK serializer vs nodemeter's text writer in-process
  --exposition-series N   series each server holds               (env BENCH_EXPOSITION_SERIES, default 50000)
  --pulls N               measured pulls per server              (default 20)
  --warmup N              unmeasured pulls per server first      (default 3)

startup: spawn → first /metrics 200, CPU until then and RSS after idling; nodemeter vs node_exporter,
         with no configuration and filesystem-only
  --starts N          timed start-ups per tool and profile           (default 5)
  --idle-ms N         idle time before the RSS reading               (default 10000 here)

load (as root): bench/load.bench.ts, one agent with volumes, containers and pod targets under an open loop of
      pulls (no peer); its defaults, or with --quick 100 volumes, 5 containers, 10 targets, 10 s

all
  --out FILE          results JSON path      (default bench/results/<benchmark>-<YYYY-MM-DD>.json; one benchmark only)
  --no-write          do not write results files nor the report (the report is still printed)
  -h, --help`;

function intOption(name: string, flag: string | undefined, env: string | undefined, fallback: number, min: number): number {
  const raw = flag ?? env;
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min) throw new UsageError(`--${name} must be an integer ≥ ${min}, got ${JSON.stringify(raw)}`);
  return n;
}

function sizesOption(flag: string | undefined, env: string | undefined, fallback: number[]): number[] {
  const raw = flag ?? env;
  if (raw === undefined || raw === '') return fallback;
  const sizes = raw.split(',').map((s) => Number(s.trim().replace(/_/g, '')));
  if (sizes.some((n) => !Number.isInteger(n) || n < 1)) throw new UsageError(`--sizes must be a comma-separated list of positive integers, got ${JSON.stringify(raw)}`);
  return sizes;
}

function encodingsOption(flag: string | undefined, env: string | undefined): Encoding[] {
  const raw = flag ?? env;
  if (raw === undefined || raw === '') return [...ENCODINGS];
  const list = raw.split(',').map((s) => s.trim());
  const bad = list.filter((e) => !(ENCODINGS as readonly string[]).includes(e));
  if (list.length === 0 || bad.length > 0 || new Set(list).size !== list.length) throw new UsageError(`--encodings must list identity and/or gzip once each, got ${JSON.stringify(raw)}`);
  return list as Encoding[];
}

function scannerOption(raw: string | undefined): ScannerKind {
  if (raw === undefined || raw === '') return 'native';
  if (raw !== 'native' && raw !== 'node-fs') throw new UsageError(`--scanner must be native or node-fs, got ${JSON.stringify(raw)}`);
  return raw;
}

/** One benchmark of the run: its one-line parameters and how to run it. */
interface Plan {
  name: string;
  parameters: string;
  resultsFile: string | undefined;
  run: () => Promise<Record<string, unknown>>;
}

async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      quick: { type: 'boolean', default: false },
      mounts: { type: 'string' },
      iterations: { type: 'string' },
      warmup: { type: 'string' },
      'idle-ms': { type: 'string' },
      'cpu-prof': { type: 'boolean', default: false },
      'skip-nodemeter': { type: 'boolean', default: false },
      sizes: { type: 'string' },
      threads: { type: 'string' },
      scanner: { type: 'string' },
      repetitions: { type: 'string' },
      'cache-dir': { type: 'string' },
      rebuild: { type: 'boolean', default: false },
      'drop-caches': { type: 'boolean', default: false },
      containers: { type: 'string' },
      targets: { type: 'string' },
      series: { type: 'string' },
      concurrency: { type: 'string' },
      pulls: { type: 'string' },
      encodings: { type: 'string' },
      'prom-interval': { type: 'string' },
      'prom-rounds': { type: 'string' },
      'skip-prometheus': { type: 'boolean', default: false },
      'exposition-series': { type: 'string' },
      starts: { type: 'string' },
      out: { type: 'string' },
      'no-write': { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const which = positionals.length === 0 ? BENCHES : positionals;
  const unknown = which.filter((b) => !BENCHES.includes(b));
  if (unknown.length > 0) throw new UsageError(`unknown benchmark(s): ${unknown.join(', ')} (available: ${BENCHES.join(', ')})`);
  if (new Set(which).size !== which.length) throw new UsageError(`a benchmark is named twice: ${which.join(' ')}`);
  if (values.out !== undefined && which.length > 1) throw new UsageError('--out names one results file: run one benchmark at a time with it');

  const quick = values.quick;
  const repoRoot = join(import.meta.dirname, '..');
  const resultsDir = join(repoRoot, 'bench', 'results');
  const env = process.env;
  const started = new Date();
  const day = started.toISOString().slice(0, 10);
  const suffix = quick ? '-quick' : '';
  const resultsFile = (name: string): string | undefined => (values['no-write'] ? undefined : (values.out ?? join(resultsDir, `${name}-${day}${suffix}.json`)));
  const log = (line: string): void => {
    process.stdout.write(`${line}\n`);
  };
  /** A quick run's default, else the full one's; a flag or the environment wins over both. */
  const pick = <T>(full: T, small: T): T => (quick ? small : full);
  const quietWaitMs = quick ? QUICK.quietWaitMs : undefined;

  const machine = describeMachine(repoRoot);
  // Every option is read before anything runs, so a bad one stops the run at once.
  const plans: Plan[] = which.map((bench): Plan => {
    const file = resultsFile(bench);
    if (bench === 'filesystem') {
      const o = {
        repoRoot,
        mounts: intOption('mounts', values.mounts, env.BENCH_MOUNTS, pick(1000, QUICK.mounts), 1),
        iterations: intOption('iterations', values.iterations, env.BENCH_ITERATIONS, pick(50, QUICK.iterations), 1),
        warmup: intOption('warmup', values.warmup, env.BENCH_WARMUP, pick(5, QUICK.warmup), 0),
        idleMs: intOption('idle-ms', values['idle-ms'], env.BENCH_IDLE_MS, pick(2000, QUICK.idleMs), 0),
        mountSizeBytes: 1024 * 1024,
        skipNodemeter: values['skip-nodemeter'],
        cpuProf: values['cpu-prof'],
        resultsFile: file,
        log,
      };
      return { name: bench, resultsFile: file, parameters: `${o.mounts} mounts, ${o.iterations} scrapes per tool after ${o.warmup} warm-up`, run: () => runFilesystemBench(o) };
    }
    if (bench === 'hostpath') {
      const repetitions = values.repetitions ?? env.BENCH_REPETITIONS;
      const o = {
        repoRoot,
        sizes: sizesOption(values.sizes, env.BENCH_SIZES, pick(DEFAULT_SIZES, QUICK.sizes)),
        threads: intOption('threads', values.threads, env.BENCH_THREADS, 2, 1),
        scanner: scannerOption(values.scanner ?? env.BENCH_SCANNER),
        repetitions: repetitions === undefined || repetitions === '' ? (quick ? QUICK.repetitions : undefined) : intOption('repetitions', repetitions, undefined, 1, 1),
        cacheDir: values['cache-dir'] ?? (env.BENCH_TREE_CACHE || DEFAULT_TREE_CACHE),
        rebuild: values.rebuild,
        dropCaches: values['drop-caches'],
        resultsFile: file,
        ...(quietWaitMs === undefined ? {} : { quietWaitMs }),
        log,
      };
      return { name: bench, resultsFile: file, parameters: `trees of ${o.sizes.join(', ')} files, ${o.repetitions ?? 'default'} walks per tool, ${o.threads} threads, ${o.scanner} scanner`, run: () => runHostpathBench(o) };
    }
    if (bench === 'docker') {
      const o = {
        repoRoot,
        containers: intOption('containers', values.containers, env.BENCH_CONTAINERS, pick(100, QUICK.containers), 1),
        repetitions: intOption('repetitions', values.repetitions, env.BENCH_REPETITIONS, pick(11, QUICK.repetitions), 1),
        warmup: intOption('warmup', values.warmup, env.BENCH_WARMUP, pick(2, QUICK.warmup), 0),
        concurrency: intOption('concurrency', values.concurrency, env.BENCH_CONCURRENCY, 0, 0),
        resultsFile: file,
        ...(quietWaitMs === undefined ? {} : { quietWaitMs }),
        log,
      };
      return { name: bench, resultsFile: file, parameters: `${o.containers} containers, ${o.repetitions} collections per tool`, run: () => runDockerBench(o) };
    }
    if (bench === 'podscrape') {
      const o = {
        repoRoot,
        targets: intOption('targets', values.targets, env.BENCH_TARGETS, pick(200, QUICK.targets), 1),
        seriesPerTarget: intOption('series', values.series, env.BENCH_SERIES, pick(1000, QUICK.series), 1),
        pulls: intOption('pulls', values.pulls, env.BENCH_PULLS, pick(10, QUICK.pulls), 1),
        warmup: intOption('warmup', values.warmup, env.BENCH_WARMUP, pick(3, QUICK.warmup), 0),
        concurrency: intOption('concurrency', values.concurrency, env.BENCH_CONCURRENCY, 16, 1),
        encodings: encodingsOption(values.encodings, env.BENCH_ENCODINGS),
        promIntervalS: intOption('prom-interval', values['prom-interval'], undefined, pick(5, QUICK.promIntervalS), 1),
        promRounds: intOption('prom-rounds', values['prom-rounds'], undefined, pick(4, QUICK.promRounds), 1),
        skipPrometheus: values['skip-prometheus'],
        cpuProf: values['cpu-prof'],
        resultsFile: file,
        ...(quietWaitMs === undefined ? {} : { quietWaitMs }),
        log,
      };
      return { name: bench, resultsFile: file, parameters: `${o.targets} targets × ${o.seriesPerTarget} series, ${o.pulls} pulls per encoding (${o.encodings.join(', ')}), Prometheus ${o.promRounds} rounds of ${o.promIntervalS} s`, run: () => runPodscrapeBench(o) };
    }
    if (bench === 'parser') {
      const o = {
        repoRoot,
        targets: intOption('targets', values.targets, env.BENCH_TARGETS, pick(200, QUICK.targets), 1),
        seriesPerTarget: intOption('series', values.series, env.BENCH_SERIES, pick(1000, QUICK.series), 1),
        iterations: intOption('iterations', values.iterations, undefined, pick(15, QUICK.parserIterations), 1),
        resultsFile: file,
        log,
      };
      return { name: bench, resultsFile: file, parameters: `${o.targets} bodies × ${o.seriesPerTarget} series, ${o.iterations} runs per parser`, run: () => runParserBench(o) };
    }
    if (bench === 'exposition') {
      const o = {
        repoRoot,
        series: intOption('exposition-series', values['exposition-series'], env.BENCH_EXPOSITION_SERIES, pick(50_000, QUICK.expositionSeries), 1),
        seriesPerTarget: 1000,
        pulls: intOption('pulls', values.pulls, env.BENCH_PULLS, pick(20, QUICK.pulls), 1),
        warmup: intOption('warmup', values.warmup, env.BENCH_WARMUP, pick(3, QUICK.warmup), 0),
        serializerRuns: pick(30, QUICK.serializerRuns),
        resultsFile: file,
        log,
      };
      return { name: bench, resultsFile: file, parameters: `${o.series} series (${Math.ceil(o.series / 1000)} targets), ${o.pulls} pulls per server after ${o.warmup} warm-up; serializer ${o.serializerRuns} runs`, run: () => runExpositionBench(o) };
    }
    if (bench === 'startup') {
      const o = {
        repoRoot,
        starts: intOption('starts', values.starts, undefined, pick(5, QUICK.starts), 1),
        idleMs: intOption('idle-ms', values['idle-ms'], env.BENCH_IDLE_MS, pick(10_000, QUICK.startupIdleMs), 0),
        resultsFile: file,
        log,
      };
      return { name: bench, resultsFile: file, parameters: `${o.starts} start-ups per tool and profile, RSS after ${o.idleMs} ms idle`, run: () => runStartupBench(o) };
    }
    // load: bench/load.bench.ts (another engineer's): the agent under an open loop of pulls, no peer.
    // Loaded only when run, so a problem in it costs this benchmark alone; it writes no results
    // file itself, so the run writes what it returns.
    const o: LoadBenchOptions = quick ? { repoRoot, log, ...QUICK.load } : { repoRoot, log };
    return {
      name: bench,
      resultsFile: file,
      parameters: quick ? `${QUICK.load.volumes} volumes, ${QUICK.load.containers} containers, ${QUICK.load.targets} targets, ${QUICK.load.seconds} s of pulls` : 'its defaults (1000 volumes, 100 containers, 50 targets, 20 pulls/s for 60 s)',
      run: async () => {
        const { runLoadBench } = await import('./load.bench.ts');
        const result = { benchmark: 'load', date: new Date().toISOString(), versions: { node: process.version, nodemeter: machine.nodemeter }, ...(await runLoadBench(o)) };
        if (file !== undefined) {
          mkdirSync(join(file, '..'), { recursive: true });
          writeFileSync(file, `${JSON.stringify(result, null, 2)}\n`);
          log(`results written to ${file}`);
        }
        return result;
      },
    };
  });

  const outcomes: BenchOutcome[] = [];
  for (const plan of plans) {
    log('');
    log(`===== ${plan.name}${quick ? ' (quick)' : ''}: ${plan.parameters}`);
    const t0 = performance.now();
    const outcome: BenchOutcome = { name: plan.name, parameters: plan.parameters, rows: [], seconds: 0 };
    try {
      const result = await plan.run();
      outcome.rows = rowsFor(plan.name, result);
      if (plan.resultsFile !== undefined && existsSync(plan.resultsFile)) outcome.resultsFile = plan.resultsFile.slice(repoRoot.length + 1);
    } catch (err) {
      // One benchmark failing (no Docker here, a peer missing) must not cost the others' figures.
      outcome.error = err instanceof Error ? err.message : String(err);
      process.stderr.write(`bench: ${plan.name} failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    }
    outcome.seconds = (performance.now() - t0) / 1000;
    outcomes.push(outcome);
  }

  const command = `npm run bench${argv.length === 0 ? '' : ` -- ${argv.join(' ')}`}`;
  const report = renderReport({ date: started, quick, command, machine, outcomes });
  log('');
  log(report);
  if (!values['no-write']) {
    // A run of some benchmarks only is named for them, so it never replaces the full report of the day.
    const selection = positionals.length === 0 ? '' : `-${which.join('-')}`;
    const reportFile = join(resultsDir, `report-${day}${selection}${suffix}.md`);
    mkdirSync(resultsDir, { recursive: true });
    writeFileSync(reportFile, report);
    log(`report written to ${reportFile}`);
  }
  return outcomes.some((o) => o.error !== undefined) ? 1 : 0;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    if (err instanceof UsageError || (err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      process.stderr.write(`bench: ${(err as Error).message}\n${USAGE}\n`);
      process.exitCode = 2;
      return;
    }
    process.stderr.write(`bench: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exitCode = 1;
  },
);
