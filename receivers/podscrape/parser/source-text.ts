// The parser reads each body twice over: as a JS string (to slice names and values out of, and for
// String#indexOf, which is native and far faster than a JS loop) and as an array of its UTF-16
// code units (for the per-character loops: reading a typed array element is about three times
// cheaper in V8 than String#charCodeAt). An ASCII body, the common case, needs no conversion at
// all: its bytes are its code units, and latin1 decoding of ASCII is a plain copy.

import { Buffer, isAscii } from 'node:buffer';
import { decodeUtf8Strict } from './decode-utf8.ts';

/** Code units of the text; only these two element kinds reach the scanner, so its loads stay fast. */
export type CodeUnits = Uint8Array | Uint16Array;

export interface SourceText {
  text: string;
  codes: CodeUnits;
}

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

function bytesView(bytes: Uint8Array): Uint8Array {
  // A plain Uint8Array view, not a Buffer: one array class keeps the element loads monomorphic.
  return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.length);
}

/** UTF-16 code units of a string that is not pure ASCII. */
function utf16Units(text: string): Uint16Array {
  if (!LITTLE_ENDIAN) {
    const units = new Uint16Array(text.length);
    for (let i = 0; i < text.length; i++) units[i] = text.charCodeAt(i);
    return units;
  }
  const buffer = Buffer.from(text, 'utf16le');
  if (buffer.byteOffset % 2 === 0) return new Uint16Array(buffer.buffer, buffer.byteOffset, text.length);
  return new Uint16Array(buffer.buffer.slice(buffer.byteOffset, buffer.byteOffset + buffer.length));
}

/** For byte input: strict UTF-8 decoding (NM_PARSE_UTF8 on failure) plus code units. */
export function sourceFromBytes(bytes: Uint8Array): SourceText {
  if (isAscii(bytes)) {
    const view = bytesView(bytes);
    return { text: Buffer.from(view.buffer, view.byteOffset, view.length).toString('latin1'), codes: view };
  }
  const text = decodeUtf8Strict(bytes);
  return { text, codes: utf16Units(text) };
}

/** For string input (already checked to be well-formed UTF-16). */
export function sourceFromString(text: string): SourceText {
  // UTF-8 length equals UTF-16 length exactly when every character is ASCII.
  if (Buffer.byteLength(text, 'utf8') === text.length) return { text, codes: bytesView(Buffer.from(text, 'latin1')) };
  return { text, codes: utf16Units(text) };
}
