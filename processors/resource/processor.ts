import type { Attributes } from '@opentelemetry/api';
import { resourceFromAttributes, type Resource } from '@opentelemetry/resources';
import type { ResourceMetrics } from '@opentelemetry/sdk-metrics';
import type { ComponentSettings, Processor } from '../../pipeline/component.ts';
import type { ResourceAttributeAction, ResourceConfig } from './config.ts';

/** Applies the actions in order to a copy of `attributes`. */
export function applyActions(attributes: Attributes, actions: readonly ResourceAttributeAction[]): Attributes {
  const out: Attributes = { ...attributes };
  for (const { key, value, action } of actions) {
    const present = Object.hasOwn(out, key) && out[key] !== undefined;
    switch (action) {
      case 'insert':
        if (!present) out[key] = value;
        break;
      case 'update':
        if (present) out[key] = value;
        break;
      case 'upsert':
        out[key] = value;
        break;
      case 'delete':
        delete out[key];
        break;
    }
  }
  return out;
}

/**
 * Adds, changes or removes attributes of the batch's resource (cluster name, environment),
 * as the Collector's resource processor. The batch's Resource is never mutated: a new one is
 * built, once per distinct input resource (a pipeline's resource does not change between
 * collections), keeping its schema URL.
 */
export class ResourceProcessor implements Processor {
  readonly #settings: ComponentSettings;
  readonly #actions: readonly ResourceAttributeAction[];
  #cache = new WeakMap<Resource, Resource>();

  constructor(settings: ComponentSettings, config: ResourceConfig) {
    this.#settings = settings;
    this.#actions = config.attributes;
  }

  start(): Promise<void> {
    if (this.#actions.length === 0) this.#settings.logger.warn('no attribute actions configured: the resource passes through unchanged');
    return Promise.resolve();
  }

  shutdown(): Promise<void> {
    this.#cache = new WeakMap();
    return Promise.resolve();
  }

  process(batch: ResourceMetrics): ResourceMetrics {
    if (this.#actions.length === 0) return batch;
    let resource = this.#cache.get(batch.resource);
    if (resource === undefined) {
      const attributes = applyActions(batch.resource.attributes, this.#actions);
      const schemaUrl = batch.resource.schemaUrl;
      resource = resourceFromAttributes(attributes, schemaUrl ? { schemaUrl } : undefined);
      this.#cache.set(batch.resource, resource);
    }
    return { resource, scopeMetrics: batch.scopeMetrics };
  }
}
