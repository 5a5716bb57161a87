import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

const bin = fileURLToPath(new URL('../bin/nodemeter.js', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'nodemeter-cli-'));

function nodemeter(args: string[], env: Record<string, string> = {}) {
  const result = spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', env: { ...process.env, ...env }, timeout: 30_000 });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

function configFile(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

const GOOD = `receivers:
  filesystem:
    kubelet_root: ""
    statfs_timeout: 2s
exporters:
  prometheus:
    const_labels: { cluster: "\${env:TEST_CLUSTER:-dev}" }
service:
  pipelines:
    metrics:
      receivers: [filesystem]
      exporters: [prometheus]
`;

describe('nodemeter command', () => {
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('prints usage and version', () => {
    const help = nodemeter(['--help']);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /collect --once/);
    assert.match(nodemeter(['--version']).stdout, /^nodemeter \d+\.\d+\.\d+/);
  });

  it('validates a good config and the embedded default', () => {
    const good = nodemeter(['validate', '--config', configFile('good.yaml', GOOD)]);
    assert.equal(good.code, 0, good.stderr);
    assert.match(good.stdout, /valid; pipeline metrics: receivers \[filesystem\]/);
    assert.equal(nodemeter(['validate']).code, 0);
  });

  it('reports every config problem with file:line:column and exits 2', () => {
    const bad = configFile(
      'bad.yaml',
      `receivers:
  filesystem:
    statfs_timout: 2s
    concurrency: many
exporters:
  prometheus:
service:
  pipelines:
    metrics:
      receivers: [filesystem, nope]
      exporters: [prometheus]
`,
    );
    const result = nodemeter(['validate', '--config', bad]);
    assert.equal(result.code, 2);
    assert.match(result.stderr, /bad\.yaml:3:5: receivers::filesystem::statfs_timout: .*did you mean "statfs_timeout"/);
    assert.match(result.stderr, /bad\.yaml:4:\d+: receivers::filesystem::concurrency: /);
    assert.match(result.stderr, /bad\.yaml:10:\d+: service::pipelines::metrics::receivers.*nope/);
    assert.equal(result.stdout, '');
  });

  it('rejects bad flags and unknown commands with exit code 2', () => {
    const flag = nodemeter(['--listen-port', 'abc']);
    assert.equal(flag.code, 2);
    assert.match(flag.stderr, /--listen-port/);
    assert.equal(nodemeter(['frobnicate']).code, 2);
    assert.equal(nodemeter(['collect']).code, 2, 'collect needs --once');
    const missing = nodemeter(['validate', '--config', join(dir, 'absent.yaml')]);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /absent\.yaml/);
  });

  it('validate checks the web config too: a good one is summed up, a bad one named by file, line and key', () => {
    const web = configFile('web.yaml', 'basic_auth_users:\n  prometheus: $2b$10$od5auBZaGNwix8Kcx0dBqerk5Vlifn4Otq7qExqplJtis8.929YzW\n');
    const good = nodemeter(['validate', '--config', configFile('good2.yaml', GOOD), '--web-config-file', web]);
    assert.equal(good.code, 0, good.stderr);
    assert.match(good.stdout, /web\.yaml: valid; plain HTTP; 1 basic auth user\(s\), 0 bearer token\(s\); open without credentials: \/healthz, \/readyz/);
    const bad = configFile('bad-web.yaml', 'tls_server_config:\n  cert_file: /nonexistent/tls.crt\n  key_file: /nonexistent/tls.key\nbasic_auth_users:\n  prometheus: plaintext-password\n');
    for (const command of ['validate', 'run']) {
      const result = nodemeter([command, '--config', configFile('good3.yaml', GOOD), '--listen-port', '0'], { NODEMETER_WEB_CONFIG_FILE: bad });
      assert.equal(result.code, 2, `${command}: ${result.stderr}`);
      assert.match(result.stderr, /bad-web\.yaml:2:3: tls_server_config::cert_file: cannot read \/nonexistent\/tls\.crt: ENOENT/);
      assert.match(result.stderr, /bad-web\.yaml:3:3: tls_server_config::key_file: cannot read \/nonexistent\/tls\.key: ENOENT/);
      assert.match(result.stderr, /bad-web\.yaml:5:3: basic_auth_users::prometheus: is not a bcrypt hash/);
      assert.doesNotMatch(result.stderr, /plaintext-password/);
      assert.doesNotMatch(result.stdout, /listening/, 'nothing starts');
    }
  });

  it('collect --once prints one exposition with the configured constant labels', () => {
    const result = nodemeter(['collect', '--once', '--config', configFile('collect.yaml', GOOD)], { TEST_CLUSTER: 'c9' });
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /^node_filesystem_size_bytes\{cluster="c9",device="[^"]+",mountpoint="\/",fstype="[^"]+"\} \d+$/m);
    assert.match(result.stdout, /^target_info\{/m);
    assert.doesNotMatch(result.stdout, /"level"/, 'logs stay off stdout');
  });
});
