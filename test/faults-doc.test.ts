// docs/faults.md maps each fault to the test that asserts the agent's behaviour. These checks keep
// that table true: every test file it names exists and holds a test of every title quoted after
// it, and every test of the fault suite (test/integration/faults-*.test.ts) is in the table.
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { describe, it } from 'node:test';

const root = new URL('../', import.meta.url);
const read = (path: string): string => readFileSync(new URL(path, root), 'utf8');

/** `"…"` in the markdown (with `\"` for a quote inside) → the title as written in the test. */
const unescapeMarkdown = (text: string): string => text.replace(/\\(["\\])/g, '$1');

/** Test titles given as plain string literals to test() or it() in a source file, unescaped. */
function testTitles(source: string): string[] {
  const titles: string[] = [];
  for (const match of source.matchAll(/\b(?:test|it)\(\s*(['"])((?:(?!\1)[^\\]|\\.)*)\1/g)) {
    titles.push((match[2] ?? '').replace(/\\(.)/g, '$1'));
  }
  return titles;
}

/** For each table row of docs/faults.md: the file → titles it cites in its last column. */
function citations(doc: string): Array<{ row: string; file: string; titles: string[] }> {
  const found: Array<{ row: string; file: string; titles: string[] }> = [];
  for (const line of doc.split('\n')) {
    if (!line.startsWith('|') || !line.includes('`test/')) continue;
    const cells = line.split(/(?<!\\)\|/).map((c) => c.trim());
    const row = cells[1] ?? line;
    const last = cells.at(-2) ?? '';
    let current: { row: string; file: string; titles: string[] } | undefined;
    for (const match of last.matchAll(/`(test\/[^`]+\.test\.ts)`|"((?:[^"\\]|\\.)*)"/g)) {
      if (match[1] !== undefined) {
        current = { row, file: match[1], titles: [] };
        found.push(current);
      } else {
        assert.ok(current, `${row}: a quoted title before any file in "${last}"`);
        current.titles.push(unescapeMarkdown(match[2] ?? ''));
      }
    }
  }
  return found;
}

describe('docs/faults.md stays true', () => {
  const doc = read('docs/faults.md');
  const cited = citations(doc);

  it('names test files, each with at least one test title', () => {
    assert.ok(cited.length >= 20, `${cited.length} citations found`);
    for (const c of cited) assert.ok(c.titles.length > 0, `${c.row}: ${c.file} without a test title`);
  });

  it('every cited file exists and has a test of every cited title', () => {
    for (const c of cited) {
      assert.ok(existsSync(new URL(c.file, root)), `${c.row}: ${c.file} does not exist`);
      const titles = testTitles(read(c.file));
      for (const title of c.titles) assert.ok(titles.includes(title), `${c.row}: no test "${title}" in ${c.file}`);
    }
  });

  it('every test of the fault suite (test/integration/faults-*.test.ts) is in the table', () => {
    const files = readdirSync(new URL('test/integration/', root)).filter((f) => /^faults-.*\.test\.ts$/.test(f));
    assert.ok(files.length >= 4, `fault suite files: ${files.join(', ')}`);
    for (const name of files) {
      const file = `test/integration/${name}`;
      const documented = cited.filter((c) => c.file === file).flatMap((c) => c.titles);
      for (const title of testTitles(read(file))) assert.ok(documented.includes(title), `"${title}" (${file}) is not in docs/faults.md`);
    }
  });
});
