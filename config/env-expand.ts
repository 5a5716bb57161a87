/** Environment as process.env has it; an unset variable is undefined. */
export type Env = Readonly<Record<string, string | undefined>>;

export interface ExpansionProblem {
  /** Offset of the offending `${` in the original string. */
  readonly offset: number;
  readonly message: string;
}

export interface Expansion {
  readonly value: string;
  readonly problems: readonly ExpansionProblem[];
}

const NAME_RE = /^[A-Za-z_][A-Za-z0-9_]*$/;
const PROVIDER_RE = /^([A-Za-z][A-Za-z0-9+.-]*):/;

/**
 * Collector-style expansion: `${env:NAME}`, `${env:NAME:-default}`, `$$` → `$`. A `$` followed
 * by anything else stays literal (as in the Collector since bare `$VAR` was retired).
 * `:-` takes the default when the variable is unset *or empty*, as in the shell it borrows the
 * syntax from: an empty ConfigMap key should not silently become an empty setting.
 */
export function expandEnv(text: string, env: Env): Expansion {
  const problems: ExpansionProblem[] = [];
  let out = '';
  let i = 0;
  while (i < text.length) {
    const ch = text[i];
    if (ch !== '$') {
      out += ch;
      i++;
      continue;
    }
    const next = text[i + 1];
    if (next === '$') {
      out += '$';
      i += 2;
      continue;
    }
    if (next !== '{') {
      out += '$';
      i++;
      continue;
    }
    const close = text.indexOf('}', i + 2);
    if (close < 0) {
      problems.push({ offset: i, message: `unterminated "\${" in "${text}" (missing "}"; write $$ for a literal $)` });
      out += text.slice(i);
      break;
    }
    const inner = text.slice(i + 2, close);
    out += resolve(inner, i, env, problems);
    i = close + 1;
  }
  return { value: out, problems };
}

function resolve(inner: string, offset: number, env: Env, problems: ExpansionProblem[]): string {
  const provider = PROVIDER_RE.exec(inner)?.[1];
  if (provider === undefined) {
    const hint = NAME_RE.test(inner) ? `write \${env:${inner}}` : 'write ${env:NAME}';
    problems.push({ offset, message: `"\${${inner}}" is not a supported reference; ${hint} (or $$ for a literal $)` });
    return '';
  }
  if (provider !== 'env') {
    problems.push({ offset, message: `"\${${inner}}" uses the unsupported provider "${provider}"; only \${env:NAME} is supported` });
    return '';
  }
  const spec = inner.slice('env:'.length);
  const sep = spec.indexOf(':-');
  const name = sep < 0 ? spec : spec.slice(0, sep);
  const fallback = sep < 0 ? undefined : spec.slice(sep + 2);
  if (!NAME_RE.test(name)) {
    problems.push({ offset, message: `"\${${inner}}": "${name}" is not a valid environment variable name` });
    return '';
  }
  const value = env[name];
  if (value !== undefined && (value !== '' || fallback === undefined)) return value;
  if (fallback !== undefined) return fallback;
  problems.push({ offset, message: `environment variable ${name} is not set and \${env:${name}} has no default (write \${env:${name}:-value} to give one)` });
  return '';
}
