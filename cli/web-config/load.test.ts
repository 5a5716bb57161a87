import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ConfigValidationError } from '../../config/issues.ts';
import { makeTestPki, type TestPki } from '../../test/support/tls.ts';
import { loadWebConfigFile } from './load.ts';
import { DEFAULT_AUTH_EXCLUDED_PATHS, fileState, watchedFiles } from './web-config.ts';

// bcrypt of "nodemeter-it-pushgateway-pw" made by libxcrypt (Python's crypt), not by bcryptjs.
const HASH = '$2b$10$od5auBZaGNwix8Kcx0dBqerk5Vlifn4Otq7qExqplJtis8.929YzW';
const TOKEN = 'nm-test-token-5f2c';
const TOKEN_SHA = createHash('sha256').update(TOKEN).digest('hex');

const dir = mkdtempSync(join(tmpdir(), 'nodemeter-webcfg-'));
let pki: TestPki;

function file(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

/** Every issue as `file:line: path: message` (columns left out), or fails when the config loads. */
function problems(text: string, name = 'web.yaml'): string[] {
  const path = file(name, text);
  try {
    loadWebConfigFile(path, {});
  } catch (err) {
    assert.ok(err instanceof ConfigValidationError, String(err));
    assert.equal(err.source, path);
    return err.message.split('\n').map((l) => l.replaceAll(dir, '<dir>').replace(/^([^:]+:\d+):\d+:/, '$1:'));
  }
  assert.fail('expected the web config to be refused');
}

describe('web config: loading and checking', () => {
  before(async () => {
    pki = await makeTestPki();
  });
  after(async () => {
    rmSync(dir, { recursive: true, force: true });
    await pki.remove();
  });

  it('an empty file means plain HTTP with no credentials', () => {
    const { config, tls } = loadWebConfigFile(file('empty.yaml', ''), {});
    assert.equal(tls, undefined);
    assert.equal(config.tls, undefined);
    assert.deepEqual(config.basicAuthUsers, {});
    assert.deepEqual(config.authExcludedPaths, DEFAULT_AUTH_EXCLUDED_PATHS);
  });

  it('reads a full exporter-toolkit file: TLS, headers, users, and the bearer-token keys', () => {
    const tokenFile = file('token', `${TOKEN}\n`);
    const loaded = loadWebConfigFile(
      file(
        'full.yaml',
        `tls_server_config:
  cert_file: ${pki.serverCertFile}
  key_file: ${pki.serverKeyFile}
  client_auth_type: RequireAndVerifyClientCert
  client_ca_file: ${pki.caFile}
  min_version: TLS12
  max_version: TLS13
  cipher_suites: [TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, TLS_AES_128_GCM_SHA256]
  curve_preferences: [CurveP256, X25519]
http_server_config:
  http2: true
  headers:
    X-Frame-Options: deny
    X-Content-Type-Options: nosniff
    Content-Security-Policy: ""
basic_auth_users:
  prometheus: ${HASH}
bearer_token_hashes: ["sha256:${TOKEN_SHA}"]
bearer_token_files: [token]
auth_excluded_paths: [/healthz]
rate_limit: { interval: 100ms, burst: 5 }
`,
      ),
      {},
    );
    assert.equal(loaded.config.tls?.clientAuthType, 'RequireAndVerifyClientCert');
    assert.deepEqual(loaded.config.tls?.cipherSuites, ['ECDHE-ECDSA-AES128-GCM-SHA256']);
    assert.equal(loaded.tls?.context.ecdhCurve, 'P-256:X25519');
    assert.equal(loaded.tls?.context.minVersion, 'TLSv1.2');
    assert.match(loaded.tls?.certificate.fingerprint256 ?? '', /^[0-9A-F:]{95}$/);
    assert.deepEqual(loaded.config.headers, { 'X-Frame-Options': 'deny', 'X-Content-Type-Options': 'nosniff' }, 'blank headers are left out');
    assert.deepEqual({ ...loaded.config.basicAuthUsers }, { prometheus: HASH });
    assert.equal(loaded.config.bearerTokenHashes[0]?.toString('hex'), TOKEN_SHA);
    assert.deepEqual(loaded.config.bearerTokenFiles, [tokenFile], 'relative to the web config file');
    assert.equal(loaded.tokenFileDigests.get(tokenFile)?.toString('hex'), TOKEN_SHA, 'the trailing newline is not part of the token');
    assert.deepEqual(loaded.config.authExcludedPaths, ['/healthz']);
    assert.deepEqual(loaded.config.rateLimit, { intervalMs: 100, burst: 5 });
    assert.deepEqual([...loaded.fileStates.keys()].sort(), watchedFiles(loaded.config).sort(), 'the state of every watched file, as read');
    assert.equal(loaded.fileStates.get(tokenFile), fileState(Buffer.from(`${TOKEN}\n`)));
  });

  it('rate_limit: interval 0 turns it off; an interval needs a burst of at least 1', () => {
    assert.equal(loadWebConfigFile(file('rl-off.yaml', 'rate_limit: { interval: 0s, burst: 3 }\n'), {}).config.rateLimit, undefined);
    assert.equal(loadWebConfigFile(file('rl-none.yaml', 'basic_auth_users: {}\n'), {}).config.rateLimit, undefined);
    assert.deepEqual(problems('rate_limit: { interval: 1s }\n'), ['<dir>/web.yaml:1: rate_limit: needs burst, the requests let through at once, when interval is set']);
    assert.deepEqual(problems('rate_limit:\n  interval: 1s\n  burst: 0\n'), [
      '<dir>/web.yaml:3: rate_limit::burst: must be at least 1 when interval is set: a bucket of 0 would refuse every request',
    ]);
    assert.deepEqual(problems('rate_limit: { burst: 2, every: 1s }\n'), [
      '<dir>/web.yaml:1: rate_limit: needs interval, the time between two requests such as "100ms" (0 turns the limit off)',
      '<dir>/web.yaml:1: rate_limit::every: unknown key; valid keys: interval, burst',
    ]);
  });

  it('refuses TLS 1.2 settings that no handshake with the certificate could meet (its key is on P-256)', () => {
    const tls = (extra: string): string => `tls_server_config:\n  cert_file: ${pki.serverCertFile}\n  key_file: ${pki.serverKeyFile}\n${extra}`;
    assert.deepEqual(problems(tls('  curve_preferences: [CurveP384, X25519]\n')), [
      "<dir>/web.yaml:4: tls_server_config::curve_preferences: leaves out CurveP256, the curve of the certificate's key: OpenSSL then refuses every TLS 1.2 handshake (Go's TLS does not); add CurveP256, or set min_version: TLS13",
    ]);
    assert.deepEqual(problems(tls('  cipher_suites: [TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256]\n')), [
      "<dir>/web.yaml:4: tls_server_config::cipher_suites: has no suite for the certificate's ECDSA key, so every TLS 1.2 handshake would fail; add a TLS_ECDHE_ECDSA_WITH_… suite, or set min_version: TLS13",
    ]);
    const tls13 = loadWebConfigFile(file('tls13.yaml', tls('  min_version: TLS13\n  curve_preferences: [CurveP384]\n  cipher_suites: [TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256]\n')), {});
    assert.equal(tls13.tls?.context.minVersion, 'TLSv1.3', 'with TLS 1.3 only, neither list limits the certificate');
  });

  it('names the file, the line and the key path of every structural problem at once', () => {
    const found = problems(`tls_server_config:
  cert_fil: a.crt
  client_auth_type: RequireAndVerifyClientCrt
  min_version: TLS13
  max_version: TLS12
  cipher_suites: [TLS_RSA_WITH_RC4_128_SHA]
http_server_config:
  headers:
    X-Frame-Options: allow
    Server: nodemeter
basic_auth_users:
  alice: hunter2
  bob: 42
bearer_token_hashes: [my-plain-token]
auth_excluded_paths: [healthz]
rate_limit: { interval: 1x, burst: -1 }
extra: 1
`);
    const expected = [
      /^<dir>\/web\.yaml:1: tls_server_config: needs cert_file \(or cert, the PEM text inline\)$/,
      /^<dir>\/web\.yaml:1: tls_server_config: needs key_file/,
      /^<dir>\/web\.yaml:2: tls_server_config::cert_fil: unknown key \(did you mean "cert_file"\?\); valid keys: /,
      /^<dir>\/web\.yaml:3: tls_server_config::client_auth_type: must be one of NoClientCert, .*got "RequireAndVerifyClientCrt" \(did you mean "RequireAndVerifyClientCert"\?\)$/,
      /^<dir>\/web\.yaml:5: tls_server_config::max_version: TLS12 is below min_version TLS13$/,
      /^<dir>\/web\.yaml:6: tls_server_config::cipher_suites::0: must be one of .*got "TLS_RSA_WITH_RC4_128_SHA"/,
      /^<dir>\/web\.yaml:9: http_server_config::headers::X-Frame-Options: must be one of deny, sameorigin, got "allow"$/,
      /^<dir>\/web\.yaml:10: http_server_config::headers::Server: unknown key; valid keys: Strict-Transport-Security, /,
      /^<dir>\/web\.yaml:12: basic_auth_users::alice: is not a bcrypt hash \(.*got 7 characters; make one with: htpasswd/,
      /^<dir>\/web\.yaml:13: basic_auth_users::bob: must be a bcrypt hash string, got number 42$/,
      /^<dir>\/web\.yaml:14: bearer_token_hashes::0: must be "sha256:" and the 64 lowercase hex digits .*the value is not shown/,
      /^<dir>\/web\.yaml:15: auth_excluded_paths::0: must be a URL path starting with "\/" \(no query\), got "healthz"$/,
      /^<dir>\/web\.yaml:16: rate_limit::interval: must be a duration such as "5s", "250ms" or "1m30s", got "1x"$/,
      /^<dir>\/web\.yaml:16: rate_limit::burst: must be a whole number of requests, 0 or more, got number -1$/,
      /^<dir>\/web\.yaml:17: extra: unknown key; valid keys: tls_server_config, /,
    ];
    for (const re of expected) assert.ok(found.some((l) => re.test(l)), `${re}\nnot in:\n${found.join('\n')}`);
    assert.equal(found.length, expected.length, found.join('\n'));
    assert.ok(!found.some((l) => l.includes('hunter2') || l.includes('my-plain-token')), 'a password or token pasted in is never repeated');
  });

  it('refuses wrong types and contradictory client-certificate settings', () => {
    const found = problems(`tls_server_config:
  cert_file: ${pki.serverCertFile}
  key_file: ${pki.serverKeyFile}
  client_ca_file: ${pki.caFile}
  client_allowed_sans: [client.example]
  prefer_server_cipher_suites: "yes"
http_server_config: [http2]
basic_auth_users: [alice]
bearer_token_files: /run/token
`);
    assert.deepEqual(found, [
      '<dir>/web.yaml:1: tls_server_config::client_auth_type: client_ca_file is set but client_auth_type is NoClientCert: set client_auth_type (RequireAndVerifyClientCert to require certificates the CA signed)',
      '<dir>/web.yaml:5: tls_server_config::client_allowed_sans: needs client_auth_type RequireAnyClientCert or RequireAndVerifyClientCert (otherwise a client may send no certificate to match)',
      '<dir>/web.yaml:6: tls_server_config::prefer_server_cipher_suites: must be true or false, got the string "yes"',
      '<dir>/web.yaml:7: http_server_config: must be a mapping, got a list',
      '<dir>/web.yaml:8: basic_auth_users: must be a mapping of user name to bcrypt hash, got a list',
      '<dir>/web.yaml:9: bearer_token_files: must be a list, got the string "/run/token"',
    ]);
    assert.deepEqual(problems('tls_server_config:\n  cert_file: a\n  key_file: b\n  client_auth_type: RequireAndVerifyClientCert\n').filter((l) => l.includes('client_auth_type')), [
      '<dir>/web.yaml:4: tls_server_config::client_auth_type: RequireAndVerifyClientCert needs client_ca_file (or client_ca): the CA that signs client certificates',
    ]);
  });

  it('names unreadable files, files that are not PEM, and a key that does not match the certificate', () => {
    const found = problems(`tls_server_config:
  cert_file: missing.crt
  key_file: ${pki.caFile}
basic_auth_users:
  prometheus: ${HASH}
bearer_token_files:
  - ${file('empty-token', '\n')}
  - nope-token
`);
    assert.equal(found.length, 4, found.join('\n'));
    assert.match(found[0] ?? '', /^<dir>\/web\.yaml:2: tls_server_config::cert_file: cannot read <dir>\/missing\.crt: ENOENT/);
    assert.match(found[1] ?? '', /^<dir>\/web\.yaml:3: tls_server_config::key_file: .*ca\.crt holds no usable unencrypted PEM private key/);
    assert.match(found[2] ?? '', /^<dir>\/web\.yaml:7: bearer_token_files::0: <dir>\/empty-token is empty; it must hold the bearer token$/);
    assert.match(found[3] ?? '', /^<dir>\/web\.yaml:8: bearer_token_files::1: cannot read <dir>\/nope-token: ENOENT/);

    const otherKey = file('other.key', readFileSync(join(pki.dir, 'other-ca.key'), 'utf8'));
    const mismatch = problems(`tls_server_config:\n  cert_file: ${pki.serverCertFile}\n  key_file: ${otherKey}\n`);
    assert.equal(mismatch.length, 1);
    assert.match(mismatch[0] ?? '', /^<dir>\/web\.yaml:3: tls_server_config::key_file: the private key in <dir>\/other\.key does not match the certificate in .*server\.crt$/);
    assert.doesNotMatch(mismatch[0] ?? '', /PRIVATE KEY/, 'no key material in the message');

    const notPem = problems(`tls_server_config:\n  cert_file: ${file('x.crt', 'not a certificate')}\n  key_file: ${pki.serverKeyFile}\n  client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: ${file('ca.txt', 'nothing here')}\n`);
    assert.deepEqual(notPem, [
      '<dir>/web.yaml:2: tls_server_config::cert_file: <dir>/x.crt holds no PEM certificate ("-----BEGIN CERTIFICATE-----")',
      '<dir>/web.yaml:5: tls_server_config::client_ca_file: <dir>/ca.txt holds no PEM certificate',
    ]);
  });

  it('reports YAML syntax errors and an unreadable web config by file name', () => {
    assert.match(problems('basic_auth_users: {alice: [\n')[0] ?? '', /^<dir>\/web\.yaml:\d+: YAML syntax error: /);
    try {
      loadWebConfigFile(join(dir, 'absent.yaml'), {});
      assert.fail('expected an error');
    } catch (err) {
      assert.ok(err instanceof ConfigValidationError);
      assert.match(err.message, /absent\.yaml: cannot read the web config: ENOENT/);
    }
  });

  it('takes inline PEM text, and expands ${env:…} as the main config does', () => {
    const cert = readFileSync(pki.serverCertFile, 'utf8');
    const loaded = loadWebConfigFile(
      file('inline.yaml', `tls_server_config:\n  cert: |\n${cert.replace(/^/gm, '    ')}\n  key_file: \${env:KEY_FILE}\n`),
      { KEY_FILE: pki.serverKeyFile },
    );
    assert.equal(loaded.tls?.context.cert, `${cert.trimEnd()}\n`);
    assert.deepEqual(problems(`tls_server_config:\n  cert: x\n  cert_file: y\n  key_file: z\n`).slice(0, 1), ['<dir>/web.yaml:2: tls_server_config::cert: give cert_file or cert, not both']);
  });
});
