import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import convict from 'convict';
import { loadConfig } from '../../config/load.ts';
import { ConfigValidationError } from '../../config/issues.ts';
import { schemaDefaults } from '../../pipeline/schema-defaults.ts';
import { builtinRegistry } from '../../pipeline/builtins.ts';
import { createDefaultConfig, schema, validate, type PushgatewayExporterConfig } from './config.ts';

/** Issues of a config with `settings` as the pushgateway exporter's settings (YAML flow mapping). */
function issuesOf(settings: string, env: Record<string, string> = {}): string[] {
  const text = ['receivers:', '  filesystem:', 'exporters:', `  pushgateway: ${settings}`, 'service:', '  pipelines:', '    metrics:', '      receivers: [filesystem]', '      exporters: [pushgateway]', ''].join('\n');
  try {
    loadConfig({ text, source: 'pg.yaml', registry: builtinRegistry(), env });
    return [];
  } catch (err) {
    if (!(err instanceof ConfigValidationError)) throw err;
    return err.issues.map((i) => `${i.path}: ${i.message}`);
  }
}

const with_ = (over: Partial<PushgatewayExporterConfig>): PushgatewayExporterConfig => ({ ...createDefaultConfig(), endpoint: 'http://pg:9091', ...over });

describe('pushgateway exporter config', () => {
  it('the defaults are the schema\'s, and pass the factory checks', () => {
    assert.deepEqual(createDefaultConfig(), schemaDefaults(schema));
    assert.deepEqual(validate(createDefaultConfig()), []);
    const d = createDefaultConfig();
    assert.equal(d.job, 'nodemeter');
    assert.equal(d.interval, 30_000);
    assert.equal(d.timeout, 10_000);
    assert.equal(d.delete_on_shutdown, false);
    assert.deepEqual(d.grouping_key, {});
  });

  it('a config with an endpoint loads; durations are parsed', () => {
    assert.deepEqual(issuesOf('{ endpoint: "http://pg:9091", interval: 15s, timeout: 2500ms, grouping_key: { cluster: prod } }'), []);
    const c = convict(schema).load({ endpoint: 'https://pg/prefix', interval: '1m' }).validate({ allowed: 'strict' }).getProperties();
    assert.equal(c.interval, 60_000);
  });

  it('the endpoint is required and must be a plain http(s) URL', () => {
    assert.deepEqual(issuesOf('{}'), ['exporters::pushgateway::endpoint: is required: the Pushgateway\'s URL, e.g. http://pushgateway:9091']);
    assert.match(issuesOf('{ endpoint: "ftp://pg" }')[0] ?? '', /endpoint: must be an http:\/\/ or https:\/\/ URL/);
    assert.match(issuesOf('{ endpoint: "http://pg:9091?x=1" }')[0] ?? '', /endpoint: must not have a query/);
    const creds = issuesOf('{ endpoint: "http://user:hunter2@pg:9091" }');
    assert.match(creds[0] ?? '', /must not hold credentials/);
    assert.doesNotMatch(creds.join('\n'), /hunter2.*hunter2/, 'the password is not repeated in the message');
  });

  it('refuses unknown keys, nested ones included, and bad types', () => {
    const issues = issuesOf('{ endpoint: "http://pg", tls: { verify: false }, bogus: 1, job: "", interval: soon }');
    assert.deepEqual(issues.map((i) => i.split(': ')[0]).sort(), [
      'exporters::pushgateway::bogus',
      'exporters::pushgateway::interval',
      'exporters::pushgateway::job',
      'exporters::pushgateway::tls::verify',
    ]);
  });

  it('grouping key: label names only, never "job"', () => {
    assert.match(issuesOf('{ endpoint: "http://pg", grouping_key: { "a-b": c } }')[0] ?? '', /"a-b" is not a valid label name/);
    assert.match(issuesOf('{ endpoint: "http://pg", grouping_key: { __x: c } }')[0] ?? '', /"__x" is not a valid label name/);
    assert.deepEqual(validate(with_({ grouping_key: { job: 'x' } })), [{ path: 'grouping_key', message: '"job" is set by the `job` setting, not in the grouping key' }]);
  });

  it('headers: valid names, not the ones the exporter sets, no line breaks; the value is never echoed', () => {
    assert.deepEqual(issuesOf('{ endpoint: "http://pg", headers: { X-Scope-OrgID: tenant-a } }'), []);
    assert.match(issuesOf('{ endpoint: "http://pg", headers: { Content-Type: x } }')[0] ?? '', /headers::Content-Type: "Content-Type" is set by the exporter itself/);
    assert.match(issuesOf('{ endpoint: "http://pg", headers: { "a b": x } }')[0] ?? '', /headers::a b: "a b" is not a valid header name/);
    const broken = issuesOf('{ endpoint: "http://pg", headers: { X-Key: "${env:KEY}" } }', { KEY: 's3cret\r\nX-Evil: 1' });
    assert.match(broken[0] ?? '', /headers::X-Key: holds a line break or NUL/);
    assert.doesNotMatch(broken.join('\n'), /s3cret/);
  });

  it('authentication: one way at a time', () => {
    assert.deepEqual(validate(with_({ basic_auth: { username: 'u', password: 'p' } })), []);
    assert.deepEqual(validate(with_({ bearer_token_file: '/t' })), []);
    assert.deepEqual(
      validate(with_({ basic_auth: { username: 'u', password: 'p' }, bearer_token_file: '/t', headers: { Authorization: 'x' } })).map((p) => p.path),
      ['bearer_token_file', 'headers'],
    );
    assert.deepEqual(validate(with_({ basic_auth: { username: '', password: 'p' } })).map((p) => p.path), ['basic_auth.username']);
  });

  it('tls: not with http://, and ca_file or insecure_skip_verify, not both', () => {
    assert.deepEqual(validate(with_({ endpoint: 'https://pg', tls: { ca_file: '/ca.pem', insecure_skip_verify: false } })), []);
    assert.deepEqual(validate(with_({ endpoint: 'https://pg', tls: { ca_file: '/ca.pem', insecure_skip_verify: true } })).map((p) => p.path), ['tls.ca_file']);
    assert.deepEqual(validate(with_({ tls: { ca_file: '', insecure_skip_verify: true } })).map((p) => p.path), ['tls']);
  });
});
