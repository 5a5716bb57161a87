import type { Factory } from '../../pipeline/component.ts';
import { createDefaultConfig, schema, type ResourceConfig } from './config.ts';
import { ResourceProcessor } from './processor.ts';

export const resourceProcessorFactory: Factory<'processor', ResourceConfig> = {
  type: 'resource',
  kind: 'processor',
  schema,
  createDefaultConfig,
  create: (settings, config) => new ResourceProcessor(settings, config),
};
