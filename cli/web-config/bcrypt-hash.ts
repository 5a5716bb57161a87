/**
 * What a usable bcrypt hash looks like: `$2a$`, `$2b$` or `$2y$` (htpasswd writes 2y, Python and
 * OpenBSD 2b), a two-digit cost 04–31, then 53 characters of bcrypt's base64 (salt and digest).
 * bcryptjs answers "no match" for anything else, which would turn a typo into a silent lock-out.
 */
const BCRYPT_RE = /^\$2[aby]\$(\d\d)\$[./A-Za-z0-9]{53}$/;

export const BCRYPT_HINT = 'make one with: htpasswd -nBC 10 "" | tr -d \':\\n\'';

/** Why `value` is not a usable bcrypt hash, or undefined. Never repeats the value: it may be a password pasted by mistake. */
export function bcryptHashProblem(value: string): string | undefined {
  const match = BCRYPT_RE.exec(value);
  if (match === null) {
    return `is not a bcrypt hash (expected $2a$, $2b$ or $2y$, a two-digit cost and 53 characters; got ${value.length} characters; ${BCRYPT_HINT})`;
  }
  const cost = Number(match[1]);
  if (cost < 4 || cost > 31) return `has bcrypt cost ${cost}; bcrypt costs are 04 to 31`;
  return undefined;
}

/** The cost of a hash that passed {@link bcryptHashProblem}. */
export function bcryptCost(hash: string): number {
  return Number(hash.slice(4, 6));
}
