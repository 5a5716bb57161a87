// What every benchmark report has in common: the machine it ran on, target checks, table cells.
import { cpus, release, totalmem } from 'node:os';

/** The machine, for the results file. */
export function hostDescription(): { kernel: string; cpu: string; cpus: number; memoryMiB: number } {
  return { kernel: release(), cpu: cpus()[0]?.model ?? 'unknown', cpus: cpus().length, memoryMiB: Math.round(totalmem() / 1048576) };
}

/** A figure against an upper bound. Targets are reported, not asserted. */
export interface TargetCheck {
  target: number;
  value: number | null;
  pass: boolean;
}

export function checkAtMost(value: number | null, target: number): TargetCheck {
  return { target, value, pass: value !== null && value <= target };
}

export function verdict(c: TargetCheck, unit = ''): string {
  return `${c.pass ? 'PASS' : 'FAIL'} (≤ ${c.target}${unit})`;
}

/** A number for a table cell; `-` when unknown. */
export function cell(v: number | null | undefined, decimals = 1): string {
  return v === null || v === undefined ? '-' : v.toFixed(decimals);
}
