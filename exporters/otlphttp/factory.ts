import type { Factory } from '../../pipeline/component.ts';
import { createDefaultConfig, schema, validate, type OtlpHttpExporterConfig } from './config.ts';
import { OtlpHttpExporter } from './exporter.ts';

export const otlpHttpExporterFactory: Factory<'exporter', OtlpHttpExporterConfig> = {
  type: 'otlphttp',
  kind: 'exporter',
  schema,
  createDefaultConfig,
  validate,
  create: (settings, config) => new OtlpHttpExporter(settings, config),
};
