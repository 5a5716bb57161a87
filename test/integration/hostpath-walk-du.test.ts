// The hostPath walker (receivers/hostpath/walk-pool.ts) against the real GNU du: on every kind of
// tree (varied sizes, hard links, sparse files, symlinks, odd names, a chain past PATH_MAX,
// 100,000 files in one directory, all of them at once) its blockBytes, apparentBytes and inodes
// must equal `du -s -x -B1`, `du -s -x -b` and `du -s -x --inodes` exactly; also across a nested
// mount (in a private mount namespace) and as an unprivileged user that cannot read everything.
// Plus the failure outcomes (budgets, bad roots), deletions during a walk and parallel walks.
// All of it twice: with the native scanner (native/walkdir.c, built by `npm ci`; its absence
// fails here) and with the node-fs one the agent falls back to without a C compiler.
import assert from 'node:assert/strict';
import { linkSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it, type TestContext } from 'node:test';
import type { ScannerKind } from '../../receivers/hostpath/native-scanner.ts';
import { WalkPool, type WalkOutcome, type WalkResult } from '../../receivers/hostpath/walk-pool.ts';
import {
  asUserCommand,
  assertTraversableBy,
  buildCombined,
  buildDeepChain,
  buildHardLinks,
  buildManyFiles,
  buildOddNames,
  buildSizedFiles,
  buildSparseFiles,
  buildSymlinks,
  buildUnreadable,
  DU_ARGS,
  du,
  duTotals,
  makeTempTree,
  NOBODY,
  parseDuTotal,
  requireCommands,
  type DuTotals,
  type TempTree,
} from '../support/du-tree.ts';
import { requirePrereqs } from '../support/prereqs.ts';
import { run } from '../support/proc.ts';

const WALK_CLI = fileURLToPath(new URL('../../receivers/hostpath/testdata/walk-cli.ts', import.meta.url));
const UNLIMITED = { timeoutMs: 0, maxEntries: 0 };
const MANY = 100_000;

function totalsOf(r: WalkResult): DuTotals {
  return { blockBytes: r.blockBytes, apparentBytes: r.apparentBytes, inodes: r.inodes };
}

function expectOk(outcome: WalkOutcome, root: string): WalkResult {
  if (!outcome.ok) assert.fail(`walk of ${root} failed: ${outcome.reason}: ${outcome.message}`);
  return outcome.result;
}

function parseOutcome(line: string | undefined, what: string): WalkOutcome {
  assert.ok(line, `${what}: walk-cli printed nothing`);
  return JSON.parse(line) as WalkOutcome;
}

for (const scanner of ['native', 'node-fs'] as const satisfies readonly ScannerKind[]) describeWalker(scanner);

function describeWalker(scanner: ScannerKind): void {
  describe(`hostPath walker totals equal GNU du (${scanner} scanner)`, () => {
    let pool: WalkPool;
    let tree: TempTree | undefined;
    let root: string;
    let many: string;
    let deepBytes = 0;

    /** Title, directory, builder, and the inode count the builder makes (so a builder that made less fails). */
    const features: ReadonlyArray<readonly [string, string, (dir: string) => void, number]> = [
      ['regular files of varied sizes', 'sized', buildSizedFiles, 5 + 12],
      ['hard links (5 links in 4 directories, pairs, an empty linked file)', 'hardlinks', buildHardLinks, 6 + 4],
      ['sparse files (100 MiB with a few written blocks)', 'sparse', buildSparseFiles, 1 + 2],
      ['symlinks to a file, a directory inside, a path outside, and a dangling one', 'symlinks', (d) => buildSymlinks(d), 2 + 2 + 6],
      ['names with a newline and names that are not valid UTF-8', 'odd-names', (d) => buildOddNames(d), 4 + 11],
    ];

    before(() => {
      requirePrereqs('root', 'mountns');
      requireCommands('du', 'setpriv', 'bash', 'head', 'cut', 'rm');
    });

    // Every tree is built up front, so each test stands alone (and the parallel one has them all).
    before(async () => {
      pool = new WalkPool({ threads: 2, scanner });
      assert.equal(pool.scanner.kind, scanner, pool.scanner.reason);
      tree = await makeTempTree();
      root = tree.path;
      for (const [, name, build] of features) build(join(root, name));
      deepBytes = buildDeepChain(join(root, 'deep'), 40, 200);
      many = join(root, 'many');
      buildManyFiles(many, MANY);
      buildCombined(join(root, 'combined'));
    });

    after(async () => {
      await pool?.shutdown();
      await tree?.cleanup();
    });

    /** Walks `dir` and runs du on it; asserts the three totals are equal (and reports them) and returns the walk. */
    async function assertEqualsDu(t: TestContext, dir: string, what: string, p: WalkPool = pool): Promise<WalkResult> {
      const [outcome, expected] = await Promise.all([p.walk(dir, UNLIMITED), duTotals(dir)]);
      const result = expectOk(outcome, dir);
      assert.deepEqual(totalsOf(result), expected, `${what}: walker totals vs du`);
      t.diagnostic(`${what}: du = walker = ${JSON.stringify(expected)}, skipped ${JSON.stringify(result.skipped)}`);
      return result;
    }

    for (const [title, name, , inodes] of features) {
      it(title, async (t) => {
        const dir = join(root, name);
        const result = await assertEqualsDu(t, dir, title);
        assert.equal(result.inodes, inodes, 'inodes the builder made');
        assert.equal(result.skippedTotal, 0, `nothing skipped: ${JSON.stringify(result.skipped)}`);
        assert.equal(result.mountPoints, 0);
        assert.equal(result.isDirectory, true);
        if (name === 'sparse') assert.ok(result.blockBytes * 100 < result.apparentBytes, `sparse: ${result.blockBytes} allocated of ${result.apparentBytes}`);
      });
    }

    it('a directory chain whose paths exceed PATH_MAX is measured, not skipped', async (t) => {
      const dir = join(root, 'deep');
      assert.ok(deepBytes > 8000, `the deepest file's path is ${deepBytes} bytes`);
      const result = await assertEqualsDu(t, dir, 'deep chain');
      assert.equal(result.skippedTotal, 0, `nothing skipped: ${JSON.stringify(result.skipped)}`);
      // 41 directories and 2 files: all of it reached.
      assert.equal(result.inodes, 43);
      assert.ok(result.apparentBytes > 70_000 + 33_333);
    });

    it('100,000 files in one directory: equal to du, and the same with 1 thread as with 2', async (t) => {
      const two = await assertEqualsDu(t, many, '100k files, 2 threads');
      assert.equal(two.inodes, MANY + 1);
      const single = new WalkPool({ threads: 1, scanner });
      try {
        const one = await assertEqualsDu(t, many, '100k files, 1 thread', single);
        const { durationMs: _d1, filesystem: _f1, ...oneRest } = one;
        const { durationMs: _d2, filesystem: _f2, ...twoRest } = two;
        assert.deepEqual(oneRest, twoRest);
      } finally {
        await single.shutdown();
      }
    });

    it('one tree with every feature at once (and hard links between its parts)', async (t) => {
      const dir = join(root, 'combined');
      const result = await assertEqualsDu(t, dir, 'combined tree');
      assert.equal(result.skippedTotal, 0, `nothing skipped: ${JSON.stringify(result.skipped)}`);
      // Again, to catch totals that depend on how the work happened to be split between threads.
      await assertEqualsDu(t, dir, 'combined tree, second walk');
      // And through the public lstatSync the node-fs scanner falls back to when Node's fs binding does not prove itself.
      const portable = new WalkPool({ threads: 2, scanner: 'node-fs', portableStat: true });
      try {
        await assertEqualsDu(t, dir, 'combined tree, portable lstat', portable);
        await assertEqualsDu(t, join(root, 'deep'), 'deep chain, portable lstat', portable);
      } finally {
        await portable.shutdown();
      }
    });

    it('a file hard-linked from another volume is counted by each volume, as du counts it on each alone', async (t) => {
      const a = join(root, 'volumes', 'a');
      const b = join(root, 'volumes', 'b');
      mkdirSync(join(a, 'data'), { recursive: true });
      mkdirSync(join(b, 'data'), { recursive: true });
      writeFileSync(join(a, 'data', 'shared'), Buffer.alloc(300_000, 1));
      linkSync(join(a, 'data', 'shared'), join(b, 'data', 'shared-from-a'));
      writeFileSync(join(a, 'own'), Buffer.alloc(10_000, 2));
      writeFileSync(join(b, 'own'), Buffer.alloc(20_000, 3));
      // Walked in parallel on one pool: deduplication is per walk, never across walks.
      const [ra, rb] = await Promise.all([assertEqualsDu(t, a, 'volume A'), assertEqualsDu(t, b, 'volume B')]);
      // du over both at once counts the shared inode once: each volume's own total has it.
      const both = await run('du', [...DU_ARGS.blocks, '-c', '--', a, b]);
      const lines = both.stdout.trim().split('\n');
      const combined = parseDuTotal(lines[lines.length - 1] ?? '', 'du -c over both volumes');
      assert.equal(ra.blockBytes + rb.blockBytes - combined, await du(join(a, 'data', 'shared'), 'blocks'));
    });

    it('several walks in parallel on one pool each equal their own du', async (t) => {
      const dirs = ['sized', 'hardlinks', 'sparse', 'symlinks', 'odd-names', 'deep', 'many', 'combined'].map((d) => join(root, d));
      const [outcomes, expected] = await Promise.all([Promise.all(dirs.map((d) => pool.walk(d, UNLIMITED))), Promise.all(dirs.map((d) => duTotals(d)))]);
      dirs.forEach((d, i) => assert.deepEqual(totalsOf(expectOk(outcomes[i] as WalkOutcome, d)), expected[i], `parallel walk of ${d}`));
      t.diagnostic(`${dirs.length} parallel walks each equal to their du: ${expected.map((e) => e.inodes).join(', ')} inodes`);
    });

    describe('budgets and roots', () => {
      it('an entry budget of 1,000 on the 100,000-file directory ends in entry_limit', async () => {
        const outcome = await pool.walk(many, { timeoutMs: 0, maxEntries: 1000 });
        assert.equal(outcome.ok, false);
        assert.equal(!outcome.ok && outcome.reason, 'entry_limit');
      });

      it('a 1 ms time budget on a large tree ends in timeout, and the pool walks on afterwards', async (t) => {
        const outcome = await pool.walk(root, { timeoutMs: 1, maxEntries: 0 });
        assert.equal(outcome.ok, false);
        assert.equal(!outcome.ok && outcome.reason, 'timeout');
        await assertEqualsDu(t, join(root, 'sized'), 'walk after a timeout');
      });

      it('a root that does not exist is ENOENT', async () => {
        const outcome = await pool.walk(join(root, 'no-such-volume'), UNLIMITED);
        assert.equal(!outcome.ok && outcome.reason, 'ENOENT');
      });

      it('a root that is a symlink is ELOOP (never followed), also written with a trailing "/" or "/."', async () => {
        for (const suffix of ['', '/', '//', '/.', '/./']) {
          const link = join(root, 'symlinks', 'to-dir') + suffix;
          const outcome = await pool.walk(link, UNLIMITED);
          assert.equal(!outcome.ok && outcome.reason, 'ELOOP', `${link}: ${JSON.stringify(outcome)}`);
        }
        // The same suffixes on a real directory still walk it.
        const dir = join(root, 'symlinks', 'target-dir');
        const expected = await duTotals(dir);
        for (const suffix of ['/', '/.']) assert.deepEqual(totalsOf(expectOk(await pool.walk(dir + suffix, UNLIMITED), dir + suffix)), expected);
      });

      it('a root that is a regular file gives its own size, isDirectory false', async (t) => {
        const file = join(root, 'sized', 'a', 'b', 'file-1000000');
        const result = await assertEqualsDu(t, file, 'regular-file root');
        assert.equal(result.isDirectory, false);
        assert.equal(result.inodes, 1);
        assert.equal(result.apparentBytes, 1_000_000);
      });
    });

    it('files and directories deleted during the walk are not fatal; totals stay within the tree’s bounds', async (t) => {
      const dir = join(root, 'churn');
      mkdirSync(dir);
      const files: string[] = [];
      for (let d = 0; d < 20; d++) {
        buildManyFiles(join(dir, `d${d}`), 1000);
        for (let i = 0; i < 1000; i++) files.push(join(dir, `d${d}`, `f${i}`));
      }
      // A fixed shuffle, so a failure can be replayed.
      let seed = 12345;
      for (let i = files.length - 1; i > 0; i--) {
        seed = (seed * 1103515245 + 12345) & 0x7fffffff;
        const j = seed % (i + 1);
        [files[i], files[j]] = [files[j] as string, files[i] as string];
      }
      const upper = await duTotals(dir);
      let walking = true;
      let deleted = 0;
      // The walk runs in the pool's threads; this thread deletes in batches of 50 between turns
      // of the event loop (which is how it learns that the walk has ended).
      const deleter = async (): Promise<void> => {
        let removedDirs = 0;
        while (walking && deleted < files.length) {
          for (const end = Math.min(deleted + 50, files.length); deleted < end; deleted++) {
            rmSync(files[deleted] as string, { force: true });
          }
          // And whole directories now and then, under a thread that may be listing them.
          if (deleted % 1500 === 0 && removedDirs < 4) rmSync(join(dir, `d${[3, 11, 17, 5][removedDirs++]}`), { recursive: true, force: true });
          await new Promise((resolve) => setImmediate(resolve));
        }
      };
      const walk = pool.walk(dir, UNLIMITED);
      const deleting = deleter();
      const outcome = await walk;
      walking = false;
      const deletedDuring = deleted;
      await deleting;
      const lower = await duTotals(dir);
      const result = expectOk(outcome, dir);
      t.diagnostic(`deleted ${deletedDuring} files during the ${Math.round(result.durationMs)} ms walk; skipped ${JSON.stringify(result.skipped)}`);
      assert.ok(deletedDuring > 0, 'files were deleted while the walk ran');
      for (const key of ['blockBytes', 'apparentBytes', 'inodes'] as const) {
        assert.ok(lower[key] <= result[key] && result[key] <= upper[key], `${key}: ${lower[key]} ≤ ${result[key]} ≤ ${upper[key]}`);
      }
      for (const code of Object.keys(result.skipped)) assert.equal(code, 'ENOENT', `only vanished entries are skipped: ${JSON.stringify(result.skipped)}`);
    });

    it('a nested mount is not crossed (like du -x) and is counted as a mount point', async (t) => {
      const dir = join(root, 'with-mount');
      mkdirSync(join(dir, 'mnt'), { recursive: true });
      mkdirSync(join(dir, 'beside'));
      writeFileSync(join(dir, 'beside', 'file'), Buffer.alloc(40_000, 4));
      // Hidden under the mount once it is made: neither du -x nor the walker may see it.
      writeFileSync(join(dir, 'mnt', 'under-the-mount'), Buffer.alloc(50_000, 5));
      const script = `set -euo pipefail
  dir=$1
  mount -t tmpfs -o size=16m nodemeter-walk-du "$dir/mnt"
  head -c 300000 /dev/urandom > "$dir/mnt/inside"
  mkdir "$dir/mnt/sub"
  head -c 5000 /dev/urandom > "$dir/mnt/sub/deeper"
  b=$(du ${DU_ARGS.blocks.join(' ')} -- "$dir" | cut -f1)
  a=$(du ${DU_ARGS.apparent.join(' ')} -- "$dir" | cut -f1)
  i=$(du ${DU_ARGS.inodes.join(' ')} -- "$dir" | cut -f1)
  crossing=$(du -s -B1 -- "$dir" | cut -f1)
  printf '{"blockBytes":%s,"apparentBytes":%s,"inodes":%s}\\n{"crossing":%s}\\n' "$b" "$a" "$i" "$crossing"
  "$2" "$3" "$dir" "$4"`;
      const r = await run('unshare', ['-m', '--propagation', 'private', 'bash', '-c', script, 'walk-du-mount', dir, process.execPath, WALK_CLI, scanner]);
      const [duLine, crossingLine, walkLine] = r.stdout.trim().split('\n');
      const expected = JSON.parse(duLine ?? '') as DuTotals;
      const { crossing } = JSON.parse(crossingLine ?? '') as { crossing: number };
      const result = expectOk(parseOutcome(walkLine, 'walk in the namespace'), dir);
      assert.deepEqual(totalsOf(result), expected, 'walker totals vs du -x in the namespace');
      t.diagnostic(`in the namespace: du -x = walker = ${JSON.stringify(expected)}, mountPoints ${result.mountPoints}; du without -x: ${crossing} bytes`);
      assert.equal(result.mountPoints, 1);
      assert.equal(result.skippedTotal, 0);
      // The mount did hold data: du without -x counts it.
      assert.ok(crossing >= expected.blockBytes + 300_000, `du without -x (${crossing}) counts the tmpfs's data`);
      // Outside the namespace there is no mount: the hidden file is there again.
      const host = await assertEqualsDu(t, dir, 'the same tree without the mount');
      assert.equal(host.mountPoints, 0);
      // Without the mount, mnt and the file under it are two more inodes.
      assert.equal(host.inodes, expected.inodes + 2);
    });

    it('as an unprivileged user, unreadable directories are skipped as EACCES and the totals equal du’s', async (t) => {
      const userTree = await makeTempTree('nodemeter-du-nobody-');
      try {
        assertTraversableBy(userTree.path, NOBODY);
        const dir = join(userTree.path, 'tree');
        mkdirSync(dir);
        buildUnreadable(dir);
        const [cmd, ...prefix] = asUserCommand(NOBODY);
        const [expected, walked, duErrors, asRoot] = await Promise.all([
          duTotals(dir, { asUser: NOBODY }),
          run(cmd as string, [...prefix, process.execPath, WALK_CLI, dir, scanner]),
          run(cmd as string, [...prefix, 'du', ...DU_ARGS.inodes, '--', dir], { allowFail: true, env: { ...process.env, LC_ALL: 'C' } }),
          duTotals(dir),
        ]);
        const result = expectOk(parseOutcome(walked.stdout.trim(), 'walk as nobody'), dir);
        assert.deepEqual(totalsOf(result), expected, 'walker totals vs du, both as uid 65534');
        t.diagnostic(`as uid ${NOBODY}: du = walker = ${JSON.stringify(expected)}, skipped ${JSON.stringify(result.skipped)}`);
        assert.ok((result.skipped.EACCES ?? 0) >= 1, `EACCES skipped: ${JSON.stringify(result.skipped)}`);
        // Each entry du complained about is one the walker skipped.
        assert.equal(duErrors.code, 1, 'du met unreadable entries');
        const complaints = duErrors.stderr.split('\n').filter((l) => l.includes('Permission denied'));
        assert.equal(result.skippedTotal, complaints.length, `du's complaints:\n${complaints.join('\n')}\nwalker skipped ${JSON.stringify(result.skipped)}`);
        // Root reads everything: more than nobody does.
        assert.ok(asRoot.inodes > expected.inodes && asRoot.blockBytes > expected.blockBytes);
        await assertEqualsDu(t, dir, 'the same tree as root');
      } finally {
        await userTree.cleanup();
      }
    });
  });
}
