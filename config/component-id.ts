/** `type[/name]` as the Collector spells component IDs. */
export interface ComponentId {
  readonly type: string;
  readonly name?: string;
}

export const TYPE_RE = /^[a-zA-Z][0-9a-zA-Z_]{0,62}$/;
// The Collector's name rule: no separators (spaces), control characters or symbols.
const NAME_RE = /^[^\p{Z}\p{C}\p{S}]+$/u;

export type IdParse = { readonly ok: true; readonly id: ComponentId } | { readonly ok: false; readonly message: string };

export function parseComponentId(text: string): IdParse {
  const slash = text.indexOf('/');
  const type = slash < 0 ? text : text.slice(0, slash);
  const name = slash < 0 ? undefined : text.slice(slash + 1);
  if (!TYPE_RE.test(type)) {
    const why = type === '' ? 'the type is empty' : `the type "${type}" must start with a letter and hold only letters, digits and _ (at most 63)`;
    return { ok: false, message: `invalid component ID "${text}": ${why}; IDs are type or type/name` };
  }
  if (name !== undefined) {
    if (name === '') return { ok: false, message: `invalid component ID "${text}": the name after "/" is empty` };
    if (!NAME_RE.test(name)) return { ok: false, message: `invalid component ID "${text}": the name "${name}" may not contain spaces, control characters or symbols` };
  }
  return { ok: true, id: name === undefined ? { type } : { type, name } };
}

/** Data types a pipeline may carry; nodemeter moves metrics only. */
export const PIPELINE_TYPES = ['metrics'] as const;

export function parsePipelineId(text: string): IdParse {
  const parsed = parseComponentId(text);
  if (!parsed.ok) return { ok: false, message: parsed.message.replace('component ID', 'pipeline ID') };
  if (!(PIPELINE_TYPES as readonly string[]).includes(parsed.id.type)) {
    const known = ['traces', 'logs', 'profiles'].includes(parsed.id.type);
    return {
      ok: false,
      message: `${known ? 'unsupported' : 'unknown'} pipeline type "${parsed.id.type}": nodemeter only has metrics pipelines (write "metrics" or "metrics/<name>")`,
    };
  }
  return parsed;
}
