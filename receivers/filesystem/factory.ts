import type { Factory } from '../../pipeline/component.ts';
import { defaultConfig, schema, validateConfig, type FilesystemReceiverConfig } from './config.ts';
import { FilesystemReceiver } from './filesystem-receiver.ts';

export type { FilesystemReceiverConfig } from './config.ts';
export { schema } from './config.ts';

/** `filesystem` receiver: kubelet volume stats and node_filesystem_* from mountinfo + statfs. */
export const filesystemReceiverFactory: Factory<'receiver', FilesystemReceiverConfig> = {
  type: 'filesystem',
  kind: 'receiver',
  schema,
  createDefaultConfig: defaultConfig,
  validate: validateConfig,
  create: (settings, config) => new FilesystemReceiver(settings, config),
};
