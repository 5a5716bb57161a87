import { otlpHttpExporterFactory } from '../exporters/otlphttp/factory.ts';
import { prometheusExporterFactory } from '../exporters/prometheus/factory.ts';
import { pushgatewayExporterFactory } from '../exporters/pushgateway/factory.ts';
import { attributesProcessorFactory } from '../processors/attributes/factory.ts';
import { filterProcessorFactory } from '../processors/filter/factory.ts';
import { k8sAttributesProcessorFactory } from '../processors/k8sattributes/factory.ts';
import { metricsTransformProcessorFactory } from '../processors/metricstransform/factory.ts';
import { resourceProcessorFactory } from '../processors/resource/factory.ts';
import { dockerReceiverFactory } from '../receivers/docker/factory.ts';
import { filesystemReceiverFactory } from '../receivers/filesystem/factory.ts';
import { hostpathReceiverFactory } from '../receivers/hostpath/factory.ts';
import { podScrapeReceiverFactory } from '../receivers/podscrape/factory.ts';
import { provisionerReceiverFactory } from '../receivers/provisioner/factory.ts';
import { FactoryRegistry } from './registry.ts';

/** Every component type nodemeter ships with. */
export function builtinRegistry(): FactoryRegistry {
  return new FactoryRegistry()
    .register(filesystemReceiverFactory)
    .register(hostpathReceiverFactory)
    .register(dockerReceiverFactory)
    .register(podScrapeReceiverFactory)
    .register(provisionerReceiverFactory)
    .register(prometheusExporterFactory)
    .register(pushgatewayExporterFactory)
    .register(otlpHttpExporterFactory)
    .register(k8sAttributesProcessorFactory)
    .register(filterProcessorFactory)
    .register(attributesProcessorFactory)
    .register(resourceProcessorFactory)
    .register(metricsTransformProcessorFactory);
}
