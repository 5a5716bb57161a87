import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigValidationError } from '../../config/issues.ts';
import { loadConfig } from '../../config/load.ts';
import { prometheusExporterFactory } from '../../exporters/prometheus/factory.ts';
import { FactoryRegistry } from '../../pipeline/registry.ts';
import { filesystemReceiverFactory } from '../../receivers/filesystem/factory.ts';
import { attributesProcessorFactory } from './factory.ts';

function load(processorYaml: string) {
  const text = `receivers:\n  filesystem:\nprocessors:\n  attributes:\n${processorYaml}exporters:\n  prometheus:\nservice:\n  pipelines:\n    metrics:\n      receivers: [filesystem]\n      processors: [attributes]\n      exporters: [prometheus]\n`;
  const registry = new FactoryRegistry().register(filesystemReceiverFactory).register(prometheusExporterFactory).register(attributesProcessorFactory);
  return loadConfig({ text, source: 'attributes.yaml', registry, env: {} });
}

function issue(actionYaml: string): string {
  try {
    load(`    actions:\n${actionYaml}`);
  } catch (err) {
    assert.ok(err instanceof ConfigValidationError);
    const [first] = err.issues;
    return `${first?.path}: ${first?.message}`.replace(/, got \[.*$/s, '');
  }
  assert.fail('expected the config to be rejected');
}

describe('attributes config', () => {
  it('defaults to no actions', () => {
    assert.deepEqual(load('').processors.get('attributes')?.config, { actions: [] });
  });

  it('accepts every action', () => {
    const actions = [
      { action: 'insert', key: 'env', value: 'prod' },
      { action: 'update', pattern: '^label_', from_attribute: 'x' },
      { action: 'upsert', key: 'n', value: 3 },
      { action: 'delete', pattern: '^tmp_' },
      { action: 'rename', pattern: '^label_(?<k>.+)$', new_key: 'app_${k}' },
      { action: 'hash', key: 'email' },
      { action: 'extract', key: 'path', regex: '/pods/(?<pod_uid>[^/]+)/' },
    ];
    // In a config file `${` starts an environment reference: a group by name is written `$${k}`.
    const config = load(`    actions: ${JSON.stringify(actions).replace('${k}', () => '$${k}')}\n`).processors.get('attributes')?.config;
    assert.deepEqual(config, { actions });
  });

  const bad: Array<[string, string]> = [
    ['      - action: add\n        key: a\n', 'item 0: "action" must be one of insert, update, upsert, delete, rename, hash, extract'],
    ['      - action: delete\n        key: a\n        value: b\n', 'item 0: "value" is not a key of the delete action (allowed: action, key, pattern)'],
    ['      - action: delete\n', 'item 0: give exactly one of "key" and "pattern"'],
    ['      - action: hash\n        key: a\n        pattern: b\n', 'item 0: give exactly one of "key" and "pattern"'],
    ['      - action: insert\n        pattern: a\n        value: b\n', 'item 0: insert creates an attribute, so it needs "key", not "pattern"'],
    ['      - action: upsert\n        pattern: a\n        value: b\n', 'item 0: upsert creates an attribute, so it needs "key", not "pattern" (to change every matching key, use update)'],
    ['      - action: insert\n        key: a\n', 'item 0: insert needs exactly one of "value" and "from_attribute"'],
    ['      - action: update\n        key: a\n        value: b\n        from_attribute: c\n', 'item 0: update needs exactly one of "value" and "from_attribute"'],
    ['      - action: upsert\n        key: a\n        value: [1]\n', 'item 0: "value" must be a string, number or boolean'],
    ['      - action: delete\n        key: a\n      - action: delete\n        pattern: "(["\n', 'item 1: "pattern" is not a valid regular expression'],
    ['      - action: rename\n        key: a\n', 'item 0: "new_key" must be a non-empty string'],
    ['      - action: rename\n        pattern: a\n        new_key: b\n', 'item 0: with "pattern", "new_key" must use a group of it ($1, ${name}), or every matching key would become one'],
    ['      - action: rename\n        pattern: (a)\n        new_key: b_$2\n', 'item 0: "new_key" refers to group $2, but the regular expression has groups 1 to 1'],
    ['      - action: rename\n        key: a\n        new_key: b_$1\n', 'item 0: "new_key" refers to group $1, but the regular expression has no groups'],
    ['      - action: extract\n        key: a\n        regex: (a)\n', 'item 0: "regex" has no named groups ((?<name>…)), so it would extract nothing'],
    ['      - action: extract\n        key: a\n', 'item 0: "regex" must be a non-empty string'],
  ];
  for (const [yaml, message] of bad) {
    it(`rejects: ${message}`, () => {
      const got = issue(yaml);
      assert.ok(got.startsWith(`processors::attributes::actions: ${message}`), got);
    });
  }
});
