// Checks for config values that are lists of small maps (rules), used by the convict formats of
// components whose settings hold such lists. Each throws an Error naming the item and the key.

/** A convict `validate` for a list whose every item is a map passed to `check`. */
export function objectList(what: string, check: (item: Record<string, unknown>, at: string) => void): (value: unknown) => void {
  return (value: unknown) => {
    if (!Array.isArray(value)) throw new Error(`must be a list of ${what}`);
    value.forEach((item: unknown, index) => {
      if (item === null || typeof item !== 'object' || Array.isArray(item)) throw new Error(`item ${index} must be a map`);
      check(item as Record<string, unknown>, `item ${index}`);
    });
  };
}

export function onlyKeys(item: Record<string, unknown>, at: string, allowed: readonly string[]): void {
  for (const key of Object.keys(item)) {
    if (!allowed.includes(key)) throw new Error(`${at}: unknown key "${key}" (allowed: ${allowed.join(', ')})`);
  }
}

export function oneOf<T extends string>(item: Record<string, unknown>, at: string, key: string, values: readonly T[]): void {
  if (!values.includes(item[key] as T)) throw new Error(`${at}: "${key}" must be one of ${values.join(', ')}, got ${JSON.stringify(item[key])}`);
}

export function nonEmptyString(item: Record<string, unknown>, at: string, key: string, required: boolean): void {
  const value = item[key];
  if (value === undefined && !required) return;
  if (typeof value !== 'string' || value === '') throw new Error(`${at}: "${key}" must be a non-empty string`);
}
