// Exposition parsing, side by side: nodemeter's parseExposition (receivers/podscrape/parser) against
// the npm package parse-prometheus-text-format, in the same process and run, on the same bodies:
// one scrape of 200 targets × ~1,000 series of Prometheus text 0.0.4 (bench/lib/exposition-payload.ts),
// each target's body parsed on its own as the pod-scrape receiver will. Single-threaded: the
// figure is samples per second of one core. Runs of the contenders are interleaved so a noisy
// neighbour on a shared machine slows them alike. Not a test; targets are reported, not asserted.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';

import parsePrometheusTextFormat from 'parse-prometheus-text-format';
import { parseExposition } from '../receivers/podscrape/parser/parse-exposition.ts';
import { generateTargetExposition } from './lib/exposition-payload.ts';
import { gitDescribe } from './lib/git.ts';
import { otherLoad, readMachineCpu } from './lib/machine-load.ts';
import { hostDescription, type TargetCheck } from './lib/report.ts';
import { round, summarize, type Summary } from './lib/stats.ts';

export interface ParserBenchOptions {
  repoRoot: string;
  log: (line: string) => void;
  /** Results JSON path; nothing is written without it. */
  resultsFile?: string;
  /** Scrape targets, one body each (default 200). */
  targets?: number;
  /** Sample lines per target body (default 1,000). */
  seriesPerTarget?: number;
  /** Timed runs per contender after the warm-up (default 15). */
  iterations?: number;
}

/** What the report holds nodemeter to. */
export const TARGETS = {
  /** parseExposition on Buffer bodies (UTF-8 validation included), median over timed runs, per main-thread CPU second. */
  samplesPerSecond: 1_000_000,
};

const WARMUP_RUNS = 3;

interface Contender {
  name: string;
  input: 'Buffer' | 'string';
  /** Parse every body once; returns a count so the work cannot be optimised away. */
  run: () => number;
}

interface RunTiming {
  wallMs: number;
  /** Main-thread CPU time (process.threadCpuUsage): the one core the parse runs on. */
  cpuMs: number;
  /** Processes other than this one, in CPUs, while the run was timed. */
  otherCpus: number;
}

function timeRun(contender: Contender): RunTiming {
  const machineBefore = readMachineCpu();
  const processBefore = process.cpuUsage();
  const threadBefore = process.threadCpuUsage();
  const started = performance.now();
  contender.run();
  const wallMs = performance.now() - started;
  const thread = process.threadCpuUsage(threadBefore);
  const own = process.cpuUsage(processBefore);
  const load = otherLoad(machineBefore, readMachineCpu(), (own.user + own.system) / 1000);
  return { wallMs, cpuMs: (thread.user + thread.system) / 1000, otherCpus: load.otherCpus };
}

function packageVersion(repoRoot: string, name: string): string {
  try {
    return (JSON.parse(readFileSync(join(repoRoot, 'node_modules', name, 'package.json'), 'utf8')) as { version: string }).version;
  } catch {
    return 'unknown';
  }
}

interface ContenderResult {
  name: string;
  input: string;
  wallMs: Summary;
  cpuMs: Summary;
  otherCpus: Summary;
  samplesPerSecondCpu: number;
  samplesPerSecondWall: number;
}

export async function runParserBench(opts: ParserBenchOptions): Promise<Record<string, unknown>> {
  const { log } = opts;
  const targets = opts.targets ?? 200;
  const seriesPerTarget = opts.seriesPerTarget ?? 1000;
  const iterations = opts.iterations ?? 15;

  const bodies = Array.from({ length: targets }, (_, t) => generateTargetExposition(t, seriesPerTarget));
  const texts = bodies.map((b) => b.text);
  const buffers = texts.map((t) => Buffer.from(t, 'utf8'));
  const samples = bodies.reduce((n, b) => n + b.samples, 0);
  const bytes = buffers.reduce((n, b) => n + b.length, 0);
  log(`payload: ${targets} targets × ~${seriesPerTarget} series = ${samples} samples, ${(bytes / 1048576).toFixed(1)} MiB of Prometheus text 0.0.4`);

  // Both parsers must read every body, and ours must find every sample, before anything is timed.
  for (let t = 0; t < targets; t++) {
    const ours = parseExposition(buffers[t] as Buffer, { format: 'prometheus' });
    if (ours.sampleCount !== bodies[t]?.samples) throw new Error(`target ${t}: parseExposition found ${ours.sampleCount} samples, the generator wrote ${bodies[t]?.samples}`);
    const theirs = parsePrometheusTextFormat(texts[t] as string);
    if (theirs.length !== ours.families.length) throw new Error(`target ${t}: parse-prometheus-text-format found ${theirs.length} families, parseExposition ${ours.families.length}`);
  }

  const contenders: Contender[] = [
    {
      name: 'nodemeter parseExposition',
      input: 'Buffer',
      run: () => {
        let n = 0;
        for (const body of buffers) n += parseExposition(body, { format: 'prometheus' }).sampleCount;
        return n;
      },
    },
    {
      name: 'nodemeter parseExposition',
      input: 'string',
      run: () => {
        let n = 0;
        for (const body of texts) n += parseExposition(body, { format: 'prometheus' }).sampleCount;
        return n;
      },
    },
    {
      name: 'parse-prometheus-text-format',
      input: 'Buffer',
      // The package takes a string: decoding the body is part of its cost on Buffer input.
      run: () => {
        let n = 0;
        for (const body of buffers) n += parsePrometheusTextFormat(body.toString('utf8')).length;
        return n;
      },
    },
    {
      name: 'parse-prometheus-text-format',
      input: 'string',
      run: () => {
        let n = 0;
        for (const body of texts) n += parsePrometheusTextFormat(body).length;
        return n;
      },
    },
  ];

  for (let i = 0; i < WARMUP_RUNS; i++) for (const c of contenders) c.run();
  const timings = contenders.map((): RunTiming[] => []);
  for (let i = 0; i < iterations; i++) {
    // Rotate the order so no contender always runs right after the same other one.
    for (let k = 0; k < contenders.length; k++) {
      const index = (i + k) % contenders.length;
      timings[index]?.push(timeRun(contenders[index] as Contender));
    }
    // Let other work (and the log) through between rounds.
    await new Promise((resolve) => setImmediate(resolve));
  }

  const results: ContenderResult[] = contenders.map((c, index) => {
    const runs = timings[index] ?? [];
    const wallMs = summarize(runs.map((r) => r.wallMs));
    const cpuMs = summarize(runs.map((r) => r.cpuMs));
    return {
      name: c.name,
      input: c.input,
      wallMs,
      cpuMs,
      otherCpus: summarize(runs.map((r) => r.otherCpus)),
      samplesPerSecondCpu: Math.round(samples / (cpuMs.median / 1000)),
      samplesPerSecondWall: Math.round(samples / (wallMs.median / 1000)),
    };
  });
  const find = (name: string, input: string): ContenderResult => results.find((r) => r.name === name && r.input === input) as ContenderResult;
  const oursBuffer = find('nodemeter parseExposition', 'Buffer');
  const oursString = find('nodemeter parseExposition', 'string');
  const theirsBuffer = find('parse-prometheus-text-format', 'Buffer');
  const theirsString = find('parse-prometheus-text-format', 'string');
  const ratios = {
    buffer: round(oursBuffer.samplesPerSecondCpu / theirsBuffer.samplesPerSecondCpu, 2),
    string: round(oursString.samplesPerSecondCpu / theirsString.samplesPerSecondCpu, 2),
  };
  const target: TargetCheck = { target: TARGETS.samplesPerSecond, value: oursBuffer.samplesPerSecondCpu, pass: oursBuffer.samplesPerSecondCpu >= TARGETS.samplesPerSecond };

  log('');
  log(`${'contender'.padEnd(30)} ${'input'.padEnd(7)} ${'CPU ms'.padStart(8)} ${'wall ms'.padStart(8)} ${'samples/s (CPU)'.padStart(16)} ${'samples/s (wall)'.padStart(17)} ${'other CPUs'.padStart(10)}`);
  for (const r of results) {
    log(
      `${r.name.padEnd(30)} ${r.input.padEnd(7)} ${r.cpuMs.median.toFixed(1).padStart(8)} ${r.wallMs.median.toFixed(1).padStart(8)} ${r.samplesPerSecondCpu.toLocaleString('en-US').padStart(16)} ${r.samplesPerSecondWall.toLocaleString('en-US').padStart(17)} ${r.otherCpus.median.toFixed(2).padStart(10)}`,
    );
  }
  log('');
  log(`nodemeter / parse-prometheus-text-format: ${ratios.buffer}× on Buffer bodies, ${ratios.string}× on strings (samples per main-thread CPU second, medians of ${iterations} runs)`);
  log(`target: ≥ ${TARGETS.samplesPerSecond.toLocaleString('en-US')} samples/s on Buffer bodies: ${target.pass ? 'PASS' : 'FAIL'} (${oursBuffer.samplesPerSecondCpu.toLocaleString('en-US')})`);
  const busiest = Math.max(...results.map((r) => r.otherCpus.max));
  if (busiest > 0.5) log(`note: other processes used up to ${busiest.toFixed(2)} CPUs during timed runs; CPU-time figures are the steadier ones`);

  const figure = (r: ContenderResult) => ({
    input: r.input,
    samplesPerSecondCpu: r.samplesPerSecondCpu,
    samplesPerSecondWall: r.samplesPerSecondWall,
    cpuMs: { median: round(r.cpuMs.median, 2), min: round(r.cpuMs.min, 2), p90: round(r.cpuMs.p90, 2), max: round(r.cpuMs.max, 2) },
    wallMs: { median: round(r.wallMs.median, 2), min: round(r.wallMs.min, 2), p90: round(r.wallMs.p90, 2), max: round(r.wallMs.max, 2) },
    otherCpus: { median: round(r.otherCpus.median, 2), max: round(r.otherCpus.max, 2) },
  });
  const result: Record<string, unknown> = {
    benchmark: 'parser',
    date: new Date().toISOString(),
    host: hostDescription(),
    versions: { node: process.version, nodemeter: gitDescribe(opts.repoRoot), 'parse-prometheus-text-format': packageVersion(opts.repoRoot, 'parse-prometheus-text-format') },
    method: {
      payload: `${targets} target bodies from bench/lib/exposition-payload.ts (Go runtime/process metrics, an HTTP server's counters, 10-bucket histograms and gauges), Prometheus text 0.0.4`,
      perRun: 'every body parsed once, each on its own, results dropped after the run (garbage collection inside the timing)',
      order: `${WARMUP_RUNS} warm-up runs per contender, then ${iterations} rounds with the contenders in rotating order`,
      cpu: 'process.threadCpuUsage() delta around the run: the main thread only, the one core the parse uses',
      wall: 'performance.now() around the run',
      otherLoad: '/proc/stat busy time minus this process, in CPUs, per timed run',
      nodemeterBuffer: 'parseExposition(buffer, { format: "prometheus" }): strict UTF-8 validation and decoding included',
      theirsBuffer: 'parsePrometheusTextFormat(buffer.toString("utf8"))',
      checks: 'before timing: parseExposition finds every generated sample and both parsers report the same number of families per body',
    },
    parameters: { targets, seriesPerTarget, samplesPerRun: samples, bytesPerRun: bytes, warmupRuns: WARMUP_RUNS, iterations },
    figures: {
      nodemeterBuffer: figure(oursBuffer),
      nodemeterString: figure(oursString),
      parsePrometheusTextFormatBuffer: figure(theirsBuffer),
      parsePrometheusTextFormatString: figure(theirsString),
    },
    ratios,
    targets: { samplesPerSecond: target },
  };
  if (opts.resultsFile !== undefined) {
    mkdirSync(join(opts.resultsFile, '..'), { recursive: true });
    writeFileSync(opts.resultsFile, `${JSON.stringify(result, null, 2)}\n`);
    log(`results written to ${opts.resultsFile}`);
  }
  return result;
}
