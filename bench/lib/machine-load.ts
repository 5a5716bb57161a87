// Whole-machine CPU time from /proc/stat, to tell how much of it went to processes other than the
// benchmark's while something was timed: on a shared VM another job can take a CPU for minutes,
// which halves what a two-thread walker can use and slows a single-threaded one less.
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';

import { clockTicksPerSecond } from './proc.ts';

export interface MachineCpu {
  /** CPU time of all CPUs spent running anything (user, nice, system, irq, softirq), ms. */
  busyMs: number;
  /** Time the hypervisor ran something else while a vCPU wanted to run, ms. */
  stealMs: number;
  /** performance.now() of the reading. */
  at: number;
}

export function readMachineCpu(): MachineCpu {
  const line = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0] ?? '';
  if (!line.startsWith('cpu ')) throw new Error(`unexpected first line of /proc/stat: ${line}`);
  // cpu user nice system idle iowait irq softirq steal guest guest_nice (guest is inside user)
  const [user = 0, nice = 0, system = 0, , , irq = 0, softirq = 0, steal = 0] = line.trim().split(/\s+/).slice(1).map(Number);
  const msPerTick = 1000 / clockTicksPerSecond();
  return { busyMs: (user + nice + system + irq + softirq) * msPerTick, stealMs: steal * msPerTick, at: performance.now() };
}

export interface OtherLoad {
  /** CPUs' worth of time (0 = none, 1 = one whole CPU) used by everything but `oursMs`. */
  otherCpus: number;
  stealCpus: number;
}

/** Between two readings, the load not accounted for by the `oursMs` of CPU time we know of. */
export function otherLoad(before: MachineCpu, after: MachineCpu, oursMs: number): OtherLoad {
  const wall = after.at - before.at;
  if (wall <= 0) return { otherCpus: 0, stealCpus: 0 };
  return {
    otherCpus: Math.max(0, after.busyMs - before.busyMs - oursMs) / wall,
    stealCpus: (after.stealMs - before.stealMs) / wall,
  };
}

/** CPU time of this process since `since` (a process.cpuUsage() value), ms. */
export function ownCpuMs(since: NodeJS.CpuUsage): number {
  const d = process.cpuUsage(since);
  return (d.user + d.system) / 1000;
}

/**
 * Waits until processes other than this one and `idleCpuMsOf` (e.g. an idle child's CPU, ms)
 * use less than `maxCpus` over a one-second sample, for at most `timeoutMs`. Returns the last
 * sample's load and whether the machine was quiet.
 */
export async function waitForQuiet(
  maxCpus: number,
  timeoutMs: number,
  idleCpuMsOf: () => number,
  log: (line: string) => void,
): Promise<{ quiet: boolean; load: OtherLoad; waitedMs: number }> {
  const started = performance.now();
  let announced = false;
  for (;;) {
    const before = readMachineCpu();
    const own = process.cpuUsage();
    const idleBefore = idleCpuMsOf();
    await sleep(1000);
    const load = otherLoad(before, readMachineCpu(), ownCpuMs(own) + idleCpuMsOf() - idleBefore);
    const waitedMs = performance.now() - started;
    if (load.otherCpus < maxCpus) return { quiet: true, load, waitedMs };
    if (waitedMs >= timeoutMs) return { quiet: false, load, waitedMs };
    if (!announced) {
      log(`  other processes use ${load.otherCpus.toFixed(2)} CPUs; waiting up to ${Math.round(timeoutMs / 1000)} s for them to drop below ${maxCpus}…`);
      announced = true;
    }
  }
}
