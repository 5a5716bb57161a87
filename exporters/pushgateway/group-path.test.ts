import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { groupingKeyPath, groupingLabels, groupUrl } from './group-path.ts';

const b64 = (s: string): string => Buffer.from(s, 'utf8').toString('base64url');

describe('pushgateway grouping key path', () => {
  it('plain values are path segments', () => {
    assert.equal(groupingKeyPath('nodemeter', { instance: 'node-a' }), '/metrics/job/nodemeter/instance/node-a');
    assert.equal(groupingKeyPath('nodemeter', {}), '/metrics/job/nodemeter');
  });

  it('a value holding "/" goes base64url under <name>@base64, without padding', () => {
    assert.equal(groupingKeyPath('nodemeter', { path: '/var/tmp' }), `/metrics/job/nodemeter/path@base64/${b64('/var/tmp')}`);
    assert.equal(b64('/var/tmp'), 'L3Zhci90bXA', "the README's own example");
    assert.equal(groupingKeyPath('a/b', {}), `/metrics/job@base64/${b64('a/b')}`);
    // base64url, not base64: no "+" or "/" in the segment.
    const awkward = '/??>>~';
    assert.doesNotMatch(groupingKeyPath('j', { x: awkward }).split('/').at(-1) ?? '', /[+/=]/);
  });

  it('an empty value is "@base64/="', () => {
    assert.equal(groupingKeyPath('nodemeter', { instance: '' }), '/metrics/job/nodemeter/instance@base64/=');
  });

  it('"." and ".." are base64-encoded so no client or router collapses them', () => {
    assert.equal(groupingKeyPath('j', { a: '.', b: '..' }), `/metrics/job/j/a@base64/${b64('.')}/b@base64/${b64('..')}`);
  });

  it('spaces, reserved characters and unicode are percent-encoded as UTF-8', () => {
    assert.equal(groupingKeyPath('my job', { zone: 'eu west?#%' }), '/metrics/job/my%20job/zone/eu%20west%3F%23%25');
    assert.equal(groupingKeyPath('j', { node: 'nœud-ü' }), '/metrics/job/j/node/n%C5%93ud-%C3%BC');
    assert.equal(decodeURIComponent('n%C5%93ud-%C3%BC'), 'nœud-ü');
    assert.equal(groupingKeyPath('j', { city: '東京/渋谷' }), `/metrics/job/j/city@base64/${b64('東京/渋谷')}`);
  });

  it('refuses an empty job and a "job" grouping label', () => {
    assert.throws(() => groupingKeyPath('', {}), /non-empty job/);
    assert.throws(() => groupingKeyPath('j', { job: 'x' }), /not a grouping label/);
  });

  it('instance is the node name unless the grouping key sets it (even to "")', () => {
    assert.deepEqual(groupingLabels({}, 'node-a'), { instance: 'node-a' });
    assert.deepEqual(groupingLabels({ zone: 'z' }, 'node-a'), { instance: 'node-a', zone: 'z' });
    assert.deepEqual(groupingLabels({ instance: 'custom' }, 'node-a'), { instance: 'custom' });
    assert.deepEqual(groupingLabels({ instance: '' }, 'node-a'), { instance: '' });
  });

  it('keeps an endpoint path prefix, with or without a trailing slash', () => {
    assert.equal(groupUrl('http://pg:9091', '/metrics/job/j').href, 'http://pg:9091/metrics/job/j');
    assert.equal(groupUrl('https://gw.example/push/', '/metrics/job/j/instance@base64/=').href, 'https://gw.example/push/metrics/job/j/instance@base64/=');
    assert.equal(groupUrl('http://pg:9091', groupingKeyPath('j', { zone: 'a b%' })).pathname, '/metrics/job/j/zone/a%20b%25', 'escapes are not escaped twice');
  });
});
