// Just enough of a Prometheus text-format parser to count what a scrape returned.

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

function unescapeLabelValue(raw: string): string {
  return raw.replace(/\\(["\\n])/g, (_m, c: string) => (c === 'n' ? '\n' : c));
}

function parseLabels(text: string, line: string): Record<string, string> {
  const labels: Record<string, string> = {};
  const re = /\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*=\s*"((?:[^"\\]|\\.)*)"\s*,?/gy;
  let match: RegExpExecArray | null;
  let consumed = 0;
  while ((match = re.exec(text)) !== null) {
    labels[match[1] as string] = unescapeLabelValue(match[2] as string);
    consumed = re.lastIndex;
  }
  if (text.slice(consumed).trim() !== '') throw new Error(`cannot parse labels in: ${line}`);
  return labels;
}

/** Every sample line of a text exposition (comments and blank lines skipped). */
export function parseExposition(body: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of body.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const brace = line.indexOf('{');
    const space = line.indexOf(' ');
    let name: string;
    let labels: Record<string, string> = {};
    let rest: string;
    if (brace !== -1 && (space === -1 || brace < space)) {
      name = line.slice(0, brace);
      // The closing brace is the last `}` not inside a quoted value; label values may hold `}`.
      let end = -1;
      let inQuotes = false;
      for (let i = brace + 1; i < line.length; i++) {
        const c = line[i];
        if (inQuotes) {
          if (c === '\\') i++;
          else if (c === '"') inQuotes = false;
        } else if (c === '"') inQuotes = true;
        else if (c === '}') {
          end = i;
          break;
        }
      }
      if (end === -1) throw new Error(`unterminated label set in: ${line}`);
      labels = parseLabels(line.slice(brace + 1, end), line);
      rest = line.slice(end + 1).trim();
    } else {
      name = line.slice(0, space);
      rest = line.slice(space + 1).trim();
    }
    const valueText = rest.split(/\s+/)[0] ?? '';
    const value = valueText === '+Inf' ? Infinity : valueText === '-Inf' ? -Infinity : Number(valueText);
    samples.push({ name, labels, value });
  }
  return samples;
}
