import assert from 'node:assert/strict';
import { test } from 'node:test';
import { expandEnv } from './env-expand.ts';

const env = { HOST: 'node-1', EMPTY: '', PORT: '9100' };

void test('${env:NAME} is replaced, anywhere in the string', () => {
  assert.deepEqual(expandEnv('http://${env:HOST}:${env:PORT}/x', env), { value: 'http://node-1:9100/x', problems: [] });
});

void test('${env:NAME:-default} uses the default when unset or empty, the value otherwise', () => {
  assert.equal(expandEnv('${env:NOPE:-/host}', env).value, '/host');
  assert.equal(expandEnv('${env:EMPTY:-fallback}', env).value, 'fallback');
  assert.equal(expandEnv('${env:HOST:-other}', env).value, 'node-1');
  assert.equal(expandEnv('${env:NOPE:-}', env).value, '');
  assert.equal(expandEnv('${env:NOPE:-a:-b}', env).value, 'a:-b');
});

void test('an empty variable without default expands to empty, not an error', () => {
  assert.deepEqual(expandEnv('x${env:EMPTY}y', env), { value: 'xy', problems: [] });
});

void test('$$ is a literal $, and a lone $ stays as it is', () => {
  assert.equal(expandEnv('cost $$5 and $$${env:HOST}', env).value, 'cost $5 and $node-1');
  assert.equal(expandEnv('^/var/lib/kubelet$', env).value, '^/var/lib/kubelet$');
  assert.equal(expandEnv('$$${env:NOPE}', env).problems.length, 1);
  assert.equal(expandEnv('$${env:NOPE}', env).value, '${env:NOPE}');
});

void test('every unset variable is a problem at its offset', () => {
  const x = expandEnv('${env:A}/${env:HOST}/${env:B}', env);
  assert.deepEqual(
    x.problems.map((p) => p.offset),
    [0, 21],
  );
  assert.match(x.problems[0]?.message ?? '', /environment variable A is not set/);
});

void test('other providers, bare ${NAME}, bad names and a missing } are problems', () => {
  assert.match(expandEnv('${file:/x}', env).problems[0]?.message ?? '', /unsupported provider "file"/);
  assert.match(expandEnv('${HOST}', env).problems[0]?.message ?? '', /write \$\{env:HOST\}/);
  assert.match(expandEnv('${env:9X}', env).problems[0]?.message ?? '', /not a valid environment variable name/);
  assert.match(expandEnv('a${env:HOST', env).problems[0]?.message ?? '', /unterminated/);
});
