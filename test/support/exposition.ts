/**
 * A small, strict parser for the Prometheus text exposition format (0.0.4), enough to
 * find samples by name and labels in the agent's /metrics output. Comment lines
 * (`# HELP`, `# TYPE`, anything else after `#`) are skipped; a malformed sample line
 * throws, naming the line.
 */

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*/;
const LABEL = /^[a-zA-Z_][a-zA-Z0-9_]*/;

function parseValue(text: string, line: string): number {
  switch (text) {
    case '+Inf':
      return Infinity;
    case '-Inf':
      return -Infinity;
    case 'NaN':
      return NaN;
  }
  const n = Number(text);
  if (text === '' || Number.isNaN(n)) throw new Error(`bad sample value ${JSON.stringify(text)} in line: ${line}`);
  return n;
}

function parseLine(line: string): Sample {
  const nameMatch = NAME.exec(line);
  if (!nameMatch) throw new Error(`bad metric name in line: ${line}`);
  const name = nameMatch[0];
  let i = name.length;
  const labels: Record<string, string> = {};
  if (line[i] === '{') {
    i++;
    for (;;) {
      while (line[i] === ' ') i++;
      if (line[i] === '}') {
        i++;
        break;
      }
      const key = LABEL.exec(line.slice(i));
      if (!key) throw new Error(`bad label name at column ${i} in line: ${line}`);
      i += key[0].length;
      if (line[i] !== '=' || line[i + 1] !== '"') throw new Error(`expected =" at column ${i} in line: ${line}`);
      i += 2;
      let value = '';
      for (;;) {
        const c = line[i];
        if (c === undefined) throw new Error(`unterminated label value in line: ${line}`);
        i++;
        if (c === '"') break;
        if (c === '\\') {
          const e = line[i++];
          if (e === 'n') value += '\n';
          else if (e === '\\' || e === '"') value += e;
          else throw new Error(`bad escape \\${e ?? ''} in line: ${line}`);
        } else value += c;
      }
      if (key[0] in labels) throw new Error(`duplicate label ${key[0]} in line: ${line}`);
      labels[key[0]] = value;
      if (line[i] === ',') i++;
      else if (line[i] !== '}') throw new Error(`expected , or } at column ${i} in line: ${line}`);
    }
  }
  const rest = line.slice(i).trim().split(/\s+/);
  if (rest.length < 1 || rest.length > 2) throw new Error(`bad sample line: ${line}`);
  return { name, labels, value: parseValue(rest[0] ?? '', line) };
}

/** Parses a whole exposition into samples, in order. */
export function parseExposition(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.trimEnd();
    if (line === '' || line.startsWith('#')) continue;
    samples.push(parseLine(line));
  }
  return samples;
}

/** Samples of `name` whose labels include every pair in `match`. */
export function findSamples(samples: readonly Sample[], name: string, match: Record<string, string> = {}): Sample[] {
  return samples.filter((s) => s.name === name && Object.entries(match).every(([k, v]) => s.labels[k] === v));
}

/**
 * The value of the one sample of `name` matching `match`; throws (listing what there
 * is) when there are none or several.
 */
export function sampleValue(samples: readonly Sample[], name: string, match: Record<string, string> = {}): number {
  const found = findSamples(samples, name, match);
  if (found.length !== 1) {
    const same = samples.filter((s) => s.name === name).map((s) => `  ${formatSample(s)}`);
    throw new Error(
      `expected exactly one ${name}${formatLabels(match)}, found ${found.length}; all ${name} samples:\n${same.join('\n') || '  (none)'}`,
    );
  }
  return found[0]!.value;
}

export function formatLabels(labels: Record<string, string>): string {
  const parts = Object.entries(labels).map(([k, v]) => `${k}=${JSON.stringify(v)}`);
  return parts.length ? `{${parts.join(',')}}` : '';
}

export function formatSample(s: Sample): string {
  return `${s.name}${formatLabels(s.labels)} ${s.value}`;
}
