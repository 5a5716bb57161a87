import type { Factory } from '../../pipeline/component.ts';
import { createDefaultConfig, schema, type AttributesConfig } from './config.ts';
import { AttributesProcessor } from './processor.ts';

export const attributesProcessorFactory: Factory<'processor', AttributesConfig> = {
  type: 'attributes',
  kind: 'processor',
  schema,
  createDefaultConfig,
  create: (_settings, config) => new AttributesProcessor(config),
};
