// Settings both push exporters (pushgateway, otlphttp) check the same way: the destination URL
// and the custom headers, whose values may be secrets and so never appear in a message.
import convict from 'convict';

/** Headers the exporter sets itself (or Node does); a configured one would break the request. */
export const RESERVED_HEADERS: readonly string[] = ['content-type', 'content-length', 'content-encoding', 'transfer-encoding', 'host', 'connection', 'keep-alive', 'upgrade', 'te', 'trailer'];

/** An HTTP token (RFC 9110): what a header name may be. */
const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

// `http-header-map`, registered when this module is first imported (once): only the shape; names
// and values are checked by {@link headerProblems}.
convict.addFormat({
  // A failing format's message would hold the whole map, secrets included.
  name: 'http-header-map',
  validate(value: unknown) {
    if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new Error('must be a map of header names to string values');
  },
});

/** Problems with configured headers; messages name the header, never its value. */
export function headerProblems(headers: Readonly<Record<string, unknown>>): Array<{ path: string; message: string }> {
  const problems: Array<{ path: string; message: string }> = [];
  for (const [name, value] of Object.entries(headers)) {
    const at = `headers::${name}`;
    if (!TOKEN.test(name)) problems.push({ path: at, message: `"${name}" is not a valid header name` });
    else if (RESERVED_HEADERS.includes(name.toLowerCase())) problems.push({ path: at, message: `"${name}" is set by the exporter itself` });
    else if (typeof value !== 'string') problems.push({ path: at, message: 'must be a string' });
    else if (/[\r\n\0]/.test(value)) problems.push({ path: at, message: 'holds a line break or NUL' });
  }
  return problems;
}

/**
 * Checks a required http(s) destination URL for a convict format; throws with `required` when it
 * is empty and with `noCredentials` when it holds a user or password.
 */
export function checkHttpEndpoint(value: unknown, required: string, noCredentials: string): URL {
  if (typeof value !== 'string') throw new Error('must be an http:// or https:// URL');
  if (value === '') throw new Error(required);
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new Error(`must be an http:// or https:// URL, got ${JSON.stringify(withoutUserinfo(value).slice(0, 200))}`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error(`must be an http:// or https:// URL, got scheme "${url.protocol}"`);
  if (url.username !== '' || url.password !== '') throw new Error(noCredentials);
  return url;
}

/** `scheme://user:password@host…` with the user and password replaced, for messages. */
export function withoutUserinfo(text: string): string {
  return text.replace(/^([^:/?#]*:\/\/)[^/?#]*@/, '$1…@');
}
