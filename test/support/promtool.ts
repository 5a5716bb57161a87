/**
 * `promtool check metrics`: reads a text exposition on stdin and lints it. Exit code 0
 * means valid; lint findings are printed and make the exit code non-zero
 * (Prometheus 2.42: 3 for lint problems, 1 for parse errors).
 */
import { run } from './proc.ts';

export interface PromtoolResult {
  code: number | null;
  /** stdout and stderr together. */
  output: string;
}

export async function promtoolCheckMetrics(exposition: string): Promise<PromtoolResult> {
  const r = await run('promtool', ['check', 'metrics'], { input: exposition, allowFail: true, timeoutMs: 30_000 });
  return { code: r.code, output: `${r.stdout}${r.stderr}`.trim() };
}
