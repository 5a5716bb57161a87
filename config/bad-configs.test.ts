import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { test } from 'node:test';
import { ConfigValidationError, type ConfigIssue } from './issues.ts';
import { loadConfig } from './load.ts';
import { fakeRegistry } from './testdata/fake-factories.ts';

// Each testdata/bad/<case>.yaml has a <case>.expect.json: the exact list of issues it must
// produce, in reading order, each with its path, a message fragment and its position.

interface Expected {
  readonly path: string;
  readonly messageIncludes: string;
  readonly line?: number;
  readonly column?: number;
}

interface Expectation {
  readonly env?: Record<string, string>;
  readonly issues: readonly Expected[];
}

const dir = new URL('./testdata/bad/', import.meta.url);
const cases = readdirSync(dir)
  .filter((f) => f.endsWith('.yaml'))
  .sort();

function loadBad(file: string, env: Record<string, string>): ConfigValidationError {
  const text = readFileSync(new URL(file, dir), 'utf8');
  try {
    loadConfig({ text, source: file, registry: fakeRegistry(), env });
  } catch (err) {
    assert.ok(err instanceof ConfigValidationError, `expected a ConfigValidationError, got ${String(err)}`);
    return err;
  }
  assert.fail(`${file} loaded without errors`);
}

void test('the corpus holds at least 22 bad configs, each with expectations', () => {
  assert.ok(cases.length >= 22, `only ${cases.length} cases`);
  const expects = readdirSync(dir).filter((f) => f.endsWith('.expect.json'));
  assert.equal(expects.length, cases.length);
});

for (const file of cases) {
  void test(`bad config ${file}`, () => {
    const expectation = JSON.parse(readFileSync(new URL(file.replace(/\.yaml$/, '.expect.json'), dir), 'utf8')) as Expectation;
    const err = loadBad(file, expectation.env ?? {});
    assert.equal(err.code, 'NM_CONFIG_INVALID');
    assert.equal(err.retryable, false);
    const summary = err.issues.map((i: ConfigIssue) => `${i.line ?? '-'}:${i.column ?? '-'} ${i.path}: ${i.message}`).join('\n');
    assert.equal(err.issues.length, expectation.issues.length, `issues were:\n${summary}`);
    expectation.issues.forEach((want, n) => {
      const got = err.issues[n];
      assert.ok(got, `issue ${n} missing; issues were:\n${summary}`);
      assert.equal(got.path, want.path, `issue ${n} path; issues were:\n${summary}`);
      assert.ok(got.message.includes(want.messageIncludes), `issue ${n}: "${got.message}" lacks "${want.messageIncludes}"`);
      assert.equal(got.line, want.line, `issue ${n} line; issues were:\n${summary}`);
      assert.equal(got.column, want.column, `issue ${n} column; issues were:\n${summary}`);
    });
    // The message is the issues, one per line, each `<source>:<line>:<col>: <path>: <message>`.
    const lines = err.message.split('\n');
    assert.equal(lines.length, err.issues.length);
    err.issues.forEach((i, n) => {
      const where = i.line === undefined ? file : `${file}:${i.line}:${i.column}`;
      assert.equal(lines[n], i.path ? `${where}: ${i.path}: ${i.message}` : `${where}: ${i.message}`);
    });
  });
}
