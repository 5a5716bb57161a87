/**
 * The defaults of a convict schema as a frozen plain object, for factories'
 * `createDefaultConfig()`: a leaf is a node with both `doc` and `default`.
 */
export function schemaDefaults(schema: Record<string, unknown>): unknown {
  if ('default' in schema && 'doc' in schema) return schema.default;
  const out: Record<string, unknown> = {};
  for (const [key, child] of Object.entries(schema)) out[key] = schemaDefaults(child as Record<string, unknown>);
  return Object.freeze(out);
}
