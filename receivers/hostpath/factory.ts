import type { Factory } from '../../pipeline/component.ts';
import { defaultConfig, schema, validateConfig, type HostpathReceiverConfig } from './config.ts';
import { HostpathReceiver } from './hostpath-receiver.ts';

export type { HostpathReceiverConfig } from './config.ts';
export { schema } from './config.ts';

/** `hostpath` receiver: per-volume usage of hostPath, local and local-path volumes from directory walks. */
export const hostpathReceiverFactory: Factory<'receiver', HostpathReceiverConfig> = {
  type: 'hostpath',
  kind: 'receiver',
  schema,
  createDefaultConfig: defaultConfig,
  validate: validateConfig,
  create: (settings, config) => new HostpathReceiver(settings, config),
};
