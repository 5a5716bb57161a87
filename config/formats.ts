import convict from 'convict';

/**
 * Go-style durations, as Collector and Prometheus users write them: `250ms`, `5s`, `1m30s`, `2h`.
 * A bare non-negative number means milliseconds. Coerced to a number of milliseconds.
 */
const DURATION_UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
const DURATION_RE = /^(?:\d+(?:\.\d+)?(?:ms|s|m|h))+$/;

export function parseDuration(value: unknown): number {
  if (typeof value === 'number' && Number.isFinite(value) && value >= 0) return value;
  if (typeof value !== 'string') throw new Error('must be a duration such as "5s", "250ms" or "1m30s"');
  const text = value.trim();
  if (/^\d+$/.test(text)) return Number(text);
  if (!DURATION_RE.test(text)) throw new Error(`must be a duration such as "5s", "250ms" or "1m30s", got "${value}"`);
  let total = 0;
  for (const part of text.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h)/g)) {
    total += Number(part[1]) * (DURATION_UNITS[part[2] ?? 'ms'] ?? 1);
  }
  return total;
}

// The project's convict formats (`duration`, `regex`, …), registered when this module is first
// imported: module code runs once, so each is registered once.
convict.addFormat({
  name: 'duration',
  validate(value: unknown) {
    parseDuration(value);
  },
  // Leave a bad value as it is so validate() reports it with its path instead of load() throwing.
  coerce: (value: unknown) => {
    try {
      return parseDuration(value);
    } catch {
      return value;
    }
  },
});
convict.addFormat({
  name: 'regex',
  validate(value: unknown) {
    if (typeof value !== 'string') throw new Error('must be a regular expression string');
    try {
      new RegExp(value);
    } catch (err) {
      throw new Error(`is not a valid regular expression: ${(err as Error).message}`, { cause: err });
    }
  },
});
convict.addFormat({
  name: 'http-path',
  validate(value: unknown) {
    if (typeof value !== 'string' || !value.startsWith('/')) throw new Error('must be a path starting with "/"');
  },
});
convict.addFormat({
  name: 'metric-prefix',
  validate(value: unknown) {
    if (typeof value !== 'string' || (value !== '' && !/^[a-zA-Z_:][a-zA-Z0-9_:]*$/.test(value))) {
      throw new Error('must be empty or a valid Prometheus metric name prefix');
    }
  },
});
convict.addFormat({
  name: 'label-map',
  validate(value: unknown) {
    if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new Error('must be a map of label names to string values');
    for (const [name, labelValue] of Object.entries(value)) {
      if (!/^[a-zA-Z_][a-zA-Z0-9_]*$/.test(name) || name.startsWith('__')) throw new Error(`"${name}" is not a valid label name`);
      if (typeof labelValue !== 'string') throw new Error(`value of label "${name}" must be a string`);
    }
  },
});
convict.addFormat({
  // Source names (Docker labels, environment variables: any non-empty string) → label names.
  name: 'to-label-map',
  validate(value: unknown) {
    if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new Error('must be a map of names to label names');
    for (const [from, label] of Object.entries(value)) {
      if (from === '') throw new Error('has an empty key');
      if (typeof label !== 'string' || !/^[a-zA-Z_][a-zA-Z0-9_]*$/.test(label) || label.startsWith('__')) {
        throw new Error(`"${from}" maps to ${JSON.stringify(label)}, which is not a valid label name`);
      }
    }
  },
});
convict.addFormat({
  name: 'string-array',
  validate(value: unknown) {
    if (!Array.isArray(value) || value.some((v) => typeof v !== 'string')) throw new Error('must be a list of strings');
  },
});
