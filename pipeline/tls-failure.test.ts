import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { isTlsFailure } from './tls-failure.ts';

const withCode = (code: string): Error => Object.assign(new Error(code), { code });

describe('isTlsFailure', () => {
  for (const code of ['UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'DEPTH_ZERO_SELF_SIGNED_CERT', 'CERT_HAS_EXPIRED', 'ERR_TLS_CERT_ALTNAME_INVALID', 'ERR_SSL_WRONG_VERSION_NUMBER']) {
    it(`${code} is the TLS layer's`, () => assert.equal(isTlsFailure(withCode(code)), true));
  }
  for (const code of ['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'HPE_INVALID_CONSTANT']) {
    it(`${code} is not`, () => assert.equal(isTlsFailure(withCode(code)), false));
  }
  it('an error without a code, or no error, is not', () => {
    assert.equal(isTlsFailure(new Error('x')), false);
    assert.equal(isTlsFailure(undefined), false);
  });
});
