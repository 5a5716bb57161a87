import '../../config/formats.ts';
import convict from 'convict';
import { nonEmptyString, objectList, oneOf } from '../../config/object-list.ts';
import { compileRegex, regexGroups, RegexTemplate } from '../../config/regex-template.ts';

export type ActionType = 'insert' | 'update' | 'upsert' | 'delete' | 'rename' | 'hash' | 'extract';
export type AttributeValue = string | number | boolean;

/** One action on data-point attributes. See README.md for each action's semantics. */
export interface AttributeAction {
  readonly action: ActionType;
  /** The attribute acted on. Exactly one of `key` and `pattern` (insert and upsert: `key` only). */
  readonly key?: string;
  /** A regular expression (unanchored, as in the Collector) selecting every attribute key it matches. */
  readonly pattern?: string;
  /** insert, update, upsert: the value to set (exactly one of `value` and `from_attribute`). */
  readonly value?: AttributeValue;
  /** insert, update, upsert: copy the value of this attribute; nothing happens when it is absent. */
  readonly from_attribute?: string;
  /** rename: the new key; with `pattern`, `$1`, `${1}` or `${name}` refer to its groups. */
  readonly new_key?: string;
  /** extract: a regular expression on the value whose named groups become attributes. */
  readonly regex?: string;
}

export interface AttributesConfig {
  readonly actions: readonly AttributeAction[];
}

export const ACTION_TYPES: readonly ActionType[] = ['insert', 'update', 'upsert', 'delete', 'rename', 'hash', 'extract'];

/** The keys each action takes besides `action`, `key` and `pattern`. */
const EXTRA_KEYS: Record<ActionType, readonly string[]> = {
  insert: ['value', 'from_attribute'],
  update: ['value', 'from_attribute'],
  upsert: ['value', 'from_attribute'],
  delete: [],
  hash: [],
  rename: ['new_key'],
  extract: ['regex'],
};

/** Throws an Error naming the item and key when `item` is not a valid action. */
export function checkAction(item: Record<string, unknown>, at: string): void {
  oneOf(item, at, 'action', ACTION_TYPES);
  const action = item['action'] as ActionType;
  const extra = EXTRA_KEYS[action];
  for (const key of Object.keys(item)) {
    if (!['action', 'key', 'pattern', ...extra].includes(key)) {
      throw new Error(`${at}: "${key}" is not a key of the ${action} action (allowed: ${['action', 'key', 'pattern', ...extra].join(', ')})`);
    }
  }
  nonEmptyString(item, at, 'key', false);
  const hasKey = item['key'] !== undefined;
  const hasPattern = item['pattern'] !== undefined;
  if (hasKey === hasPattern) throw new Error(`${at}: give exactly one of "key" and "pattern"`);
  if (hasPattern && (action === 'insert' || action === 'upsert')) {
    throw new Error(`${at}: ${action} creates an attribute, so it needs "key", not "pattern"${action === 'upsert' ? ' (to change every matching key, use update)' : ''}`);
  }
  let pattern: RegExp | undefined;
  if (hasPattern) {
    try {
      pattern = compileRegex(item['pattern'], 'pattern');
    } catch (err) {
      throw new Error(`${at}: ${(err as Error).message}`, { cause: err });
    }
  }
  if (action === 'insert' || action === 'update' || action === 'upsert') {
    const value = item['value'];
    if ((value === undefined) === (item['from_attribute'] === undefined)) throw new Error(`${at}: ${action} needs exactly one of "value" and "from_attribute"`);
    if (value !== undefined && !['string', 'number', 'boolean'].includes(typeof value)) {
      throw new Error(`${at}: "value" must be a string, number or boolean, got ${JSON.stringify(value)}`);
    }
    nonEmptyString(item, at, 'from_attribute', false);
  }
  if (action === 'rename') {
    nonEmptyString(item, at, 'new_key', true);
    let template: RegexTemplate;
    try {
      template = RegexTemplate.parse(item['new_key'] as string, 'new_key', pattern);
    } catch (err) {
      throw new Error(`${at}: ${(err as Error).message}`, { cause: err });
    }
    if (pattern && !template.usesGroups) throw new Error(`${at}: with "pattern", "new_key" must use a group of it ($1, \${name}), or every matching key would become one`);
  }
  if (action === 'extract') {
    nonEmptyString(item, at, 'regex', true);
    let regex: RegExp;
    try {
      regex = compileRegex(item['regex'], 'regex');
    } catch (err) {
      throw new Error(`${at}: ${(err as Error).message}`, { cause: err });
    }
    if (regexGroups(regex).names.length === 0) throw new Error(`${at}: "regex" has no named groups ((?<name>…)), so it would extract nothing`);
  }
}

// Module code runs once, so each format is registered once.
convict.addFormat({ name: 'attribute-actions', validate: objectList('attribute actions', checkAction) });

export const schema = {
  actions: {
    doc: 'Actions on data-point attributes, applied in order: {action: insert|update|upsert|delete|rename|hash|extract, key | pattern (regexp on keys), value | from_attribute (insert, update, upsert), new_key (rename; $1 for pattern groups), regex (extract; named groups become attributes)}.',
    format: 'attribute-actions',
    default: [] as AttributeAction[],
  },
};

export function createDefaultConfig(): AttributesConfig {
  return { actions: [] };
}
