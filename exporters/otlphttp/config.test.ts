import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import convict from 'convict';
import { schemaDefaults } from '../../pipeline/schema-defaults.ts';
import { createDefaultConfig, schema, validate, type OtlpHttpExporterConfig } from './config.ts';

/** Schema and factory problems of `settings`, as `path: message` lines. */
function issuesOf(settings: Record<string, unknown>): string[] {
  try {
    const config = convict(schema).load(settings).validate({ allowed: 'strict' }).getProperties() as unknown as OtlpHttpExporterConfig;
    return validate(config).map((p) => `${p.path}: ${p.message}`);
  } catch (err) {
    return [(err as Error).message];
  }
}

describe('otlphttp exporter config', () => {
  it('the defaults are the schema\'s and pass the factory checks', () => {
    assert.deepEqual(createDefaultConfig(), schemaDefaults(schema));
    assert.deepEqual(validate(createDefaultConfig()), []);
    assert.equal(createDefaultConfig().compression, 'gzip');
    assert.equal(createDefaultConfig().protocol, 'http/json');
  });

  it('loads a full config; durations are parsed', () => {
    const c = convict(schema).load({ endpoint: 'http://collector:4318/v1/metrics', interval: '1m', timeout: '5s', compression: 'none', protocol: 'http/protobuf' }).validate({ allowed: 'strict' }).getProperties();
    assert.equal(c.interval, 60_000);
    assert.equal(c.timeout, 5_000);
  });

  it('the endpoint is required and must be a plain http(s) URL', () => {
    assert.match(issuesOf({}).join('\n'), /endpoint: is required/);
    assert.match(issuesOf({ endpoint: 'ftp://c' }).join('\n'), /must be an http/);
    assert.match(issuesOf({ endpoint: 'http://u:p@c:4318' }).join('\n'), /must not hold credentials/);
  });

  it('refuses unknown keys and bad enums', () => {
    assert.match(issuesOf({ endpoint: 'http://c', bogus: 1 }).join('\n'), /bogus/);
    assert.match(issuesOf({ endpoint: 'http://c', compression: 'zstd' }).join('\n'), /compression/);
    assert.match(issuesOf({ endpoint: 'http://c', protocol: 'grpc' }).join('\n'), /protocol/);
  });

  it('timeout may not exceed interval', () => {
    assert.deepEqual(issuesOf({ endpoint: 'http://c', interval: '5s', timeout: '10s' }), ['timeout: must not exceed interval (5000 ms)']);
  });

  it('header problems name the header, never its value', () => {
    const secret = 'Bearer s3cr3t-value';
    const issues = issuesOf({ endpoint: 'http://c', headers: { Authorization: `${secret}\n`, 'Content-Type': secret, 'bad name': secret, ok: 5 } });
    assert.equal(issues.length, 4, issues.join('\n'));
    assert.doesNotMatch(issues.join('\n'), /s3cr3t/);
    assert.deepEqual(issuesOf({ endpoint: 'http://c', headers: { Authorization: secret } }), []);
  });
});
