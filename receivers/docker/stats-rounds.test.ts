import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import pino from 'pino';

import type { ContainerInfo } from './container-info.ts';
import { EngineError } from './engine-client.ts';
import { StatsRounds, type SampleSource } from './stats-rounds.ts';

function container(i: number): ContainerInfo {
  return {
    id: `id-${i}`,
    name: `c-${i}`,
    image: 'busybox',
    running: true,
    health: 'none',
    pid: 1000 + i,
    memoryLimitBytes: 0,
    startedAtMs: 0,
    attributes: { id: `/docker/id-${i}`, name: `c-${i}` },
    excluded: false,
  };
}

/** A source that answers after `delayMs`, counting the reads in flight; `fail` decides per id. */
class FakeSource implements SampleSource {
  readonly name = 'fake';
  inFlight = 0;
  maxInFlight = 0;
  reads = 0;
  readonly delayMs: number;
  readonly fail: (id: string) => Error | undefined;

  constructor(delayMs: number, fail: (id: string) => Error | undefined = () => undefined) {
    this.delayMs = delayMs;
    this.fail = fail;
  }

  async read(info: ContainerInfo, signal: AbortSignal): ReturnType<SampleSource['read']> {
    this.reads++;
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    try {
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(resolve, this.delayMs);
        signal.addEventListener('abort', () => {
          clearTimeout(timer);
          reject(new Error('aborted'));
        });
      });
      const err = this.fail(info.id);
      if (err) throw err;
      return { sample: { memoryUsageBytes: info.pid }, problems: info.pid % 2 === 0 ? [{ source: `memory.stat of ${info.id}`, message: 'missing' }] : [] };
    } finally {
      this.inFlight--;
    }
  }
}

function rounds(source: SampleSource, running: () => ContainerInfo[], concurrency: number, roundTimeoutMs = 10_000) {
  const errors: string[] = [];
  const lines: string[] = [];
  const logger = pino({ level: 'warn' }, { write: (line: string) => void lines.push(line) });
  const r = new StatsRounds({ source, running, intervalMs: 3_600_000, concurrency, roundTimeoutMs, logger, onError: (op) => void errors.push(op) });
  return { r, errors, lines };
}

describe('StatsRounds', () => {
  it('reads at most `concurrency` containers at once', async () => {
    const source = new FakeSource(5);
    const list = Array.from({ length: 20 }, (_, i) => container(i));
    const { r } = rounds(source, () => list, 3);
    await r.runNow();
    assert.equal(source.maxInFlight, 3);
    assert.equal(r.samples.size, 20);
    assert.equal(r.lastRound?.containers, 20);
  });

  it('with concurrency 0 asks for every container at once (dockerd answers them in one pass)', async () => {
    const source = new FakeSource(5);
    const list = Array.from({ length: 50 }, (_, i) => container(i));
    const { r } = rounds(source, () => list, 0);
    await r.runNow();
    assert.equal(source.maxInFlight, 50);
    assert.equal(r.samples.size, 50);
  });

  it('a round replaces the last one: a container gone from the list loses its sample', async () => {
    const source = new FakeSource(1);
    let list = [container(1), container(2)];
    const { r } = rounds(source, () => list, 0);
    await r.runNow();
    assert.deepEqual([...r.samples.keys()].sort(), ['id-1', 'id-2']);
    list = [container(2)];
    await r.runNow();
    assert.deepEqual([...r.samples.keys()], ['id-2']);
  });

  it('runNow during a round joins it instead of starting another', async () => {
    const source = new FakeSource(20);
    const { r } = rounds(source, () => [container(1)], 0);
    await Promise.all([r.runNow(), r.runNow(), r.runNow()]);
    assert.equal(source.reads, 1);
  });

  it('a container removed meanwhile (404) is no error; another failure is counted and logged', async () => {
    const source = new FakeSource(1, (id) =>
      id === 'id-1' ? new EngineError('NM_DOCKER_HTTP', 'no such container', { status: 404, retryable: false }) : id === 'id-2' ? new Error('boom') : undefined,
    );
    const { r, errors, lines } = rounds(source, () => [container(1), container(2), container(3)], 0);
    await r.runNow();
    assert.deepEqual([...r.samples.keys()], ['id-3']);
    assert.deepEqual(errors, ['stats']);
    assert.equal(r.lastRound?.failed, 1);
    assert.ok(lines.some((l) => l.includes('boom') && l.includes('c-2')), 'the failure is logged with the container');
  });

  it('cuts a round that outlasts its time limit short and says so', async () => {
    const source = new FakeSource(10_000);
    const { r, errors, lines } = rounds(source, () => [container(1), container(3)], 0, 50);
    const started = performance.now();
    await r.runNow();
    assert.ok(performance.now() - started < 2_000, 'the round ended at its limit');
    assert.equal(r.samples.size, 0);
    assert.deepEqual(errors, ['stats']);
    assert.ok(lines.some((l) => l.includes('cut short')));
  });

  it('logs a container’s incomplete sample once, not every round', async () => {
    const source = new FakeSource(1);
    const { r, lines } = rounds(source, () => [container(2)], 0);
    await r.runNow();
    await r.runNow();
    assert.equal(r.samples.get('id-2')?.sample.memoryUsageBytes, 1002, 'the sample is kept without the missing fields');
    assert.equal(lines.filter((l) => l.includes('docker sample incomplete')).length, 1);
  });
});
