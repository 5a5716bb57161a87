import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, statfsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { exitBlockers } from '../../pipeline/exit-blockers.ts';
import { StatfsPool, type ProbeOutcome, type StatfsPoolOptions } from './statfs-pool.ts';
import { FIFO_WORKER_DATA, makeHang, releaseHang } from './testdata/hang.ts';

const dir = mkdtempSync(join(tmpdir(), 'nodemeter-statfs-'));
const hangs: string[] = [];
function hang(name: string): string {
  const path = join(dir, name);
  makeHang(path);
  hangs.push(path);
  return path;
}
after(() => {
  // Unblock every thread, or this test process could never exit.
  for (const p of hangs) releaseHang(p);
  rmSync(dir, { recursive: true, force: true });
});

/** A pool whose statfs blocks on the FIFOs hang() makes; afterwards every hang is released and the pool shut down. */
async function withPool(opts: StatfsPoolOptions, body: (pool: StatfsPool) => Promise<void>): Promise<void> {
  const pool = new StatfsPool({ workerData: FIFO_WORKER_DATA, ...opts });
  try {
    await body(pool);
  } finally {
    for (const p of hangs) releaseHang(p);
    await pool.shutdown();
  }
}

/** One path, as its own probeMany() call. */
async function probe(pool: StatfsPool, path: string, signal?: AbortSignal): Promise<ProbeOutcome> {
  const [outcome] = await pool.probeMany([path], signal);
  assert.ok(outcome);
  return outcome;
}

function expectOk(o: ProbeOutcome): asserts o is Extract<ProbeOutcome, { ok: true }> {
  assert.ok(o.ok, `expected success, got ${JSON.stringify(o)}`);
}

const waitFor = async (cond: () => boolean, ms = 3000): Promise<void> => {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
};

void test('real statfs of / and of a tmp dir equals fs.statfsSync', () =>
  withPool({ concurrency: 2, maxStuck: 1, timeoutMs: 5000, workerData: undefined }, async (pool) => {
    for (const path of ['/', dir]) {
      const o = await probe(pool, path);
      expectOk(o);
      const s = statfsSync(path);
      assert.deepEqual(o.stats, { type: s.type, bsize: s.bsize, blocks: s.blocks, bfree: o.stats.bfree, bavail: o.stats.bavail, files: s.files, ffree: o.stats.ffree });
      // Free counts move with other processes' writes; they must be close, not equal.
      assert.ok(Math.abs(o.stats.bfree - s.bfree) < 1 + s.blocks / 1000);
    }
  }));

void test('statfs errors come back as their errno code', () =>
  withPool({ concurrency: 1, maxStuck: 1, timeoutMs: 5000, workerData: undefined }, async (pool) => {
    const o = await probe(pool, join(dir, 'missing'));
    assert.deepEqual([o.ok, !o.ok && o.reason], [false, 'ENOENT']);
    assert.equal(!o.ok && o.message, `ENOENT: no such file or directory, statfs '${join(dir, 'missing')}'`);
    // A NUL would split the batch's path list: refused up front, the rest of the batch unharmed.
    const [nul, ok] = await pool.probeMany([`${dir}\0x`, dir]);
    assert.deepEqual([nul?.ok, nul?.ok === false && nul.reason, ok?.ok], [false, 'EINVAL', true]);
  }));

void test('a hung statfs times out, is skipped while stuck, others still answer, and it recovers', async () => {
  const stuckEvents: string[] = [];
  const recovered: string[] = [];
  const opts = { concurrency: 1, maxStuck: 2, timeoutMs: 300, onStuck: (p: string) => stuckEvents.push(p), onRecovered: (p: string) => recovered.push(p) };
  await withPool(opts, async (pool) => {
    pool.warm();
    const hung = hang('hung');
    const t0 = Date.now();
    // Both go through one thread: the healthy probe must not wait behind the hang forever.
    const [h, ok] = await Promise.all([probe(pool, hung), probe(pool, dir)]);
    assert.deepEqual([h.ok, !h.ok && h.reason], [false, 'timeout']);
    expectOk(ok);
    assert.ok(Date.now() - t0 < 2000);
    assert.deepEqual(stuckEvents, [hung]);
    assert.deepEqual([...pool.stuck.keys()], [hung]);
    assert.deepEqual(pool.threads, { active: 1, setAside: 1 });
    assert.ok(exitBlockers() >= 1);

    // Skipped at once while stuck.
    const t1 = Date.now();
    const again = await probe(pool, hung);
    assert.deepEqual([again.ok, !again.ok && again.reason], [false, 'stuck']);
    assert.ok(Date.now() - t1 < 50);

    assert.equal(releaseHang(hung), true);
    await waitFor(() => recovered.length === 1);
    assert.equal(pool.stuck.size, 0);
    assert.deepEqual(pool.threads, { active: 1, setAside: 0 });
    expectOk(await probe(pool, hung));
  });
});

void test('a hung path in the middle of a batch: the paths before and after it answer within about one timeout', async () => {
  const stuckEvents: string[] = [];
  // One thread: the paths after the hang can only be answered by its replacement.
  await withPool({ concurrency: 1, maxStuck: 1, timeoutMs: 300, onStuck: (p) => stuckEvents.push(p) }, async (pool) => {
    const hung = hang('middle');
    pool.warm();
    const [b1, b2, a1, a2] = ['b1', 'b2', 'a1', 'a2'].map((name) => join(dir, name));
    for (const d of [b1, b2, a1, a2]) mkdirSync(d as string);
    const before = [b1, b2, join(dir, 'missing-before')] as string[];
    const after = [a1, a2, join(dir, 'missing-after')] as string[];
    const t0 = Date.now();
    const outcomes = await pool.probeMany([...before, hung, ...after]);
    const took = Date.now() - t0;
    assert.ok(took >= 290 && took < 1300, `took ${took} ms`);
    assert.deepEqual(
      outcomes.map((o) => (o.ok ? 'ok' : o.reason)),
      ['ok', 'ok', 'ENOENT', 'timeout', 'ok', 'ok', 'ENOENT'],
    );
    assert.deepEqual(stuckEvents, [hung]);
    assert.deepEqual(pool.threads, { active: 1, setAside: 1 });
    const again = await pool.probeMany([dir, hung]);
    assert.deepEqual(again.map((o) => (o.ok ? 'ok' : o.reason)), ['ok', 'stuck']);
  });
});

void test('two hangs in one batch each get their own timeout, counted from their own start', () =>
  withPool({ concurrency: 1, maxStuck: 2, timeoutMs: 250 }, async (pool) => {
    const a = hang('own-a');
    const b = hang('own-b');
    pool.warm();
    const t0 = Date.now();
    const outcomes = await pool.probeMany([a, dir, b]);
    const took = Date.now() - t0;
    // b starts only once a's replacement thread is up, so the batch takes two timeouts, not one.
    assert.ok(took >= 490 && took < 2000, `took ${took} ms`);
    assert.deepEqual(outcomes.map((o) => (o.ok ? 'ok' : o.reason)), ['timeout', 'ok', 'timeout']);
    assert.deepEqual([...pool.stuck.keys()].sort(), [a, b].sort());
    // Nothing was left to claim, so no replacement yet; the next probe starts one (the third thread).
    assert.deepEqual(pool.threads, { active: 0, setAside: 2 });
    expectOk(await probe(pool, dir));
    assert.deepEqual(pool.threads, { active: 1, setAside: 2 });
  }));

void test('concurrent probes of one path share one call', () =>
  withPool({ concurrency: 3, maxStuck: 3, timeoutMs: 200 }, async (pool) => {
    const hung = hang('shared');
    const outcomes = await Promise.all([probe(pool, hung), probe(pool, hung), probe(pool, hung)]);
    assert.deepEqual(outcomes.map((o) => !o.ok && o.reason), ['timeout', 'timeout', 'timeout']);
    assert.equal(pool.threads.setAside, 1);
  }));

void test('threads never exceed concurrency + maxStuck; when all are blocked, probes fail fast', () =>
  withPool({ concurrency: 1, maxStuck: 1, timeoutMs: 150 }, async (pool) => {
    const a = hang('limit-a');
    const b = hang('limit-b');
    const [oa, ob] = await Promise.all([probe(pool, a), probe(pool, b)]);
    assert.deepEqual([!oa.ok && oa.reason, !ob.ok && ob.reason], ['timeout', 'timeout']);
    assert.deepEqual(pool.threads, { active: 0, setAside: 2 });
    const t0 = Date.now();
    const oc = await probe(pool, dir);
    assert.deepEqual([oc.ok, !oc.ok && oc.reason], [false, 'stuck_limit']);
    assert.ok(Date.now() - t0 < 50);
    // One answers: its thread rejoins and probing resumes.
    releaseHang(a);
    await waitFor(() => pool.threads.active === 1);
    expectOk(await probe(pool, dir));
  }));

void test('an aborted probe that has not started is dropped', () =>
  withPool({ concurrency: 1, maxStuck: 1, timeoutMs: 300 }, async (pool) => {
    const hung = hang('abort');
    const first = probe(pool, hung);
    const ac = new AbortController();
    const second = probe(pool, dir, ac.signal);
    ac.abort();
    const o = await second;
    assert.deepEqual([o.ok, !o.ok && o.reason], [false, 'aborted']);
    assert.equal((await first).ok, false);
  }));

void test('shutdown returns promptly with a thread blocked, is idempotent, and later probes say so', () =>
  withPool({ concurrency: 1, maxStuck: 1, timeoutMs: 100 }, async (pool) => {
    const hung = hang('shutdown');
    assert.equal((await probe(pool, hung)).ok, false);
    const t0 = Date.now();
    await pool.shutdown();
    await pool.shutdown();
    assert.ok(Date.now() - t0 < 1500);
    const o = await probe(pool, dir);
    assert.deepEqual([o.ok, !o.ok && o.reason], [false, 'shutdown']);
    // The blocked thread lingers (and blocks the process's exit) until its call returns, then exits.
    assert.ok(exitBlockers() >= 1);
    releaseHang(hung);
    await waitFor(() => exitBlockers() === 0);
  }));

void test('a worker module that fails to load fails the probe instead of respawning in a loop', () =>
  withPool({ concurrency: 1, maxStuck: 1, timeoutMs: 1000, workerUrl: new URL('./testdata/missing-worker.ts', import.meta.url) }, async (pool) => {
    const o = await probe(pool, '/');
    assert.deepEqual([o.ok, !o.ok && o.reason], [false, 'worker_exit']);
  }));
