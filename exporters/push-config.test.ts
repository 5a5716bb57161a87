import assert from 'node:assert/strict';
import { test } from 'node:test';
import { checkHttpEndpoint, withoutUserinfo } from './push-config.ts';

test('withoutUserinfo hides the user and password of a URL-like text, and only those', () => {
  assert.equal(withoutUserinfo('http://bob:hunter22@gateway:9091/x'), 'http://…@gateway:9091/x');
  assert.equal(withoutUserinfo('https://token@[::1'), 'https://…@[::1');
  assert.equal(withoutUserinfo('http://gateway:9091/a@b'), 'http://gateway:9091/a@b');
  assert.equal(withoutUserinfo('not a url'), 'not a url');
});

test('checkHttpEndpoint: an unparseable URL is quoted without its credentials; one with credentials is refused', () => {
  assert.throws(() => checkHttpEndpoint('http://bob:hunter22@[gateway', 'required', 'no credentials'), (err: Error) => {
    assert.match(err.message, /must be an http:\/\/ or https:\/\/ URL, got "http:\/\/…@\[gateway"/);
    assert.doesNotMatch(err.message, /hunter22/);
    return true;
  });
  assert.throws(() => checkHttpEndpoint('http://bob:hunter22@gateway:9091', 'required', 'no credentials'), /^Error: no credentials$/);
  assert.throws(() => checkHttpEndpoint('', 'required', 'no credentials'), /^Error: required$/);
  assert.equal(checkHttpEndpoint('https://gateway:9091/base', 'required', 'no credentials').pathname, '/base');
});
