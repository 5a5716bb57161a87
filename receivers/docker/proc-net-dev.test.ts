import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import type { SampleProblem } from './container-sample.ts';
import { parseNetDev } from './proc-net-dev.ts';

const HEADER = [
  'Inter-|   Receive                                                |  Transmit',
  ' face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed',
];

void test('parses the receive and transmit counters, loopback left out', () => {
  const text = [
    ...HEADER,
    '    lo: 5341981433  873527    0    0    0     0          0         0 5341981433  873527    0    0    0     0       0          0',
    '  eth0: 971631498   46204    5    6    0     0          0         0  4088457   30043    7    8    0     0       0          0',
    '',
  ].join('\n');
  const problems: SampleProblem[] = [];
  assert.deepEqual(parseNetDev(text, 'dev', problems), [
    {
      interface: 'eth0',
      receiveBytes: 971631498,
      receivePackets: 46204,
      receiveErrors: 5,
      receiveDropped: 6,
      transmitBytes: 4088457,
      transmitPackets: 30043,
      transmitErrors: 7,
      transmitDropped: 8,
    },
  ]);
  assert.deepEqual(problems, []);
});

void test('a name whose colon touches the first number, and long names', () => {
  const text = [...HEADER, 'eth0:123 4 0 0 0 0 0 0 567 8 0 0 0 0 0 0', 'veth1a2b3c4d:1 2 3 4 0 0 0 0 5 6 7 8 0 0 0 0'].join('\n');
  const networks = parseNetDev(text, 'dev', []);
  assert.deepEqual(
    networks.map((n) => [n.interface, n.receiveBytes, n.transmitBytes, n.transmitDropped]),
    [
      ['eth0', 123, 567, 0],
      ['veth1a2b3c4d', 1, 5, 8],
    ],
  );
});

void test('malformed lines are reported and skipped; the others are kept', () => {
  const text = [...HEADER, 'garbage', '  eth0: 1 2 3', '  eth1: 1 2 3 4 0 0 0 0 x 6 7 8 0 0 0 0', '  eth2: 1 2 3 4 0 0 0 0 5 6 7 8 0 0 0 0', ': 1'].join('\n');
  const problems: SampleProblem[] = [];
  assert.deepEqual(
    parseNetDev(text, 'dev', problems).map((n) => n.interface),
    ['eth2'],
  );
  assert.deepEqual(
    problems.map((p) => p.message),
    [
      'line 3 "garbage": expected "<interface>: <counters>"',
      'line 4 "  eth0: 1 2 3": expected 16 counters, found 3',
      'line 5 "  eth1: 1 2 3 4 0 0 0 0 x 6 7 8 0 0 0 0": tx_bytes is not a decimal integer',
      'line 7 ": 1": expected "<interface>: <counters>"',
    ],
  );
  assert.ok(problems.every((p) => p.source === 'dev'));
});

void test("this machine's /proc/self/net/dev parses without problems", { skip: process.platform !== 'linux' }, () => {
  const problems: SampleProblem[] = [];
  const networks = parseNetDev(readFileSync('/proc/self/net/dev', 'utf8'), '/proc/self/net/dev', problems);
  assert.deepEqual(problems, []);
  assert.ok(networks.every((n) => n.interface !== 'lo' && n.interface !== ''));
});
