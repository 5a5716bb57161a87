import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, statfsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { blockedStatfsThreads, StatfsPool, type ProbeOutcome } from './statfs-pool.ts';
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

void test('real statfs of / and of a tmp dir equals fs.statfsSync', async () => {
  const pool = new StatfsPool({ concurrency: 2, maxStuck: 1, timeoutMs: 5000 });
  try {
    for (const path of ['/', dir]) {
      const o = await pool.probe(path);
      expectOk(o);
      const s = statfsSync(path);
      assert.deepEqual(o.stats, { type: s.type, bsize: s.bsize, blocks: s.blocks, bfree: o.stats.bfree, bavail: o.stats.bavail, files: s.files, ffree: o.stats.ffree });
      // Free counts move with other processes' writes; they must be close, not equal.
      assert.ok(Math.abs(o.stats.bfree - s.bfree) < 1 + s.blocks / 1000);
    }
  } finally {
    await pool.shutdown();
  }
});

void test('statfs errors come back as their errno code', async () => {
  const pool = new StatfsPool({ concurrency: 1, maxStuck: 1, timeoutMs: 5000 });
  try {
    const o = await pool.probe(join(dir, 'missing'));
    assert.deepEqual([o.ok, !o.ok && o.reason], [false, 'ENOENT']);
    assert.equal(!o.ok && o.message, `ENOENT: no such file or directory, statfs '${join(dir, 'missing')}'`);
    // A NUL would split the batch's path list: refused up front, the rest of the batch unharmed.
    const [nul, ok] = await pool.probeMany([`${dir}\0x`, dir]);
    assert.deepEqual([nul?.ok, nul?.ok === false && nul.reason, ok?.ok], [false, 'EINVAL', true]);
  } finally {
    await pool.shutdown();
  }
});

void test('a hung statfs times out, is skipped while stuck, others still answer, and it recovers', async () => {
  const stuckEvents: string[] = [];
  const recovered: string[] = [];
  const pool = new StatfsPool({
    concurrency: 1,
    maxStuck: 2,
    timeoutMs: 300,
    workerData: FIFO_WORKER_DATA,
    onStuck: (p) => stuckEvents.push(p),
    onRecovered: (p) => recovered.push(p),
  });
  try {
    pool.warm();
    const hung = hang('hung');
    const t0 = Date.now();
    // Both go through one thread: the healthy probe must not wait behind the hang forever.
    const [h, ok] = await Promise.all([pool.probe(hung), pool.probe(dir)]);
    assert.deepEqual([h.ok, !h.ok && h.reason], [false, 'timeout']);
    expectOk(ok);
    assert.ok(Date.now() - t0 < 2000);
    assert.deepEqual(stuckEvents, [hung]);
    assert.deepEqual([...pool.stuck.keys()], [hung]);
    assert.deepEqual(pool.threads, { active: 1, setAside: 1 });
    assert.ok(blockedStatfsThreads() >= 1);

    // Skipped at once while stuck.
    const t1 = Date.now();
    const again = await pool.probe(hung);
    assert.deepEqual([again.ok, !again.ok && again.reason], [false, 'stuck']);
    assert.ok(Date.now() - t1 < 50);

    assert.equal(releaseHang(hung), true);
    await waitFor(() => recovered.length === 1);
    assert.equal(pool.stuck.size, 0);
    assert.deepEqual(pool.threads, { active: 1, setAside: 0 });
    expectOk(await pool.probe(hung));
  } finally {
    await pool.shutdown();
  }
});

void test('a hung path in the middle of a batch: the paths before and after it answer within about one timeout', async () => {
  const stuckEvents: string[] = [];
  // One thread: the paths after the hang can only be answered by its replacement.
  const pool = new StatfsPool({ concurrency: 1, maxStuck: 1, timeoutMs: 300, workerData: FIFO_WORKER_DATA, onStuck: (p) => stuckEvents.push(p) });
  const hung = hang('middle');
  try {
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
  } finally {
    releaseHang(hung);
    await pool.shutdown();
  }
});

void test('two hangs in one batch each get their own timeout, counted from their own start', async () => {
  const pool = new StatfsPool({ concurrency: 1, maxStuck: 2, timeoutMs: 250, workerData: FIFO_WORKER_DATA });
  const a = hang('own-a');
  const b = hang('own-b');
  try {
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
    expectOk(await pool.probe(dir));
    assert.deepEqual(pool.threads, { active: 1, setAside: 2 });
  } finally {
    releaseHang(a);
    releaseHang(b);
    await pool.shutdown();
  }
});

void test('concurrent probes of one path share one call', async () => {
  const pool = new StatfsPool({ concurrency: 3, maxStuck: 3, timeoutMs: 200, workerData: FIFO_WORKER_DATA });
  try {
    const hung = hang('shared');
    const outcomes = await Promise.all([pool.probe(hung), pool.probe(hung), pool.probe(hung)]);
    assert.deepEqual(outcomes.map((o) => !o.ok && o.reason), ['timeout', 'timeout', 'timeout']);
    assert.equal(pool.threads.setAside, 1);
  } finally {
    releaseHang(join(dir, 'shared'));
    await pool.shutdown();
  }
});

void test('threads never exceed concurrency + maxStuck; when all are blocked, probes fail fast', async () => {
  const pool = new StatfsPool({ concurrency: 1, maxStuck: 1, timeoutMs: 150, workerData: FIFO_WORKER_DATA });
  const a = hang('limit-a');
  const b = hang('limit-b');
  try {
    const [oa, ob] = await Promise.all([pool.probe(a), pool.probe(b)]);
    assert.deepEqual([!oa.ok && oa.reason, !ob.ok && ob.reason], ['timeout', 'timeout']);
    assert.deepEqual(pool.threads, { active: 0, setAside: 2 });
    const t0 = Date.now();
    const oc = await pool.probe(dir);
    assert.deepEqual([oc.ok, !oc.ok && oc.reason], [false, 'stuck_limit']);
    assert.ok(Date.now() - t0 < 50);
    // One answers: its thread rejoins and probing resumes.
    releaseHang(a);
    await waitFor(() => pool.threads.active === 1);
    expectOk(await pool.probe(dir));
  } finally {
    releaseHang(a);
    releaseHang(b);
    await pool.shutdown();
  }
});

void test('an aborted probe that has not started is dropped', async () => {
  const pool = new StatfsPool({ concurrency: 1, maxStuck: 1, timeoutMs: 300, workerData: FIFO_WORKER_DATA });
  const hung = hang('abort');
  try {
    const first = pool.probe(hung);
    const ac = new AbortController();
    const second = pool.probe(dir, ac.signal);
    ac.abort();
    const o = await second;
    assert.deepEqual([o.ok, !o.ok && o.reason], [false, 'aborted']);
    assert.equal((await first).ok, false);
  } finally {
    releaseHang(hung);
    await pool.shutdown();
  }
});

void test('shutdown returns promptly with a thread blocked, is idempotent, and later probes say so', async () => {
  const pool = new StatfsPool({ concurrency: 1, maxStuck: 1, timeoutMs: 100, workerData: FIFO_WORKER_DATA });
  const hung = hang('shutdown');
  assert.equal((await pool.probe(hung)).ok, false);
  const t0 = Date.now();
  await pool.shutdown();
  await pool.shutdown();
  assert.ok(Date.now() - t0 < 1500);
  const o = await pool.probe(dir);
  assert.deepEqual([o.ok, !o.ok && o.reason], [false, 'shutdown']);
  // The blocked thread lingers until its call returns, then exits.
  assert.ok(blockedStatfsThreads() >= 1);
  releaseHang(hung);
  await waitFor(() => blockedStatfsThreads() === 0);
});

void test('a worker module that fails to load fails the probe instead of respawning in a loop', async () => {
  const pool = new StatfsPool({ concurrency: 1, maxStuck: 1, timeoutMs: 1000, workerUrl: new URL('./testdata/missing-worker.ts', import.meta.url) });
  try {
    const o = await pool.probe('/');
    assert.deepEqual([o.ok, !o.ok && o.reason], [false, 'worker_exit']);
  } finally {
    await pool.shutdown();
  }
});
