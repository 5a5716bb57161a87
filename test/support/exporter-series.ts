// Reading one exporter's self-telemetry out of a pull of the agent's /metrics.
import assert from 'node:assert/strict';
import { findSamples, formatSample, type Sample } from './exposition.ts';

/** The value of `name` for exporter `exporter` (and `labels`); undefined when absent, and an assertion error if there are several. */
export function exporterValue(samples: readonly Sample[], exporter: string, name: string, labels: Record<string, string> = {}): number | undefined {
  const found = findSamples(samples, name, { exporter, ...labels });
  assert.ok(found.length <= 1, `at most one ${name}: ${found.map(formatSample).join('; ')}`);
  return found[0]?.value;
}

/** The exporter's `nodemeter_exporter_last_error_timestamp_seconds` series: `reason` → timestamp. */
export function lastErrors(samples: readonly Sample[], exporter: string): Record<string, number> {
  return Object.fromEntries(findSamples(samples, 'nodemeter_exporter_last_error_timestamp_seconds', { exporter }).map((s) => [s.labels.reason ?? '', s.value]));
}
