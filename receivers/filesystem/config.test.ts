import assert from 'node:assert/strict';
import { test } from 'node:test';
import convict from 'convict';
import { filesystemReceiverFactory, schema } from './factory.ts';
import { validateConfig } from './config.ts';

void test('every schema key has doc, format and default', () => {
  const walk = (node: Record<string, unknown>, path: string): void => {
    for (const [key, child] of Object.entries(node)) {
      const c = child as Record<string, unknown>;
      if ('default' in c) {
        assert.ok(typeof c.doc === 'string' && c.doc.length > 10, `${path}${key} doc`);
        assert.ok('format' in c, `${path}${key} format`);
      } else {
        walk(c, `${path}${key}.`);
      }
    }
  };
  walk(schema, '');
});

void test('createDefaultConfig equals what convict loads from the schema', () => {
  const loaded = convict(schema).validate({ allowed: 'strict' }).getProperties();
  assert.deepEqual(filesystemReceiverFactory.createDefaultConfig(), loaded);
  assert.equal(filesystemReceiverFactory.createDefaultConfig().statfs_timeout, 5000);
});

void test('convict coerces durations and rejects bad regexes and unknown keys', () => {
  const c = convict(schema).load({ statfs_timeout: '2s', node_filesystems: { fs_types_include: '^ext4$' } });
  c.validate({ allowed: 'strict' });
  assert.equal(c.get('statfs_timeout'), 2000);
  assert.throws(() => convict(schema).load({ node_filesystems: { devices_exclude: '(' } }).validate({ allowed: 'strict' }), /devices_exclude/);
  assert.throws(() => convict(schema).load({ bogus: 1 }).validate({ allowed: 'strict' }), /bogus/);
});

void test('validate() reports range and path problems', () => {
  const base = filesystemReceiverFactory.createDefaultConfig();
  assert.deepEqual(validateConfig(base), []);
  const problems = validateConfig({ ...base, concurrency: 0, statfs_timeout: 0, kubelet_root: 'rel', root_path: 'host' });
  assert.deepEqual(problems.map((p) => p.path).sort(), ['concurrency', 'kubelet_root', 'root_path', 'statfs_timeout']);
});

void test('factory identity', () => {
  assert.equal(filesystemReceiverFactory.type, 'filesystem');
  assert.equal(filesystemReceiverFactory.kind, 'receiver');
});
