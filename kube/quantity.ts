/**
 * Parser for Kubernetes resource quantities (`resource.Quantity` in k8s.io/apimachinery), the
 * string form of `spec.resources.requests.storage`, `spec.capacity.storage` and friends:
 *
 *     <quantity> ::= [+-] <number> <suffix>
 *     <number>   ::= <digits> | <digits>.<digits> | <digits>. | .<digits>
 *     <suffix>   ::= Ki | Mi | Gi | Ti | Pi | Ei            (powers of 1024)
 *                  | n | u | m | "" | k | M | G | T | P | E (10^-9 … 10^18)
 *                  | (e | E) [+-] <digits>                 (decimal exponent)
 *
 * The value is computed exactly (BigInt mantissa and a power-of-ten exponent) and converted to a
 * number only at the end, so `1.1G` is 1100000000 and not 1100000000.0000002, and rounding up to
 * whole bytes never adds a spurious byte. Like the API server, values finer than 10^-9 are
 * rounded away from zero to the next nano (`1e-12` → 1e-9).
 *
 * Differences from apimachinery, all at the fringes: magnitudes beyond Number.MAX_SAFE_INTEGER
 * come back as the nearest double (e.g. `9007199254740993` → 9007199254740992); binary
 * quantities are not capped at 2^63-1 (`8Ei` is 2^63 here, 2^63-1 in Go); exponents that overflow
 * int64 are treated as huge rather than as a bad suffix; and surrounding whitespace is rejected,
 * as ParseQuantity does (the JSON decoder trims it first, so this is the stricter choice).
 */

/** Outcome of parsing one quantity string. */
export type QuantityParse = { readonly ok: true; readonly value: number } | { readonly ok: false; readonly message: string };

/** What a suffix contributes: value = number × 2^binaryShift × 10^decimalExponent. */
interface SuffixScale {
  readonly binaryShift: number;
  readonly decimalExponent: number;
}

// A Map rather than an object literal so that suffixes like "toString" cannot hit the prototype.
const SUFFIXES: ReadonlyMap<string, SuffixScale> = new Map([
  ['Ki', { binaryShift: 10, decimalExponent: 0 }],
  ['Mi', { binaryShift: 20, decimalExponent: 0 }],
  ['Gi', { binaryShift: 30, decimalExponent: 0 }],
  ['Ti', { binaryShift: 40, decimalExponent: 0 }],
  ['Pi', { binaryShift: 50, decimalExponent: 0 }],
  ['Ei', { binaryShift: 60, decimalExponent: 0 }],
  ['n', { binaryShift: 0, decimalExponent: -9 }],
  ['u', { binaryShift: 0, decimalExponent: -6 }],
  ['m', { binaryShift: 0, decimalExponent: -3 }],
  ['', { binaryShift: 0, decimalExponent: 0 }],
  ['k', { binaryShift: 0, decimalExponent: 3 }],
  ['M', { binaryShift: 0, decimalExponent: 6 }],
  ['G', { binaryShift: 0, decimalExponent: 9 }],
  ['T', { binaryShift: 0, decimalExponent: 12 }],
  ['P', { binaryShift: 0, decimalExponent: 15 }],
  // Checked before the exponent form, so a bare `E` is exa while `E3` is 10^3.
  ['E', { binaryShift: 0, decimalExponent: 18 }],
]);

const SUFFIX_HINT = 'expected Ki, Mi, Gi, Ti, Pi, Ei, n, u, m, k, M, G, T, P, E or an exponent such as e3';

/** Smallest exponent Kubernetes keeps: it stores quantities to nano precision. */
const NANO = -9;

/**
 * Far beyond any exponent that can matter (strings are shorter than 2^30 characters), yet small
 * enough that adding a fraction length stays exact in a double.
 */
const EXPONENT_CLAMP = 1e15;

/** Doubles stop at about 1.8e308, i.e. 309 integer digits. */
const MAX_DOUBLE_DIGITS = 309;

/** An exact quantity: (negative ? -1 : 1) × mantissa × 10^exponent, with mantissa ≥ 0. */
interface Exact {
  readonly negative: boolean;
  readonly mantissa: bigint;
  readonly exponent: number;
}

type ExactParse = { readonly ok: true; readonly exact: Exact } | { readonly ok: false; readonly message: string };

function fail(text: string, why: string): { readonly ok: false; readonly message: string } {
  return { ok: false, message: `invalid quantity ${JSON.stringify(text)}: ${why}` };
}

/** Decimal exponent of an `e`/`E` suffix, or undefined if the suffix is not one. */
function exponentSuffix(suffix: string): number | undefined {
  const match = /^[eE]([+-]?)([0-9]+)$/.exec(suffix);
  if (match === null) return undefined;
  const magnitude = Math.min(Number(match[2]), EXPONENT_CLAMP);
  return match[1] === '-' ? -magnitude : magnitude;
}

/** Number of decimal digits of a positive bigint. */
function digitCount(n: bigint): number {
  return n.toString().length;
}

/** ⌈a / b⌉ for a ≥ 0, b > 0. */
function ceilDiv(a: bigint, b: bigint): bigint {
  return (a + b - 1n) / b;
}

/** Rounds the magnitude up (away from zero) so that the exponent is at least `minExponent`. */
function roundUpTo(exact: Exact, minExponent: number): Exact {
  if (exact.exponent >= minExponent || exact.mantissa === 0n) return exact;
  const shift = minExponent - exact.exponent;
  // Dividing by 10^shift ≥ the mantissa leaves something in (0, 1]: skip building a huge power.
  const mantissa = shift >= digitCount(exact.mantissa) ? 1n : ceilDiv(exact.mantissa, 10n ** BigInt(shift));
  return { negative: exact.negative, mantissa, exponent: minExponent };
}

/** Parses `text` to an exact value, already rounded to nano precision as the API server does. */
function parseExact(text: string): ExactParse {
  if (text === '') return fail(text, 'empty string');
  if (/\s/.test(text)) return fail(text, 'whitespace is not allowed');

  let pos = 0;
  const sign = text[0];
  if (sign === '+' || sign === '-') pos = 1;
  const numberMatch = /^[0-9.]*/.exec(text.slice(pos));
  const numberPart = numberMatch === null ? '' : numberMatch[0];
  const suffix = text.slice(pos + numberPart.length);

  const parts = numberPart.split('.');
  if (parts.length > 2) return fail(text, 'more than one decimal point');
  const whole = parts[0] ?? '';
  const fraction = parts[1] ?? '';
  if (whole === '' && fraction === '') return fail(text, 'no digits before the suffix');

  let scale = SUFFIXES.get(suffix);
  if (scale === undefined) {
    const exponent = exponentSuffix(suffix);
    if (exponent !== undefined) scale = { binaryShift: 0, decimalExponent: exponent };
    else if (/^[eE][+-]?$/.test(suffix)) return fail(text, `exponent ${JSON.stringify(suffix)} has no digits`);
    else return fail(text, `unknown suffix ${JSON.stringify(suffix)} (${SUFFIX_HINT})`);
  }

  const digits = (whole + fraction).replace(/^0+/, '');
  if (digits === '') return { ok: true, exact: { negative: false, mantissa: 0n, exponent: 0 } };
  const exact: Exact = {
    negative: sign === '-',
    mantissa: BigInt(digits) << BigInt(scale.binaryShift),
    exponent: scale.decimalExponent - fraction.length,
  };
  return { ok: true, exact: roundUpTo(exact, NANO) };
}

/** The double nearest to `exact`, or a failure if that is not finite. */
function toNumber(text: string, exact: Exact): QuantityParse {
  if (exact.mantissa === 0n) return { ok: true, value: 0 };
  // Reject hopeless magnitudes before building a string of a billion zeros.
  if (digitCount(exact.mantissa) + exact.exponent > MAX_DOUBLE_DIGITS) {
    return fail(text, 'too large to represent as a finite number');
  }
  // String-to-number conversion rounds correctly, which multiplying doubles would not.
  const magnitude = Number(`${exact.mantissa}e${exact.exponent}`);
  if (!Number.isFinite(magnitude)) return fail(text, 'too large to represent as a finite number');
  return { ok: true, value: exact.negative ? -magnitude : magnitude };
}

/**
 * Parses a Kubernetes quantity to a plain number (bytes for storage). Accepts negative values and
 * fractions (`-1Gi`, `250m` → 0.25). Never throws: malformed text gives `ok: false` with a
 * message quoting the text and saying what is wrong. Results beyond Number.MAX_SAFE_INTEGER are
 * the nearest double, so they may be off by a few units.
 */
export function parseQuantity(text: string): QuantityParse {
  const parsed = parseExact(text);
  if (!parsed.ok) return parsed;
  return toNumber(text, parsed.exact);
}

/**
 * Like parseQuantity, but rounds up to a whole number the way Quantity.Value() does (e.g. `250m`
 * → 1, `1.5` → 2, `1.1Gi` → 1181116007), and rejects negative values since a byte count such as
 * a storage request cannot be negative (`-0` is zero and accepted, as the API server does).
 */
export function parseQuantityBytes(text: string): QuantityParse {
  const parsed = parseExact(text);
  if (!parsed.ok) return parsed;
  if (parsed.exact.negative) return fail(text, 'negative values are not allowed for a byte count');
  return toNumber(text, roundUpTo(parsed.exact, 0));
}
