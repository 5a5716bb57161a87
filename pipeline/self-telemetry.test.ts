import assert from 'node:assert/strict';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, it } from 'node:test';
import { MeterProvider, MetricReader, type GaugeMetricData, type MetricData } from '@opentelemetry/sdk-metrics';
import { EventLoopDelayWindow, sampleEventLoopDelay, sharedEventLoopDelayWindow } from './event-loop-delay.ts';
import { PipelineTelemetry } from './self-telemetry.ts';

class TestReader extends MetricReader {
  protected override onForceFlush(): Promise<void> {
    return Promise.resolve();
  }
  protected override onShutdown(): Promise<void> {
    return Promise.resolve();
  }
}

/** Blocks the event loop, as a synchronous stall in the agent would. */
function blockFor(ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until) {
    // busy: nothing else may run
  }
}

async function gaugeValue(reader: MetricReader, name: string): Promise<number | undefined> {
  const { resourceMetrics } = await reader.collect();
  const metric: MetricData | undefined = resourceMetrics.scopeMetrics.flatMap((s) => s.metrics).find((m) => m.descriptor.name === name);
  const points = (metric as GaugeMetricData | undefined)?.dataPoints ?? [];
  assert.ok(points.length <= 1, `${name} has one series, got ${points.length}`);
  return points[0]?.value;
}

describe('EventLoopDelayWindow', () => {
  it('reports the largest delay of the trailing window, in seconds, the same to every reader', () => {
    const window = new EventLoopDelayWindow({ windowMs: 10_000, slotMs: 1_000 });
    assert.equal(window.maxSeconds(100_000), 0, 'nothing recorded yet');
    window.record(40, 100_100);
    window.record(3, 100_900);
    assert.equal(window.maxSeconds(101_000), 0.04);
    window.record(250, 103_000);
    window.record(5, 103_200);
    assert.equal(window.maxSeconds(103_300), 0.25);
    assert.equal(window.maxSeconds(103_300), 0.25, 'a second reader right after still sees the stall');
    window.record(7, 108_000);
    assert.equal(window.maxSeconds(112_900), 0.25, 'the 103 s slot ends at 104 s, inside the window that starts at 102.9 s');
    assert.equal(window.maxSeconds(114_100), 0.007, 'the stall has left the window; the 7 ms of 108 s has not');
    assert.equal(window.maxSeconds(200_000), 0, 'nothing since, nothing in the window');
  });

  it('keeps a delay recorded with a clock that went backwards, in the newest slot', () => {
    const window = new EventLoopDelayWindow({ windowMs: 5_000, slotMs: 1_000 });
    window.record(10, 50_000);
    window.record(70, 20_000);
    assert.equal(window.maxSeconds(50_500), 0.07);
  });

  it('stays bounded when nobody reads: one slot per slotMs of the window', () => {
    const window = new EventLoopDelayWindow({ windowMs: 3_000, slotMs: 1_000 });
    for (let t = 0; t < 100_000; t += 20) window.record(t === 50_000 ? 900 : 1, t);
    assert.equal(window.maxSeconds(99_999), 0.001, 'the 900 ms at 50 s is long gone');
  });

  it('rejects a window shorter than its slot, naming both', () => {
    assert.throws(() => new EventLoopDelayWindow({ windowMs: 500, slotMs: 1_000 }), /windowMs \(500\) must be at least slotMs \(1000\)/);
  });

  it('measures a real stall with its timer, and a stall right after a read is not lost', async () => {
    const window = new EventLoopDelayWindow();
    const stop = sampleEventLoopDelay(window, 10);
    try {
      await sleep(60);
      const calm = window.maxSeconds(Date.now());
      assert.ok(calm < 0.1, `an idle loop reads under 0.1 s, got ${calm}`);
      blockFor(150);
      await sleep(30); // the next tick comes about 150 ms late and records it
      const stalled = window.maxSeconds(Date.now());
      assert.ok(stalled >= 0.12 && stalled < 5, `a 150 ms block reads as about 0.15 s, got ${stalled}`);
      // The monitorEventLoopDelay trap: read, then stall at once, before any tick.
      const second = new EventLoopDelayWindow();
      const stopSecond = sampleEventLoopDelay(second, 10);
      await sleep(40);
      second.maxSeconds(Date.now());
      blockFor(150);
      await sleep(30);
      stopSecond();
      assert.ok(second.maxSeconds(Date.now()) >= 0.12, `the stall after the read is counted, got ${second.maxSeconds(Date.now())}`);
    } finally {
      stop();
    }
  });

  it('is one shared window per process', () => {
    assert.equal(sharedEventLoopDelayWindow(), sharedEventLoopDelayWindow());
  });
});

describe('PipelineTelemetry', () => {
  it('reports nodemeter_event_loop_delay_max_seconds from its window on every collection', async () => {
    const window = new EventLoopDelayWindow();
    const reader = new TestReader();
    const provider = new MeterProvider({ readers: [reader] });
    new PipelineTelemetry(provider.getMeter('test'), window);
    assert.equal(await gaugeValue(reader, 'nodemeter_event_loop_delay_max_seconds'), 0);
    window.record(180, Date.now());
    assert.equal(await gaugeValue(reader, 'nodemeter_event_loop_delay_max_seconds'), 0.18);
    assert.equal(await gaugeValue(reader, 'nodemeter_event_loop_delay_max_seconds'), 0.18, 'reading does not clear it');
    await provider.shutdown();
  });

  it('shows a real stall of the process through the default shared window', async () => {
    const reader = new TestReader();
    const provider = new MeterProvider({ readers: [reader] });
    new PipelineTelemetry(provider.getMeter('test'));
    await sleep(50);
    blockFor(200);
    await sleep(50);
    const value = await gaugeValue(reader, 'nodemeter_event_loop_delay_max_seconds');
    assert.ok(value !== undefined && value >= 0.17 && value < 5, `a 200 ms block is visible, got ${value}`);
    await provider.shutdown();
  });
});
