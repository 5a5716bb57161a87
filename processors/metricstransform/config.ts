import '../../config/formats.ts';
import convict from 'convict';
import { nonEmptyString, objectList, oneOf, onlyKeys } from '../../config/object-list.ts';
import { compileRegex, RegexTemplate } from '../../config/regex-template.ts';

export type MatchType = 'strict' | 'regexp';
export type TransformAction = 'update' | 'insert';

/** One transform: which metrics (by name) and what to do to them. See README.md. */
export interface MetricTransform {
  /** The metric name (strict) or an unanchored regular expression on it (regexp). */
  readonly include: string;
  /** Default strict. */
  readonly match_type?: MatchType;
  /** update (default): change the metric in place; insert: add a changed copy after it. */
  readonly action?: TransformAction;
  /** The new name; with regexp, `$1`, `${1}` and `${name}` refer to the groups of include. */
  readonly new_name?: string;
  /** Multiplies values (a histogram's sum, min, max and boundaries); a finite number above 0. */
  readonly scale?: number;
}

export interface MetricsTransformConfig {
  readonly transforms: readonly MetricTransform[];
}

const MATCH_TYPES: readonly MatchType[] = ['strict', 'regexp'];
const ACTIONS: readonly TransformAction[] = ['update', 'insert'];

/** Throws an Error naming the item and key when `item` is not a valid transform. */
export function checkTransform(item: Record<string, unknown>, at: string): void {
  onlyKeys(item, at, ['include', 'match_type', 'action', 'new_name', 'scale']);
  nonEmptyString(item, at, 'include', true);
  if (item['match_type'] !== undefined) oneOf(item, at, 'match_type', MATCH_TYPES);
  if (item['action'] !== undefined) oneOf(item, at, 'action', ACTIONS);
  nonEmptyString(item, at, 'new_name', false);
  const scale = item['scale'];
  if (scale !== undefined && (typeof scale !== 'number' || !Number.isFinite(scale) || scale <= 0)) {
    throw new Error(`${at}: "scale" must be a finite number above 0, got ${JSON.stringify(scale)}`);
  }
  if (item['new_name'] === undefined && scale === undefined) throw new Error(`${at}: give "new_name", "scale" or both`);
  if (item['action'] === 'insert' && item['new_name'] === undefined) throw new Error(`${at}: insert adds a copy, which needs a "new_name"`);
  try {
    const regex = item['match_type'] === 'regexp' ? compileRegex(item['include'], 'include') : undefined;
    if (typeof item['new_name'] === 'string') {
      RegexTemplate.parse(item['new_name'], 'new_name', regex);
      if (item['action'] === 'insert' && item['match_type'] !== 'regexp' && item['new_name'] === item['include']) {
        throw new Error('insert with a "new_name" equal to "include" would duplicate the metric');
      }
    }
  } catch (err) {
    throw new Error(`${at}: ${(err as Error).message}`, { cause: err });
  }
}

// Module code runs once, so each format is registered once.
convict.addFormat({ name: 'metric-transforms', validate: objectList('metric transforms', checkTransform) });

export const schema = {
  transforms: {
    doc: 'Transforms applied in order, each to every metric it matches: {include: name | regexp, match_type: strict (default) | regexp, action: update (default) | insert (a changed copy), new_name ($1 for regexp groups), scale (number > 0: values; histograms: sum, min, max and boundaries)}.',
    format: 'metric-transforms',
    default: [] as MetricTransform[],
  },
};

export function createDefaultConfig(): MetricsTransformConfig {
  return { transforms: [] };
}
