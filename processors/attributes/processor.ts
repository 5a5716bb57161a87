import { createHash } from 'node:crypto';
import type { Attributes, AttributeValue } from '@opentelemetry/api';
import type { MetricData, ResourceMetrics } from '@opentelemetry/sdk-metrics';
import { RegexTemplate } from '../../config/regex-template.ts';
import type { Processor } from '../../pipeline/component.ts';
import type { AttributeAction, AttributesConfig } from './config.ts';

/**
 * Copy-on-write view of one attributes object: the input is never written, and the first change
 * makes the copy that replaces it.
 */
class Draft {
  readonly #source: Attributes;
  #copy: Record<string, AttributeValue> | undefined;

  constructor(source: Attributes) {
    this.#source = source;
  }

  get(key: string): AttributeValue {
    return Object.hasOwn(this.#current(), key) ? this.#current()[key] : undefined;
  }

  has(key: string): boolean {
    return Object.hasOwn(this.#current(), key) && this.#current()[key] !== undefined;
  }

  keys(): string[] {
    return Object.keys(this.#current()).filter((key) => this.#current()[key] !== undefined);
  }

  set(key: string, value: AttributeValue): void {
    if (this.get(key) === value) return;
    this.#writable()[key] = value;
  }

  delete(key: string): void {
    if (!Object.hasOwn(this.#current(), key)) return;
    delete this.#writable()[key];
  }

  result(): Attributes {
    return this.#copy ?? this.#source;
  }

  #current(): Attributes {
    return this.#copy ?? this.#source;
  }

  #writable(): Record<string, AttributeValue> {
    return (this.#copy ??= { ...this.#source });
  }
}

type Apply = (draft: Draft, hash: (value: AttributeValue) => string) => void;

/** The keys an action acts on now: its `key` when present, or every key its pattern matches. */
function selector(action: AttributeAction): (draft: Draft) => Array<{ key: string; match: RegExpExecArray | null }> {
  if (action.key !== undefined) {
    const key = action.key;
    return (draft) => (draft.has(key) ? [{ key, match: null }] : []);
  }
  const pattern = new RegExp(action.pattern ?? '');
  return (draft) => {
    const out = [];
    for (const key of draft.keys()) {
      const match = pattern.exec(key);
      if (match) out.push({ key, match });
    }
    return out;
  };
}

/** The value an insert, update or upsert writes: fixed, or read from another attribute now. */
function source(action: AttributeAction): (draft: Draft) => AttributeValue {
  const { value, from_attribute: from } = action;
  if (from !== undefined) return (draft) => draft.get(from);
  return () => value;
}

function compile(action: AttributeAction): Apply {
  const selected = selector(action);
  switch (action.action) {
    case 'insert':
    case 'upsert': {
      const key = action.key as string;
      const valueOf = source(action);
      const onlyIfAbsent = action.action === 'insert';
      return (draft) => {
        if (onlyIfAbsent && draft.has(key)) return;
        const value = valueOf(draft);
        if (value !== undefined) draft.set(key, value);
      };
    }
    case 'update': {
      const valueOf = source(action);
      return (draft) => {
        const value = valueOf(draft);
        if (value === undefined) return;
        for (const { key } of selected(draft)) draft.set(key, value);
      };
    }
    case 'delete':
      return (draft) => {
        for (const { key } of selected(draft)) draft.delete(key);
      };
    case 'hash':
      return (draft, hash) => {
        for (const { key } of selected(draft)) draft.set(key, hash(draft.get(key)));
      };
    case 'rename': {
      const pattern = action.pattern !== undefined ? new RegExp(action.pattern) : undefined;
      const template = RegexTemplate.parse(action.new_key ?? '', 'new_key', pattern);
      return (draft) => {
        // Every matching key is renamed at once: the old keys go, then the new ones are written.
        const moves: Array<[string, AttributeValue]> = [];
        for (const { key, match } of selected(draft)) {
          const newKey = template.expand(match);
          if (newKey === key || newKey === '') continue;
          moves.push([newKey, draft.get(key)]);
          draft.delete(key);
        }
        for (const [key, value] of moves) draft.set(key, value);
      };
    }
    case 'extract': {
      const regex = new RegExp(action.regex ?? '');
      return (draft) => {
        for (const { key } of selected(draft)) {
          const value = draft.get(key);
          if (typeof value !== 'string') continue;
          const groups = regex.exec(value)?.groups;
          if (!groups) continue;
          for (const [name, text] of Object.entries(groups)) if (text !== undefined) draft.set(name, text);
        }
      };
    }
  }
}

/** The text a value is hashed as: strings as they are, arrays as JSON, others in their usual form. */
function hashInput(value: AttributeValue): string {
  return Array.isArray(value) ? JSON.stringify(value) : String(value);
}

/**
 * Inserts, updates, upserts, deletes, renames, hashes and extracts data-point attributes, action
 * by action in the configured order (see README.md). Attribute objects are replaced, never
 * changed; points whose attributes no action touches keep the object they came with.
 */
export class AttributesProcessor implements Processor {
  readonly #actions: readonly Apply[];

  constructor(config: AttributesConfig) {
    this.#actions = config.actions.map(compile);
  }

  start(): Promise<void> {
    return Promise.resolve();
  }

  shutdown(): Promise<void> {
    return Promise.resolve();
  }

  /** The attributes after every action. */
  apply(attributes: Attributes, hash: (value: AttributeValue) => string = sha256): Attributes {
    const draft = new Draft(attributes);
    for (const action of this.#actions) action(draft, hash);
    return draft.result();
  }

  process(batch: ResourceMetrics): ResourceMetrics {
    if (this.#actions.length === 0) return batch;
    // Receivers reuse one attributes object for every family of a series, and values repeat.
    const memo = new Map<Attributes, Attributes>();
    const hashes = new Map<string, string>();
    const hash = (value: AttributeValue): string => {
      const input = hashInput(value);
      let digest = hashes.get(input);
      if (digest === undefined) hashes.set(input, (digest = sha256(input)));
      return digest;
    };
    return {
      resource: batch.resource,
      scopeMetrics: batch.scopeMetrics.map((scope) => ({
        scope: scope.scope,
        metrics: scope.metrics.map((metric) => {
          const dataPoints = metric.dataPoints.map((point) => {
            let attributes = memo.get(point.attributes);
            if (attributes === undefined) memo.set(point.attributes, (attributes = this.apply(point.attributes, hash)));
            return attributes === point.attributes ? point : { ...point, attributes };
          });
          return { ...metric, dataPoints } as MetricData;
        }),
      })),
    };
  }
}

function sha256(value: AttributeValue): string {
  return createHash('sha256').update(hashInput(value), 'utf8').digest('hex');
}
