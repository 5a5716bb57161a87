import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { validateComponentConfig } from '../../config/component-config.ts';
import { resourceProcessorFactory } from './factory.ts';

function check(raw: unknown) {
  return validateComponentConfig(resourceProcessorFactory, raw, { path: ['processors', 'resource'], positions: undefined, at: undefined });
}

function messages(raw: unknown): string[] {
  return check(raw).issues.map((i) => `${i.path}: ${i.message}`);
}

describe('resource config', () => {
  it('fills the defaults, which equal createDefaultConfig()', () => {
    const result = check(undefined);
    assert.deepEqual(result.issues, []);
    assert.deepEqual(result.config, resourceProcessorFactory.createDefaultConfig());
  });

  it('accepts every action', () => {
    const attributes = [
      { key: 'k8s.cluster.name', value: 'prod-eu', action: 'insert' },
      { key: 'deployment.environment', value: 'prod', action: 'update' },
      { key: 'shard', value: 3, action: 'upsert' },
      { key: 'host.name', action: 'delete' },
    ];
    const result = check({ attributes });
    assert.deepEqual(result.issues, []);
    assert.deepEqual(result.config['attributes'], attributes);
  });

  const bad: Array<{ name: string; attributes: unknown; message: RegExp }> = [
    { name: 'not a list', attributes: { key: 'a' }, message: /must be a list/ },
    { name: 'an item that is not a map', attributes: ['a'], message: /item 0 must be a map/ },
    { name: 'an unknown key', attributes: [{ key: 'a', value: 'b', action: 'insert', from_attribute: 'c' }], message: /item 0: unknown key "from_attribute"/ },
    { name: 'a missing key', attributes: [{ value: 'b', action: 'insert' }], message: /item 0: "key" must be a non-empty string/ },
    { name: 'an unknown action', attributes: [{ key: 'a', value: 'b', action: 'hash' }], message: /item 0: "action" must be one of insert, update, upsert, delete, got "hash"/ },
    { name: 'a missing value', attributes: [{ key: 'a', action: 'insert' }, { key: 'b', action: 'upsert' }], message: /item 0: "value" must be a string, number or boolean for action insert/ },
    { name: 'a non-scalar value', attributes: [{ key: 'a', value: 'ok', action: 'upsert' }, { key: 'b', value: ['x'], action: 'update' }], message: /item 1: "value" must be a string, number or boolean for action update/ },
    { name: 'a value on delete', attributes: [{ key: 'a', value: 'b', action: 'delete' }], message: /item 0: "value" is not allowed with action delete/ },
  ];
  for (const c of bad) {
    it(`rejects ${c.name}, naming the item and key`, () => {
      const issues = messages({ attributes: c.attributes });
      assert.equal(issues.length, 1, issues.join('\n'));
      assert.ok(issues[0]?.startsWith('processors::resource::attributes: '), issues[0]);
      assert.match(issues[0] ?? '', c.message);
    });
  }
});
