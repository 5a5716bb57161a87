import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Attributes } from '@opentelemetry/api';
import { resourceFromAttributes } from '@opentelemetry/resources';
import type { MetricData, ResourceMetrics } from '@opentelemetry/sdk-metrics';
import { gauge } from '../../pipeline/datapoints.ts';
import { testSettings } from '../../pipeline/testing.ts';
import { createDefaultConfig, type AttributeRule, type FilterConfig, type NameRule } from './config.ts';
import { filterProcessorFactory } from './factory.ts';
import { FilterProcessor } from './processor.ts';

const NAMES = ['node_disk_used_bytes', 'node_disk_capacity_bytes', 'container_memory_bytes', 'kubelet_volume_stats_used_bytes'];
const SERIES: Attributes[] = [
  { namespace: 'shop', pod: 'web-1', code: 200, ready: true },
  { namespace: 'kube-system', pod: 'dns-1', code: 500, ready: false },
  { namespace: 'shop-test', pod: 'web-2', tags: ['a', 'b'] },
];

/** Every metric carries every series; inputs are deeply frozen so any mutation throws. */
function batchOf(names: readonly string[] = NAMES, series: readonly Attributes[] = SERIES): ResourceMetrics {
  const shared = series.map((attributes) => Object.freeze({ ...attributes }));
  const metrics = names.map((name) => gauge({ name, description: name }, shared.map((attributes, i) => ({ attributes, value: i }))));
  for (const metric of metrics) {
    for (const point of metric.dataPoints) Object.freeze(point);
    Object.freeze(metric.dataPoints);
    Object.freeze(metric);
  }
  return Object.freeze({
    resource: resourceFromAttributes({ 'k8s.cluster.name': 'c1' }),
    scopeMetrics: Object.freeze([Object.freeze({ scope: { name: 'test' }, metrics: Object.freeze(metrics) as MetricData[] })]) as ResourceMetrics['scopeMetrics'],
  });
}

interface Rules {
  include?: Partial<NameRule>;
  exclude?: Partial<NameRule>;
  includePoints?: Partial<AttributeRule>;
  excludePoints?: Partial<AttributeRule>;
}

function config(rules: Rules): FilterConfig {
  const d = createDefaultConfig();
  return {
    metrics: { include: { ...d.metrics.include, ...rules.include }, exclude: { ...d.metrics.exclude, ...rules.exclude } },
    datapoints: { include: { ...d.datapoints.include, ...rules.includePoints }, exclude: { ...d.datapoints.exclude, ...rules.excludePoints } },
  };
}

function run(rules: Rules, batch = batchOf()): ResourceMetrics {
  const processor = new FilterProcessor(testSettings('filter', 'processor'), config(rules));
  return processor.process(batch);
}

/** `name: pod,pod` for every kept metric. */
function summary(out: ResourceMetrics): string[] {
  return out.scopeMetrics.flatMap((scope) => scope.metrics.map((m) => `${m.descriptor.name}: ${m.dataPoints.map((p) => String(p.attributes['pod'])).join(',')}`));
}

const ALL_PODS = 'web-1,dns-1,web-2';

describe('filter processor', () => {
  const cases: Array<{ name: string; rules: Rules; expect: string[] }> = [
    { name: 'the default config keeps everything', rules: {}, expect: NAMES.map((n) => `${n}: ${ALL_PODS}`) },
    {
      name: 'strict include keeps the named metrics only',
      rules: { include: { names: ['node_disk_used_bytes', 'container_memory_bytes'] } },
      expect: [`node_disk_used_bytes: ${ALL_PODS}`, `container_memory_bytes: ${ALL_PODS}`],
    },
    {
      name: 'strict names match whole names only',
      rules: { include: { names: ['node_disk'] } },
      expect: [],
    },
    {
      name: 'strict exclude drops the named metrics',
      rules: { exclude: { names: ['container_memory_bytes'] } },
      expect: ['node_disk_used_bytes', 'node_disk_capacity_bytes', 'kubelet_volume_stats_used_bytes'].map((n) => `${n}: ${ALL_PODS}`),
    },
    {
      name: 'regexp include is unanchored, as the Collector',
      rules: { include: { match_type: 'regexp', names: ['disk'] } },
      expect: [`node_disk_used_bytes: ${ALL_PODS}`, `node_disk_capacity_bytes: ${ALL_PODS}`],
    },
    {
      name: 'regexp anchors are honoured',
      rules: { include: { match_type: 'regexp', names: ['^kubelet_', '_memory_bytes$'] } },
      expect: [`container_memory_bytes: ${ALL_PODS}`, `kubelet_volume_stats_used_bytes: ${ALL_PODS}`],
    },
    {
      name: 'include first, then exclude',
      rules: { include: { match_type: 'regexp', names: ['^node_'] }, exclude: { names: ['node_disk_capacity_bytes'] } },
      expect: [`node_disk_used_bytes: ${ALL_PODS}`],
    },
    {
      name: 'regexp exclude',
      rules: { exclude: { match_type: 'regexp', names: ['bytes$'] } },
      expect: [],
    },
    {
      name: 'strict point include needs every listed attribute to match',
      rules: { include: { names: ['node_disk_used_bytes'] }, includePoints: { attributes: { namespace: 'shop', pod: 'web-1' } } },
      expect: ['node_disk_used_bytes: web-1'],
    },
    {
      name: 'strict point include: a missing attribute does not match',
      rules: { include: { names: ['node_disk_used_bytes'] }, includePoints: { attributes: { namespace: 'shop', absent: 'x' } } },
      expect: [],
    },
    {
      name: 'numbers and booleans compare by their string form',
      rules: { include: { names: ['node_disk_used_bytes'] }, includePoints: { attributes: { code: 500, ready: 'false' } } },
      expect: ['node_disk_used_bytes: dns-1'],
    },
    {
      name: 'strict point exclude',
      rules: { include: { names: ['node_disk_used_bytes'] }, excludePoints: { attributes: { namespace: 'kube-system' } } },
      expect: ['node_disk_used_bytes: web-1,web-2'],
    },
    {
      name: 'regexp point include is unanchored',
      rules: { include: { names: ['node_disk_used_bytes'] }, includePoints: { match_type: 'regexp', attributes: { namespace: 'shop' } } },
      expect: ['node_disk_used_bytes: web-1,web-2'],
    },
    {
      name: 'regexp point exclude, anchored by the pattern',
      rules: { include: { names: ['node_disk_used_bytes'] }, excludePoints: { match_type: 'regexp', attributes: { namespace: '^shop$' } } },
      expect: ['node_disk_used_bytes: dns-1,web-2'],
    },
    {
      name: 'array values never match',
      rules: { include: { names: ['node_disk_used_bytes'] }, excludePoints: { match_type: 'regexp', attributes: { tags: '.*' } } },
      expect: ['node_disk_used_bytes: web-1,dns-1,web-2'],
    },
    {
      name: 'point include first, then point exclude',
      rules: {
        include: { names: ['node_disk_used_bytes'] },
        includePoints: { match_type: 'regexp', attributes: { pod: '^web-' } },
        excludePoints: { attributes: { namespace: 'shop-test' } },
      },
      expect: ['node_disk_used_bytes: web-1'],
    },
    {
      name: 'a metric left with no points is dropped',
      rules: { includePoints: { attributes: { namespace: 'nowhere' } } },
      expect: [],
    },
  ];

  for (const c of cases) {
    it(c.name, () => {
      assert.deepEqual(summary(run(c.rules)), c.expect);
    });
  }

  it('drops a scope left without metrics and keeps the resource', () => {
    const batch = batchOf();
    const out = run({ include: { names: ['none'] } }, batch);
    assert.deepEqual(out.scopeMetrics, []);
    assert.equal(out.resource, batch.resource);
  });

  it('returns new metric objects, keeps the point and attribute objects and never mutates the input', () => {
    const batch = batchOf();
    const before = JSON.stringify(batch.scopeMetrics);
    const out = run({ excludePoints: { attributes: { pod: 'dns-1' } } }, batch);
    const inMetric = batch.scopeMetrics[0]?.metrics[0];
    const outMetric = out.scopeMetrics[0]?.metrics[0];
    assert.ok(inMetric && outMetric);
    assert.notEqual(outMetric, inMetric);
    assert.notEqual(outMetric.dataPoints, inMetric.dataPoints);
    assert.equal(outMetric.dataPoints[0], inMetric.dataPoints[0]);
    assert.equal(outMetric.dataPoints[0]?.attributes, inMetric.dataPoints[0]?.attributes);
    assert.equal(inMetric.dataPoints.length, 3);
    assert.equal(JSON.stringify(batch.scopeMetrics), before);
  });

  it('is built by its factory from the default config', async () => {
    const processor = filterProcessorFactory.create(testSettings('filter', 'processor'), filterProcessorFactory.createDefaultConfig());
    await processor.start();
    assert.deepEqual(summary(await processor.process(batchOf(), { signal: new AbortController().signal, deadline: Date.now() + 1000, selectors: {} })), NAMES.map((n) => `${n}: ${ALL_PODS}`));
    await processor.shutdown();
  });
});
