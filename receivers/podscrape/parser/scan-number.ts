// Float scanning for sample values, exemplar values, OpenMetrics timestamps and `le`/`quantile`
// label values. Both formats accept the same set, which is Go's strconv.ParseFloat without hex
// floats and underscores (what the Prometheus parsers and the OpenMetrics ABNF allow):
//
//   [+-] digits [. digits] [(e|E) [+-] digits]   or   [+-] . digits [exponent]
//   [+-] (inf | infinity)   and   nan             (case-insensitive)
//
// A finite-looking number that overflows a float64 (1e400) is rejected, as ParseFloat does.
// JS `Number()` alone would be wrong (it trims whitespace, reads "" as 0, takes 0x/0b/0o and
// "Infinity" but not "inf"), so the grammar is checked here while scanning, and most values are
// computed in the same pass: up to 15 significant digits and a power of ten within ±22 make one
// exactly rounded multiplication or division (Clinger's fast path), anything else goes to
// Number() on the validated slice. The scan reads code units from a typed array (see
// source-text.ts); `text` is the same characters as a string, for the slice.

import type { CodeUnits } from './source-text.ts';

/** Receives the value of the last successful scan (kept out of the return value to avoid allocation). */
export interface NumberSink {
  num: number;
}

/** Returned by {@link scanNumber} when no number starts at the position. */
export const NOT_A_NUMBER = -1;
/** Returned by {@link scanNumber} when the number is well-formed but overflows a float64. */
export const OUT_OF_RANGE = -2;

const POW10 = [1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22];

const PLUS = 0x2b;
const MINUS = 0x2d;
const DOT = 0x2e;
const ZERO = 0x30;

function lower(c: number): number {
  return c | 0x20;
}

/** Length of a case-insensitive match of lower-case ASCII `word` at `pos` (0 when no match). */
function matchWord(codes: CodeUnits, pos: number, end: number, word: string): number {
  if (end - pos < word.length) return 0;
  for (let i = 0; i < word.length; i++) if (lower(codes[pos + i]!) !== word.charCodeAt(i)) return 0;
  return word.length;
}

/**
 * Scan the longest number starting at `pos` (not past `end`). Returns the position after it and
 * stores the value in `sink.num`, or returns {@link NOT_A_NUMBER} / {@link OUT_OF_RANGE}. The
 * caller checks what follows (a delimiter or the end of the token).
 */
export function scanNumber(codes: CodeUnits, text: string, pos: number, end: number, sink: NumberSink): number {
  const start = pos;
  let c = pos < end ? codes[pos]! : -1;
  let negative = false;
  if (c === PLUS || c === MINUS) {
    negative = c === MINUS;
    c = ++pos < end ? codes[pos]! : -1;
  }
  const l = lower(c);
  if (l === 0x69 /* i */) {
    const n = matchWord(codes, pos, end, 'infinity') || matchWord(codes, pos, end, 'inf');
    if (n === 0) return NOT_A_NUMBER;
    sink.num = negative ? -Infinity : Infinity;
    return pos + n;
  }
  if (l === 0x6e /* n */) {
    // Go's ParseFloat (and the OpenMetrics ABNF) take no sign on NaN.
    if (pos !== start || matchWord(codes, pos, end, 'nan') === 0) return NOT_A_NUMBER;
    sink.num = NaN;
    return pos + 3;
  }

  let mantissa = 0;
  let significant = 0; // digits counted from the first non-zero one
  let scale = 0; // power of ten to apply to the mantissa
  let digits = false;
  let exact = true;
  while (pos < end) {
    const d = codes[pos]! - ZERO;
    if (d < 0 || d > 9) break;
    digits = true;
    if (significant > 0 || d !== 0) {
      if (++significant > 15) exact = false;
      else mantissa = mantissa * 10 + d;
    }
    if (significant > 15) scale++;
    pos++;
  }
  if (pos < end && codes[pos]! === DOT) {
    pos++;
    while (pos < end) {
      const d = codes[pos]! - ZERO;
      if (d < 0 || d > 9) break;
      digits = true;
      if (significant > 0 || d !== 0) {
        if (++significant > 15) exact = false;
        else mantissa = mantissa * 10 + d;
      }
      if (significant <= 15) scale--;
      pos++;
    }
  }
  if (!digits) return NOT_A_NUMBER;
  if (pos < end && lower(codes[pos]!) === 0x65 /* e */) {
    pos++;
    let expNegative = false;
    c = pos < end ? codes[pos]! : -1;
    if (c === PLUS || c === MINUS) {
      expNegative = c === MINUS;
      pos++;
    }
    const expStart = pos;
    let exponent = 0;
    while (pos < end) {
      const d = codes[pos]! - ZERO;
      if (d < 0 || d > 9) break;
      if (exponent < 100_000) exponent = exponent * 10 + d;
      pos++;
    }
    if (pos === expStart) return NOT_A_NUMBER;
    scale += expNegative ? -exponent : exponent;
  }

  let value: number;
  if (mantissa === 0) {
    value = 0;
  } else if (exact && scale >= -22 && scale <= 22) {
    value = scale >= 0 ? mantissa * (POW10[scale] as number) : mantissa / (POW10[-scale] as number);
  } else {
    value = Math.abs(Number(text.slice(start, pos)));
  }
  if (value === Infinity) return OUT_OF_RANGE;
  sink.num = negative ? -value : value;
  return pos;
}

const sink: NumberSink = { num: 0 };
let scratch = new Uint16Array(32);

/** Whether the whole of `text` is one number in the grammar above (for `le` and `quantile` values). */
export function isFloatText(text: string): boolean {
  const n = text.length;
  if (n === 0) return false;
  if (n > scratch.length) scratch = new Uint16Array(n);
  for (let i = 0; i < n; i++) scratch[i] = text.charCodeAt(i);
  return scanNumber(scratch, text, 0, n, sink) === n;
}
