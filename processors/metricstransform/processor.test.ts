import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ValueType } from '@opentelemetry/api';
import { resourceFromAttributes } from '@opentelemetry/resources';
import type { MetricData, ResourceMetrics } from '@opentelemetry/sdk-metrics';
import { counter, gauge, histogram } from '../../pipeline/datapoints.ts';
import { prometheusFamilyOf, type PrometheusFamily, type ScrapedDescriptor } from '../../pipeline/prometheus-family.ts';
import { testSettings } from '../../pipeline/testing.ts';
import type { MetricTransform } from './config.ts';
import { MetricsTransformProcessor } from './processor.ts';

const ATTRS = Object.freeze({ namespace: 'shop', persistentvolumeclaim: 'data' });

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value) && !(value instanceof Map)) {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}

function scraped(metric: MetricData, prometheus: PrometheusFamily): MetricData {
  const descriptor: ScrapedDescriptor = { ...metric.descriptor, prometheus };
  return { ...metric, descriptor };
}

function run(transforms: MetricTransform[], ...metrics: MetricData[]): MetricData[] {
  const batch: ResourceMetrics = deepFreeze({ resource: resourceFromAttributes({}), scopeMetrics: [{ scope: { name: 'test' }, metrics }] });
  const out = new MetricsTransformProcessor(testSettings('metricstransform', 'processor'), { transforms }).process(batch);
  return out.scopeMetrics[0]?.metrics ?? [];
}

const used = () => gauge({ name: 'kubelet_volume_stats_used_bytes', description: 'used' }, [{ attributes: ATTRS, value: 2048 }]);
const names = (metrics: MetricData[]) => metrics.map((m) => m.descriptor.name);

describe('metricstransform processor', () => {
  it('renames by exact name, keeping points and attribute objects', () => {
    const [out] = run([{ include: 'kubelet_volume_stats_used_bytes', new_name: 'pv_disk_usage_bytes_used' }], used());
    assert.equal(out?.descriptor.name, 'pv_disk_usage_bytes_used');
    assert.equal(out?.dataPoints[0]?.value, 2048);
    assert.equal(out?.dataPoints[0]?.attributes, ATTRS);
  });

  it('renames by regexp with $1 and ${name} groups, and leaves others alone', () => {
    const capacity = gauge({ name: 'kubelet_volume_stats_capacity_bytes', description: '' }, []);
    const other = gauge({ name: 'node_load1', description: '' }, []);
    const out = run(
      [
        { include: '^kubelet_volume_stats_(used|capacity)_bytes$', match_type: 'regexp', new_name: 'pv_disk_usage_bytes_$1' },
        { include: '^pv_disk_usage_bytes_(?<what>c.*)$', match_type: 'regexp', new_name: 'pv_${what}_total_bytes' },
      ],
      used(),
      capacity,
      other,
    );
    assert.deepEqual(names(out), ['pv_disk_usage_bytes_used', 'pv_capacity_total_bytes', 'node_load1']);
  });

  it('applies transforms in order: a later one matches the name an earlier one gave', () => {
    const transforms: MetricTransform[] = [
      { include: 'kubelet_volume_stats_used_bytes', new_name: 'a' },
      { include: 'a', new_name: 'b' },
    ];
    assert.deepEqual(names(run(transforms, used())), ['b']);
    assert.deepEqual(names(run([...transforms].reverse(), used())), ['a']);
  });

  it('insert adds a changed copy after the original', () => {
    const out = run([{ include: 'kubelet_volume_stats_used_bytes', action: 'insert', new_name: 'used_kib', scale: 1 / 1024 }], used());
    assert.deepEqual(names(out), ['kubelet_volume_stats_used_bytes', 'used_kib']);
    assert.deepEqual(out.map((m) => m.dataPoints[0]?.value), [2048, 2]);
  });

  it('scales gauges and sums, as doubles', () => {
    const sum = counter({ name: 'cpu_seconds', description: '' }, [{ attributes: ATTRS, value: 1.5 }], [0, 0]);
    const intGauge = { ...gauge({ name: 'g', description: '' }, [{ attributes: ATTRS, value: 3 }]) };
    intGauge.descriptor = { ...intGauge.descriptor, valueType: ValueType.INT };
    const out = run([{ include: 'cpu_seconds', scale: 1000 }, { include: 'g', scale: 0.5 }], sum, intGauge);
    assert.deepEqual(out.map((m) => m.dataPoints[0]?.value), [1500, 1.5]);
    assert.equal(out[1]?.descriptor.valueType, ValueType.DOUBLE);
  });

  it('scales a histogram: sum and boundaries, counts unchanged; a scraped one loses its le spellings', () => {
    const h = histogram({ name: 'latency_seconds', description: '' }, [{ attributes: ATTRS, boundaries: [0.1, 1], counts: [1, 2, 3], sum: 4, count: 6 }], [0, 0]);
    const hinted = scraped(h, { family: 'latency_seconds', type: 'histogram', le: new Map([[0.1, '0.1'], [1, '1.0']]) });
    const [out] = run([{ include: 'latency_seconds', new_name: 'latency_ms', scale: 1000 }], hinted);
    const value = out?.dataPoints[0]?.value as { buckets: { boundaries: number[]; counts: number[] }; sum: number; count: number };
    assert.deepEqual(value, { buckets: { boundaries: [100, 1000], counts: [1, 2, 3] }, sum: 4000, count: 6 });
    assert.deepEqual(prometheusFamilyOf(out as MetricData), { family: 'latency_ms', type: 'histogram' });
  });

  it('keeps a renamed scraped metric consistent: its family follows the new name', () => {
    const hinted = scraped(used(), { family: 'kubelet_volume_stats_used_bytes', type: 'gauge' });
    const [out] = run([{ include: 'kubelet_volume_stats_used_bytes', new_name: 'pv_disk_usage_bytes_used' }], hinted);
    assert.deepEqual(prometheusFamilyOf(out as MetricData), { family: 'pv_disk_usage_bytes_used', type: 'gauge' });
  });

  it('keeps the parts of a scraped summary together when renamed alike, and detaches a part renamed alone', () => {
    const part = (name: string) => scraped(gauge({ name, description: '' }, []), { family: 'rpc', type: 'summary' });
    const together = run([{ include: '^rpc(.*)$', match_type: 'regexp', new_name: 'call$1' }], part('rpc'), part('rpc_sum'), part('rpc_count'));
    assert.deepEqual(together.map((m) => [m.descriptor.name, prometheusFamilyOf(m)?.family, prometheusFamilyOf(m)?.type]), [
      ['call', 'call', 'summary'],
      ['call_sum', 'call', 'summary'],
      ['call_count', 'call', 'summary'],
    ]);
    const [alone] = run([{ include: 'rpc_count', new_name: 'calls_total' }], part('rpc_count'));
    assert.deepEqual(prometheusFamilyOf(alone as MetricData), { family: 'calls_total', type: 'untyped' });
  });

  it('drops the scraped hint when the new name is not a Prometheus name', () => {
    const hinted = scraped(used(), { family: 'kubelet_volume_stats_used_bytes', type: 'gauge' });
    const [out] = run([{ include: 'kubelet_volume_stats_used_bytes', new_name: 'pv.disk.used' }], hinted);
    assert.equal(out?.descriptor.name, 'pv.disk.used');
    assert.equal(prometheusFamilyOf(out), undefined);
    assert.equal('prometheus' in (out?.descriptor ?? {}), false);
  });

  it('leaves the input batch unchanged', () => {
    const input = used();
    run([{ include: 'kubelet_volume_stats_used_bytes', new_name: 'x', scale: 2 }], input);
    assert.equal(input.descriptor.name, 'kubelet_volume_stats_used_bytes');
    assert.equal(input.dataPoints[0]?.value, 2048);
  });
});
