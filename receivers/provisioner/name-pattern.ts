/**
 * Entry-name patterns of the discovery directories, with the syntax the static provisioner's
 * `namePattern` has (Go's `filepath.Match`): `*` any run of characters, `?` one character,
 * `[abc]`, `[a-z]`, `[^a-z]` a character class (non-empty), `\x` the character x itself.
 * Everything else matches itself. The whole name must match.
 */

/** Characters that mean something in a RegExp with the `u` flag, outside a class. */
const REGEXP_SYNTAX = /[\\^$.*+?()[\]{}|/]/;

function literal(c: string): string {
  return REGEXP_SYNTAX.test(c) ? `\\${c}` : c;
}

/** A character inside a RegExp class: `\`, `]`, `[`, `^` and `-` escaped. */
function classChar(c: string): string {
  return /[\\\]^[-]/.test(c) ? `\\${c}` : c;
}

/**
 * The pattern as an anchored RegExp; throws an Error saying what is wrong with a malformed
 * one (an unclosed or empty class, a reversed range, a trailing `\`), as Go's ErrBadPattern.
 */
export function namePatternRegExp(pattern: string): RegExp {
  const chars = [...pattern];
  let out = '';
  let i = 0;
  // The next character, with `\` escapes resolved; throws at the end of the pattern.
  const take = (what: string): string => {
    let c = chars[i++];
    if (c === '\\') c = chars[i++];
    if (c === undefined) throw new Error(`${what} is cut short in ${JSON.stringify(pattern)}`);
    return c;
  };
  while (i < chars.length) {
    const c = chars[i] as string;
    if (c === '*') {
      out += '[^/]*';
      i++;
    } else if (c === '?') {
      out += '[^/]';
      i++;
    } else if (c === '[') {
      i++;
      let negate = false;
      if (chars[i] === '^') {
        negate = true;
        i++;
      }
      let body = '';
      let items = 0;
      for (;;) {
        if (i >= chars.length) throw new Error(`unclosed "[" in ${JSON.stringify(pattern)}`);
        if (chars[i] === ']' && items > 0) {
          i++;
          break;
        }
        if (chars[i] === ']') throw new Error(`empty character class in ${JSON.stringify(pattern)}`);
        const lo = take('a character class');
        if (chars[i] === '-' && chars[i + 1] !== undefined && chars[i + 1] !== ']') {
          i++;
          const hi = take('a character range');
          if ((hi.codePointAt(0) ?? 0) < (lo.codePointAt(0) ?? 0)) throw new Error(`reversed range "${lo}-${hi}" in ${JSON.stringify(pattern)}`);
          body += `${classChar(lo)}-${classChar(hi)}`;
        } else body += classChar(lo);
        items++;
      }
      out += negate ? `[^/${body}]` : `[${body}]`;
    } else out += literal(take('an escape'));
  }
  return new RegExp(`^${out}$`, 'u');
}

/** Why the pattern is unusable, or undefined. */
export function namePatternProblem(pattern: string): string | undefined {
  try {
    namePatternRegExp(pattern);
    return undefined;
  } catch (err) {
    return (err as Error).message;
  }
}
