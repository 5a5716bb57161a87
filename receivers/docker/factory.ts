import type { Factory } from '../../pipeline/component.ts';
import { defaultConfig, schema, validateConfig, type DockerReceiverConfig } from './config.ts';
import { DockerReceiver } from './docker-receiver.ts';

export type { DockerReceiverConfig } from './config.ts';
export { schema } from './config.ts';

/** `docker` receiver: per-container usage and state with cAdvisor's names, from the Engine API or the cgroup files. */
export const dockerReceiverFactory: Factory<'receiver', DockerReceiverConfig> = {
  type: 'docker',
  kind: 'receiver',
  schema,
  createDefaultConfig: defaultConfig,
  validate: validateConfig,
  create: (settings, config) => new DockerReceiver(settings, config),
};
