import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import type { SampleProblem } from './container-sample.ts';
import { parseNetDev } from './proc-net-dev.ts';
import { isWord, parseBlkioServiceBytes, parseFlatKeyed, parseIoStat, parseSingleValue, parseUint, splitFields } from './cgroup-files.ts';

void test('parseUint accepts plain decimal digits only', () => {
  assert.equal(parseUint('0'), 0);
  assert.equal(parseUint('007'), 7);
  assert.equal(parseUint('123456789012'), 123456789012);
  for (const bad of ['', ' 1', '1 ', '-1', '+1', '1.5', '1e3', '0x10', '12a', 'max', '1_000', '١٢']) assert.equal(parseUint(bad), undefined, JSON.stringify(bad));
  assert.equal(parseUint('1'.repeat(21)), undefined, 'longer than any u64');
});

void test('parseUint: exact up to 2^53, correctly rounded beyond (documented precision loss)', () => {
  assert.equal(parseUint('9007199254740991'), Number.MAX_SAFE_INTEGER);
  assert.equal(parseUint('18446744073709551615'), 2 ** 64);
  assert.equal(parseUint('9223372036854771712'), 9223372036854771712);
  fc.assert(fc.property(fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }), (n) => parseUint(n.toString()) === Number(n)));
});

void test('splitFields splits on runs of spaces and tabs', () => {
  assert.deepEqual(splitFields('  eth0: 1   2\t3 '), ['eth0:', '1', '2', '3']);
  assert.deepEqual(splitFields(''), []);
  assert.deepEqual(splitFields('   '), []);
});

void test('parseSingleValue: one number and a newline; empty and junk are problems', () => {
  const problems: SampleProblem[] = [];
  assert.equal(parseSingleValue('42\n', 'f', problems), 42);
  assert.equal(parseSingleValue('42', 'f', problems), 42, 'no newline');
  assert.equal(parseSingleValue('', 'f', problems), undefined);
  assert.equal(parseSingleValue('\n', 'f', problems), undefined);
  assert.equal(parseSingleValue('42\n43\n', 'f', problems), undefined);
  assert.deepEqual(problems, [
    { source: 'f', message: 'file is empty' },
    { source: 'f', message: 'file is empty' },
    { source: 'f', message: 'line 1 "42\\n43": not a decimal integer' },
  ]);
  assert.ok(isWord('max\n', 'max') && isWord('max', 'max') && !isWord('max 1\n', 'max'));
});

void test('parseFlatKeyed: exact keys, line-numbered problems, optional keys', () => {
  const problems: SampleProblem[] = [];
  const text = 'file_mapped 1\nfile 2\nanon\ninactive_file x\nanon_thp 5\n';
  assert.deepEqual(parseFlatKeyed(text, 'm', ['file', 'anon', 'inactive_file', 'absent', 'optional'], problems, (k) => k === 'optional'), [2, undefined, undefined, undefined, undefined]);
  assert.deepEqual(problems, [
    { source: 'm', message: 'line 3 "anon": expected "<key> <decimal integer>"' },
    { source: 'm', message: 'line 4 "inactive_file x": expected "<key> <decimal integer>"' },
    { source: 'm', message: 'no "absent" line' },
  ]);
});

void test('v1 blkio: Read and Write summed per device, other operations and Total ignored', () => {
  const problems: SampleProblem[] = [];
  const text = '8:0 Read 10\n8:0 Write 20\n8:0 Sync 30\n8:0 Async 0\n8:0 Discard 0\n8:0 Total 30\n8:0 Read 1\n259:3 Write 7\nTotal 38\n';
  assert.deepEqual(parseBlkioServiceBytes(text, 'b', problems), [
    { major: 8, minor: 0, readBytes: 11, writeBytes: 20 },
    { major: 259, minor: 3, readBytes: 0, writeBytes: 7 },
  ]);
  assert.deepEqual(parseBlkioServiceBytes('Total 0\n', 'b', problems), []);
  assert.deepEqual(parseBlkioServiceBytes('', 'b', problems), []);
  assert.deepEqual(problems, []);
  assert.deepEqual(parseBlkioServiceBytes('sda Read 1\n8:x Read 1\n', 'b', problems), []);
  assert.equal(problems.length, 2);
});

void test('v2 io.stat: rbytes and wbytes per device; other keys (iocost, iolatency) ignored', () => {
  const problems: SampleProblem[] = [];
  const text = '8:16 rbytes=1 wbytes=2 rios=3 wios=4 dbytes=0 dios=0 cost.vrate=100.00 cost.usage=9\n8:0 rbytes=5 wbytes=6 rios=1 wios=1\n';
  assert.deepEqual(parseIoStat(text, 'io', problems), [
    { major: 8, minor: 16, readBytes: 1, writeBytes: 2 },
    { major: 8, minor: 0, readBytes: 5, writeBytes: 6 },
  ]);
  assert.deepEqual(problems, []);
  assert.deepEqual(parseIoStat('8:0 wbytes=1\nrbytes=1 wbytes=1\n', 'io', problems), []);
  assert.equal(problems.length, 2);
});

void test('no parser throws, whatever the text (blank, whitespace-only, binary lines)', () => {
  const text = fc.oneof(fc.string(), fc.array(fc.constantFrom('8:0', 'Read', 'Total', ' ', '\t', '\n', 'rbytes=', '1', ':', 'x', 'eth0:'), { maxLength: 40 }).map((a) => a.join('')));
  fc.assert(
    fc.property(text, (t) => {
      const problems: SampleProblem[] = [];
      parseBlkioServiceBytes(t, 'f', problems);
      parseIoStat(t, 'f', problems);
      parseFlatKeyed(t, 'f', ['user', 'system'], problems);
      parseSingleValue(t, 'f', problems);
      parseNetDev(t, 'f', problems);
    }),
  );
  assert.deepEqual(parseBlkioServiceBytes('  \n8:0 Read 1\n\t\n', 'f', []), [{ major: 8, minor: 0, readBytes: 1, writeBytes: 0 }]);
  assert.deepEqual(parseIoStat(' \n8:0 rbytes=1 wbytes=2\n', 'f', []), [{ major: 8, minor: 0, readBytes: 1, writeBytes: 2 }]);
});
