import type { Factory } from '../../pipeline/component.ts';
import { defaultConfig, schema, validateConfig, type PodScrapeReceiverConfig } from './config.ts';
import { PodScrapeReceiver } from './podscrape-receiver.ts';

export type { PodScrapeReceiverConfig } from './config.ts';
export { schema } from './config.ts';

/** `podscrape` receiver: this node's pods' own /metrics, on an interval or on demand per job. */
export const podScrapeReceiverFactory: Factory<'receiver', PodScrapeReceiverConfig> = {
  type: 'podscrape',
  kind: 'receiver',
  schema,
  createDefaultConfig: defaultConfig,
  validate: validateConfig,
  create: (settings, config) => new PodScrapeReceiver(settings, config),
};
