// The canonical text form of a parsed model, in either format: for round-trip tests (format →
// parse gives the model back) and for debugging what a target sent. Canonical means one spelling
// per model: single spaces, no trailing comma, metadata in the order TYPE (UNIT) HELP for
// OpenMetrics and HELP TYPE for Prometheus text, numbers in their shortest JS form.
//
// The model is trusted to be valid (names, suffixes, types as the parser produces them); this
// writer escapes strings but does not validate names.

import type { ExpositionFormat, FamilyType, Labels, ParsedFamily, ParsedSample } from './model.ts';
import { msToSecondsText } from './om-timestamp.ts';

/** `+Inf`, `-Inf`, `NaN`, `-0`, otherwise the shortest representation that reads back to the same float. */
export function formatNumber(value: number): string {
  if (value === Infinity) return '+Inf';
  if (value === -Infinity) return '-Inf';
  if (Number.isNaN(value)) return 'NaN';
  if (value === 0) return Object.is(value, -0) ? '-0' : '0';
  return String(value);
}

/** Label values (both formats) and OpenMetrics HELP: `\` → `\\`, `"` → `\"`, line feed → `\n`. */
function escapeQuoted(text: string): string {
  let out = '';
  let chunk = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c !== 0x5c && c !== 0x22 && c !== 0x0a) continue;
    out += text.slice(chunk, i) + (c === 0x5c ? '\\\\' : c === 0x22 ? '\\"' : '\\n');
    chunk = i + 1;
  }
  return chunk === 0 ? text : out + text.slice(chunk);
}

/** Prometheus HELP: only `\` and line feed are escaped (a quote stays as it is). */
function escapePrometheusHelp(text: string): string {
  let out = '';
  let chunk = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c !== 0x5c && c !== 0x0a) continue;
    out += text.slice(chunk, i) + (c === 0x5c ? '\\\\' : '\\n');
    chunk = i + 1;
  }
  return chunk === 0 ? text : out + text.slice(chunk);
}

function formatLabels(labels: Labels, emptyBraces: boolean): string {
  const names = Object.keys(labels);
  if (names.length === 0) return emptyBraces ? '{}' : '';
  let out = '{';
  for (let i = 0; i < names.length; i++) {
    const name = names[i] as string;
    out += `${i === 0 ? '' : ','}${name}="${escapeQuoted(labels[name] as string)}"`;
  }
  return `${out}}`;
}

/**
 * The TYPE word a family gets in Prometheus text, or null for none. OpenMetrics-only types map to
 * their nearest 0.0.4 reading: unknown → untyped, info/stateset → gauge; a gaugehistogram has no
 * 0.0.4 equivalent (its _gcount/_gsum are not histogram samples), so its samples go out untyped.
 */
function prometheusType(type: FamilyType): string | null {
  switch (type) {
    case 'unknown':
      return 'untyped';
    case 'info':
    case 'stateset':
      return 'gauge';
    case 'gaugehistogram':
      return null;
    default:
      return type;
  }
}

function formatSamples(samples: readonly ParsedSample[], openMetrics: boolean, rename?: string): string {
  let out = '';
  for (const sample of samples) {
    out += `${rename ?? sample.name}${formatLabels(sample.labels, false)} ${formatNumber(sample.value)}`;
    if (sample.timestampMs !== undefined) {
      // 0.0.4 timestamps are integer milliseconds; OpenMetrics ones are seconds.
      out += ` ${openMetrics ? msToSecondsText(sample.timestampMs) : formatNumber(Math.round(sample.timestampMs) || 0)}`;
    }
    const exemplar = sample.exemplar;
    if (openMetrics && exemplar !== undefined) {
      out += ` # ${formatLabels(exemplar.labels, true)} ${formatNumber(exemplar.value)}`;
      if (exemplar.timestampMs !== undefined) out += ` ${msToSecondsText(exemplar.timestampMs)}`;
    }
    out += '\n';
  }
  return out;
}

function prometheusHeader(name: string, type: string, help: string | undefined): string {
  return `${help !== undefined && help !== '' ? `# HELP ${name} ${escapePrometheusHelp(help)}\n` : ''}# TYPE ${name} ${type}\n`;
}

function formatPrometheusFamily(family: ParsedFamily): string {
  const type = prometheusType(family.type);
  if (type === null) return formatSamples(family.samples, false);
  // An OpenMetrics family read back as 0.0.4: a counter is named after its _total samples, an info
  // family after its _info samples, and _created samples become a gauge family of their own (as
  // client libraries expose them in 0.0.4).
  const created = `${family.name}_created`;
  const hasCreated = family.type === 'counter' || family.type === 'histogram' || family.type === 'summary';
  const main: ParsedSample[] = [];
  const createdSamples: ParsedSample[] = [];
  for (const sample of family.samples) (hasCreated && sample.name === created ? createdSamples : main).push(sample);
  let name = family.name;
  if (family.type === 'info') name = `${family.name}_info`;
  else if (family.type === 'counter' && main.length > 0 && main.every((s) => s.name === `${family.name}_total`)) name = `${family.name}_total`;
  let out = prometheusHeader(name, type, family.help) + formatSamples(main, false);
  if (createdSamples.length > 0) out += prometheusHeader(created, 'gauge', undefined) + formatSamples(createdSamples, false);
  return out;
}

function formatOpenMetricsFamily(family: ParsedFamily): string {
  let name = family.name;
  let rename: string | undefined;
  // A 0.0.4 counter's samples carry the family name; OpenMetrics wants <family>_total samples.
  if (family.type === 'counter' && family.samples.some((s) => s.name === family.name)) {
    if (family.name.endsWith('_total') && family.name.length > '_total'.length) name = family.name.slice(0, -'_total'.length);
    else rename = `${family.name}_total`;
  }
  let out = `# TYPE ${name} ${family.type === 'untyped' ? 'unknown' : family.type}\n`;
  if (family.unit !== undefined && family.unit !== '') out += `# UNIT ${name} ${family.unit}\n`;
  if (family.help !== undefined && family.help !== '') out += `# HELP ${name} ${escapeQuoted(family.help)}\n`;
  return out + formatSamples(family.samples, true, rename);
}

/** The model as Prometheus text 0.0.4 or OpenMetrics 1.0 text (which ends with `# EOF`). */
export function formatExposition(result: { readonly families: readonly ParsedFamily[] }, format: ExpositionFormat): string {
  let out = '';
  if (format === 'openmetrics') {
    for (const family of result.families) out += formatOpenMetricsFamily(family);
    return `${out}# EOF\n`;
  }
  for (const family of result.families) out += formatPrometheusFamily(family);
  return out;
}
