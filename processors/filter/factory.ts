import type { Factory } from '../../pipeline/component.ts';
import { createDefaultConfig, schema, validate, type FilterConfig } from './config.ts';
import { FilterProcessor } from './processor.ts';

export const filterProcessorFactory: Factory<'processor', FilterConfig> = {
  type: 'filter',
  kind: 'processor',
  schema,
  createDefaultConfig,
  validate,
  create: (settings, config) => new FilterProcessor(settings, config),
};
