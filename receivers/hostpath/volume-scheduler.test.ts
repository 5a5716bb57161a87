import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import pino from 'pino';
import type { VolumeTarget } from './discovery.ts';
import { usage } from './volume-families.ts';
import { VolumeScheduler } from './volume-scheduler.ts';
import type { WalkOptions, WalkOutcome, WalkPool, WalkResult } from './walk-pool.ts';

const logger = pino({ level: 'silent' });

function result(blocks: number, extra: Partial<WalkResult> = {}): WalkResult {
  return { blockBytes: blocks, apparentBytes: blocks / 2, inodes: 3, skipped: {}, skippedTotal: 0, mountPoints: 0, isDirectory: true, filesystem: undefined, durationMs: 1, ...extra };
}

/** A pool whose walks resolve when the test says so. */
class ManualPool {
  readonly calls: Array<{ root: string; options: WalkOptions; resolve: (o: WalkOutcome) => void }> = [];
  walk(root: string, options: WalkOptions): Promise<WalkOutcome> {
    return new Promise((resolve) => this.calls.push({ root, options, resolve }));
  }
}

const target = (key: string, extra: Partial<VolumeTarget> = {}): VolumeTarget => ({ key, path: `/v/${key}`, walkPath: `/v/${key}`, plugin: 'host-path', ...extra });
const tick = () => new Promise((r) => setTimeout(r, 5));

function scheduler(pool: ManualPool, extra: Partial<ConstructorParameters<typeof VolumeScheduler>[0]> = {}): VolumeScheduler {
  return new VolumeScheduler({ pool: pool as unknown as WalkPool, logger, intervalMs: 60_000, jitter: 0.1, walkTimeoutMs: 1000, maxEntries: 10, concurrency: 2, random: () => 0, ...extra });
}

describe('VolumeScheduler', () => {
  it('walks at most `concurrency` volumes at once, passing the budgets, and keeps the last good result', async () => {
    const pool = new ManualPool();
    const s = scheduler(pool);
    s.reconcile([target('a'), target('b'), target('c')]);
    await tick();
    assert.equal(pool.calls.length, 2);
    assert.deepEqual(pool.calls[0]?.options.timeoutMs, 1000);
    assert.deepEqual(pool.calls[0]?.options.maxEntries, 10);
    pool.calls[0]?.resolve({ ok: true, result: result(4096) });
    await tick();
    assert.equal(pool.calls.length, 3, 'the third starts when a slot frees');
    pool.calls[1]?.resolve({ ok: false, reason: 'timeout', message: 'slow' });
    pool.calls[2]?.resolve({ ok: false, reason: 'ENOENT', message: 'gone' });
    await tick();
    const a = s.volumes.get('a');
    assert.equal(a?.result?.blockBytes, 4096);
    assert.ok(a?.succeededAt !== undefined);
    assert.ok((a?.dueAt ?? 0) - Date.now() > 50_000, 'next walk an interval later (minus jitter)');
    assert.deepEqual(s.volumes.get('b')?.failures, { timeout: 1 });
    assert.equal(s.volumes.get('b')?.failure?.reason, 'timeout');
    s.stop();
  });

  it('a failed walk keeps the last good result; a success clears the failure', () => {
    const pool = new ManualPool();
    const s = scheduler(pool, { intervalMs: 1, jitter: 0 });
    s.reconcile([target('a')]);
    return (async () => {
      await tick();
      pool.calls[0]?.resolve({ ok: true, result: result(100) });
      await tick();
      pool.calls[1]?.resolve({ ok: false, reason: 'entry_limit', message: 'big' });
      await tick();
      assert.equal(s.volumes.get('a')?.result?.blockBytes, 100);
      assert.equal(s.volumes.get('a')?.failure?.reason, 'entry_limit');
      pool.calls[2]?.resolve({ ok: true, result: result(200) });
      await tick();
      assert.equal(s.volumes.get('a')?.result?.blockBytes, 200);
      assert.equal(s.volumes.get('a')?.failure, undefined);
      assert.deepEqual(s.volumes.get('a')?.failures, { entry_limit: 1 });
      s.stop();
    })();
  });

  it('forgets a volume at once when it goes away, aborting its walk and dropping the result', async () => {
    const pool = new ManualPool();
    const s = scheduler(pool);
    s.reconcile([target('a')]);
    await tick();
    const call = pool.calls[0];
    s.reconcile([]);
    assert.equal(s.volumes.size, 0);
    assert.equal(call?.options.signal?.aborted, true);
    call?.resolve({ ok: true, result: result(1) });
    await tick();
    assert.equal(s.volumes.size, 0);
    s.stop();
  });

  it('a target whose path changed starts over; one whose labels changed keeps its result', async () => {
    const pool = new ManualPool();
    const s = scheduler(pool);
    s.reconcile([target('a'), target('b')]);
    await tick();
    pool.calls[0]?.resolve({ ok: true, result: result(1) });
    pool.calls[1]?.resolve({ ok: true, result: result(2) });
    await tick();
    s.reconcile([target('a', { claim: 'renamed' }), target('b', { walkPath: '/elsewhere' })]);
    assert.equal(s.volumes.get('a')?.result?.blockBytes, 1);
    assert.equal(s.volumes.get('a')?.target.claim, 'renamed');
    assert.equal(s.volumes.get('b')?.result, undefined);
    s.stop();
  });

  it('firstRound resolves once every volume has been walked once, whatever the outcome', async () => {
    const pool = new ManualPool();
    const s = scheduler(pool, { concurrency: 1, random: () => 0.99 });
    s.reconcile([target('a'), target('b')]);
    let done = false;
    const round = s.firstRound().then(() => (done = true));
    await tick();
    pool.calls[0]?.resolve({ ok: false, reason: 'EACCES', message: 'no' });
    await tick();
    assert.equal(done, false);
    pool.calls[1]?.resolve({ ok: true, result: result(1) });
    await round;
    assert.equal(done, true);
    s.stop();
  });
});

describe('usage', () => {
  const fs = { bsize: 4096, blocks: 1000, bavail: 100, files: 50, ffree: 10 };
  it('capacity from the target, available floored at 0 and capped by the filesystem', () => {
    assert.deepEqual(usage(result(1000, { filesystem: fs }), target('a', { capacityBytes: 5000 }), 'blocks'), { used: 1000, capacity: 5000, available: 4000 });
    assert.deepEqual(usage(result(1000, { filesystem: fs }), target('a', { capacityBytes: 500 }), 'blocks'), { used: 1000, capacity: 500, available: 0 });
    assert.deepEqual(usage(result(1000, { filesystem: fs }), target('a', { capacityBytes: 10 ** 9 }), 'blocks'), { used: 1000, capacity: 10 ** 9, available: 409_600 });
  });
  it('without a quantity the filesystem size is the capacity; apparent mode uses apparent bytes', () => {
    assert.deepEqual(usage(result(1000, { filesystem: fs }), target('a'), 'apparent'), { used: 500, capacity: 4_096_000, available: 409_600 });
  });
});
