import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Attributes } from '@opentelemetry/api';
import { resourceFromAttributes } from '@opentelemetry/resources';
import type { MetricData, ResourceMetrics } from '@opentelemetry/sdk-metrics';
import { gauge } from '../../pipeline/datapoints.ts';
import { testSettings } from '../../pipeline/testing.ts';
import type { ResourceAttributeAction } from './config.ts';
import { resourceProcessorFactory } from './factory.ts';
import { applyActions, ResourceProcessor } from './processor.ts';

const BASE: Attributes = { 'service.name': 'nodemeter', 'k8s.node.name': 'node-a', 'deployment.environment': 'dev' };

function batchOf(attributes: Attributes = BASE, schemaUrl?: string): ResourceMetrics {
  const pointAttributes = Object.freeze({ pod: 'web-1' });
  const metric = gauge({ name: 'm', description: 'm' }, [{ attributes: pointAttributes, value: 1 }]);
  Object.freeze(metric.dataPoints[0]);
  Object.freeze(metric.dataPoints);
  Object.freeze(metric);
  return Object.freeze({
    resource: resourceFromAttributes(attributes, schemaUrl ? { schemaUrl } : undefined),
    scopeMetrics: Object.freeze([Object.freeze({ scope: { name: 'test' }, metrics: Object.freeze([metric]) as MetricData[] })]) as ResourceMetrics['scopeMetrics'],
  });
}

function processor(attributes: ResourceAttributeAction[]): ResourceProcessor {
  return new ResourceProcessor(testSettings('resource', 'processor'), { attributes });
}

describe('resource processor', () => {
  const cases: Array<{ name: string; actions: ResourceAttributeAction[]; expect: Attributes }> = [
    { name: 'insert adds a missing key', actions: [{ key: 'k8s.cluster.name', value: 'prod-eu', action: 'insert' }], expect: { ...BASE, 'k8s.cluster.name': 'prod-eu' } },
    { name: 'insert leaves an existing key alone', actions: [{ key: 'deployment.environment', value: 'prod', action: 'insert' }], expect: BASE },
    { name: 'update changes an existing key', actions: [{ key: 'deployment.environment', value: 'prod', action: 'update' }], expect: { ...BASE, 'deployment.environment': 'prod' } },
    { name: 'update does not add a missing key', actions: [{ key: 'k8s.cluster.name', value: 'prod-eu', action: 'update' }], expect: BASE },
    {
      name: 'upsert adds or changes',
      actions: [
        { key: 'deployment.environment', value: 'prod', action: 'upsert' },
        { key: 'shard', value: 3, action: 'upsert' },
        { key: 'canary', value: false, action: 'upsert' },
      ],
      expect: { ...BASE, 'deployment.environment': 'prod', shard: 3, canary: false },
    },
    { name: 'delete removes a key', actions: [{ key: 'k8s.node.name', action: 'delete' }], expect: { 'service.name': 'nodemeter', 'deployment.environment': 'dev' } },
    { name: 'delete of a missing key is a no-op', actions: [{ key: 'absent', action: 'delete' }], expect: BASE },
    {
      name: 'actions apply in order',
      actions: [
        { key: 'deployment.environment', action: 'delete' },
        { key: 'deployment.environment', value: 'staging', action: 'insert' },
        { key: 'deployment.environment', value: 'ignored', action: 'insert' },
      ],
      expect: { ...BASE, 'deployment.environment': 'staging' },
    },
  ];

  for (const c of cases) {
    it(c.name, () => {
      const batch = batchOf();
      const out = processor(c.actions).process(batch);
      assert.deepEqual(out.resource.attributes, c.expect);
      assert.deepEqual(batch.resource.attributes, BASE, 'the input resource is unchanged');
    });
  }

  it('applyActions copies and never mutates its input', () => {
    const input = Object.freeze({ a: 'x' });
    const out = applyActions(input, [{ key: 'a', action: 'delete' }, { key: 'b', value: 'y', action: 'upsert' }]);
    assert.deepEqual(out, { b: 'y' });
    assert.deepEqual(input, { a: 'x' });
  });

  it('builds a new Resource, keeps the schema URL, and passes the metrics through untouched', () => {
    const batch = batchOf(BASE, 'https://opentelemetry.io/schemas/1.26.0');
    const out = processor([{ key: 'k8s.cluster.name', value: 'c1', action: 'upsert' }]).process(batch);
    assert.notEqual(out.resource, batch.resource);
    assert.equal(out.resource.schemaUrl, 'https://opentelemetry.io/schemas/1.26.0');
    assert.equal(out.scopeMetrics, batch.scopeMetrics);
    assert.equal(out.scopeMetrics[0]?.metrics[0]?.dataPoints[0]?.attributes, batch.scopeMetrics[0]?.metrics[0]?.dataPoints[0]?.attributes);
  });

  it('builds the resource once per input resource', () => {
    const p = processor([{ key: 'k8s.cluster.name', value: 'c1', action: 'upsert' }]);
    const batch = batchOf();
    const first = p.process(batch).resource;
    assert.equal(p.process({ ...batch }).resource, first);
    assert.notEqual(p.process(batchOf()).resource, first);
  });

  it('passes the batch through without actions', async () => {
    const p = resourceProcessorFactory.create(testSettings('resource', 'processor'), resourceProcessorFactory.createDefaultConfig());
    await p.start();
    const batch = batchOf();
    assert.equal(await p.process(batch, { signal: new AbortController().signal, deadline: Date.now() + 1000, selectors: {} }), batch);
    await p.shutdown();
  });
});
