import { isAlias, isMap, isScalar, isSeq, LineCounter, parseDocument, type Document, type Node, type ParsedNode, type Scalar, type YAMLMap } from 'yaml';
import { expandEnv, type Env } from './env-expand.ts';
import { issue, type ConfigIssue, type Position } from './issues.ts';

/** Where each value (and each mapping key) sits in the file, mirroring the parsed value's shape. */
export interface PosNode extends Position {
  readonly entries?: ReadonlyMap<string, { readonly key: Position; readonly node: PosNode }>;
  readonly items?: readonly PosNode[];
  /** Source text of a number or boolean scalar, for settings that want it as a string (`api_version: 1.40`). */
  readonly text?: string;
}

export interface ParsedSource {
  /** Plain data with `${env:…}` expanded; undefined when the file holds no document. */
  readonly value: unknown;
  readonly positions: PosNode | undefined;
  readonly issues: readonly ConfigIssue[];
  readonly warnings: readonly ConfigIssue[];
}

/**
 * The position of `path` inside `root`: the key of the deepest mapping entry found (or the list
 * item), so a message points at the line the operator has to edit; undefined when not even the
 * first step exists (the caller picks its own fallback).
 */
export function locate(root: PosNode | undefined, path: readonly (string | number)[]): Position | undefined {
  let at: Position | undefined;
  let node = root;
  for (const seg of path) {
    if (!node) break;
    if (typeof seg === 'number') {
      node = node.items?.[seg];
      if (node) at = { line: node.line, column: node.column };
    } else {
      const entry = node.entries?.get(seg);
      node = entry?.node;
      if (entry) at = entry.key;
    }
  }
  return at;
}

/** The position tree under `path`, if the file has it. */
export function subtree(root: PosNode | undefined, path: readonly (string | number)[]): PosNode | undefined {
  let node = root;
  for (const seg of path) node = typeof seg === 'number' ? node?.items?.[seg] : node?.entries?.get(seg)?.node;
  return node;
}

// Anchors let a small file expand to a huge tree ("billion laughs"); a config never needs this many nodes.
const MAX_NODES = 100_000;
const MAX_DEPTH = 64;

/** YAML's first message line without its trailing " at line N, column M:" (we print positions our own way). */
function yamlMessage(message: string): string {
  return (message.split('\n')[0] ?? message).replace(/ at line \d+, column \d+:?$/, '');
}

/**
 * Parses YAML keeping line:column for every node and expands `${env:…}` in string scalars, so
 * both syntax and expansion problems come back as positioned issues rather than exceptions.
 */
export function parseYamlSource(text: string, env: Env): ParsedSource {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, merge: true, uniqueKeys: true, prettyErrors: true });
  const posOf = (offset: number): Position => {
    const p = lineCounter.linePos(offset);
    return { line: p.line, column: p.col };
  };
  const warnings = doc.warnings.map((w) => issue('', yamlMessage(w.message), posOf(w.pos[0])));
  if (doc.errors.length) {
    const issues = doc.errors.map((e) => {
      const message = e.code === 'MULTIPLE_DOCS' ? 'the file holds more than one YAML document ("---"); a config is a single document' : yamlMessage(e.message);
      return issue('', `YAML syntax error: ${message}`, posOf(e.pos[0]));
    });
    return { value: undefined, positions: undefined, issues, warnings };
  }
  if (doc.contents === null) return { value: undefined, positions: undefined, issues: [], warnings };
  const converter = new Converter(text, doc, env, posOf);
  const out = converter.convert(doc.contents, [], 0);
  if (converter.tooBig) return { value: undefined, positions: undefined, issues: converter.issues.filter((i) => i.path === ''), warnings };
  return { value: out?.value, positions: out?.pos, issues: converter.issues, warnings };
}

interface Converted {
  value: unknown;
  pos: PosNode;
}

class Converter {
  readonly issues: ConfigIssue[] = [];
  readonly #text: string;
  readonly #doc: Document.Parsed;
  readonly #env: Env;
  readonly #posOf: (offset: number) => Position;
  #nodes = 0;
  /** Set once the limits are hit: the rest of the tree is not worth checking. */
  tooBig = false;

  constructor(text: string, doc: Document.Parsed, env: Env, posOf: (offset: number) => Position) {
    this.#text = text;
    this.#doc = doc;
    this.#env = env;
    this.#posOf = posOf;
  }

  #start(node: Node): Position {
    return this.#posOf(node.range?.[0] ?? 0);
  }

  /** Returns undefined for a value that cannot be used (already reported), so the caller leaves it out. */
  convert(node: Node | null, path: (string | number)[], depth: number): Converted | undefined {
    if (node === null) return undefined;
    if (++this.#nodes > MAX_NODES || depth > MAX_DEPTH) {
      if (!this.tooBig) this.issues.push(issue('', 'the document is too large or nested too deeply (check for recursive anchors)', this.#start(node)));
      this.tooBig = true;
      return undefined;
    }
    if (isAlias(node)) {
      const target = node.resolve(this.#doc);
      if (!target) {
        this.issues.push(issue(path, `unknown alias *${node.source}`, this.#start(node)));
        return undefined;
      }
      return this.convert(target, path, depth + 1);
    }
    if (isScalar(node)) return this.#scalar(node, path);
    if (isSeq(node)) {
      const value: unknown[] = [];
      const items: PosNode[] = [];
      node.items.forEach((item, index) => {
        const c = this.convert(item as Node, [...path, index], depth + 1);
        if (c) {
          value.push(c.value);
          items.push(c.pos);
        }
      });
      return { value, pos: { ...this.#start(node), items } };
    }
    if (isMap(node)) return this.#map(node, path, depth);
    this.issues.push(issue(path, 'unsupported YAML node', this.#start(node)));
    return undefined;
  }

  #map(node: YAMLMap, path: (string | number)[], depth: number): Converted {
    const value: Record<string, unknown> = {};
    const entries = new Map<string, { key: Position; node: PosNode }>();
    const merges: Converted[] = [];
    for (const pair of node.items) {
      const keyNode = pair.key as ParsedNode | null;
      if (isScalar(keyNode) && typeof keyNode.value === 'symbol') {
        // `<<: *anchor` (or a list of them): merged after the explicit keys, which win.
        const merged = this.convert(pair.value as Node | null, path, depth + 1);
        if (!merged) continue;
        if (Array.isArray(merged.value)) {
          const list: unknown[] = merged.value;
          list.forEach((v, i) => merges.push({ value: v, pos: merged.pos.items?.[i] ?? merged.pos }));
        } else merges.push(merged);
        continue;
      }
      const k: unknown = isScalar(keyNode) ? keyNode.value : undefined;
      if (typeof k !== 'string' && typeof k !== 'number' && typeof k !== 'boolean') {
        this.issues.push(issue(path, 'mapping keys must be plain strings', keyNode ? this.#start(keyNode) : this.#start(node)));
        continue;
      }
      const key = String(k);
      const keyPos = this.#start(keyNode as Node);
      const child = pair.value === null ? { value: null, pos: keyPos } : this.convert(pair.value as Node, [...path, key], depth + 1);
      if (!child) continue;
      define(value, key, child.value);
      entries.set(key, { key: keyPos, node: child.pos });
    }
    for (const m of merges) {
      if (!isPlainObject(m.value)) {
        this.issues.push(issue(path, 'a merge key (<<) must name a mapping', m.pos));
        continue;
      }
      for (const [k, v] of Object.entries(m.value)) {
        if (Object.hasOwn(value, k)) continue;
        define(value, k, v);
        const e = m.pos.entries?.get(k);
        if (e) entries.set(k, e);
      }
    }
    return { value, pos: { ...this.#start(node), entries } };
  }

  #scalar(node: Scalar, path: (string | number)[]): Converted | undefined {
    const pos = this.#start(node);
    const raw: unknown = node.value;
    if (typeof raw === 'number' || typeof raw === 'boolean' || typeof raw === 'bigint') {
      return { value: typeof raw === 'bigint' ? Number(raw) : raw, pos: { ...pos, text: node.source } };
    }
    if (typeof raw !== 'string') return { value: raw, pos };
    const x = expandEnv(raw, this.#env);
    if (x.problems.length) {
      for (const p of x.problems) this.issues.push(issue(path, p.message, this.#offsetPos(node, raw, p.offset) ?? pos));
      return undefined;
    }
    // Expanded values stay strings: the component schema coerces them ("9100" for a port becomes
    // 9100), which keeps "1.40" a string where a string is wanted.
    return { value: x.value, pos };
  }

  /** Exact position of a character inside a scalar, when the source text is the value verbatim (no escapes, one line). */
  #offsetPos(node: Scalar, value: string, offset: number): Position | undefined {
    const [start, end] = node.range ?? [0, 0];
    const quoted = node.type === 'QUOTE_DOUBLE' || node.type === 'QUOTE_SINGLE' ? 1 : 0;
    if (value.includes('\n') || this.#text.slice(start + quoted, start + quoted + value.length) !== value || start + quoted + value.length > end) return undefined;
    return this.#posOf(start + quoted + offset);
  }
}

export function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Plain assignment would let a `__proto__` key replace the prototype; define it as data instead. */
export function define(target: Record<string, unknown>, key: string, value: unknown): void {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
}
