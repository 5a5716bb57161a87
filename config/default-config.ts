import { readFileSync } from 'node:fs';

/** How messages name the embedded config. */
export const DEFAULT_CONFIG_SOURCE = 'embedded default config';

/** The YAML that runs when no --config is given; read beside this module so it ships as a plain file. */
export function defaultConfigText(): string {
  return readFileSync(new URL('./default-config.yaml', import.meta.url), 'utf8');
}
