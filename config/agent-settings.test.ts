import assert from 'node:assert/strict';
import { test } from 'node:test';
import { agentSettingsMarkdown, describeAgentSettings, parseAgentSettings } from './agent-settings.ts';
import { ConfigValidationError } from './issues.ts';

const DEFAULTS = {
  listen_host: '0.0.0.0',
  listen_port: 9464,
  log_level: 'info',
  log_human: false,
  config: '',
  node_name: '',
  kubeconfig: '',
  kube_api_url: '',
  kube_token_file: '',
  web_config_file: '',
};

function issuesOf(fn: () => unknown): string[] {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof ConfigValidationError);
    assert.equal(err.source, 'command line');
    return err.issues.map((i) => `${i.path}: ${i.message}`);
  }
  assert.fail('expected a ConfigValidationError');
}

void test('defaults apply with no flags and no environment', () => {
  const { settings, rest } = parseAgentSettings([], {});
  assert.deepEqual(settings, DEFAULTS);
  assert.deepEqual(rest, []);
  assert.ok(Object.isFrozen(settings));
});

void test('environment variables bind, flags win over them, both flag styles work', () => {
  const env = { NODEMETER_LISTEN_PORT: '9100', NODEMETER_LOG_LEVEL: 'debug', NODE_NAME: 'node-a', KUBECONFIG: '/k', NODEMETER_LOG_HUMAN: 'true' };
  const { settings } = parseAgentSettings(['--listen-port', '0', '--log-level=warn', '--config', '/etc/nodemeter.yaml', '--listen-host=127.0.0.1'], env);
  assert.deepEqual(settings, {
    listen_host: '127.0.0.1',
    listen_port: 0,
    log_level: 'warn',
    log_human: true,
    config: '/etc/nodemeter.yaml',
    node_name: 'node-a',
    kubeconfig: '/k',
    kube_api_url: '',
    kube_token_file: '',
    web_config_file: '',
  });
});

void test('--web-config-file and NODEMETER_WEB_CONFIG_FILE name the web config; the flag wins', () => {
  assert.equal(parseAgentSettings([], { NODEMETER_WEB_CONFIG_FILE: '/etc/nodemeter/web.yaml' }).settings.web_config_file, '/etc/nodemeter/web.yaml');
  assert.equal(parseAgentSettings(['--web-config-file=/w.yaml'], { NODEMETER_WEB_CONFIG_FILE: '/etc/x.yaml' }).settings.web_config_file, '/w.yaml');
  assert.deepEqual(issuesOf(() => parseAgentSettings(['--web-config-file'], {})), ['--web-config-file: needs a value']);
});

void test('values keep their text: a node name that looks like a number stays as written', () => {
  assert.equal(parseAgentSettings(['--node-name', '0123'], {}).settings.node_name, '0123');
  assert.equal(parseAgentSettings([], { NODE_NAME: '007' }).settings.node_name, '007');
});

void test('--log-human is a boolean flag; =false and the env var turn it off or on', () => {
  const on = parseAgentSettings(['--log-human', 'validate'], {});
  assert.equal(on.settings.log_human, true);
  assert.deepEqual(on.rest, ['validate']);
  assert.equal(parseAgentSettings(['--log-human=false'], { NODEMETER_LOG_HUMAN: 'yes' }).settings.log_human, false);
  assert.equal(parseAgentSettings([], { NODEMETER_LOG_HUMAN: '1' }).settings.log_human, true);
});

void test('empty environment variables count as unset', () => {
  assert.deepEqual(parseAgentSettings([], { NODEMETER_LISTEN_PORT: '', NODE_NAME: '' }).settings, DEFAULTS);
});

void test('positional words and the caller\'s extra flags come back in rest, in order', () => {
  const { settings, rest } = parseAgentSettings(['collect', '--once', '--listen-port=1', '--format=json', 'x', '--', '--not-a-flag'], {}, {
    extraBooleanFlags: ['--once'],
    extraValueFlags: ['--format'],
  });
  assert.equal(settings.listen_port, 1);
  assert.deepEqual(rest, ['collect', '--once', '--format=json', 'x', '--not-a-flag']);
  assert.deepEqual(parseAgentSettings(['--format', 'text'], {}, { extraValueFlags: ['--format'] }).rest, ['--format=text']);
});

void test('every bad flag and value is reported at once, under the name the operator used', () => {
  const issues = issuesOf(() =>
    parseAgentSettings(['--listen-prot', '9100', '--listen-port=80x', '--log-level', 'loud', '--log-human=maybe', '--config'], { NODEMETER_LISTEN_HOST: ' ', NODEMETER_LOG_LEVEL: 'nope' }),
  );
  assert.equal(issues.length, 6, issues.join('\n'));
  assert.ok(issues.includes('--listen-prot: unknown flag (did you mean "--listen-port"?); valid flags: --config, --kube-api-url, --kube-token-file, --kubeconfig, --listen-host, --listen-port, --log-human, --log-level, --node-name, --web-config-file'));
  assert.ok(issues.includes('--listen-port: must be a port number 0-65535, got "80x"'));
  assert.ok(issues.includes('--log-human: must be true or false, got "maybe"'));
  assert.ok(issues.includes('--config: needs a value'));
  assert.ok(issues.some((i) => i.startsWith('--log-level: must be one of the possible values: ["trace","debug","info","warn","error","fatal"], got "loud"')));
  assert.ok(issues.some((i) => i.startsWith('NODEMETER_LISTEN_HOST: must be a non-empty host name or address')));
});

void test('an out-of-range port from the environment names the variable', () => {
  assert.deepEqual(issuesOf(() => parseAgentSettings([], { NODEMETER_LISTEN_PORT: '70000' })), ['NODEMETER_LISTEN_PORT: ports must be within range 0 - 65535, got 70000']);
});

void test('the caller\'s extra flags are listed among the valid ones', () => {
  const [only] = issuesOf(() => parseAgentSettings(['--onse'], {}, { extraBooleanFlags: ['--once'] }));
  assert.match(only ?? '', /^--onse: unknown flag \(did you mean "--once"\?\); valid flags: .*--once/);
});

void test('describeAgentSettings documents every setting with its flag, variable and default', () => {
  const rows = describeAgentSettings();
  assert.deepEqual(
    rows.map((r) => [r.key, r.flag, r.env, r.default]),
    [
      ['listen_host', '--listen-host', 'NODEMETER_LISTEN_HOST', '"0.0.0.0"'],
      ['listen_port', '--listen-port', 'NODEMETER_LISTEN_PORT', '9464'],
      ['log_level', '--log-level', 'NODEMETER_LOG_LEVEL', '"info"'],
      ['log_human', '--log-human', 'NODEMETER_LOG_HUMAN', 'false'],
      ['config', '--config', 'NODEMETER_CONFIG', '""'],
      ['node_name', '--node-name', 'NODE_NAME', '""'],
      ['kubeconfig', '--kubeconfig', 'KUBECONFIG', '""'],
      ['kube_api_url', '--kube-api-url', 'NODEMETER_KUBE_API_URL', '""'],
      ['kube_token_file', '--kube-token-file', 'NODEMETER_KUBE_TOKEN_FILE', '""'],
      ['web_config_file', '--web-config-file', 'NODEMETER_WEB_CONFIG_FILE', '""'],
    ],
  );
  assert.ok(rows.every((r) => r.doc.length > 10));
  const table = agentSettingsMarkdown().split('\n');
  assert.equal(table[0], '| flag | environment | default | meaning |');
  assert.equal(table.filter((l) => l.startsWith('| `--')).length, rows.length);
});
