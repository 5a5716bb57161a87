import assert from 'node:assert/strict';
import { createHash, X509Certificate } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { copyFile, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { request as httpsRequest } from 'node:https';
import { connect as tlsConnect } from 'node:tls';
import bcrypt from 'bcryptjs';
import pino from 'pino';
import { httpRequest } from '../test/support/http.ts';
import { run, waitFor } from '../test/support/proc.ts';
import { makeTestPki, type TestPki } from '../test/support/tls.ts';
import { AgentHttpServer, MAX_HEADER_BYTES, MAX_URL_LENGTH } from './http-server.ts';
import { loadWebConfigFile } from './web-config/load.ts';
import { WebSecurity } from './web-config/web-security.ts';

const logger = pino({ level: 'silent' });

describe('AgentHttpServer', () => {
  it('answers health, readiness, the index and registered routes on an OS-chosen port', async () => {
    let ready = false;
    const server = new AgentHttpServer({
      host: '127.0.0.1',
      port: 0,
      logger,
      readiness: () => ({ ready, detail: ready ? 'ready' : 'not ready: waiting for filesystem' }),
      describe: () => ['pipeline metrics: receivers [filesystem]'],
    });
    const unroute = server.route('/metrics', 'Prometheus exposition', (_req, res) => {
      res.end('up 1\n');
    });
    server.route('/broken', 'throws', () => {
      throw new Error('boom');
    });
    const { port } = await server.listen();
    assert.ok(port > 0);
    const base = `http://127.0.0.1:${port}`;
    try {
      assert.equal((await fetch(`${base}/healthz`)).status, 200);
      const notReady = await fetch(`${base}/readyz`);
      assert.equal(notReady.status, 503);
      assert.match(await notReady.text(), /waiting for filesystem/);
      ready = true;
      assert.equal((await fetch(`${base}/readyz`)).status, 200);
      assert.equal(await (await fetch(`${base}/metrics`)).text(), 'up 1\n');
      const index = await (await fetch(`${base}/`)).text();
      assert.match(index, /\/metrics\s+Prometheus exposition/);
      assert.match(index, /pipeline metrics/);
      assert.equal((await fetch(`${base}/broken`)).status, 500);
      assert.equal((await fetch(`${base}/nope`)).status, 404);
      assert.throws(() => server.route('/metrics', 'again', () => undefined), /already served/);
      unroute();
      assert.equal((await fetch(`${base}/metrics`)).status, 404);
    } finally {
      await server.close(1000);
    }
  });

  it('lets an in-flight request finish when closing, then refuses new connections', async () => {
    const server = new AgentHttpServer({ host: '127.0.0.1', port: 0, logger, readiness: () => ({ ready: true, detail: 'ready' }), describe: () => [] });
    let release: () => void = () => undefined;
    const entered = new Promise<void>((resolveEntered) => {
      server.route('/slow', 'slow', async (_req, res) => {
        resolveEntered();
        await new Promise<void>((r) => {
          release = r;
        });
        res.end('done\n');
      });
    });
    const { port } = await server.listen();
    const inFlight = fetch(`http://127.0.0.1:${port}/slow`).then((r) => r.text());
    await entered;
    const closing = server.close(5000);
    setTimeout(() => release(), 100);
    assert.equal(await inFlight, 'done\n');
    await closing;
    await assert.rejects(fetch(`http://127.0.0.1:${port}/healthz`));
  });

  it('reads little: over-long URLs get 414, over-large headers 431, other methods on its own paths 405', async () => {
    const server = new AgentHttpServer({ host: '127.0.0.1', port: 0, logger, readiness: () => ({ ready: true, detail: 'ready' }), describe: () => [] });
    const { port } = await server.listen();
    const base = `http://127.0.0.1:${port}`;
    try {
      assert.equal((await fetch(`${base}/healthz?x=${'a'.repeat(MAX_URL_LENGTH)}`)).status, 414);
      assert.equal((await fetch(`${base}/healthz?x=${'a'.repeat(100)}`)).status, 200, 'a normal query is fine');
      assert.equal((await fetch(`${base}/healthz`, { headers: { 'x-filler': 'a'.repeat(MAX_HEADER_BYTES) } })).status, 431);
      for (const method of ['POST', 'PUT', 'DELETE']) {
        const r = await fetch(`${base}/healthz`, { method });
        assert.equal(r.status, 405, method);
        assert.equal(r.headers.get('allow'), 'GET, HEAD');
      }
      assert.equal((await fetch(`${base}/readyz`, { method: 'HEAD' })).status, 200);
    } finally {
      await server.close(1000);
    }
  });
});

/** A WebSecurity from a web config written to a temp dir; its log lines are collected. */
async function securityFrom(yaml: string, dir: string, pollIntervalMs = 100): Promise<{ security: WebSecurity; logs: Array<Record<string, unknown>>; sink: pino.Logger }> {
  const file = join(dir, `web-${Math.random().toString(36).slice(2)}.yaml`);
  await writeFile(file, yaml);
  const logs: Array<Record<string, unknown>> = [];
  const sink = pino({ level: 'debug' }, { write: (line: string) => logs.push(JSON.parse(line) as Record<string, unknown>) });
  return { security: new WebSecurity({ loaded: loadWebConfigFile(file, {}), logger: sink, env: {}, pollIntervalMs }), logs, sink };
}

/** The certificate a TLS server at `port` presents (fingerprint), trusting `ca`. */
function servedFingerprint(port: number, ca: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = tlsConnect({ host: '127.0.0.1', port, ca, servername: 'localhost' }, () => {
      const fp = socket.getPeerCertificate().fingerprint256;
      socket.destroy();
      resolve(fp);
    });
    socket.on('error', reject);
  });
}

describe('AgentHttpServer with a web config', () => {
  const tmp = mkdtempSync(join(tmpdir(), 'nodemeter-http-sec-'));
  after(() => rmSync(tmp, { recursive: true, force: true }));

  it('asks for credentials on every path but /healthz and /readyz, before any handler runs', async () => {
    const hash = await bcrypt.hash('s3cret', 4);
    const { security, logs, sink } = await securityFrom(
      `basic_auth_users: { prometheus: "${hash}" }\nbearer_token_hashes: ["sha256:${createHash('sha256').update('tok-1').digest('hex')}"]\nhttp_server_config: { headers: { X-Frame-Options: deny } }\n`,
      tmp,
    );
    const server = new AgentHttpServer({ host: '127.0.0.1', port: 0, logger: sink, readiness: () => ({ ready: true, detail: 'ready' }), describe: () => [], security });
    let calls = 0;
    server.route('/metrics', 'exposition', (_req, res) => {
      calls++;
      res.end('up 1\n');
    });
    const { port } = await server.listen();
    assert.equal(server.scheme, 'http');
    const base = `http://127.0.0.1:${port}`;
    const basic = (user: string, password: string) => ({ authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}` });
    try {
      for (const path of ['/healthz', '/readyz']) {
        const r = await fetch(`${base}${path}`);
        assert.equal(r.status, 200, path);
        assert.equal(r.headers.get('x-frame-options'), 'deny', 'configured headers on open paths');
      }
      for (const [path, method] of [['/metrics', 'GET'], ['/metrics', 'HEAD'], ['/', 'GET'], ['/no-such-path', 'GET']] as const) {
        const r = await fetch(`${base}${path}`, { method });
        assert.equal(r.status, 401, `${method} ${path} without credentials`);
        assert.equal(r.headers.get('www-authenticate'), 'Basic realm="nodemeter", charset="UTF-8", Bearer realm="nodemeter"');
        assert.equal(r.headers.get('x-frame-options'), 'deny', 'configured headers on refusals too');
      }
      assert.equal((await fetch(`${base}/metrics`, { headers: basic('prometheus', 'wrong') })).status, 401, 'wrong password');
      assert.equal((await fetch(`${base}/metrics`, { headers: basic('someone', 's3cret') })).status, 401, 'wrong user');
      assert.equal((await fetch(`${base}/metrics`, { headers: { authorization: 'Bearer tok-2' } })).status, 401, 'wrong token');
      assert.equal(calls, 0, 'no handler ran for a refused request');
      const ok = await fetch(`${base}/metrics`, { headers: basic('prometheus', 's3cret') });
      assert.equal(ok.status, 200);
      assert.equal(await ok.text(), 'up 1\n');
      assert.equal((await fetch(`${base}/metrics`, { method: 'HEAD', headers: basic('prometheus', 's3cret') })).status, 200, 'HEAD with credentials');
      assert.equal((await fetch(`${base}/metrics`, { headers: { authorization: 'Bearer tok-1' } })).status, 200, 'bearer token');
      assert.equal((await fetch(`${base}/no-such-path`, { headers: { authorization: 'Bearer tok-1' } })).status, 404, 'unknown paths are told apart only after authentication');
      assert.equal(calls, 3);
      const text = JSON.stringify(logs);
      assert.ok(logs.some((l) => l['msg'] === 'request refused: authentication'), 'refusals are logged (at debug)');
      assert.ok(!text.includes('wrong') && !text.includes('s3cret') && !text.includes('tok-') && !text.includes('Basic '), `no secrets in logs: ${text}`);
    } finally {
      await server.close(1000);
    }
  });

  it('rate_limit: past the burst a request gets 429 with Retry-After before any credential check; the probes are never limited', async () => {
    const hash = await bcrypt.hash('s3cret', 4);
    const { security, logs, sink } = await securityFrom(`basic_auth_users: { prometheus: "${hash}" }\nrate_limit: { interval: 30s, burst: 2 }\n`, tmp);
    const server = new AgentHttpServer({ host: '127.0.0.1', port: 0, logger: sink, readiness: () => ({ ready: true, detail: 'ready' }), describe: () => [], security });
    server.route('/metrics', 'exposition', (_req, res) => {
      res.end('up 1\n');
    });
    const { port } = await server.listen();
    const base = `http://127.0.0.1:${port}`;
    const authorization = `Basic ${Buffer.from('prometheus:s3cret').toString('base64')}`;
    try {
      assert.equal((await fetch(`${base}/metrics`, { headers: { authorization } })).status, 200);
      assert.equal((await fetch(`${base}/metrics`)).status, 401, 'a refused request uses up a token too');
      const limited = await fetch(`${base}/metrics`, { headers: { authorization } });
      assert.equal(limited.status, 429);
      assert.equal(limited.headers.get('retry-after'), '30');
      assert.match(await limited.text(), /rate_limit/);
      assert.equal((await fetch(`${base}/metrics`)).status, 429, 'refused before authentication: no 401');
      for (let i = 0; i < 5; i++) {
        for (const path of ['/healthz', '/readyz']) assert.equal((await fetch(`${base}${path}`)).status, 200, `${path} is never limited`);
      }
      assert.ok(logs.some((l) => l['msg'] === 'request refused: rate_limit'));
    } finally {
      await server.close(1000);
    }
  });

  it('serves HTTPS, refuses plain HTTP on the port, and takes a renewed certificate without a restart', async () => {
    const pki = await makeTestPki();
    const renewed = await makeTestPki();
    try {
      const certFile = join(tmp, 'tls.crt');
      const keyFile = join(tmp, 'tls.key');
      await copyFile(pki.serverCertFile, certFile);
      await copyFile(pki.serverKeyFile, keyFile);
      const { security, logs } = await securityFrom(`tls_server_config:\n  cert_file: ${certFile}\n  key_file: ${keyFile}\n`, tmp);
      const server = new AgentHttpServer({ host: '127.0.0.1', port: 0, logger, readiness: () => ({ ready: true, detail: 'ready' }), describe: () => [], security });
      const { port } = await server.listen();
      assert.equal(server.scheme, 'https');
      const ca = await readFile(pki.caFile, 'utf8');
      const renewedCa = await readFile(renewed.caFile, 'utf8');
      const fingerprint = (file: string) => readFile(file, 'utf8').then((pem) => new X509Certificate(pem).fingerprint256);
      try {
        const res = await httpRequest(`https://127.0.0.1:${port}/healthz`, { ca });
        assert.equal(res.status, 200);
        assert.equal(await servedFingerprint(port, ca), await fingerprint(pki.serverCertFile));
        await assert.rejects(httpRequest(`http://127.0.0.1:${port}/healthz`, { timeoutMs: 5_000 }), 'plain HTTP gets no answer');

        // A broken replacement (the key of another pair): logged, the old pair stays in force.
        await copyFile(renewed.serverKeyFile, keyFile);
        const warned = await waitFor('a warning about the unusable pair', () => logs.find((l) => l['msg'] === 'new TLS certificate or key not usable; keeping the previous ones'), { timeoutMs: 5_000, intervalMs: 50 });
        assert.match(JSON.stringify(warned['problems']), /does not match the certificate in .*tls\.crt/);
        assert.doesNotMatch(JSON.stringify(logs), /PRIVATE KEY|BEGIN/, 'no key or certificate material in logs');
        assert.equal(await servedFingerprint(port, ca), await fingerprint(pki.serverCertFile), 'still the old certificate');

        // The matching certificate arrives: new connections get it.
        await copyFile(renewed.serverCertFile, certFile);
        await waitFor('the renewed certificate served', async () => ((await servedFingerprint(port, renewedCa).catch(() => '')) === (await fingerprint(renewed.serverCertFile)) ? true : undefined), { timeoutMs: 5_000, intervalMs: 50 });
        assert.ok(logs.some((l) => l['msg'] === 'TLS certificate reloaded'));
        await assert.rejects(servedFingerprint(port, ca), 'the old CA no longer verifies the server');
      } finally {
        await server.close(1000);
      }
    } finally {
      await pki.remove();
      await renewed.remove();
    }
  });
});

/** What a TLS handshake with `options` gives: the cipher and protocol agreed, or the error's code. */
function handshake(port: number, ca: string, options: { ciphers?: string; ecdhCurve?: string; minVersion?: 'TLSv1.2' | 'TLSv1.3'; maxVersion?: 'TLSv1.2' | 'TLSv1.3' }): Promise<string> {
  return new Promise((resolve) => {
    const socket = tlsConnect({ host: '127.0.0.1', port, ca, servername: 'localhost', ...options }, () => {
      const agreed = `${socket.getProtocol() ?? '?'} ${socket.getCipher().standardName}`;
      socket.destroy();
      resolve(agreed);
    });
    socket.on('error', (err: NodeJS.ErrnoException) => resolve(`refused: ${err.code ?? err.message}`));
  });
}

describe('AgentHttpServer TLS settings in real handshakes', () => {
  const tmp = mkdtempSync(join(tmpdir(), 'nodemeter-http-tls-'));
  after(() => rmSync(tmp, { recursive: true, force: true }));

  it('offers only the configured TLS 1.2 cipher suites, curves and versions', async () => {
    const pki = await makeTestPki();
    try {
      const { security } = await securityFrom(
        [
          'tls_server_config:',
          `  cert_file: ${pki.serverCertFile}`,
          `  key_file: ${pki.serverKeyFile}`,
          '  max_version: TLS12',
          '  cipher_suites: [TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256]',
          '  curve_preferences: [CurveP256]',
          '',
        ].join('\n'),
        tmp,
      );
      const server = new AgentHttpServer({ host: '127.0.0.1', port: 0, logger, readiness: () => ({ ready: true, detail: 'ready' }), describe: () => [], security });
      const { port } = await server.listen();
      const ca = await readFile(pki.caFile, 'utf8');
      try {
        assert.equal(await handshake(port, ca, {}), 'TLSv1.2 TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256', 'a default client gets the one suite allowed');
        assert.match(await handshake(port, ca, { ciphers: 'ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305' }), /^refused: /, 'a client with other suites only');
        assert.match(await handshake(port, ca, { ecdhCurve: 'X25519:P-384' }), /^refused: /, 'a client with other curves only');
        assert.equal(await handshake(port, ca, { ecdhCurve: 'X25519:P-256' }), 'TLSv1.2 TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256');
        assert.match(await handshake(port, ca, { minVersion: 'TLSv1.3' }), /^refused: /, 'TLS 1.3 is above max_version');
      } finally {
        await server.close(1000);
      }

      // The defaults: TLS 1.2 and 1.3, any of Node's suites.
      const open = await securityFrom(`tls_server_config:\n  cert_file: ${pki.serverCertFile}\n  key_file: ${pki.serverKeyFile}\n`, tmp);
      const defaults = new AgentHttpServer({ host: '127.0.0.1', port: 0, logger, readiness: () => ({ ready: true, detail: 'ready' }), describe: () => [], security: open.security });
      const listening = await defaults.listen();
      try {
        assert.match(await handshake(listening.port, ca, {}), /^TLSv1\.3 /);
        assert.equal(await handshake(listening.port, ca, { maxVersion: 'TLSv1.2', ciphers: 'ECDHE-ECDSA-AES256-GCM-SHA384' }), 'TLSv1.2 TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384');
      } finally {
        await defaults.close(1000);
      }
    } finally {
      await pki.remove();
    }
  });
});

/** A client certificate for `san` signed by the CA `<name>.crt`/`<name>.key` in the PKI's dir. */
async function clientCert(pki: TestPki, caName: string, san: string): Promise<{ cert: string; key: string }> {
  const base = join(pki.dir, `client-${caName}-${san}`);
  await writeFile(`${base}.ext`, `subjectAltName = DNS:${san}\nextendedKeyUsage = clientAuth\n`);
  await run('openssl', ['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', `${base}.key`, '-out', `${base}.csr`, '-subj', `/CN=${san}`]);
  await run('openssl', ['x509', '-req', '-in', `${base}.csr`, '-CA', join(pki.dir, `${caName}.crt`), '-CAkey', join(pki.dir, `${caName}.key`), '-set_serial', '0x1234', '-days', '1', '-extfile', `${base}.ext`, '-out', `${base}.crt`]);
  return { cert: await readFile(`${base}.crt`, 'utf8'), key: await readFile(`${base}.key`, 'utf8') };
}

/** GET over TLS with an optional client certificate; the status, or the error's code. */
function getWithClientCert(port: number, ca: string, client?: { cert: string; key: string }): Promise<number | string> {
  return new Promise((resolve) => {
    const req = httpsRequest({ host: '127.0.0.1', port, path: '/healthz', ca, agent: false, ...client }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message));
    req.end();
  });
}

describe('AgentHttpServer with client certificates', () => {
  it('RequireAndVerifyClientCert with client_allowed_sans lets in only certificates the CA signed for an allowed name', async () => {
    const pki = await makeTestPki();
    try {
      const { security } = await securityFrom(
        `tls_server_config:
  cert_file: ${pki.serverCertFile}
  key_file: ${pki.serverKeyFile}
  client_auth_type: RequireAndVerifyClientCert
  client_ca_file: ${pki.caFile}
  client_allowed_sans: [scraper.example]
`,
        pki.dir,
      );
      const server = new AgentHttpServer({ host: '127.0.0.1', port: 0, logger, readiness: () => ({ ready: true, detail: 'ready' }), describe: () => [], security });
      const { port } = await server.listen();
      const ca = await readFile(pki.caFile, 'utf8');
      try {
        assert.equal(await getWithClientCert(port, ca, await clientCert(pki, 'ca', 'scraper.example')), 200);
        assert.equal(typeof (await getWithClientCert(port, ca)), 'string', 'no client certificate: no answer');
        assert.equal(typeof (await getWithClientCert(port, ca, await clientCert(pki, 'other-ca', 'scraper.example'))), 'string', 'signed by another CA');
        assert.equal(typeof (await getWithClientCert(port, ca, await clientCert(pki, 'ca', 'intruder.example'))), 'string', 'a SAN not allowed');
      } finally {
        await server.close(1000);
      }
    } finally {
      await pki.remove();
    }
  });
});
