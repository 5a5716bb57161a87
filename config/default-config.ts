import { readFileSync } from 'node:fs';

/** How messages name the embedded config. */
export const DEFAULT_CONFIG_SOURCE = 'embedded default config';

export interface DefaultConfigOptions {
  /** The agent can reach a Kubernetes API server: add the k8sattributes processor. */
  readonly kubernetes?: boolean;
}

/** The YAML that runs when no --config is given; read beside this module so it ships as a plain file. */
export function defaultConfigText(options: DefaultConfigOptions = {}): string {
  const file = options.kubernetes ? './default-config-kubernetes.yaml' : './default-config.yaml';
  return readFileSync(new URL(file, import.meta.url), 'utf8');
}
