import convict from 'convict';
import type { Factory } from '../pipeline/component.ts';
import { errorMessage, NodemeterError } from '../pipeline/errors.ts';
import './formats.ts';
import { issue, type ConfigIssue, type Position } from './issues.ts';
import { didYouMean, quoteList } from './suggest.ts';
import { define, isPlainObject, locate, type PosNode } from './yaml-source.ts';

/** Where a component's settings sit: its config path, its subtree of positions, and its key (the fallback). */
export interface ComponentSite {
  readonly path: readonly string[];
  readonly positions: PosNode | undefined;
  readonly at: Position | undefined;
}

export interface ComponentValidation {
  /** convict's getProperties(): defaults filled in, durations as milliseconds. */
  readonly config: Record<string, unknown>;
  readonly issues: readonly ConfigIssue[];
}

type Schema = Record<string, unknown>;
type LeafSpec = { default?: unknown; format?: unknown; nullable?: boolean };
type Kind = 'int' | 'number' | 'boolean' | 'list' | 'mapping' | 'string' | 'regexp' | 'duration' | 'enum' | 'any';

const DESCRIBE: Record<Kind, string> = {
  int: 'an integer',
  number: 'a number',
  boolean: 'true or false',
  list: 'a list',
  mapping: 'a mapping',
  string: 'a string',
  regexp: 'a regular expression',
  duration: 'a duration such as "5s", "250ms" or "1m30s"',
  enum: 'one of the listed values',
  any: 'a value',
};

/** convict's own rule: an object without `default` is a group of settings, anything else a setting. */
function isGroup(node: unknown): node is Schema {
  return isPlainObject(node) && Object.keys(node).length > 0 && !('default' in node);
}

function leafSpec(node: unknown): LeafSpec {
  return isPlainObject(node) && 'default' in node ? node : { default: node };
}

function kindOf(spec: LeafSpec): Kind {
  const f = spec.format;
  if (Array.isArray(f)) return 'enum';
  if (f === undefined) {
    const d = spec.default;
    if (typeof d === 'number') return 'number';
    if (typeof d === 'boolean') return 'boolean';
    if (typeof d === 'string') return 'string';
    if (Array.isArray(d)) return 'list';
    return isPlainObject(d) ? 'mapping' : 'any';
  }
  if (f === Number || f === 'Number') return 'number';
  if (f === String || f === 'String' || f === 'regex') return f === 'regex' ? 'regexp' : 'string';
  if (f === Boolean || f === 'Boolean') return 'boolean';
  if (f === Array || f === 'Array' || f === 'string-array') return 'list';
  if (f === Object || f === 'Object') return 'mapping';
  if (f === RegExp || f === 'RegExp') return 'regexp';
  if (f === 'duration') return 'duration';
  if (f === 'int' || f === 'integer' || f === 'nat' || f === 'port') return 'int';
  // A custom format (rules, label maps) still has the shape of its default: convict would let a
  // mapping given for a list fall back to the default without a word.
  if (Array.isArray(spec.default)) return 'list';
  if (isPlainObject(spec.default)) return 'mapping';
  return 'any';
}

function shapeOf(v: unknown): string {
  if (v === null) return 'nothing';
  if (Array.isArray(v)) return 'a list';
  if (isPlainObject(v)) return 'a mapping';
  return JSON.stringify(v) ?? typeof v;
}

interface Walk {
  readonly site: ComponentSite;
  readonly issues: ConfigIssue[];
}

function report(w: Walk, segs: readonly string[], message: string): void {
  w.issues.push(issue([...w.site.path, ...segs], message, locate(w.site.positions, segs) ?? w.site.at));
}

/**
 * Checks shapes and unknown keys ourselves before convict sees the data: convict silently merges a
 * mapping into a list, turns "12abc" into 12 and "no" into true, and reports unknown nested keys
 * leaf by leaf. What passes is handed to convict with strings coerced by the schema's type.
 */
function prepare(w: Walk, raw: Record<string, unknown>, schema: Schema, segs: string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(raw)) {
    const here = [...segs, key];
    if (!Object.hasOwn(schema, key)) {
      const keys = Object.keys(schema);
      const hint = didYouMean(key, keys);
      report(w, here, `unknown key "${key}"${hint || `; valid keys here: ${quoteList(keys)}`}`);
      continue;
    }
    const node = schema[key];
    if (isGroup(node)) {
      if (value === null) continue; // `limits:` with nothing under it keeps the defaults, as in the Collector
      if (!isPlainObject(value)) {
        report(w, here, `must be a mapping with keys ${quoteList(Object.keys(node))}, got ${shapeOf(value)}`);
        continue;
      }
      define(out, key, prepare(w, value, node, here));
      continue;
    }
    const ok = coerceLeaf(w, here, leafSpec(node), value);
    if (ok.ok) define(out, key, ok.value);
  }
  return out;
}

type Coerced = { ok: true; value: unknown } | { ok: false };

function coerceLeaf(w: Walk, here: string[], spec: LeafSpec, value: unknown): Coerced {
  const kind = kindOf(spec);
  const fail = (what = `must be ${DESCRIBE[kind]}, got ${shapeOf(value)}`): Coerced => {
    report(w, here, what);
    return { ok: false };
  };
  if (value === null) {
    if (spec.nullable) return { ok: true, value };
    return fail(`has no value; give ${DESCRIBE[kind]} or remove the key to keep the default (${JSON.stringify(spec.default)})`);
  }
  if (kind === 'any') return { ok: true, value };
  if (kind === 'list') return Array.isArray(value) ? { ok: true, value } : fail();
  if (kind === 'mapping') return isPlainObject(value) ? { ok: true, value } : fail();
  if (Array.isArray(value) || isPlainObject(value)) return fail();
  if (typeof value === 'string') {
    const text = value.trim();
    if (kind === 'int') return /^[+-]?\d+$/.test(text) ? { ok: true, value: Number(text) } : fail();
    if (kind === 'number') return text !== '' && Number.isFinite(Number(text)) ? { ok: true, value: Number(text) } : fail();
    if (kind === 'boolean') return /^(true|false)$/i.test(text) ? { ok: true, value: text.toLowerCase() === 'true' } : fail();
    return { ok: true, value };
  }
  // A number or boolean where text is wanted: take the YAML source so `1.40` stays "1.40".
  const wantsText = kind === 'string' || kind === 'regexp' || (kind === 'enum' && (spec.format as unknown[]).every((o) => typeof o === 'string'));
  if (wantsText && (typeof value === 'number' || typeof value === 'boolean')) {
    let node = w.site.positions;
    for (const s of here) node = node?.entries?.get(s)?.node;
    return { ok: true, value: node?.text ?? String(value) };
  }
  return { ok: true, value };
}

function leafPaths(schema: Schema, prefix = ''): string[] {
  return Object.entries(schema).flatMap(([k, v]) => (isGroup(v) ? leafPaths(v, `${prefix}${k}.`) : [`${prefix}${k}`]));
}

/** Splits convict's one multi-line error back into issues, each at its setting's path and position. */
function convictIssues(w: Walk, message: string, schema: Schema): void {
  const known = leafPaths(schema).sort((a, b) => b.length - a.length);
  let last: ConfigIssue | undefined;
  for (const line of message.split('\n')) {
    if (!line.trim()) continue;
    const undeclared = /^configuration param '(.+)' not declared in the schema$/.exec(line);
    const missing = /^configuration param '(.+)' missing from config, did you override its parent\?$/.exec(line);
    const path = undeclared?.[1] ?? missing?.[1] ?? known.find((p) => line.startsWith(`${p}: `));
    if (path === undefined) {
      if (last) {
        // A format's message that itself spans lines: keep it with the issue it belongs to.
        const i = w.issues.indexOf(last);
        last = { ...last, message: `${last.message} ${line.trim()}` };
        w.issues[i] = last;
      } else report(w, [], line.trim());
      continue;
    }
    let text: string;
    if (undeclared) text = 'unknown key';
    else if (missing) text = 'is missing (a parent setting was given a non-mapping value)';
    else {
      text = line.slice(path.length + 2).trim();
      const value = /: value was (.*)$/.exec(text);
      if (value?.[1] !== undefined) {
        text = text.slice(0, value.index);
        if (!text.includes(value[1])) text += `, got ${value[1]}`;
      }
    }
    report(w, path.split('.'), text);
    last = w.issues[w.issues.length - 1];
  }
}

/**
 * Validates one component's settings against its factory's convict schema, merged over the
 * defaults; unknown keys, wrong types and the factory's own cross-field checks all become issues.
 * A null body (`filesystem:`) means all defaults.
 */
export function validateComponentConfig(factory: Factory, raw: unknown, site: ComponentSite): ComponentValidation {
  const w: Walk = { site, issues: [] };
  const schema = factory.schema;
  let input: Record<string, unknown> = {};
  if (raw !== null && raw !== undefined) {
    if (isPlainObject(raw)) input = prepare(w, raw, schema, []);
    else report(w, [], `the settings of ${factory.kind} "${factory.type}" must be a mapping (or empty for the defaults), got ${shapeOf(raw)}`);
  }
  // Empty env and args: convict must never pick settings up from the agent's own process.
  let conf: convict.Config<Record<string, unknown>>;
  try {
    conf = convict(schema as convict.Schema<Record<string, unknown>>, { env: {}, args: [] });
  } catch (err) {
    // A broken schema is the factory's bug, not the operator's: fail loudly, naming the factory.
    throw new NodemeterError('NM_BAD_SCHEMA', `${factory.kind} "${factory.type}" has an invalid config schema: ${errorMessage(err)}`, { cause: err });
  }
  try {
    conf.load(input);
    conf.validate({ allowed: 'strict' });
  } catch (err) {
    convictIssues(w, errorMessage(err), schema);
  }
  const config = conf.getProperties();
  if (w.issues.length === 0 && factory.validate) {
    try {
      for (const problem of factory.validate(config)) {
        const segs = problem.path ? problem.path.split(problem.path.includes('::') ? '::' : '.') : [];
        report(w, segs, problem.message);
      }
    } catch (err) {
      report(w, [], `validation failed: ${errorMessage(err)}`);
    }
  }
  return { config, issues: w.issues };
}
