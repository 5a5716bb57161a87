import type { Factory } from '../../pipeline/component.ts';
import { createDefaultConfig, schema, validate, type PrometheusExporterConfig } from './config.ts';
import { PrometheusExporter } from './exporter.ts';

export const prometheusExporterFactory: Factory<'exporter', PrometheusExporterConfig> = {
  type: 'prometheus',
  kind: 'exporter',
  schema,
  createDefaultConfig,
  validate,
  create: (settings, config) => new PrometheusExporter(settings, config),
};
