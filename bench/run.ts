// Benchmark entry point: `npm run bench -- [filesystem] [options]` (needs root). See bench/README.md.
import { join } from 'node:path';
import { parseArgs } from 'node:util';

import { runFilesystemBench } from './filesystem.bench.ts';

const USAGE = `usage: node bench/run.ts [filesystem] [options]      (as root, with Node 24)

  --mounts N          tmpfs mounts in the kubelet-like tree        (env BENCH_MOUNTS, default 1000)
  --iterations N      measured scrapes per tool                    (env BENCH_ITERATIONS, default 50)
  --warmup N          unmeasured scrapes per tool first            (env BENCH_WARMUP, default 5)
  --idle-ms N         idle time before the idle RSS reading        (env BENCH_IDLE_MS, default 2000)
  --cpu-prof          run nodemeter under node --cpu-prof and summarise the scrape window
  --skip-nodemeter    node_exporter only (checks the harness while the agent cannot run)
  --out FILE          results JSON path      (default bench/results/filesystem-<YYYY-MM-DD>.json)
  --no-write          do not write a results file
  -h, --help`;

function intOption(name: string, flag: string | undefined, env: string | undefined, fallback: number, min: number): number {
  const raw = flag ?? env;
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min) throw new Error(`--${name} must be an integer ≥ ${min}, got ${JSON.stringify(raw)}`);
  return n;
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
  const unknown = which.filter((b) => b !== 'filesystem');
  if (unknown.length > 0) {
    process.stderr.write(`unknown benchmark(s): ${unknown.join(', ')} (available: filesystem)\n${USAGE}\n`);
    return 2;
  }
  const repoRoot = join(import.meta.dirname, '..');
  const env = process.env;
  const day = new Date().toISOString().slice(0, 10);
  await runFilesystemBench({
    repoRoot,
    mounts: intOption('mounts', values.mounts, env.BENCH_MOUNTS, 1000, 1),
    iterations: intOption('iterations', values.iterations, env.BENCH_ITERATIONS, 50, 1),
    warmup: intOption('warmup', values.warmup, env.BENCH_WARMUP, 5, 0),
    idleMs: intOption('idle-ms', values['idle-ms'], env.BENCH_IDLE_MS, 2000, 0),
    mountSizeBytes: 1024 * 1024,
    skipNodemeter: values['skip-nodemeter'],
    cpuProf: values['cpu-prof'],
    resultsFile: values['no-write'] ? undefined : (values.out ?? join(repoRoot, 'bench', 'results', `filesystem-${day}.json`)),
    log: (line) => process.stdout.write(`${line}\n`),
  });
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
