import type { Factory } from '../../pipeline/component.ts';
import { createDefaultConfig, schema, type PrometheusExporterConfig } from './config.ts';
import { PrometheusExporter } from './exporter.ts';

export const prometheusExporterFactory: Factory<'exporter', PrometheusExporterConfig> = {
  type: 'prometheus',
  kind: 'exporter',
  schema,
  createDefaultConfig,
  create: (settings, config) => new PrometheusExporter(settings, config),
};
