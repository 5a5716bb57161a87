import { prometheusExporterFactory } from '../exporters/prometheus/factory.ts';
import { filesystemReceiverFactory } from '../receivers/filesystem/factory.ts';
import { FactoryRegistry } from './registry.ts';

/** Every component type nodemeter ships with. */
export function builtinRegistry(): FactoryRegistry {
  return new FactoryRegistry().register(filesystemReceiverFactory).register(prometheusExporterFactory);
}
