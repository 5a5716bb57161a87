/**
 * Container exclusion patterns: `/regexp/` (searched, unanchored like the other regexps in the
 * config) or a glob where `*` is any run of characters and `?` one character, matched against
 * the whole value. Throws an Error naming the pattern when a regexp does not compile.
 */
export function compilePatterns(patterns: readonly string[]): (value: string) => boolean {
  const tests = patterns.map((p): RegExp => {
    if (p.length >= 2 && p.startsWith('/') && p.endsWith('/')) {
      try {
        return new RegExp(p.slice(1, -1));
      } catch (err) {
        throw new Error(`"${p}" is not a valid regular expression: ${(err as Error).message}`, { cause: err });
      }
    }
    const body = p.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.');
    return new RegExp(`^${body}$`);
  });
  return (value) => tests.some((t) => t.test(value));
}
