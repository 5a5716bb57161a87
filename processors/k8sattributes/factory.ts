import type { Factory } from '../../pipeline/component.ts';
import { createDefaultConfig, schema, type K8sAttributesConfig } from './config.ts';
import { K8sAttributesProcessor } from './processor.ts';

export const k8sAttributesProcessorFactory: Factory<'processor', K8sAttributesConfig> = {
  type: 'k8sattributes',
  kind: 'processor',
  schema,
  createDefaultConfig,
  create: (settings, config) => new K8sAttributesProcessor(settings, config),
};
