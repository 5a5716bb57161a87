// The one error the exposition parser throws. Scrape targets are untrusted: a message must never
// carry more than a short, escaped piece of the input, however long the offending line or name,
// so that a hostile body cannot flood logs or inject control sequences into them.

/**
 * Stable error codes (match on these, not on messages):
 * - `NM_PARSE_SYNTAX`    a line does not follow the format's grammar (names, numbers, escapes,
 *                        quoting, spacing, unknown TYPE words, CRLF line endings…)
 * - `NM_PARSE_UTF8`      the body is not valid UTF-8 (or, for string input, has a lone surrogate)
 * - `NM_PARSE_LIMIT`     a configured limit was exceeded (samples, families, line, name or label
 *                        value length, labels per sample)
 * - `NM_PARSE_DUPLICATE` something that must be unique was repeated: a label name within one label
 *                        set, a HELP/TYPE/UNIT line for one family, an OpenMetrics family name
 *                        (repeated, interleaved or clashing with another family's sample names)
 * - `NM_PARSE_ORDER`     metadata after the family's samples (TYPE in Prometheus text, any
 *                        metadata in OpenMetrics)
 * - `NM_PARSE_TYPE`      a sample breaks its family type's rules: a suffix the type does not have,
 *                        a bucket without a float `le`, a quantile sample without a float `quantile`,
 *                        a stateset / info value other than 0-or-1 / 1, an exemplar where none is
 *                        allowed, a UNIT that is not the name's suffix
 * - `NM_PARSE_EOF`       OpenMetrics: `# EOF` missing, or anything after it
 */
export type ParseErrorCode = 'NM_PARSE_SYNTAX' | 'NM_PARSE_UTF8' | 'NM_PARSE_LIMIT' | 'NM_PARSE_DUPLICATE' | 'NM_PARSE_ORDER' | 'NM_PARSE_TYPE' | 'NM_PARSE_EOF';

/** Which option an NM_PARSE_LIMIT error ran into (maxSamples → 'samples', and so on). */
export type ParseLimit = 'samples' | 'families' | 'lineLength' | 'nameLength' | 'labelValueLength' | 'labelsPerSample';

/** Where an error is, as carried by {@link ExpositionParseError}. */
export interface ParseErrorPosition {
  /** 1-based line number. */
  line: number;
  /** 1-based column, counted in Unicode code points from the start of the line. */
  column: number;
  /** 0-based offset into the input: UTF-16 units of the decoded text, or bytes for NM_PARSE_UTF8 on byte input. */
  offset: number;
  /** A short escaped piece of the input around the error (at most about 60 source characters). */
  excerpt: string;
  /** NM_PARSE_LIMIT only: the limit that was exceeded. */
  limit?: ParseLimit;
}

export class ExpositionParseError extends Error {
  readonly code: ParseErrorCode;
  readonly line: number;
  readonly column: number;
  readonly offset: number;
  readonly excerpt: string;
  /** Set on NM_PARSE_LIMIT errors: which limit (so a caller can tell "too many series" from the rest). */
  readonly limit: ParseLimit | undefined;

  constructor(code: ParseErrorCode, detail: string, position: ParseErrorPosition) {
    super(`${detail} at line ${position.line}, column ${position.column}: ${position.excerpt}`);
    this.name = 'ExpositionParseError';
    this.code = code;
    this.line = position.line;
    this.column = position.column;
    this.offset = position.offset;
    this.excerpt = position.excerpt;
    this.limit = position.limit;
  }
}

/** Source characters shown before and after the error position. */
const EXCERPT_BEFORE = 20;
const EXCERPT_AFTER = 40;

/**
 * Escape text for a message: printable ASCII stays, everything else (controls, quotes, backslashes,
 * non-ASCII, lone surrogates, bidi overrides) becomes an escape, so the result is one safe line.
 */
export function escapeForMessage(text: string): string {
  let out = '';
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c >= 0x20 && c < 0x7f && c !== 0x22 && c !== 0x5c) out += text[i];
    else if (c === 0x22) out += '\\"';
    else if (c === 0x5c) out += '\\\\';
    else if (c === 0x0a) out += '\\n';
    else if (c === 0x0d) out += '\\r';
    else if (c === 0x09) out += '\\t';
    else if (c < 0x100) out += `\\x${c.toString(16).padStart(2, '0')}`;
    else out += `\\u${c.toString(16).padStart(4, '0')}`;
  }
  return out;
}

/** A name or value quoted for a message, cut to `max` characters first (names can be megabytes long). */
export function quoteForMessage(text: string, max = 40): string {
  return text.length <= max ? `"${escapeForMessage(text)}"` : `"${escapeForMessage(text.slice(0, max))}"… (${text.length} characters)`;
}

/** 1-based column of `pos` within the line starting at `lineStart`, in code points. */
export function columnAt(src: string, lineStart: number, pos: number): number {
  let column = 1;
  for (let i = lineStart; i < pos; i++) {
    const c = src.charCodeAt(i);
    // The low half of a surrogate pair does not start a new code point.
    if (c < 0xdc00 || c > 0xdfff || i === lineStart || src.charCodeAt(i - 1) < 0xd800 || src.charCodeAt(i - 1) > 0xdbff) column++;
  }
  return column;
}

/** The bounded, escaped excerpt of `src` around `pos`, within the line [lineStart, lineEnd). */
export function excerptAt(src: string, lineStart: number, lineEnd: number, pos: number): string {
  const from = Math.max(lineStart, pos - EXCERPT_BEFORE);
  const to = Math.min(lineEnd, Math.max(pos, from) + EXCERPT_AFTER);
  const head = from > lineStart ? '…' : '';
  const tail = to < lineEnd ? '…' : '';
  if (from >= to) return lineEnd === lineStart ? '(empty line)' : `${head}"" (at end of line)`;
  return `${head}"${escapeForMessage(src.slice(from, to))}"${tail}`;
}

/** Build an error for position `pos` of a decoded text whose current line is [lineStart, lineEnd). */
export function errorAt(code: ParseErrorCode, detail: string, src: string, line: number, lineStart: number, lineEnd: number, pos: number, limit?: ParseLimit): ExpositionParseError {
  const at = Math.min(Math.max(pos, lineStart), lineEnd);
  return new ExpositionParseError(code, detail, { line, column: columnAt(src, lineStart, at), offset: at, excerpt: excerptAt(src, lineStart, lineEnd, at), limit });
}
