import assert from 'node:assert/strict';
import { test } from 'node:test';
import { credentialStrings, redact, REDACTED } from './redact.ts';

test('credentialStrings: custom header values, the Authorization value with and without its scheme, Basic decoded', () => {
  const basic = Buffer.from('alice:s3cret-pass').toString('base64');
  const found = credentialStrings({ 'User-Agent': 'nodemeter/1', 'x-api-key': 'key-12345', authorization: `Basic ${basic}`, 'content-type': 'text/plain' });
  assert.deepEqual(new Set(found), new Set([`Basic ${basic}`, basic, 'alice:s3cret-pass', 's3cret-pass', 'key-12345']));
  // Longest first, so a whole value is replaced before a part of it.
  assert.deepEqual(found, [...found].sort((a, b) => b.length - a.length));
  assert.deepEqual(new Set(credentialStrings({ Authorization: 'Bearer tok-987654' })), new Set(['Bearer tok-987654', 'tok-987654']));
});

test('credentialStrings: strings under 4 characters are not treated as secrets', () => {
  assert.deepEqual(credentialStrings({ 'x-flag': 'on' }), []);
});

test('redact replaces every occurrence and leaves other text alone', () => {
  const secrets = credentialStrings({ authorization: 'Bearer tok-987654', 'x-api-key': 'key-12345' });
  assert.equal(
    redact('denied: {"authorization":"Bearer tok-987654","x-api-key":"key-12345"} (tok-987654)', secrets),
    `denied: {"authorization":"${REDACTED}","x-api-key":"${REDACTED}"} (${REDACTED})`,
  );
  assert.equal(redact('nothing to hide', secrets), 'nothing to hide');
});
