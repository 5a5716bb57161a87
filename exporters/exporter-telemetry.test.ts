import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MeterProvider, MetricReader, type MetricData } from '@opentelemetry/sdk-metrics';

import { ExporterTelemetry } from './exporter-telemetry.ts';

class TestReader extends MetricReader {
  protected override onForceFlush(): Promise<void> {
    return Promise.resolve();
  }
  protected override onShutdown(): Promise<void> {
    return Promise.resolve();
  }
}

/** A telemetry object on its own MeterProvider, and a way to read what it reports. */
function setup(push: boolean): { telemetry: ExporterTelemetry; read: () => Promise<Map<string, MetricData>> } {
  const reader = new TestReader();
  const provider = new MeterProvider({ readers: [reader] });
  const telemetry = new ExporterTelemetry('pushgateway/a', { push });
  telemetry.start(provider.getMeter('test'));
  const read = async (): Promise<Map<string, MetricData>> => {
    const { resourceMetrics } = await reader.collect();
    return new Map(resourceMetrics.scopeMetrics.flatMap((s) => s.metrics).map((m) => [m.descriptor.name, m]));
  };
  return { telemetry, read };
}

function values(metric: MetricData | undefined): Array<{ attributes: Record<string, unknown>; value: unknown }> {
  return (metric?.dataPoints ?? []).map((p) => ({ attributes: { ...p.attributes }, value: p.value }));
}

describe('ExporterTelemetry', () => {
  it('counts deliveries in flight, from 0 before the first', async () => {
    const { telemetry, read } = setup(false);
    assert.deepEqual(values((await read()).get('nodemeter_exporter_in_flight')), [{ attributes: { exporter: 'pushgateway/a' }, value: 0 }]);
    const first = telemetry.begin();
    const second = telemetry.begin();
    assert.equal(values((await read()).get('nodemeter_exporter_in_flight'))[0]?.value, 2);
    assert.equal(telemetry.inFlight, 2);
    first();
    first(); // ending twice counts once
    assert.equal(values((await read()).get('nodemeter_exporter_in_flight'))[0]?.value, 1);
    assert.equal(telemetry.inFlight, 1);
    second();
    assert.equal(values((await read()).get('nodemeter_exporter_in_flight'))[0]?.value, 0);
  });

  it('points sent and failed, the last success and the last error with its reason', async () => {
    const { telemetry, read } = setup(false);
    let metrics = await read();
    assert.equal(metrics.get('nodemeter_exporter_last_success_timestamp_seconds')?.dataPoints.length ?? 0, 0, 'absent before the first success');
    assert.equal(metrics.get('nodemeter_exporter_last_error_timestamp_seconds')?.dataPoints.length ?? 0, 0, 'absent before the first error');
    assert.equal(metrics.has('nodemeter_exporter_pushes_total'), false, 'a pull exporter has no push rounds');

    const before = Date.now() / 1000;
    telemetry.succeeded(120);
    telemetry.failed(30, 'client_gone');
    telemetry.erred('collection');
    metrics = await read();
    assert.deepEqual(values(metrics.get('nodemeter_exporter_points_sent_total')), [{ attributes: { exporter: 'pushgateway/a' }, value: 120 }]);
    assert.deepEqual(values(metrics.get('nodemeter_exporter_points_failed_total')), [{ attributes: { exporter: 'pushgateway/a' }, value: 30 }]);
    const success = values(metrics.get('nodemeter_exporter_last_success_timestamp_seconds'));
    assert.ok((success[0]?.value as number) >= Math.floor(before), JSON.stringify(success));
    // Only the latest reason is reported: one series per exporter, not one per reason ever seen.
    const lastError = values(metrics.get('nodemeter_exporter_last_error_timestamp_seconds'));
    assert.equal(lastError.length, 1);
    assert.deepEqual(lastError[0]?.attributes, { exporter: 'pushgateway/a', reason: 'collection' });
    assert.ok((lastError[0]?.value as number) >= Math.floor(before));
    assert.deepEqual(telemetry.lastError?.reason, 'collection');
  });

  it('push rounds by outcome; a failed round counts its points as failed', async () => {
    const { telemetry, read } = setup(true);
    telemetry.recordPush('success', 10, 'success');
    telemetry.recordPush('rejected', 10, 'http_400');
    telemetry.recordPush('failed', 10, 'network');
    const metrics = await read();
    const rounds = values(metrics.get('nodemeter_exporter_pushes_total'))
      .map((p) => `${String(p.attributes.outcome)}=${String(p.value)}`)
      .sort();
    assert.deepEqual(rounds, ['failed=1', 'rejected=1', 'success=1']);
    assert.equal(values(metrics.get('nodemeter_exporter_points_sent_total'))[0]?.value, 10);
    assert.equal(values(metrics.get('nodemeter_exporter_points_failed_total'))[0]?.value, 20);
    assert.deepEqual(values(metrics.get('nodemeter_exporter_last_error_timestamp_seconds'))[0]?.attributes, { exporter: 'pushgateway/a', reason: 'network' });
  });

  it('stops observing its gauges on shutdown', async () => {
    const { telemetry, read } = setup(true);
    telemetry.succeeded(1);
    telemetry.failed(1, 'timeout');
    telemetry.shutdown();
    const metrics = await read();
    assert.equal(metrics.get('nodemeter_exporter_last_success_timestamp_seconds')?.dataPoints.length ?? 0, 0);
    assert.equal(metrics.get('nodemeter_exporter_last_error_timestamp_seconds')?.dataPoints.length ?? 0, 0);
  });
});
