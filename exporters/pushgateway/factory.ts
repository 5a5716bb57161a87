import type { Factory } from '../../pipeline/component.ts';
import { createDefaultConfig, schema, validate, type PushgatewayExporterConfig } from './config.ts';
import { PushgatewayExporter } from './exporter.ts';

export const pushgatewayExporterFactory: Factory<'exporter', PushgatewayExporterConfig> = {
  type: 'pushgateway',
  kind: 'exporter',
  schema,
  createDefaultConfig,
  validate,
  create: (settings, config) => new PushgatewayExporter(settings, config),
};
