import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { describe, it } from 'node:test';
import pino from 'pino';
import { ChangeLogger } from './error-log.ts';

function capture() {
  const lines: Array<{ level: number; msg: string; errors?: string[] }> = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(JSON.parse(chunk.toString()) as { level: number; msg: string });
      done();
    },
  });
  return { lines, logger: pino({ level: 'debug' }, stream) };
}

describe('ChangeLogger', () => {
  it('warns when the set of errors changes, and repeats only at debug', async () => {
    const { lines, logger } = capture();
    const log = new ChangeLogger(logger);
    log.report([new Error('/mnt/a: stuck')], 'scrape');
    log.report([new Error('/mnt/a: stuck')], 'scrape');
    log.report([new Error('/mnt/a: stuck'), new Error('/mnt/b: EIO')], 'scrape');
    log.report([], 'scrape');
    log.report([], 'scrape');
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(
      lines.map((l) => [l.level, l.msg]),
      [
        [40, 'scrape: 1 error(s)'],
        [20, 'scrape: same 1 error(s) as before'],
        [40, 'scrape: 2 error(s)'],
        [30, 'scrape: errors cleared'],
      ],
    );
    assert.deepEqual(lines[2]?.errors, ['/mnt/a: stuck', '/mnt/b: EIO']);
  });
});
