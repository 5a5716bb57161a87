import type { Factory } from '../../pipeline/component.ts';
import { createDefaultConfig, schema, type MetricsTransformConfig } from './config.ts';
import { MetricsTransformProcessor } from './processor.ts';

export const metricsTransformProcessorFactory: Factory<'processor', MetricsTransformConfig> = {
  type: 'metricstransform',
  kind: 'processor',
  schema,
  createDefaultConfig,
  create: (settings, config) => new MetricsTransformProcessor(settings, config),
};
