// The agent started with a web config (--web-config-file): HTTPS with a test CA, basic auth
// with a bcrypt hash made by another implementation (libxcrypt), a bearer token from a file,
// /healthz open; a real Prometheus (Debian's 2.42) scrapes it over HTTPS with the right and
// the wrong credentials; certificates and tokens replaced on disk take effect without a restart.
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { copyFile, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { connect as tlsConnect } from 'node:tls';
import { startAgent, type Agent } from '../support/agent.ts';
import { httpRequest } from '../support/http.ts';
import { requirePrereqs } from '../support/prereqs.ts';
import { makeTempDir, waitFor } from '../support/proc.ts';
import { Prometheus } from '../support/prometheus.ts';
import { makeTestPki, type TestPki } from '../support/tls.ts';

// bcrypt (cost 10) of PASSWORD, made by libxcrypt (Python's crypt module), not by the bcryptjs the agent uses.
const USER = 'nodemeter-it';
const PASSWORD = 'nodemeter-it-pushgateway-pw';
const HASH = '$2b$10$od5auBZaGNwix8Kcx0dBqerk5Vlifn4Otq7qExqplJtis8.929YzW';
const WRONG_PASSWORD = 'Wr0ng-Pa55word-never-logged-9c1e';
const TOKEN = 'nm-it-token-3b7f0c2a9e';
const NEXT_TOKEN = 'nm-it-token-rotated-81d4';

const CONFIG = `receivers:
  filesystem:
    kubelet_root: ""
exporters:
  prometheus:
service:
  pipelines:
    metrics:
      receivers: [filesystem]
      exporters: [prometheus]
`;

/** The fingerprint of the certificate the agent presents to a new connection that trusts `ca`. */
function servedFingerprint(port: number, ca: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = tlsConnect({ host: '127.0.0.1', port, ca }, () => {
      const fp = socket.getPeerCertificate().fingerprint256;
      socket.destroy();
      resolve(fp);
    });
    socket.on('error', reject);
  });
}

const fingerprintOf = async (file: string) => new X509Certificate(await readFile(file, 'utf8')).fingerprint256;

describe('the agent behind TLS and authentication', () => {
  let pki: TestPki | undefined;
  let renewed: TestPki | undefined;
  let dir: { path: string; remove: () => Promise<void> } | undefined;
  let agent: Agent | undefined;
  let prom: Prometheus | undefined;
  let certFile: string;
  let keyFile: string;
  let tokenFile: string;
  let ca: string;

  before(async () => {
    requirePrereqs('openssl', 'prometheus');
    pki = await makeTestPki();
    renewed = await makeTestPki();
    dir = await makeTempDir('nodemeter-web-it-');
    // Copies the test can replace, as a kubelet replaces the files of a mounted Secret.
    certFile = join(dir.path, 'tls.crt');
    keyFile = join(dir.path, 'tls.key');
    tokenFile = join(dir.path, 'token');
    await copyFile(pki.serverCertFile, certFile);
    await copyFile(pki.serverKeyFile, keyFile);
    await writeFile(tokenFile, `${TOKEN}\n`);
    ca = await readFile(pki.caFile, 'utf8');
    agent = await startAgent({
      config: CONFIG,
      webConfig: [
        'tls_server_config:',
        `  cert_file: ${certFile}`,
        `  key_file: ${keyFile}`,
        'basic_auth_users:',
        `  ${USER}: ${HASH}`,
        'bearer_token_files:',
        `  - ${tokenFile}`,
        'http_server_config:',
        '  headers:',
        '    X-Content-Type-Options: nosniff',
        '',
      ].join('\n'),
      ca,
      credentials: { username: USER, password: PASSWORD },
    });
  });

  after(async () => {
    await prom?.close();
    await agent?.kill();
    await dir?.remove();
    await pki?.remove();
    await renewed?.remove();
  });

  test('it serves HTTPS, says so in its listening line, and refuses plain HTTP on the port', async () => {
    assert.equal(agent!.scheme, 'https');
    const listening = agent!.logs.find((l) => l.msg === 'listening');
    assert.equal(listening?.['scheme'], 'https');
    assert.equal(listening?.['basicAuthUsers'], 1);
    assert.equal((await agent!.get('/healthz')).status, 200);
    assert.equal(await servedFingerprint(agent!.port, ca), await fingerprintOf(pki!.serverCertFile));
    await assert.rejects(httpRequest(`http://127.0.0.1:${agent!.port}/healthz`, { timeoutMs: 5_000 }));
    await assert.rejects(httpRequest(`https://127.0.0.1:${agent!.port}/healthz`, { ca: await readFile(pki!.otherCaFile), timeoutMs: 5_000 }), /self-signed|unable to verify|certificate/i);
  });

  test('/healthz and /readyz stay open; /metrics and the index need the password or the token', async () => {
    const anonymous = { headers: { authorization: '' } };
    assert.equal((await agent!.get('/healthz', anonymous)).status, 200);
    assert.equal((await agent!.get('/readyz', anonymous)).status, 200);
    for (const path of ['/metrics', '/']) {
      const refused = await agent!.get(path, anonymous);
      assert.equal(refused.status, 401, path);
      assert.deepEqual(refused.headers['www-authenticate'], 'Basic realm="nodemeter", charset="UTF-8", Bearer realm="nodemeter"');
      assert.equal(refused.headers['x-content-type-options'], 'nosniff');
      assert.doesNotMatch(refused.body, /node_filesystem/);
    }
    const wrong = await agent!.get('/metrics', { headers: { authorization: `Basic ${Buffer.from(`${USER}:${WRONG_PASSWORD}`).toString('base64')}` } });
    assert.equal(wrong.status, 401);
    const ok = await agent!.scrape('/metrics');
    assert.match(ok.body, /^node_filesystem_size_bytes\{/m);
    const bearer = await agent!.get('/metrics', { headers: { authorization: `Bearer ${TOKEN}` } });
    assert.equal(bearer.status, 200);
    assert.equal((await agent!.get('/metrics', { headers: { authorization: `Bearer ${NEXT_TOKEN}` } })).status, 401);
  });

  test('a real Prometheus scrapes it over HTTPS: up with the right password or token, down with a wrong password', async () => {
    const address = `127.0.0.1:${agent!.port}`;
    prom = await Prometheus.start({
      targets: [
        { address, job: 'right-password', scheme: 'https', caFile: pki!.caFile, basicAuth: { username: USER, password: PASSWORD } },
        { address, job: 'wrong-password', scheme: 'https', caFile: pki!.caFile, basicAuth: { username: USER, password: WRONG_PASSWORD } },
        { address, job: 'bearer-token', scheme: 'https', caFile: pki!.caFile, bearerToken: TOKEN },
      ],
    });
    await prom.waitForQuery('up', (r) => r.length === 3);
    await prom.waitForQuery('up == 1', (r) => r.map((s) => s.metric['job']).sort().join() === 'bearer-token,right-password');
    const down = await prom.waitForQuery('up{job="wrong-password"}', (r) => r.length === 1);
    assert.equal(down[0]!.value, 0);
    const targets = await prom.targets();
    assert.match(targets.find((t) => t.health === 'down')?.lastError ?? '', /401/, JSON.stringify(targets));
    const samples = await prom.waitForQuery('node_filesystem_size_bytes{job="right-password",mountpoint="/"}', (r) => r.length === 1);
    assert.ok(samples[0]!.value > 0);
    await prom.close();
    const logs = JSON.stringify(agent!.logs) + agent!.stderr;
    assert.ok(!logs.includes(WRONG_PASSWORD) && !logs.includes(PASSWORD) && !logs.includes(TOKEN), 'no password or token in the agent\'s output');
  });

  test('a rotated token file takes effect without a restart', async () => {
    await writeFile(tokenFile, `${NEXT_TOKEN}\n`);
    await waitFor(
      'the rotated token accepted',
      async () => ((await agent!.get('/metrics', { headers: { authorization: `Bearer ${NEXT_TOKEN}` } })).status === 200 ? true : undefined),
      { timeoutMs: 10_000, intervalMs: 200 },
    );
    assert.equal((await agent!.get('/metrics', { headers: { authorization: `Bearer ${TOKEN}` } })).status, 401, 'the old token is refused');
  });

  test('a broken certificate replacement is logged and the old one kept; a good one is served to new connections within seconds', async () => {
    // Half a rotation: the new key beside the old certificate.
    await copyFile(renewed!.serverKeyFile, keyFile);
    const warning = await agent!.waitForLog('unusable TLS pair', (l) => l.msg === 'new TLS certificate or key not usable; keeping the previous ones', 10_000);
    assert.match(JSON.stringify(warning['problems']), /does not match the certificate in .*tls\.crt/);
    assert.deepEqual(warning['files'], [certFile, keyFile]);
    assert.doesNotMatch(JSON.stringify(agent!.logs), /BEGIN|PRIVATE KEY/, 'no key material logged');
    assert.equal(await servedFingerprint(agent!.port, ca), await fingerprintOf(pki!.serverCertFile), 'the old certificate is still served');
    assert.equal((await agent!.get('/healthz')).status, 200);

    await copyFile(renewed!.serverCertFile, certFile);
    const renewedCa = await readFile(renewed!.caFile, 'utf8');
    const want = await fingerprintOf(renewed!.serverCertFile);
    const started = performance.now();
    await waitFor('the renewed certificate served', async () => ((await servedFingerprint(agent!.port, renewedCa).catch(() => '')) === want ? true : undefined), {
      timeoutMs: 10_000,
      intervalMs: 100,
    });
    const tookMs = performance.now() - started;
    assert.ok(tookMs < 10_000, `took ${tookMs} ms`);
    const reloaded = agent!.logs.find((l) => l.msg === 'TLS certificate reloaded');
    assert.equal((reloaded?.['certificate'] as { fingerprint256?: string } | undefined)?.fingerprint256, want);
    agent!.ca = renewedCa;
    assert.equal((await agent!.scrape('/metrics')).status, 200, 'scrapes go on with the new certificate');
    assert.equal(agent!.exited, false);
  });

  test('rate_limit added to the running agent\'s web config: a flood of pulls past the burst gets 429 with Retry-After, the probes stay open; removed again, pulls are served', async () => {
    const webConfigPath = agent!.webConfigPath!;
    const original = await readFile(webConfigPath, 'utf8');
    const reloads = (): number => agent!.logs.filter((l) => l.msg === 'web config reloaded').length;
    const rewrite = async (text: string): Promise<void> => {
      const before = reloads();
      await writeFile(webConfigPath, text);
      await waitFor('the web config reloaded', () => (reloads() > before ? true : undefined), { timeoutMs: 10_000, intervalMs: 50 });
    };
    await rewrite(`${original}rate_limit: { interval: 1m, burst: 3 }\n`);
    const reloaded = agent!.logs.filter((l) => l.msg === 'web config reloaded').at(-1);
    assert.deepEqual(reloaded?.['rateLimit'], { intervalMs: 60_000, burst: 3 });

    const pull = { headers: { authorization: `Bearer ${NEXT_TOKEN}` } };
    const flood = await Promise.all(Array.from({ length: 10 }, () => agent!.get('/metrics', pull)));
    const statuses = flood.map((r) => r.status).sort();
    assert.deepEqual(statuses, [200, 200, 200, 429, 429, 429, 429, 429, 429, 429], 'the burst of 3 served, the rest refused');
    const refused = flood.find((r) => r.status === 429)!;
    const retryAfter = Number(refused.headers['retry-after']);
    assert.ok(retryAfter >= 1 && retryAfter <= 60, `Retry-After ${String(refused.headers['retry-after'])}`);
    assert.equal((await agent!.get('/metrics', { headers: { authorization: '' } })).status, 429, 'refused before authentication');
    for (let i = 0; i < 5; i++) {
      assert.equal((await agent!.get('/healthz')).status, 200);
      assert.equal((await agent!.get('/readyz')).status, 200);
    }

    await rewrite(original);
    assert.equal((await agent!.get('/metrics', pull)).status, 200, 'served again once the limit is gone');
    assert.equal(agent!.exited, false);
  });
});
