// The scrape client against targets that misbehave on purpose (test/support/hostile-target.ts):
// every failure reason, the headers a target sees, TLS, keep-alive, and the cost of hostile
// answers in time and memory. Timings assert the client's limits, never the server's pace.
import assert from 'node:assert/strict';
import { getEventListeners } from 'node:events';
import { readFileSync } from 'node:fs';
import { rename, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  HOSTILE_TLS_NAME,
  HostileTarget,
  corruptGzip,
  delayed,
  dropsReusedConnections,
  endlessBody,
  exposition,
  garbage,
  gzipBomb,
  hugeBody,
  liesAboutLength,
  redirect,
  slowHeaders,
  status,
  truncated,
  wrongEncoding,
} from '../../test/support/hostile-target.ts';
import { freePort } from '../../test/support/ports.ts';
import { makeTempDir, sleep, waitFor } from '../../test/support/proc.ts';
import { ScrapeClient, ScrapeError, acceptHeader, redactUrl, type ScrapeFailureReason, type ScrapeRequest } from './scrape-client.ts';

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;
const PACKAGE_VERSION = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
const BODY = '# TYPE up gauge\nup 1\n# TYPE http_requests_total counter\nhttp_requests_total{code="200"} 1027\n';

let plain: HostileTarget;
let secure: HostileTarget;
/** Another HTTPS target, for its certificate: a CA that did not sign `secure`'s. */
let stranger: HostileTarget;
let dir: { path: string; remove: () => Promise<void> };

before(async () => {
  [plain, secure, stranger, dir] = await Promise.all([
    HostileTarget.start(),
    HostileTarget.start({ https: true }),
    HostileTarget.start({ https: true }),
    makeTempDir('nodemeter-scrape-'),
  ]);
  plain
    .route('/metrics', exposition(BODY))
    .route('/gzip', exposition(BODY.repeat(50), { gzip: true }))
    .route('/openmetrics', exposition('up 1\n# EOF\n', { contentType: 'application/openmetrics-text; version=1.0.0; charset=utf-8' }))
    .route('/latin1', exposition(Buffer.from([0x75, 0x70, 0x7b, 0x61, 0x3d, 0x22, 0xff, 0xfe, 0x22, 0x7d, 0x20, 0x31, 0x0a])))
    .route('/empty-gzip', wrongEncoding('gzip', ''))
    .route('/slow-ok', delayed(150, exposition(BODY)))
    .route('/error', status(500, 'boom\n'))
    .route('/missing', status(404, 'nope\n'))
    .route('/redirect', redirect('/redirect-target'))
    .route('/redirect-away', redirect('http://127.0.0.1:1/elsewhere', 301))
    .route('/redirect-target', exposition(BODY))
    .route('/brotli', wrongEncoding('br', BODY))
    .route('/deflate', wrongEncoding('deflate', BODY))
    .route('/bad-crc', corruptGzip('crc'))
    .route('/not-gzip', corruptGzip('plain'))
    .route('/claims-10g', liesAboutLength(10 * GiB))
    .route('/huge', hugeBody(64 * MiB, { declareLength: false }))
    .route('/two-mib', hugeBody(2 * MiB, { declareLength: true }))
    .route('/bomb', gzipBomb(10 * GiB))
    .route('/slow-headers', slowHeaders(20))
    .route('/endless', endlessBody(100))
    .route('/late', delayed(5_000, exposition(BODY)))
    .route('/truncated', truncated(1000, 10))
    .route('/garbage', garbage())
    .route('/flaky-keepalive', dropsReusedConnections(exposition(BODY)));
  secure.route('/metrics', exposition(BODY));
});

after(async () => {
  await Promise.all([plain?.close(), secure?.close(), stranger?.close(), dir?.remove()]);
});

function request(url: URL, overrides: Partial<ScrapeRequest> = {}): ScrapeRequest {
  return { url, timeoutMs: 3_000, maxBodyBytes: 4 * MiB, maxDecompressedBytes: 8 * MiB, acceptOpenMetrics: true, ...overrides };
}

/** Runs `fn` with a fresh client and destroys it afterwards, whatever happens. */
async function withClient<T>(fn: (client: ScrapeClient) => Promise<T>): Promise<T> {
  const client = new ScrapeClient();
  try {
    return await fn(client);
  } finally {
    client.destroy();
  }
}

/** Awaits a scrape that must fail with `reason`; returns the error for more checks. */
async function failure(scrape: Promise<unknown>, reason: ScrapeFailureReason): Promise<ScrapeError> {
  try {
    await scrape;
  } catch (err) {
    assert.ok(err instanceof ScrapeError, `expected a ScrapeError, got ${String(err)}`);
    assert.equal(err.reason, reason, `wrong reason for: ${err.message}`);
    assert.equal(err.code, `NM_SCRAPE_${reason.toUpperCase()}`);
    return err;
  }
  assert.fail(`expected a ${reason} failure, but the scrape succeeded`);
}

/** Milliseconds `work` took to settle, and its failure if it failed with `reason`. */
async function timedFailure(work: () => Promise<unknown>, reason: ScrapeFailureReason): Promise<{ error: ScrapeError; elapsedMs: number }> {
  const started = performance.now();
  const error = await failure(work(), reason);
  return { error, elapsedMs: performance.now() - started };
}

/** Parses an Accept header into media ranges (with their parameters, q removed) and q values. */
function parseAccept(header: string): { type: string; q: number }[] {
  return header.split(',').map((part) => {
    const params = part.split(';').map((p) => p.trim());
    const q = params.find((p) => p.startsWith('q='));
    return { type: params.filter((p) => !p.startsWith('q=')).join(';'), q: q === undefined ? 1 : Number(q.slice(2)) };
  });
}

describe('ScrapeClient: successful scrapes', { timeout: 10_000 }, () => {
  it('returns a plain body with its status, content type, sizes and duration', async () => {
    await withClient(async (client) => {
      const res = await client.scrape(request(plain.url('/metrics')));
      assert.equal(res.status, 200);
      assert.equal(res.contentType, 'text/plain; version=0.0.4; charset=utf-8');
      assert.equal(res.body.toString('utf8'), BODY);
      assert.equal(res.wireBytes, Buffer.byteLength(BODY));
      assert.equal(res.contentEncoding, 'identity');
      assert.ok(res.durationMs > 0 && res.durationMs < 1_000, `durationMs ${res.durationMs}`);
    });
  });

  it('gunzips a gzip body and counts the wire bytes before decompression', async () => {
    await withClient(async (client) => {
      const res = await client.scrape(request(plain.url('/gzip')));
      assert.equal(res.contentEncoding, 'gzip');
      assert.equal(res.body.toString('utf8'), BODY.repeat(50));
      assert.ok(res.wireBytes > 0 && res.wireBytes < res.body.length / 10, `wire ${res.wireBytes} vs body ${res.body.length}`);
    });
  });

  it('passes the Content-Type through for the parser to choose the format', async () => {
    await withClient(async (client) => {
      const res = await client.scrape(request(plain.url('/openmetrics')));
      assert.equal(res.contentType, 'application/openmetrics-text; version=1.0.0; charset=utf-8');
    });
  });

  it('returns invalid UTF-8 bytes untouched', async () => {
    await withClient(async (client) => {
      const res = await client.scrape(request(plain.url('/latin1')));
      assert.deepEqual([...res.body], [0x75, 0x70, 0x7b, 0x61, 0x3d, 0x22, 0xff, 0xfe, 0x22, 0x7d, 0x20, 0x31, 0x0a]);
    });
  });

  it('takes an empty body labelled gzip as an empty body', async () => {
    await withClient(async (client) => {
      const res = await client.scrape(request(plain.url('/empty-gzip')));
      assert.equal(res.body.length, 0);
      assert.equal(res.contentEncoding, 'gzip');
    });
  });

  it('waits for a slow answer that comes within the timeout', async () => {
    await withClient(async (client) => {
      const res = await client.scrape(request(plain.url('/slow-ok'), { timeoutMs: 2_000 }));
      assert.equal(res.body.toString('utf8'), BODY);
      assert.ok(res.durationMs >= 140, `durationMs ${res.durationMs}`);
    });
  });
});

describe('ScrapeClient: request headers', { timeout: 10_000 }, () => {
  it('sends Accept with OpenMetrics first, Accept-Encoding gzip, its User-Agent and the timeout', async () => {
    await withClient(async (client) => {
      await client.scrape(request(plain.url('/metrics?module=default'), { timeoutMs: 2_500 }));
      const { headers } = plain.lastRequest('/metrics');
      const accept = parseAccept(headers.accept ?? '');
      assert.deepEqual(accept.map((a) => a.type), [
        'application/openmetrics-text;version=1.0.0',
        'application/openmetrics-text;version=0.0.1',
        'text/plain;version=0.0.4',
        '*/*',
      ]);
      const qs = accept.map((a) => a.q);
      assert.deepEqual(qs, [...qs].sort((a, b) => b - a), 'q values fall from the first to the last');
      assert.ok(new Set(qs).size === qs.length, 'no two ranges share a q value');
      assert.equal(headers['accept-encoding'], 'gzip');
      assert.equal(headers['user-agent'], `nodemeter/${PACKAGE_VERSION}`);
      assert.equal(headers['x-prometheus-scrape-timeout-seconds'], '2.5');
      assert.equal(headers.authorization, undefined);
      assert.equal(plain.lastRequest('/metrics').url, '/metrics?module=default');
    });
  });

  it('asks for the text format only when OpenMetrics is off', async () => {
    await withClient(async (client) => {
      await client.scrape(request(plain.url('/metrics'), { acceptOpenMetrics: false, timeoutMs: 10_000 }));
      const { headers } = plain.lastRequest('/metrics');
      assert.equal(headers.accept, acceptHeader(false));
      assert.deepEqual(parseAccept(headers.accept ?? '').map((a) => a.type), ['text/plain;version=0.0.4', '*/*']);
      assert.equal(headers['x-prometheus-scrape-timeout-seconds'], '10');
    });
  });

  it('sends extra headers and refuses ones that would replace its own', async () => {
    await withClient(async (client) => {
      await client.scrape(request(plain.url('/metrics'), { extraHeaders: { 'X-Scope-OrgID': 'tenant-a' } }));
      assert.equal(plain.lastRequest('/metrics').headers['x-scope-orgid'], 'tenant-a');
      const before = plain.requests.length;
      const refused: Record<string, string>[] = [{ Authorization: 'Basic abc' }, { 'accept-encoding': 'br' }, { Host: 'elsewhere' }, { 'X-Ok': 'line\r\nInjected: 1' }];
      for (const extraHeaders of refused) {
        const error = await failure(client.scrape(request(plain.url('/metrics'), { extraHeaders })), 'bad_request');
        assert.doesNotMatch(error.message, /abc|Injected/);
      }
      assert.equal(plain.requests.length, before, 'nothing was sent for a refused request');
    });
  });

  it('sends the bearer token only when configured, and re-reads the file when it changes', async () => {
    const tokenFile = join(dir.path, 'token');
    await writeFile(tokenFile, 'tok-one\n');
    await withClient(async (client) => {
      await client.scrape(request(plain.url('/metrics'), { bearerTokenFile: tokenFile }));
      assert.equal(plain.lastRequest('/metrics').headers.authorization, 'Bearer tok-one');

      // Rewritten in place with the same size; only the times say it changed.
      await writeFile(tokenFile, 'tok-two\n');
      const later = new Date(Date.now() + 60_000);
      await utimes(tokenFile, later, later);
      await client.scrape(request(plain.url('/metrics'), { bearerTokenFile: tokenFile }));
      assert.equal(plain.lastRequest('/metrics').headers.authorization, 'Bearer tok-two');

      // Swapped by rename, as the kubelet rotates projected service-account tokens.
      await writeFile(`${tokenFile}.new`, 'tok-three');
      await rename(`${tokenFile}.new`, tokenFile);
      await client.scrape(request(plain.url('/metrics'), { bearerTokenFile: tokenFile }));
      assert.equal(plain.lastRequest('/metrics').headers.authorization, 'Bearer tok-three');

      await client.scrape(request(plain.url('/metrics')));
      assert.equal(plain.lastRequest('/metrics').headers.authorization, undefined);
    });
  });

  it('fails with token_file for a missing, empty or unusable token file, without sending anything', async () => {
    const empty = join(dir.path, 'empty-token');
    const multiline = join(dir.path, 'two-line-token');
    await writeFile(empty, '  \n');
    await writeFile(multiline, 'secret-part-one\nsecret-part-two\n');
    await withClient(async (client) => {
      const before = plain.requests.length;
      const missing = await failure(client.scrape(request(plain.url('/metrics'), { bearerTokenFile: join(dir.path, 'absent') })), 'token_file');
      assert.match(missing.message, /absent.*ENOENT/);
      assert.equal(missing.retryable, true);
      await failure(client.scrape(request(plain.url('/metrics'), { bearerTokenFile: empty })), 'token_file');
      const bad = await failure(client.scrape(request(plain.url('/metrics'), { bearerTokenFile: multiline })), 'token_file');
      assert.doesNotMatch(bad.message, /secret-part/);
      assert.equal(plain.requests.length, before);
    });
  });

  it('never puts the token or query values in an error message', async () => {
    const tokenFile = join(dir.path, 'secret-token');
    await writeFile(tokenFile, 'very-secret-token-value');
    await withClient(async (client) => {
      const url = new URL(plain.url('/error?apikey=hunter2&module=x'));
      url.username = 'admin';
      url.password = 'pa55word';
      const error = await failure(client.scrape(request(url, { bearerTokenFile: tokenFile })), 'http_status');
      const shown = `${error.message} ${String(error.cause)} ${JSON.stringify(error)}`;
      assert.doesNotMatch(shown, /very-secret-token-value|hunter2|pa55word|admin/);
      assert.equal(error.url, `${plain.origin}/error?apikey=<redacted>&module=<redacted>`);
      assert.equal(plain.lastRequest('/error').headers.authorization, 'Bearer very-secret-token-value');
    });
  });
});

describe('ScrapeClient: failures', { timeout: 10_000 }, () => {
  it('reports a non-2xx answer as http_status with the status: 5xx retryable, 4xx not', async () => {
    await withClient(async (client) => {
      const server = await failure(client.scrape(request(plain.url('/error'))), 'http_status');
      assert.equal(server.status, 500);
      assert.equal(server.retryable, true);
      assert.match(server.message, /answered HTTP 500/);
      const missing = await failure(client.scrape(request(plain.url('/missing'))), 'http_status');
      assert.equal(missing.status, 404);
      assert.equal(missing.retryable, false);
    });
  });

  it('never follows a redirect, relative or absolute', async () => {
    await withClient(async (client) => {
      const relative = await failure(client.scrape(request(plain.url('/redirect'))), 'redirect');
      assert.equal(relative.status, 302);
      const absolute = await failure(client.scrape(request(plain.url('/redirect-away'))), 'redirect');
      assert.equal(absolute.status, 301);
      assert.equal(plain.hits('/redirect'), 1);
      assert.equal(plain.hits('/redirect-target'), 0, 'the redirect target was never requested');
    });
  });

  it('rejects a Content-Encoding it did not ask for', async () => {
    await withClient(async (client) => {
      const br = await failure(client.scrape(request(plain.url('/brotli'))), 'bad_encoding');
      assert.match(br.message, /"br"/);
      await failure(client.scrape(request(plain.url('/deflate'))), 'bad_encoding');
    });
  });

  it('rejects gzip that does not decode: a wrong checksum, plain text labelled gzip', async () => {
    await withClient(async (client) => {
      await failure(client.scrape(request(plain.url('/bad-crc'))), 'bad_encoding');
      await failure(client.scrape(request(plain.url('/not-gzip'))), 'bad_encoding');
    });
  });

  it('fails at the headers when Content-Length is over the body limit', async () => {
    await withClient(async (client) => {
      const { error, elapsedMs } = await timedFailure(() => client.scrape(request(plain.url('/claims-10g'), { timeoutMs: 5_000 })), 'body_too_large');
      assert.equal(error.limit, 4 * MiB);
      assert.match(error.message, /Content-Length 10737418240 is over the 4194304-byte body limit/);
      assert.ok(elapsedMs < 1_000, `took ${elapsedMs} ms: it waited for a body instead of reading the header`);
    });
  });

  it('stops reading a chunked body the moment it passes the body limit', async () => {
    await withClient(async (client) => {
      const { error, elapsedMs } = await timedFailure(() => client.scrape(request(plain.url('/huge'), { maxBodyBytes: MiB })), 'body_too_large');
      assert.equal(error.limit, MiB);
      assert.ok(elapsedMs < 1_000, `took ${elapsedMs} ms`);
    });
  });

  it('holds an uncompressed body to the smaller of the two limits', async () => {
    await withClient(async (client) => {
      const error = await failure(client.scrape(request(plain.url('/two-mib'), { maxBodyBytes: 8 * MiB, maxDecompressedBytes: MiB })), 'body_too_large');
      assert.equal(error.limit, MiB);
      const res = await client.scrape(request(plain.url('/two-mib'), { maxBodyBytes: 2 * MiB, maxDecompressedBytes: 2 * MiB }));
      assert.equal(res.body.length, 2 * MiB, 'exactly at the limit is allowed');
    });
  });

  it('stops a 10 GiB gzip bomb at the decompressed limit, in well under a second and without the memory', async () => {
    await withClient(async (client) => {
      const rssBefore = process.memoryUsage.rss();
      let rssPeak = rssBefore;
      const sampler = setInterval(() => (rssPeak = Math.max(rssPeak, process.memoryUsage.rss())), 2);
      try {
        const { error, elapsedMs } = await timedFailure(
          () => client.scrape(request(plain.url('/bomb'), { maxBodyBytes: 8 * MiB, maxDecompressedBytes: 16 * MiB })),
          'decompressed_too_large',
        );
        rssPeak = Math.max(rssPeak, process.memoryUsage.rss());
        assert.equal(error.limit, 16 * MiB);
        assert.ok(elapsedMs < 1_000, `took ${elapsedMs} ms`);
      } finally {
        clearInterval(sampler);
      }
      const growth = rssPeak - rssBefore;
      assert.ok(growth < 64 * MiB, `RSS grew by ${(growth / MiB).toFixed(1)} MiB for a 16 MiB limit`);
    });
  });

  it('times out a target that trickles its headers, at the deadline', async () => {
    await withClient(async (client) => {
      const { error, elapsedMs } = await timedFailure(() => client.scrape(request(plain.url('/slow-headers'), { timeoutMs: 400 })), 'timeout');
      assert.equal(error.limit, 400);
      assert.match(error.message, /400 ms/);
      assert.equal(error.retryable, true);
      assert.ok(elapsedMs >= 390 && elapsedMs < 700, `took ${elapsedMs} ms for a 400 ms timeout`);
    });
  });

  it('times out a body that never ends, at the deadline', async () => {
    await withClient(async (client) => {
      const { elapsedMs } = await timedFailure(() => client.scrape(request(plain.url('/endless'), { timeoutMs: 400 })), 'timeout');
      assert.ok(elapsedMs >= 390 && elapsedMs < 700, `took ${elapsedMs} ms for a 400 ms timeout`);
    });
  });

  it('times out a target that answers too late', async () => {
    await withClient(async (client) => {
      const { elapsedMs } = await timedFailure(() => client.scrape(request(plain.url('/late'), { timeoutMs: 300 })), 'timeout');
      assert.ok(elapsedMs >= 290 && elapsedMs < 600, `took ${elapsedMs} ms for a 300 ms timeout`);
    });
  });

  it("aborts when the caller's signal fires, before or during the scrape", async () => {
    await withClient(async (client) => {
      const controller = new AbortController();
      setTimeout(() => controller.abort(), 100);
      const { error, elapsedMs } = await timedFailure(() => client.scrape(request(plain.url('/endless'), { timeoutMs: 5_000 }), controller.signal), 'aborted');
      assert.equal(error.retryable, false);
      assert.ok(elapsedMs >= 90 && elapsedMs < 400, `took ${elapsedMs} ms`);
      const before = plain.requests.length;
      await failure(client.scrape(request(plain.url('/metrics')), AbortSignal.abort()), 'aborted');
      assert.equal(plain.requests.length, before);
    });
  });

  it('aborts the scrapes in flight when the client is destroyed, and refuses new ones', async () => {
    const client = new ScrapeClient();
    const hits = plain.hits('/endless');
    const pending = client.scrape(request(plain.url('/endless'), { timeoutMs: 5_000 }));
    await waitFor('the endless scrape to reach the server', () => (plain.hits('/endless') > hits ? true : undefined), { intervalMs: 5 });
    client.destroy();
    const error = await failure(pending, 'aborted');
    assert.match(error.message, /destroyed/);
    await failure(client.scrape(request(plain.url('/metrics'))), 'aborted');
  });

  it('reports a refused connection as connect', async () => {
    const port = await freePort();
    await withClient(async (client) => {
      const error = await failure(client.scrape(request(new URL(`http://127.0.0.1:${port}/metrics`))), 'connect');
      assert.match(error.message, /ECONNREFUSED/);
      assert.equal(error.retryable, true);
    });
  });

  it('reports a connection dropped in the middle of the body as read', async () => {
    await withClient(async (client) => {
      await failure(client.scrape(request(plain.url('/truncated'))), 'read');
    });
  });

  it('reports an answer that is not HTTP as protocol', async () => {
    await withClient(async (client) => {
      const error = await failure(client.scrape(request(plain.url('/garbage'))), 'protocol');
      assert.match(error.message, /HPE_/);
    });
  });

  it('refuses a URL that is not http or https, and limits that are not limits', async () => {
    await withClient(async (client) => {
      await failure(client.scrape(request(new URL('ftp://127.0.0.1/metrics'))), 'bad_request');
      await failure(client.scrape(request(plain.url('/metrics'), { timeoutMs: 0 })), 'bad_request');
      await failure(client.scrape(request(plain.url('/metrics'), { maxBodyBytes: Number.NaN })), 'bad_request');
    });
  });

  it('redacts user info and query values from the URL it shows', () => {
    assert.equal(redactUrl(new URL('http://u:p@10.0.0.1:8080/metrics?token=abc&x=1#frag')), 'http://10.0.0.1:8080/metrics?token=<redacted>&x=<redacted>');
    assert.equal(redactUrl(new URL('https://[fd00::1]:9100/metrics')), 'https://[fd00::1]:9100/metrics');
  });
});

describe('ScrapeClient: TLS', { timeout: 10_000 }, () => {
  it('verifies the target against the CA file', async () => {
    await withClient(async (client) => {
      const res = await client.scrape(request(secure.url('/metrics'), { tls: { caFile: secure.caFile } }));
      assert.equal(res.body.toString('utf8'), BODY);
    });
  });

  it('fails with tls when the certificate is not trusted', async () => {
    await withClient(async (client) => {
      const error = await failure(client.scrape(request(secure.url('/metrics'))), 'tls');
      assert.match(error.message, /UNABLE_TO_VERIFY_LEAF_SIGNATURE/, "the certificate chain to an untrusted CA is named");
    });
  });

  it('accepts any certificate with insecureSkipVerify', async () => {
    await withClient(async (client) => {
      const res = await client.scrape(request(secure.url('/metrics'), { tls: { insecureSkipVerify: true } }));
      assert.equal(res.status, 200);
    });
  });

  it('checks the certificate against serverName and sends it as SNI', async () => {
    await withClient(async (client) => {
      const res = await client.scrape(request(secure.url('/metrics'), { tls: { caFile: secure.caFile, serverName: HOSTILE_TLS_NAME } }));
      assert.equal(res.status, 200);
      assert.equal(secure.lastRequest('/metrics').tlsServerName, HOSTILE_TLS_NAME);
      const error = await failure(client.scrape(request(secure.url('/metrics'), { tls: { caFile: secure.caFile, serverName: 'other.test' } })), 'tls');
      assert.match(error.message, /other\.test/);
    });
  });

  it('closes the connections of a CA bundle that was replaced', async () => {
    const caFile = join(dir.path, 'rotating-ca.pem');
    const pem = readFileSync(secure.caFile ?? '', 'utf8');
    await writeFile(caFile, pem);
    await waitFor('earlier connections to close', async () => ((await secure.openConnections()) === 0 ? true : undefined));
    await withClient(async (client) => {
      const accepted = secure.acceptedConnections;
      await client.scrape(request(secure.url('/metrics'), { tls: { caFile } }));
      assert.equal(await secure.openConnections(), 1, 'the first scrape left a pooled connection');
      // The same trust with other bytes: a new agent, and the old one's pool is closed.
      await writeFile(caFile, `${pem}\n# rotated\n`);
      const later = new Date(Date.now() + 60_000);
      await utimes(caFile, later, later);
      await client.scrape(request(secure.url('/metrics'), { tls: { caFile } }));
      assert.equal(secure.acceptedConnections - accepted, 2, 'the new CA bundle got its own connection');
      await waitFor('the old pooled connection to close', async () => ((await secure.openConnections()) === 1 ? true : undefined), { timeoutMs: 2_000, intervalMs: 10 });
    });
  });

  it('fails with ca_file when the CA file cannot be read', async () => {
    await withClient(async (client) => {
      const error = await failure(client.scrape(request(secure.url('/metrics'), { tls: { caFile: join(dir.path, 'no-ca.pem') } })), 'ca_file');
      assert.match(error.message, /no-ca\.pem/);
    });
  });

  it('uses a changed CA file from the next scrape on', async () => {
    const caFile = join(dir.path, 'ca.pem');
    // Another target's self-signed certificate first: a CA that does not sign this target.
    await writeFile(caFile, readFileSync(stranger.caFile ?? '', 'utf8'));
    await withClient(async (client) => {
      await failure(client.scrape(request(secure.url('/metrics'), { tls: { caFile } })), 'tls');
      await writeFile(caFile, readFileSync(secure.caFile ?? '', 'utf8'));
      const later = new Date(Date.now() + 60_000);
      await utimes(caFile, later, later);
      const res = await client.scrape(request(secure.url('/metrics'), { tls: { caFile } }));
      assert.equal(res.status, 200);
    });
  });
});

describe('ScrapeClient: connections', { timeout: 10_000 }, () => {
  it('reuses one keep-alive connection for consecutive scrapes of a target', async () => {
    await withClient(async (client) => {
      const accepted = plain.acceptedConnections;
      await client.scrape(request(plain.url('/metrics')));
      const first = plain.lastRequest('/metrics');
      await client.scrape(request(plain.url('/metrics')));
      const second = plain.lastRequest('/metrics');
      assert.equal(plain.acceptedConnections - accepted, 1, 'one TCP connection for both scrapes');
      assert.equal(second.connection, first.connection);
      assert.equal(second.previousOnConnection, first.previousOnConnection + 1);
    });
  });

  it('retries once on a fresh connection when the target drops a reused one', async () => {
    await withClient(async (client) => {
      const before = plain.hits('/flaky-keepalive');
      await client.scrape(request(plain.url('/flaky-keepalive')));
      const res = await client.scrape(request(plain.url('/flaky-keepalive')));
      assert.equal(res.body.toString('utf8'), BODY);
      assert.equal(plain.hits('/flaky-keepalive') - before, 3, 'first scrape, the dropped reuse, the retry');
      const last = plain.lastRequest('/flaky-keepalive');
      assert.equal(last.previousOnConnection, 0, 'the retry came on a new connection');
    });
  });

  it('ends a scrape queued behind a busy connection at its own deadline, without ever sending it', async () => {
    const client = new ScrapeClient({ maxSocketsPerTarget: 1 });
    try {
      const before = { endless: plain.hits('/endless'), metrics: plain.hits('/metrics') };
      const busy = failure(client.scrape(request(plain.url('/endless'), { timeoutMs: 500 })), 'timeout');
      await waitFor('the busy scrape to reach the server', () => (plain.hits('/endless') > before.endless ? true : undefined), { intervalMs: 5 });
      const { elapsedMs } = await timedFailure(() => client.scrape(request(plain.url('/metrics'), { timeoutMs: 150 })), 'timeout');
      assert.ok(elapsedMs >= 140 && elapsedMs < 400, `took ${elapsedMs} ms for a 150 ms timeout`);
      await busy;
      assert.equal(plain.hits('/metrics'), before.metrics, 'the queued scrape was never sent');
      const res = await client.scrape(request(plain.url('/metrics')));
      assert.equal(res.status, 200, 'the pool still works after both timed out');
    } finally {
      client.destroy();
    }
  });

  it('leaves no timers, listeners or sockets behind after good and hostile scrapes and destroy()', async () => {
    const counts = (): string => {
      const byType = new Map<string, number>();
      for (const type of process.getActiveResourcesInfo()) byType.set(type, (byType.get(type) ?? 0) + 1);
      return [...byType].sort(([a], [b]) => a.localeCompare(b)).map(([type, n]) => `${type}×${n}`).join(' ');
    };
    await waitFor('earlier connections to close', async () => ((await plain.openConnections()) + (await secure.openConnections()) === 0 ? true : undefined));
    // Closing handles (CloseReq) of earlier tests' sockets linger for a tick or two.
    await sleep(50);
    const baseline = counts();

    const client = new ScrapeClient();
    const signal = new AbortController().signal;
    await client.scrape(request(plain.url('/gzip')), signal);
    await client.scrape(request(secure.url('/metrics'), { tls: { caFile: secure.caFile } }), signal);
    const outcomes = await Promise.allSettled([
      client.scrape(request(plain.url('/slow-headers'), { timeoutMs: 200 }), signal),
      client.scrape(request(plain.url('/endless'), { timeoutMs: 200 }), signal),
      client.scrape(request(plain.url('/bomb'), { maxDecompressedBytes: 4 * MiB }), signal),
      client.scrape(request(plain.url('/redirect')), signal),
      client.scrape(request(plain.url('/claims-10g')), signal),
      client.scrape(request(secure.url('/metrics')), signal),
    ]);
    assert.deepEqual(
      outcomes.map((o) => (o.status === 'rejected' && o.reason instanceof ScrapeError ? o.reason.reason : o.status)),
      ['timeout', 'timeout', 'decompressed_too_large', 'redirect', 'body_too_large', 'tls'],
    );
    // Pooled keep-alive connections are still open on the server's side until destroy().
    assert.ok((await plain.openConnections()) > 0, 'the good scrape left a pooled connection');
    client.destroy();
    await waitFor('the server to see every connection closed', async () =>
      (await plain.openConnections()) + (await secure.openConnections()) === 0 ? true : undefined,
    { timeoutMs: 2_000, intervalMs: 10 });
    // Give the closing sockets' own handles a moment; a leaked timer or socket stays for good.
    for (let i = 0; i < 20 && counts() !== baseline; i++) await sleep(10);
    assert.equal(counts(), baseline);
    // Every scrape removed its abort listener from the caller's signal.
    assert.equal(getEventListeners(signal, 'abort').length, 0);
  });
});
