import '../../config/formats.ts';
import convict from 'convict';

export type MatchType = 'strict' | 'regexp';

/** A scalar attribute value a data-point rule compares against. */
export type AttributeCondition = string | number | boolean;

export interface NameRule {
  readonly match_type: MatchType;
  /** Metric names (strict) or regular expressions (regexp); a metric matches when any entry does. */
  readonly names: readonly string[];
}

export interface AttributeRule {
  readonly match_type: MatchType;
  /** Attribute key → value (strict) or regular expression (regexp); a point matches when every entry does. */
  readonly attributes: Readonly<Record<string, AttributeCondition>>;
}

export interface FilterConfig {
  readonly metrics: { readonly include: NameRule; readonly exclude: NameRule };
  readonly datapoints: { readonly include: AttributeRule; readonly exclude: AttributeRule };
}

export const MATCH_TYPES: readonly MatchType[] = ['strict', 'regexp'];

// Module code runs once, so each format is registered once.
convict.addFormat({
  name: 'filter-attribute-conditions',
  validate(value: unknown) {
    if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new Error('must be a map of attribute keys to values');
    for (const [key, condition] of Object.entries(value as Record<string, unknown>)) {
      if (key === '') throw new Error('has an empty attribute key');
      if (typeof condition !== 'string' && typeof condition !== 'number' && typeof condition !== 'boolean') {
        throw new Error(`attribute "${key}": the value must be a string, number or boolean, got ${JSON.stringify(condition) ?? typeof condition}`);
      }
    }
  },
});

function matchType(what: string) {
  return {
    doc: `How ${what} are compared: "strict" (equal) or "regexp" (unanchored regular expression, as the Collector's; write ^…$ for a whole-value match).`,
    format: MATCH_TYPES as MatchType[],
    default: 'strict',
  };
}

function nameRule(verb: string) {
  return {
    match_type: matchType('names'),
    names: {
      doc: `Metric names (or regexps) to ${verb}; a metric matches when any entry does.${verb === 'keep' ? ' Empty: every metric is kept.' : ' Empty: none is dropped.'}`,
      format: 'string-array',
      default: [] as string[],
    },
  };
}

function attributeRule(verb: string) {
  return {
    match_type: matchType('attribute values'),
    attributes: {
      doc: `Data-point attribute key → value (or regexp) to ${verb}; a point matches when every listed attribute is present and matches.${verb === 'keep' ? ' Empty: every point is kept.' : ' Empty: none is dropped.'}`,
      format: 'filter-attribute-conditions',
      default: {} as Record<string, AttributeCondition>,
    },
  };
}

export const schema = {
  metrics: {
    include: nameRule('keep'),
    exclude: nameRule('drop'),
  },
  datapoints: {
    include: attributeRule('keep'),
    exclude: attributeRule('drop'),
  },
};

export function createDefaultConfig(): FilterConfig {
  return {
    metrics: { include: { match_type: 'strict', names: [] }, exclude: { match_type: 'strict', names: [] } },
    datapoints: { include: { match_type: 'strict', attributes: {} }, exclude: { match_type: 'strict', attributes: {} } },
  };
}

function regexpError(pattern: string): string | undefined {
  try {
    new RegExp(pattern);
    return undefined;
  } catch (err) {
    return (err as Error).message;
  }
}

/** Regexps are checked here: whether a string is one depends on its rule's match_type. */
export function validate(config: Readonly<FilterConfig>): Array<{ path: string; message: string }> {
  const problems: Array<{ path: string; message: string }> = [];
  for (const side of ['include', 'exclude'] as const) {
    const names = config.metrics[side];
    names.names.forEach((name, index) => {
      if (name === '') problems.push({ path: `metrics.${side}.names`, message: `item ${index}: must be a non-empty string` });
      else if (names.match_type === 'regexp') {
        const error = regexpError(name);
        if (error !== undefined) problems.push({ path: `metrics.${side}.names`, message: `item ${index}: ${JSON.stringify(name)} is not a valid regular expression: ${error}` });
      }
    });
    const attributes = config.datapoints[side];
    if (attributes.match_type !== 'regexp') continue;
    for (const [key, condition] of Object.entries(attributes.attributes)) {
      const error = regexpError(String(condition));
      if (error !== undefined) problems.push({ path: `datapoints.${side}.attributes`, message: `attribute "${key}": ${JSON.stringify(String(condition))} is not a valid regular expression: ${error}` });
    }
  }
  return problems;
}
