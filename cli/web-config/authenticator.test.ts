import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import bcrypt from 'bcryptjs';
import { Authenticator } from './authenticator.ts';

// bcrypt of "nodemeter-it-pushgateway-pw" made by libxcrypt (Python's crypt), not by bcryptjs.
const LIBXCRYPT_HASH = '$2b$10$od5auBZaGNwix8Kcx0dBqerk5Vlifn4Otq7qExqplJtis8.929YzW';
const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`, 'utf8').toString('base64')}`;
const sha = (token: string) => createHash('sha256').update(token).digest();

describe('Authenticator', () => {
  it('accepts the right user and password and refuses everything else', async () => {
    const auth = new Authenticator({ users: { prometheus: LIBXCRYPT_HASH, 'ops:x': LIBXCRYPT_HASH.replace('$2b$', '$2y$') }, tokenDigests: () => [] });
    assert.equal(await auth.check(basic('prometheus', 'nodemeter-it-pushgateway-pw')), 'ok', 'a hash from another bcrypt implementation');
    assert.equal(await auth.check(basic('prometheus', 'nodemeter-it-pushgateway-pX')), 'denied', 'wrong password');
    assert.equal(await auth.check(basic('Prometheus', 'nodemeter-it-pushgateway-pw')), 'denied', 'user names are case-sensitive');
    assert.equal(await auth.check(basic('nobody', 'nodemeter-it-pushgateway-pw')), 'denied', 'unknown user');
    assert.equal(await auth.check(undefined), 'missing');
    assert.equal(await auth.check('  '), 'missing');
    assert.equal(await auth.check('Basic !!!not-base64'), 'denied');
    assert.equal(await auth.check(`Basic ${Buffer.from('no-colon').toString('base64')}`), 'denied');
    assert.equal(await auth.check('Bearer some-token'), 'denied', 'no tokens configured');
    assert.equal(await auth.check('Digest username="prometheus"'), 'denied');
    assert.equal(await auth.check(basic('prometheus', 'nodemeter-it-pushgateway-pw').replace('Basic', 'basic')), 'ok', 'the scheme is case-insensitive');
  });

  it('refuses passwords past bcrypt\'s 72 bytes even when the first 72 match (as Go\'s bcrypt does)', async () => {
    const long = 'p'.repeat(72);
    const auth = new Authenticator({ users: { u: await bcrypt.hash(long, 4) }, tokenDigests: () => [] });
    assert.equal(await auth.check(basic('u', long)), 'ok');
    assert.equal(await auth.check(basic('u', `${long}extra`)), 'denied');
  });

  it('accepts bearer tokens whose SHA-256 is configured, as they are at the moment of the request', async () => {
    let digests = [sha('token-a'), sha('token-b')];
    const auth = new Authenticator({ users: {}, tokenDigests: () => digests });
    assert.equal(await auth.check('Bearer token-a'), 'ok');
    assert.equal(await auth.check('bearer token-b'), 'ok');
    assert.equal(await auth.check('Bearer token-c'), 'denied');
    assert.equal(await auth.check('Bearer '), 'denied');
    assert.equal(await auth.check(basic('token-a', 'x')), 'denied', 'basic auth is not configured');
    digests = [sha('token-c')];
    assert.equal(await auth.check('Bearer token-a'), 'denied', 'a rotated-out token stops working');
    assert.equal(await auth.check('Bearer token-c'), 'ok');
  });

  it('remembers successes, not failures, so a scrape every 15 s costs one bcrypt comparison', async () => {
    const hash = await bcrypt.hash('right', 10);
    const auth = new Authenticator({ users: { u: hash }, tokenDigests: () => [] });
    let t = performance.now();
    assert.equal(await auth.check(basic('u', 'wrong')), 'denied');
    const failedMs = performance.now() - t;
    assert.equal(auth.cachedCredentials, 0);
    t = performance.now();
    assert.equal(await auth.check(basic('u', 'right')), 'ok');
    const firstMs = performance.now() - t;
    assert.equal(auth.cachedCredentials, 1);
    t = performance.now();
    for (let i = 0; i < 20; i++) assert.equal(await auth.check(basic('u', 'right')), 'ok');
    const cachedMs = (performance.now() - t) / 20;
    assert.ok(firstMs > 20 && failedMs > 20, `bcrypt at cost 10 takes time: first ${firstMs} ms, failed ${failedMs} ms`);
    assert.ok(cachedMs < firstMs / 10, `cached checks are cheap: ${cachedMs} ms each vs ${firstMs} ms`);
    assert.equal(await auth.check(basic('u', 'wrong')), 'denied', 'a cached user still needs the right password');
  });

  it('an unknown user costs bcrypt work too (no fast "no such user" answer)', async () => {
    const auth = new Authenticator({ users: { u: await bcrypt.hash('right', 10) }, tokenDigests: () => [] });
    await auth.check(basic('nobody', 'x')); // makes the decoy hash once
    const t = performance.now();
    assert.equal(await auth.check(basic('nobody', 'x')), 'denied');
    const unknownMs = performance.now() - t;
    const t2 = performance.now();
    assert.equal(await auth.check(basic('u', 'x')), 'denied');
    const knownMs = performance.now() - t2;
    assert.ok(unknownMs > knownMs / 3, `unknown user ${unknownMs} ms vs known user ${knownMs} ms`);
  });

  it('keeps the event loop turning during a comparison, and turns a flood into fast "busy" answers', async () => {
    const auth = new Authenticator({ users: { u: await bcrypt.hash('right', 10) }, tokenDigests: () => [], maxWaiting: 2 });
    let last = performance.now();
    let maxGap = 0;
    const ticker = setInterval(() => {
      const now = performance.now();
      maxGap = Math.max(maxGap, now - last);
      last = now;
    }, 5);
    try {
      const outcomes = await Promise.all(Array.from({ length: 6 }, () => auth.check(basic('u', 'wrong'))));
      assert.deepEqual(outcomes.sort(), ['busy', 'busy', 'busy', 'busy', 'denied', 'denied']);
    } finally {
      clearInterval(ticker);
    }
    assert.ok(maxGap < 150, `the event loop was blocked for ${maxGap} ms`);
    assert.equal(await auth.check(basic('u', 'right')), 'ok', 'the gate is free again');
  });
});
