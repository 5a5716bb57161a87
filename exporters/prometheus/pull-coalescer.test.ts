import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PullCoalescer } from './pull-coalescer.ts';

/** A production the test finishes by hand, recording the signal it was given. */
function manual(): { produce: (signal: AbortSignal) => Promise<string>; finish: (value: string) => void; fail: (err: Error) => void; signals: AbortSignal[]; calls: () => number } {
  const signals: AbortSignal[] = [];
  const pending: Array<{ resolve: (v: string) => void; reject: (e: Error) => void }> = [];
  return {
    produce: (signal) =>
      new Promise<string>((resolve, reject) => {
        signals.push(signal);
        pending.push({ resolve, reject });
      }),
    finish: (value) => pending.shift()?.resolve(value),
    fail: (err) => pending.shift()?.reject(err),
    signals,
    calls: () => signals.length,
  };
}

const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** A coalescer with one caller per signal already waiting on a manual production. */
async function callersOf(...gone: AbortSignal[]): Promise<{ c: PullCoalescer<string>; m: ReturnType<typeof manual>; results: Array<Promise<string>> }> {
  const c = new PullCoalescer<string>();
  const m = manual();
  const results = gone.map((signal) => c.run(signal, m.produce));
  await tick();
  return { c, m, results };
}

const staying = (): AbortSignal => new AbortController().signal;

/** After the first production ended, a new caller starts a second one, which answers it. */
async function assertStartsAfresh(c: PullCoalescer<string>, m: ReturnType<typeof manual>, value: string): Promise<void> {
  const next = c.run(staying(), m.produce);
  await tick();
  assert.equal(m.calls(), 2);
  m.finish(value);
  assert.equal(await next, value);
}

test('callers arriving while a production runs share it; one after it ended starts another', async () => {
  const { c, m, results } = await callersOf(staying(), staying());
  assert.equal(m.calls(), 1);
  assert.equal(c.producing, true);
  m.finish('one');
  assert.deepEqual(await Promise.all(results), ['one', 'one']);
  assert.equal(c.producing, false);
  await assertStartsAfresh(c, m, 'two');
});

test('a failure reaches every caller sharing it, and the next caller starts afresh', async () => {
  const { c, m, results } = await callersOf(staying(), staying());
  m.fail(new Error('collection failed'));
  for (const result of results) await assert.rejects(result, /collection failed/);
  await assertStartsAfresh(c, m, 'ok');
});

test('the production is aborted only when every caller has gone, and then a new caller does not join it', async () => {
  const goneA = new AbortController();
  const goneB = new AbortController();
  const { c, m, results } = await callersOf(goneA.signal, goneB.signal);
  goneA.abort();
  assert.equal(m.signals[0]!.aborted, false, 'one caller left, the other still waits');
  goneB.abort();
  assert.equal(m.signals[0]!.aborted, true, 'the last caller left');
  assert.equal(c.producing, false);
  const fresh = c.run(staying(), m.produce);
  await tick();
  assert.equal(m.calls(), 2, 'a caller after everyone left starts a new production');
  m.finish('aborted anyway');
  m.finish('fresh');
  assert.deepEqual(await Promise.all(results), ['aborted anyway', 'aborted anyway']);
  assert.equal(await fresh, 'fresh');
});

test('a caller whose signal is already aborted does not keep the production alive', async () => {
  const { m, results } = await callersOf(AbortSignal.abort());
  assert.equal(m.signals[0]!.aborted, true);
  m.finish('x');
  assert.deepEqual(await Promise.all(results), ['x']);
});
