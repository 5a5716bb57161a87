/** What replaces a credential in text the agent logs or reports. */
export const REDACTED = '[redacted]';

/** Headers the agent sets itself, which carry nothing secret. */
const PLAIN_HEADERS = new Set(['user-agent', 'content-type', 'content-length', 'content-encoding', 'accept', 'accept-encoding']);

/**
 * The strings of outgoing request headers that may be secret, in every form a server might
 * echo back: each custom header's value, an Authorization value whole and without its scheme,
 * and for Basic the decoded `user:password` and password alone.
 */
export function credentialStrings(headers: Readonly<Record<string, string>>): string[] {
  const found = new Set<string>();
  for (const [name, value] of Object.entries(headers)) {
    if (PLAIN_HEADERS.has(name.toLowerCase())) continue;
    found.add(value);
    if (name.toLowerCase() !== 'authorization') continue;
    const [scheme = '', credential = ''] = value.split(/\s+(.*)/s);
    found.add(credential);
    if (scheme.toLowerCase() === 'basic') {
      const decoded = Buffer.from(credential, 'base64').toString('utf8');
      found.add(decoded);
      found.add(decoded.slice(decoded.indexOf(':') + 1));
    }
  }
  // Very short strings would blank out ordinary words; no credential worth the name is that short.
  return [...found].filter((s) => s.trim().length >= 4).sort((a, b) => b.length - a.length);
}

/**
 * `text` with every occurrence of each secret replaced by {@link REDACTED}. Used on what a
 * remote server answered, which a careless server or proxy may fill with the request's headers.
 */
export function redact(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const secret of secrets) if (secret !== '' && out.includes(secret)) out = out.split(secret).join(REDACTED);
  return out;
}
