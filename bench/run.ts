// Benchmark entry point: `npm run bench -- [filesystem|hostpath|docker|parser|podscrape …] [options]`
// (filesystem and docker need root). See bench/README.md.
import { join } from 'node:path';
import { parseArgs } from 'node:util';

import type { ScannerKind } from '../receivers/hostpath/native-scanner.ts';
import { runDockerBench } from './docker.bench.ts';
import { runFilesystemBench } from './filesystem.bench.ts';
import { runParserBench } from './parser.bench.ts';
import { ENCODINGS, runPodscrapeBench } from './podscrape.bench.ts';
import { DEFAULT_SIZES, runHostpathBench } from './hostpath.bench.ts';
import { DEFAULT_TREE_CACHE } from './lib/file-tree.ts';
import type { Encoding } from './lib/target-server-child.ts';

const BENCHES = ['filesystem', 'hostpath', 'docker', 'parser', 'podscrape'];

const USAGE = `usage: node bench/run.ts [filesystem] [hostpath] [docker] [parser] [podscrape] [options]      (with Node 24; default: filesystem)

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

all
  --out FILE          results JSON path      (default bench/results/<benchmark>-<YYYY-MM-DD>.json; one benchmark only)
  --no-write          do not write a results file
  -h, --help`;

function intOption(name: string, flag: string | undefined, env: string | undefined, fallback: number, min: number): number {
  const raw = flag ?? env;
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min) throw new Error(`--${name} must be an integer ≥ ${min}, got ${JSON.stringify(raw)}`);
  return n;
}

function sizesOption(flag: string | undefined, env: string | undefined): number[] {
  const raw = flag ?? env;
  if (raw === undefined || raw === '') return DEFAULT_SIZES;
  const sizes = raw.split(',').map((s) => Number(s.trim().replace(/_/g, '')));
  if (sizes.some((n) => !Number.isInteger(n) || n < 1)) throw new Error(`--sizes must be a comma-separated list of positive integers, got ${JSON.stringify(raw)}`);
  return sizes;
}

function encodingsOption(flag: string | undefined, env: string | undefined): Encoding[] {
  const raw = flag ?? env;
  if (raw === undefined || raw === '') return [...ENCODINGS];
  const list = raw.split(',').map((s) => s.trim());
  const bad = list.filter((e) => !(ENCODINGS as readonly string[]).includes(e));
  if (list.length === 0 || bad.length > 0 || new Set(list).size !== list.length) throw new Error(`--encodings must list identity and/or gzip once each, got ${JSON.stringify(raw)}`);
  return list as Encoding[];
}

function scannerOption(raw: string | undefined): ScannerKind {
  if (raw === undefined || raw === '') return 'native';
  if (raw !== 'native' && raw !== 'node-fs') throw new Error(`--scanner must be native or node-fs, got ${JSON.stringify(raw)}`);
  return raw;
}

async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
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
      out: { type: 'string' },
      'no-write': { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const which = positionals.length === 0 ? ['filesystem'] : positionals;
  const unknown = which.filter((b) => !BENCHES.includes(b));
  if (unknown.length > 0) {
    process.stderr.write(`unknown benchmark(s): ${unknown.join(', ')} (available: ${BENCHES.join(', ')})\n${USAGE}\n`);
    return 2;
  }
  if (values.out !== undefined && which.length > 1) {
    process.stderr.write(`--out names one results file: run one benchmark at a time with it\n`);
    return 2;
  }
  const repoRoot = join(import.meta.dirname, '..');
  const env = process.env;
  const day = new Date().toISOString().slice(0, 10);
  const resultsFile = (name: string): string | undefined => (values['no-write'] ? undefined : (values.out ?? join(repoRoot, 'bench', 'results', `${name}-${day}.json`)));
  const log = (line: string): void => {
    process.stdout.write(`${line}\n`);
  };
  for (const bench of which) {
    if (bench === 'filesystem') {
      await runFilesystemBench({
        repoRoot,
        mounts: intOption('mounts', values.mounts, env.BENCH_MOUNTS, 1000, 1),
        iterations: intOption('iterations', values.iterations, env.BENCH_ITERATIONS, 50, 1),
        warmup: intOption('warmup', values.warmup, env.BENCH_WARMUP, 5, 0),
        idleMs: intOption('idle-ms', values['idle-ms'], env.BENCH_IDLE_MS, 2000, 0),
        mountSizeBytes: 1024 * 1024,
        skipNodemeter: values['skip-nodemeter'],
        cpuProf: values['cpu-prof'],
        resultsFile: resultsFile('filesystem'),
        log,
      });
    } else if (bench === 'parser') {
      await runParserBench({
        repoRoot,
        targets: intOption('targets', values.targets, env.BENCH_TARGETS, 200, 1),
        seriesPerTarget: intOption('series', values.series, env.BENCH_SERIES, 1000, 1),
        iterations: intOption('iterations', values.iterations, undefined, 15, 1),
        resultsFile: resultsFile('parser'),
        log,
      });
    } else if (bench === 'podscrape') {
      await runPodscrapeBench({
        repoRoot,
        targets: intOption('targets', values.targets, env.BENCH_TARGETS, 200, 1),
        seriesPerTarget: intOption('series', values.series, env.BENCH_SERIES, 1000, 1),
        pulls: intOption('pulls', values.pulls, env.BENCH_PULLS, 10, 1),
        warmup: intOption('warmup', values.warmup, env.BENCH_WARMUP, 3, 0),
        concurrency: intOption('concurrency', values.concurrency, env.BENCH_CONCURRENCY, 16, 1),
        encodings: encodingsOption(values.encodings, env.BENCH_ENCODINGS),
        promIntervalS: intOption('prom-interval', values['prom-interval'], undefined, 5, 1),
        promRounds: intOption('prom-rounds', values['prom-rounds'], undefined, 4, 1),
        skipPrometheus: values['skip-prometheus'],
        cpuProf: values['cpu-prof'],
        resultsFile: resultsFile('podscrape'),
        log,
      });
    } else if (bench === 'docker') {
      await runDockerBench({
        repoRoot,
        containers: intOption('containers', values.containers, env.BENCH_CONTAINERS, 100, 1),
        repetitions: intOption('repetitions', values.repetitions, env.BENCH_REPETITIONS, 11, 1),
        warmup: intOption('warmup', values.warmup, env.BENCH_WARMUP, 2, 0),
        concurrency: intOption('concurrency', values.concurrency, env.BENCH_CONCURRENCY, 0, 0),
        resultsFile: resultsFile('docker'),
        log,
      });
    } else {
      const repetitions = values.repetitions ?? env.BENCH_REPETITIONS;
      await runHostpathBench({
        repoRoot,
        sizes: sizesOption(values.sizes, env.BENCH_SIZES),
        threads: intOption('threads', values.threads, env.BENCH_THREADS, 2, 1),
        scanner: scannerOption(values.scanner ?? env.BENCH_SCANNER),
        repetitions: repetitions === undefined || repetitions === '' ? undefined : intOption('repetitions', repetitions, undefined, 1, 1),
        cacheDir: values['cache-dir'] ?? (env.BENCH_TREE_CACHE || DEFAULT_TREE_CACHE),
        rebuild: values.rebuild,
        dropCaches: values['drop-caches'],
        resultsFile: resultsFile('hostpath'),
        log,
      });
    }
  }
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`bench: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exitCode = 1;
  },
);
