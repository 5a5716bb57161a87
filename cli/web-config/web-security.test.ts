import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import bcrypt from 'bcryptjs';
import pino from 'pino';
import { makeTestPki } from '../../test/support/tls.ts';
import { loadWebConfigFile } from './load.ts';
import { WebSecurity } from './web-security.ts';

const request = (authorization?: string) => ({ headers: authorization === undefined ? {} : { authorization } }) as IncomingMessage;
const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

describe('WebSecurity: changes to the web config', () => {
  const dir = mkdtempSync(join(tmpdir(), 'nodemeter-websec-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('takes in new users, excluded paths and headers; keeps the old state when the change does not check out', async () => {
    const file = join(dir, 'web.yaml');
    const alice = await bcrypt.hash('alice-pw', 4);
    const bob = await bcrypt.hash('bob-pw', 4);
    writeFileSync(file, `basic_auth_users: { alice: "${alice}" }\n`);
    const logs: Array<Record<string, unknown>> = [];
    const logger = pino({ level: 'debug' }, { write: (line: string) => logs.push(JSON.parse(line) as Record<string, unknown>) });
    const security = new WebSecurity({ loaded: loadWebConfigFile(file, {}), logger, env: {} });
    assert.equal(await security.authenticate(request(basic('alice', 'alice-pw'))), 'ok');
    assert.equal(security.isOpen('/healthz'), true);
    assert.equal(security.isOpen('/metrics'), false);

    await security.poll();
    assert.equal(logs.length, 0, 'nothing changed, nothing logged');

    writeFileSync(file, `basic_auth_users: { bob: "${bob}" }\nauth_excluded_paths: [/healthz, /metrics]\nhttp_server_config: { headers: { X-Frame-Options: sameorigin } }\n`);
    await security.poll();
    assert.ok(logs.some((l) => l['msg'] === 'web config reloaded'));
    assert.equal(await security.authenticate(request(basic('alice', 'alice-pw'))), 'denied', 'a removed user is refused');
    assert.equal(await security.authenticate(request(basic('bob', 'bob-pw'))), 'ok');
    assert.equal(security.isOpen('/metrics'), true);
    assert.equal(security.isOpen('/readyz'), false);
    assert.deepEqual(security.headers, { 'X-Frame-Options': 'sameorigin' });

    writeFileSync(file, 'basic_auth_users: { bob: not-a-hash }\n');
    await security.poll();
    const warning = logs.find((l) => l['msg'] === 'changed web config not usable; keeping the previous one');
    assert.match(JSON.stringify(warning?.['problems']), /web\.yaml:1:\d+: basic_auth_users::bob: is not a bcrypt hash/);
    assert.equal(await security.authenticate(request(basic('bob', 'bob-pw'))), 'ok', 'the previous users stay in force');
    await security.poll();
    assert.equal(logs.filter((l) => l['msg'] === 'changed web config not usable; keeping the previous one').length, 1, 'a bad file is reported once, not on every poll');

    const pki = await makeTestPki();
    try {
      writeFileSync(file, `tls_server_config: { cert_file: ${pki.serverCertFile}, key_file: ${pki.serverKeyFile} }\nbasic_auth_users: { alice: "${alice}" }\n`);
      await security.poll();
      assert.ok(logs.some((l) => typeof l['msg'] === 'string' && l['msg'].includes('takes a restart')), 'switching TLS on is logged as needing a restart');
      assert.equal(security.tls, undefined, 'the server stays plain HTTP');
      assert.equal(await security.authenticate(request(basic('alice', 'alice-pw'))), 'ok', 'the rest of the change is in force');
    } finally {
      await pki.remove();
    }

    writeFileSync(file, '');
    await security.poll();
    assert.equal(security.isOpen('/metrics'), true, 'no credentials configured: everything open');
    assert.equal(await security.authenticate(request()), 'missing');
  });
});
