/**
 * The URL path of a Pushgateway group: `/metrics/job/<job>/<label>/<value>…`.
 *
 * Following the Pushgateway README: a value that cannot be a path segment, one holding `/` or an
 * empty one, goes base64url-encoded behind the label name suffixed `@base64` (an empty value as
 * `=`, since an empty segment cannot be sent). Here `.` and `..` go the same way, because HTTP
 * clients, proxies and the Pushgateway's router all collapse such segments. Everything else is
 * percent-encoded (UTF-8), so spaces, `%`, `?`, `#` and non-ASCII letters arrive intact.
 */
export function groupingKeyPath(job: string, labels: Readonly<Record<string, string>>): string {
  if (job === '') throw new Error('a Pushgateway group needs a non-empty job');
  const parts = ['metrics', ...segment('job', job)];
  for (const [name, value] of Object.entries(labels)) {
    if (name === 'job') throw new Error('"job" is not a grouping label: it is the group\'s job');
    parts.push(...segment(name, value));
  }
  return '/' + parts.join('/');
}

function segment(name: string, value: string): [string, string] {
  if (value === '') return [`${name}@base64`, '='];
  if (value.includes('/') || value === '.' || value === '..') return [`${name}@base64`, Buffer.from(value, 'utf8').toString('base64url')];
  return [name, encodeURIComponent(value)];
}

/** The grouping labels pushed: the configured ones, with `instance` = the node name unless given. */
export function groupingLabels(configured: Readonly<Record<string, string>>, nodeName: string): Record<string, string> {
  return 'instance' in configured ? { ...configured } : { instance: nodeName, ...configured };
}

/** `endpoint` (maybe with a path prefix) joined with a group's path. */
export function groupUrl(endpoint: string, path: string): URL {
  const base = new URL(endpoint);
  base.pathname = base.pathname.replace(/\/+$/, '') + path;
  return base;
}
