import type { Factory } from '../../pipeline/component.ts';
import { defaultConfig, schema, validateConfig, type ProvisionerReceiverConfig } from './config.ts';
import { ProvisionerReceiver } from './provisioner-receiver.ts';

export type { ProvisionerReceiverConfig } from './config.ts';
export { schema } from './config.ts';

/** `provisioner` receiver: the local volume provisioner's metrics and volume lifecycle, derived by watching this node's PVs, claims and events. */
export const provisionerReceiverFactory: Factory<'receiver', ProvisionerReceiverConfig> = {
  type: 'provisioner',
  kind: 'receiver',
  schema,
  createDefaultConfig: defaultConfig,
  validate: validateConfig,
  create: (settings, config) => new ProvisionerReceiver(settings, config),
};
