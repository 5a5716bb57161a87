import assert from 'node:assert/strict';
import { test } from 'node:test';

import { ScrapeSlots } from './scrape-slots.ts';

test('ScrapeSlots runs at most `limit` tasks at once, the rest in order, and frees a slot on failure', async () => {
  const slots = new ScrapeSlots(2);
  let running = 0;
  let most = 0;
  const order: number[] = [];
  const task = (i: number, fail = false) => async (): Promise<number> => {
    running++;
    most = Math.max(most, running);
    await new Promise((resolve) => setTimeout(resolve, 10));
    running--;
    order.push(i);
    if (fail) throw new Error(`task ${i}`);
    return i;
  };
  const results = await Promise.allSettled([0, 1, 2, 3, 4, 5].map((i) => slots.run(task(i, i === 1))));
  assert.equal(most, 2);
  assert.deepEqual(order, [0, 1, 2, 3, 4, 5]);
  assert.equal(results[1]?.status, 'rejected');
  assert.deepEqual(results.filter((r) => r.status === 'fulfilled').map((r) => r.value), [0, 2, 3, 4, 5]);
  // Every slot is free again: `limit` new tasks start at once.
  running = 0;
  most = 0;
  await Promise.all([slots.run(task(6)), slots.run(task(7))]);
  assert.equal(most, 2);
});
