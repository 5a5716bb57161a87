// Strict UTF-8 decoding of a scrape body. Both formats are UTF-8 and both reference parsers reject
// invalid label values and HELP texts; silently replacing bad bytes with U+FFFD (what
// Buffer#toString does) would turn a corrupt body into plausible-looking series. The fast path
// is the platform's validating decoder; only on failure is the body walked again by hand to say
// where the first bad byte is.

import { ExpositionParseError, escapeForMessage } from './parse-error.ts';

// ignoreBOM keeps a leading U+FEFF in the text, so a BOM is reported as a syntax error on line 1
// (OpenMetrics forbids BOMs; Prometheus' parser does not skip them either) instead of vanishing.
const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** Decode `bytes` as UTF-8, throwing NM_PARSE_UTF8 with the byte offset, line and column of the first invalid sequence. */
export function decodeUtf8Strict(bytes: Uint8Array): string {
  try {
    return decoder.decode(bytes);
  } catch {
    throw utf8Error(bytes, firstInvalidUtf8(bytes));
  }
}

/** Offset of the first byte of the first ill-formed sequence (Unicode's "maximal subpart" rules), or -1. */
export function firstInvalidUtf8(bytes: Uint8Array): number {
  const n = bytes.length;
  let i = 0;
  while (i < n) {
    const b = bytes[i] as number;
    if (b < 0x80) {
      i++;
      continue;
    }
    let need: number;
    let min = 0x80;
    let max = 0xbf;
    if (b >= 0xc2 && b <= 0xdf) need = 1;
    else if (b >= 0xe0 && b <= 0xef) {
      need = 2;
      if (b === 0xe0) min = 0xa0; // no overlong 3-byte forms
      if (b === 0xed) max = 0x9f; // no UTF-16 surrogates
    } else if (b >= 0xf0 && b <= 0xf4) {
      need = 3;
      if (b === 0xf0) min = 0x90; // no overlong 4-byte forms
      if (b === 0xf4) max = 0x8f; // nothing above U+10FFFF
    } else return i;
    if (i + need >= n) return i; // truncated at the end of the body
    const second = bytes[i + 1] as number;
    if (second < min || second > max) return i;
    for (let k = 2; k <= need; k++) {
      const cont = bytes[i + k] as number;
      if (cont < 0x80 || cont > 0xbf) return i;
    }
    i += need + 1;
  }
  return -1;
}

/** Show bytes: printable ASCII as text, everything else as \xHH. */
function showBytes(bytes: Uint8Array, from: number, to: number): string {
  let out = '';
  for (let i = from; i < to; i++) {
    const b = bytes[i] as number;
    out += b >= 0x20 && b < 0x7f ? escapeForMessage(String.fromCharCode(b)) : `\\x${b.toString(16).padStart(2, '0')}`;
  }
  return out;
}

function utf8Error(bytes: Uint8Array, offset: number): ExpositionParseError {
  // The decoder and this walk agree on validity; -1 would mean they do not, so point at the end.
  const at = offset < 0 ? bytes.length : offset;
  let line = 1;
  let lineStart = 0;
  for (let i = 0; i < at; i++) {
    if (bytes[i] === 0x0a) {
      line++;
      lineStart = i + 1;
    }
  }
  let column = 1;
  for (let i = lineStart; i < at; i++) if (((bytes[i] as number) & 0xc0) !== 0x80) column++;
  let lineEnd = at;
  while (lineEnd < bytes.length && lineEnd < at + 24 && bytes[lineEnd] !== 0x0a) lineEnd++;
  const from = Math.max(lineStart, at - 24);
  const excerpt = `${from > lineStart ? '…' : ''}"${showBytes(bytes, from, lineEnd)}"${lineEnd < bytes.length && bytes[lineEnd] !== 0x0a ? '…' : ''}`;
  return new ExpositionParseError('NM_PARSE_UTF8', `invalid UTF-8 at byte offset ${at}`, { line, column, offset: at, excerpt });
}

/** For string input: index of the first lone surrogate (not valid in UTF-8 either), or -1. */
export function firstLoneSurrogate(text: string): number {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0xd800 || c > 0xdfff) continue;
    if (c <= 0xdbff && i + 1 < text.length) {
      const next = text.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) {
        i++;
        continue;
      }
    }
    return i;
  }
  return -1;
}
