/**
 * Label and field selectors with the real server's grammar and matching rules
 * (k8s.io/apimachinery/pkg/labels and pkg/fields). A parse error is a SelectorError, which
 * the HTTP layer turns into 400 BadRequest.
 */
import type { KubeObject, Resource } from './resources.ts';

export class SelectorError extends Error {}

export type Matcher = (obj: KubeObject) => boolean;

type Requirement =
  | { op: 'exists' | '!'; key: string }
  | { op: '=' | '!='; key: string; value: string }
  | { op: 'in' | 'notin'; key: string; values: string[] }
  | { op: 'gt' | 'lt'; key: string; value: number };

const KEY = /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/;
const VALUE = /^([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$/;

/** Splits on commas that are not inside an `in (...)` list. */
function splitTop(text: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '(') depth++;
    else if (c === ')') depth--;
    else if (c === ',' && depth === 0) {
      parts.push(text.slice(start, i));
      start = i + 1;
    }
  }
  parts.push(text.slice(start));
  return parts.map((p) => p.trim());
}

function checkKey(key: string, whole: string): string {
  if (!KEY.test(key)) throw new SelectorError(`unable to parse requirement: invalid label key "${key}" in "${whole}"`);
  return key;
}

function checkValue(value: string, whole: string): string {
  if (!VALUE.test(value)) throw new SelectorError(`unable to parse requirement: invalid label value "${value}" in "${whole}"`);
  return value;
}

function parseRequirement(part: string): Requirement {
  let m = /^!\s*(\S+)$/.exec(part);
  if (m) return { op: '!', key: checkKey(m[1]!, part) };
  m = /^(\S+?)\s+(in|notin)\s*\(([^)]*)\)$/.exec(part);
  if (m) {
    const values = m[3]!.split(',').map((v) => checkValue(v.trim(), part));
    return { op: m[2] as 'in' | 'notin', key: checkKey(m[1]!, part), values };
  }
  m = /^([^=!<>\s]+)\s*(==|=|!=)\s*(\S*)$/.exec(part);
  if (m) {
    return { op: m[2] === '!=' ? '!=' : '=', key: checkKey(m[1]!, part), value: checkValue(m[3]!, part) };
  }
  m = /^([^=!<>\s]+)\s*([<>])\s*(\S+)$/.exec(part);
  if (m) {
    const value = Number(m[3]);
    if (!Number.isInteger(value)) throw new SelectorError(`unable to parse requirement: invalid integer value "${m[3]}"`);
    return { op: m[2] === '>' ? 'gt' : 'lt', key: checkKey(m[1]!, part), value };
  }
  if (/^\S+$/.test(part)) return { op: 'exists', key: checkKey(part, part) };
  throw new SelectorError(`unable to parse requirement: found '${part}', expected: identifier`);
}

function matchesRequirement(r: Requirement, labels: Record<string, string>): boolean {
  const has = Object.hasOwn(labels, r.key);
  const value = labels[r.key];
  switch (r.op) {
    case 'exists':
      return has;
    case '!':
      return !has;
    case '=':
      return has && value === r.value;
    case '!=':
      // A missing label satisfies != (and notin), as on the real server.
      return !has || value !== r.value;
    case 'in':
      return has && r.values.includes(value!);
    case 'notin':
      return !has || !r.values.includes(value!);
    case 'gt':
    case 'lt': {
      const n = Number(value);
      if (!has || !Number.isInteger(n)) return false;
      return r.op === 'gt' ? n > r.value : n < r.value;
    }
  }
}

export function parseLabelSelector(text: string | undefined): Matcher {
  if (!text || !text.trim()) return () => true;
  const reqs = splitTop(text).map(parseRequirement);
  return (obj) => {
    const labels = obj.metadata.labels ?? {};
    return reqs.every((r) => matchesRequirement(r, labels));
  };
}

/** Field selectors: `a=b`, `a==b`, `a!=b` joined by commas; unknown fields are rejected. */
export function parseFieldSelector(text: string | undefined, resource: Resource): Matcher {
  if (!text || !text.trim()) return () => true;
  const tests = splitTop(text).map((part) => {
    const m = /^([^=!]+?)\s*(==|=|!=)\s*(.*)$/.exec(part);
    if (!m) throw new SelectorError(`invalid selector: '${text}'; can't understand '${part}'`);
    const field = m[1]!;
    const get = resource.fields[field];
    if (!get) throw new SelectorError(`field label not supported: ${field}`);
    const want = m[3]!;
    const negate = m[2] === '!=';
    return (obj: KubeObject) => (get(obj) === want) !== negate;
  });
  return (obj) => tests.every((t) => t(obj));
}
