import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { parseQuantity, parseQuantityBytes } from './quantity.ts';
import type { QuantityParse } from './quantity.ts';

const KI = 1024;
const MI = 1024 ** 2;
const GI = 1024 ** 3;
const TI = 1024 ** 4;

function valueOf(result: QuantityParse, text: string): number {
  assert.ok(result.ok, `${JSON.stringify(text)} should parse, got ${result.ok ? '' : result.message}`);
  return result.value;
}

function messageOf(result: QuantityParse, text: string): string {
  assert.ok(!result.ok, `${JSON.stringify(text)} should be rejected, got ${result.ok ? result.value : ''}`);
  return result.message;
}

describe('parseQuantity', () => {
  // [text, parseQuantity value, parseQuantityBytes value]
  const accepted: ReadonlyArray<readonly [string, number, number]> = [
    ['1Gi', GI, GI],
    ['1G', 1e9, 1e9],
    ['500M', 5e8, 5e8],
    ['1.5Ti', 1.5 * TI, 1.5 * TI],
    ['1e9', 1e9, 1e9],
    ['100', 100, 100],
    ['250m', 0.25, 1],
    ['0', 0, 0],
    ['+1Ki', KI, KI],
    ['.5Gi', GI / 2, GI / 2],
    ['12E', 12e18, 12e18], // exa, not an exponent
    ['1.5e3', 1500, 1500],
    ['1E3', 1000, 1000],
    ['5e-3', 0.005, 1],
    ['1e+3', 1000, 1000],
    ['5.', 5, 5],
    ['5.Mi', 5 * MI, 5 * MI],
    ['+.5', 0.5, 1],
    ['007', 7, 7],
    ['0.0', 0, 0],
    ['-0', 0, 0],
    ['0e999999', 0, 0],
    ['1.5', 1.5, 2],
    ['1n', 1e-9, 1],
    ['1u', 1e-6, 1],
    ['1m', 0.001, 1],
    ['1k', 1e3, 1e3],
    ['1M', 1e6, 1e6],
    ['1T', 1e12, 1e12],
    ['1P', 1e15, 1e15],
    ['1E', 1e18, 1e18],
    ['1Ki', KI, KI],
    ['1Mi', MI, MI],
    ['1Ti', TI, TI],
    ['1Pi', 2 ** 50, 2 ** 50],
    ['1Ei', 2 ** 60, 2 ** 60],
    // Exact decimal arithmetic. parseFloat × multiplier gives 8300000.000000001, 4030.0000000000005,
    // 1004.9999999999999 and 4099999.9999999995 for the last four (Math.ceil adds a byte to two).
    ['1.1Gi', 1181116006.4, 1181116007],
    ['1.1G', 1_100_000_000, 1_100_000_000],
    ['8.3M', 8_300_000, 8_300_000],
    ['4.03k', 4030, 4030],
    ['1.005k', 1005, 1005],
    ['4.1M', 4_100_000, 4_100_000],
    ['0.1', 0.1, 1],
    ['1536Mi', 1.5 * GI, 1.5 * GI],
    // Finer than nano rounds up to nano, as the API server does.
    ['0.0000000001', 1e-9, 1],
    ['1e-12', 1e-9, 1],
    ['1e-99999999999999999999', 1e-9, 1],
    ['1.0000000001', 1.000000001, 2],
    // Beyond MAX_SAFE_INTEGER the nearest double is returned (documented precision loss).
    ['9007199254740993', 9007199254740992, 9007199254740992],
    ['8Ei', 2 ** 63, 2 ** 63],
    ['1e308', 1e308, 1e308],
    ['1.7976931348623157e308', Number.MAX_VALUE, Number.MAX_VALUE],
  ];

  for (const [text, value, bytes] of accepted) {
    it(`accepts ${JSON.stringify(text)}`, () => {
      // Object.is also tells 0 from -0.
      const parsed = valueOf(parseQuantity(text), text);
      assert.ok(Object.is(parsed, value), `parseQuantity(${JSON.stringify(text)}) = ${parsed}, want ${value}`);
      const rounded = valueOf(parseQuantityBytes(text), text);
      assert.ok(Object.is(rounded, bytes), `parseQuantityBytes(${JSON.stringify(text)}) = ${rounded}, want ${bytes}`);
    });
  }

  it('keeps negative values', () => {
    assert.deepEqual(parseQuantity('-1Gi'), { ok: true, value: -GI });
    assert.deepEqual(parseQuantity('-250m'), { ok: true, value: -0.25 });
    assert.deepEqual(parseQuantity('-1e-12'), { ok: true, value: -1e-9 });
    assert.match(messageOf(parseQuantity('-1e309'), '-1e309'), /^invalid quantity "-1e309": too large/);
  });

  const rejected: ReadonlyArray<readonly [string, RegExp]> = [
    ['', /empty string/],
    [' 1Gi', /whitespace/],
    ['1Gi ', /whitespace/],
    ['1 Gi', /whitespace/],
    ['\t1', /whitespace/],
    ['1Gi\n', /whitespace/],
    ['1\u00a0Gi', /whitespace/],
    ['1GB', /unknown suffix "GB"/],
    ['1gi', /unknown suffix "gi"/],
    ['1g', /unknown suffix "g"/],
    ['1KiB', /unknown suffix "KiB"/],
    ['1K', /unknown suffix "K"/],
    ['1e3.5', /unknown suffix "e3.5"/],
    ['1Gi5', /unknown suffix "Gi5"/],
    ['1toString', /unknown suffix "toString"/],
    ['1.2.3', /more than one decimal point/],
    ['1..5Gi', /more than one decimal point/],
    ['Gi', /no digits/],
    ['.', /no digits/],
    ['+', /no digits/],
    ['-Gi', /no digits/],
    ['--1', /no digits/],
    ['E', /no digits/],
    ['e3', /no digits/],
    ['1e', /exponent "e" has no digits/],
    ['1E+', /exponent "E\+" has no digits/],
    ['1e309', /too large/],
    ['2e308', /too large/],
    ['1e99999999999999999999', /too large/],
    [`${'9'.repeat(400)}`, /too large/],
  ];

  for (const [text, pattern] of rejected) {
    it(`rejects ${JSON.stringify(text)}`, () => {
      for (const parse of [parseQuantity, parseQuantityBytes]) {
        const message = messageOf(parse(text), text);
        assert.match(message, pattern);
        assert.ok(message.includes(JSON.stringify(text)), `message names the text: ${message}`);
      }
    });
  }
});

describe('parseQuantityBytes', () => {
  for (const text of ['-1', '-1Gi', '-250m', '-1e-12']) {
    it(`rejects negative ${JSON.stringify(text)}`, () => {
      assert.match(messageOf(parseQuantityBytes(text), text), /^invalid quantity "-[^"]*": negative values are not allowed/);
      assert.ok(parseQuantity(text).ok);
    });
  }

  it('rounds fractions up, never down, and leaves whole values alone', () => {
    assert.equal(valueOf(parseQuantityBytes('1.000000001'), ''), 2);
    assert.equal(valueOf(parseQuantityBytes('999m'), ''), 1);
    assert.equal(valueOf(parseQuantityBytes('1000m'), ''), 1);
    assert.equal(valueOf(parseQuantityBytes('1001m'), ''), 2);
    assert.equal(valueOf(parseQuantityBytes('1.5Ki'), ''), 1536);
    assert.equal(valueOf(parseQuantityBytes('0.1Ki'), ''), 103); // 102.4
    assert.equal(valueOf(parseQuantityBytes('2.5e-1'), ''), 1);
  });
});

describe('properties', () => {
  const multipliers: ReadonlyArray<readonly [string, bigint, bigint]> = [
    // [suffix, numerator, denominator]
    ['', 1n, 1n],
    ['n', 1n, 10n ** 9n],
    ['u', 1n, 10n ** 6n],
    ['m', 1n, 10n ** 3n],
    ['k', 10n ** 3n, 1n],
    ['M', 10n ** 6n, 1n],
    ['G', 10n ** 9n, 1n],
    ['T', 10n ** 12n, 1n],
    ['P', 10n ** 15n, 1n],
    ['E', 10n ** 18n, 1n],
    ['Ki', 2n ** 10n, 1n],
    ['Mi', 2n ** 20n, 1n],
    ['Gi', 2n ** 30n, 1n],
    ['Ti', 2n ** 40n, 1n],
    ['Pi', 2n ** 50n, 1n],
    ['Ei', 2n ** 60n, 1n],
    ['e0', 1n, 1n],
    ['e3', 10n ** 3n, 1n],
    ['E2', 10n ** 2n, 1n],
    ['e-2', 1n, 10n ** 2n],
  ];
  const suffix = fc.constantFrom(...multipliers);
  const count = fc.oneof(fc.nat().map(BigInt), fc.bigInt({ min: 0n, max: 2n ** 64n }));
  const maxSafe = BigInt(Number.MAX_SAFE_INTEGER);

  it('n followed by a suffix is n × multiplier', () => {
    fc.assert(
      fc.property(count, suffix, (n, [unit, numerator, denominator]) => {
        const text = `${n}${unit}`;
        const value = valueOf(parseQuantity(text), text);
        const product = n * numerator;
        if (denominator === 1n) {
          // Exact when representable; otherwise still the double nearest to the exact product.
          if (product <= maxSafe) assert.ok(Number.isSafeInteger(value));
          assert.equal(value, Number(product));
        } else if (product <= maxSafe) {
          // Division of two exact doubles is correctly rounded, so it is the exact quotient's double.
          assert.equal(value, Number(product) / Number(denominator));
        }
        assert.equal(valueOf(parseQuantityBytes(text), text), Number((product + denominator - 1n) / denominator));
      }),
    );
  });

  it('n.f followed by a binary suffix matches exact rational arithmetic', () => {
    fc.assert(
      fc.property(fc.nat(1_000_000), fc.stringMatching(/^[0-9]{1,6}$/), fc.integer({ min: 0, max: 6 }), (n, fraction, power) => {
        const text = `${n}.${fraction}${['', 'Ki', 'Mi', 'Gi', 'Ti', 'Pi', 'Ei'][power]}`;
        const numerator = BigInt(`${n}${fraction}`) << BigInt(10 * power);
        const denominator = 10n ** BigInt(fraction.length);
        const bytes = (numerator + denominator - 1n) / denominator;
        assert.equal(valueOf(parseQuantityBytes(text), text), Number(bytes));
        if (numerator % denominator === 0n) assert.equal(valueOf(parseQuantity(text), text), Number(bytes));
      }),
    );
  });

  const quantityChars = fc.constantFrom(...'0123456789.+-eEinumkKMGTP \tBgx'.split(''));
  const anyText = fc.oneof(fc.string(), fc.string({ unit: 'binary' }), fc.string({ unit: quantityChars, maxLength: 30 }));

  it('never throws, and every outcome is a finite number or a message naming the text', () => {
    fc.assert(
      fc.property(anyText, (text) => {
        for (const parse of [parseQuantity, parseQuantityBytes]) {
          const result = parse(text);
          if (result.ok) assert.ok(Number.isFinite(result.value));
          else assert.ok(result.message.startsWith(`invalid quantity ${JSON.stringify(text)}: `));
        }
        const bytes = parseQuantityBytes(text);
        if (bytes.ok) assert.ok(Number.isInteger(bytes.value) && bytes.value >= 0);
      }),
      { numRuns: 2000 },
    );
  });

  // Follows the grammar, so almost every sample parses (the rest are too large).
  const wellFormed = fc
    .tuple(
      fc.constantFrom('', '+', '-'),
      fc.stringMatching(/^[0-9]{0,20}$/),
      fc.option(fc.stringMatching(/^[0-9]{0,12}$/)),
      fc.oneof(fc.constantFrom(...multipliers.map(([unit]) => unit)), fc.integer({ min: -400, max: 400 }).map((e) => `e${e}`)),
    )
    .filter(([, whole, fraction]) => whole !== '' || (fraction ?? '') !== '')
    .map(([sign, whole, fraction, unit]) => `${sign}${whole}${fraction === null ? '' : `.${fraction}`}${unit}`);

  it('well-formed quantities parse unless too large', () => {
    fc.assert(
      fc.property(wellFormed, (text) => {
        const result = parseQuantity(text);
        if (!result.ok) assert.match(result.message, /too large/);
      }),
      { numRuns: 2000 },
    );
  });

  it('parseQuantityBytes is the ceiling of parseQuantity, up to double rounding', () => {
    fc.assert(
      fc.property(fc.oneof(wellFormed, fc.string({ unit: quantityChars, maxLength: 12 })), (text) => {
        const value = parseQuantity(text);
        const bytes = parseQuantityBytes(text);
        if (!value.ok || value.value < 0) return;
        assert.ok(bytes.ok);
        assert.ok(bytes.value >= value.value && bytes.value - value.value < 1 + Number.EPSILON * bytes.value);
      }),
      { numRuns: 2000 },
    );
  });
});
