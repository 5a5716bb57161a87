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

test('callers arriving while a production runs share it; one after it ended starts another', async () => {
  const c = new PullCoalescer<string>();
  const m = manual();
  const a = c.run(new AbortController().signal, m.produce);
  const b = c.run(new AbortController().signal, m.produce);
  await tick();
  assert.equal(m.calls(), 1);
  assert.equal(c.producing, true);
  m.finish('one');
  assert.deepEqual(await Promise.all([a, b]), ['one', 'one']);
  assert.equal(c.producing, false);
  const later = c.run(new AbortController().signal, m.produce);
  await tick();
  assert.equal(m.calls(), 2);
  m.finish('two');
  assert.equal(await later, 'two');
});

test('a failure reaches every caller sharing it, and the next caller starts afresh', async () => {
  const c = new PullCoalescer<string>();
  const m = manual();
  const a = c.run(new AbortController().signal, m.produce);
  const b = c.run(new AbortController().signal, m.produce);
  await tick();
  m.fail(new Error('collection failed'));
  await assert.rejects(a, /collection failed/);
  await assert.rejects(b, /collection failed/);
  const next = c.run(new AbortController().signal, m.produce);
  await tick();
  assert.equal(m.calls(), 2);
  m.finish('ok');
  assert.equal(await next, 'ok');
});

test('the production is aborted only when every caller has gone, and then a new caller does not join it', async () => {
  const c = new PullCoalescer<string>();
  const m = manual();
  const goneA = new AbortController();
  const goneB = new AbortController();
  const a = c.run(goneA.signal, m.produce);
  const b = c.run(goneB.signal, m.produce);
  await tick();
  goneA.abort();
  assert.equal(m.signals[0]!.aborted, false, 'one caller left, the other still waits');
  goneB.abort();
  assert.equal(m.signals[0]!.aborted, true, 'the last caller left');
  assert.equal(c.producing, false);
  const fresh = c.run(new AbortController().signal, m.produce);
  await tick();
  assert.equal(m.calls(), 2, 'a caller after everyone left starts a new production');
  m.finish('aborted anyway');
  m.finish('fresh');
  assert.equal(await a, 'aborted anyway');
  assert.equal(await b, 'aborted anyway');
  assert.equal(await fresh, 'fresh');
});

test('a caller whose signal is already aborted does not keep the production alive', async () => {
  const c = new PullCoalescer<string>();
  const m = manual();
  const gone = new AbortController();
  gone.abort();
  const a = c.run(gone.signal, m.produce);
  await tick();
  assert.equal(m.signals[0]!.aborted, true);
  m.finish('x');
  assert.equal(await a, 'x');
});
