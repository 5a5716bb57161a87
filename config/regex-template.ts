// Names built from a regexp match, as processors' configs write them (`new_key: app_$1`,
// `new_name: pv_${kind}_bytes`): checked once against the regexp's groups, expanded per match.

/** Compiles a regexp from config, throwing an Error that says which key was wrong. */
export function compileRegex(source: unknown, what: string): RegExp {
  if (typeof source !== 'string' || source === '') throw new Error(`"${what}" must be a non-empty regular expression`);
  try {
    return new RegExp(source);
  } catch (err) {
    throw new Error(`"${what}" is not a valid regular expression: ${(err as Error).message}`, { cause: err });
  }
}

/** How many capture groups a regexp has, and the names of its named ones. */
export function regexGroups(regex: RegExp): { count: number; names: string[] } {
  // An empty alternative always matches, and the match lists every group (undefined).
  const match = new RegExp(`${regex.source}|`, regex.flags.replace('g', '').replace('y', '')).exec('');
  return { count: (match?.length ?? 1) - 1, names: Object.keys(match?.groups ?? {}) };
}

type Part = string | number | { readonly name: string };

/**
 * A template with `$1`…`$99`, `${1}`, `${name}` and `$$` (a literal `$`). Unlike Go, digits after
 * `$` are always a group number: `$1x` is group 1 followed by `x`.
 */
export class RegexTemplate {
  readonly #parts: readonly Part[];
  /** Whether the template refers to any group. */
  readonly usesGroups: boolean;

  private constructor(parts: Part[]) {
    this.#parts = parts;
    this.usesGroups = parts.some((p) => typeof p !== 'string');
  }

  /** Parses `template`; with `regex`, every group it names must exist there. Throws on errors. */
  static parse(template: string, what: string, regex?: RegExp): RegexTemplate {
    const parts: Part[] = [];
    const groups = regex ? regexGroups(regex) : { count: 0, names: [] };
    let literal = '';
    const re = /\$(?:(\$)|(\d+)|\{(\d+)\}|\{([A-Za-z_][A-Za-z0-9_]*)\})/y;
    for (let i = 0; i < template.length; ) {
      if (template[i] !== '$') {
        literal += template[i];
        i++;
        continue;
      }
      re.lastIndex = i;
      const m = re.exec(template);
      if (!m) throw new Error(`"${what}" has a "$" at position ${i} that is not $n, \${n}, \${name} or $$`);
      i = re.lastIndex;
      if (m[1] !== undefined) {
        literal += '$';
        continue;
      }
      if (literal) parts.push(literal);
      literal = '';
      const number = m[2] ?? m[3];
      if (number !== undefined) {
        const n = Number(number);
        if (n < 1 || n > groups.count) {
          throw new Error(`"${what}" refers to group $${n}, but the regular expression has ${groups.count === 0 ? 'no groups' : `groups 1 to ${groups.count}`}`);
        }
        parts.push(n);
      } else {
        const name = m[4] as string;
        if (!groups.names.includes(name)) throw new Error(`"${what}" refers to group "${name}", which the regular expression does not name`);
        parts.push({ name });
      }
    }
    if (literal) parts.push(literal);
    return new RegexTemplate(parts);
  }

  /** The template with each group replaced by its text in `match` (empty when it did not take part). */
  expand(match: RegExpExecArray | null): string {
    let out = '';
    for (const part of this.#parts) {
      if (typeof part === 'string') out += part;
      else if (typeof part === 'number') out += match?.[part] ?? '';
      else out += match?.groups?.[part.name] ?? '';
    }
    return out;
  }
}
