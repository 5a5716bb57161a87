/**
 * Test trees for the hostPath walker and the GNU du it must agree with.
 *
 * {@link makeTempTree} gives a fresh directory under the OS temp dir (mode 0755, so an
 * unprivileged user can be let in) and a `cleanup()` that removes it with `rm -rf`, which,
 * unlike `fs.rm`, copes with chains deeper than PATH_MAX and with directories chmod 000.
 * The `build*` functions each create one kind of tree at a path that must not exist yet;
 * {@link du} / {@link duTotals} run the real `du -s -x` in its three modes.
 */
import { execFileSync } from 'node:child_process';
import { accessSync, chmodSync, closeSync, constants, linkSync, mkdirSync, openSync, statSync, symlinkSync, truncateSync, writeFileSync, writeSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { run } from './proc.ts';

export type DuMode = 'blocks' | 'apparent' | 'inodes';

/** The walker's three totals, as du computes them. */
export interface DuTotals {
  readonly blockBytes: number;
  readonly apparentBytes: number;
  readonly inodes: number;
}

/** Arguments of `du` for each mode, before the path. */
export const DU_ARGS: Readonly<Record<DuMode, readonly string[]>> = {
  blocks: ['-s', '-x', '-B1'],
  apparent: ['-s', '-x', '-b'],
  inodes: ['-s', '-x', '--inodes'],
};

/** The user the unprivileged tests run as (nobody/nogroup on Debian). */
export const NOBODY = 65534;

/** `setpriv` prefix that runs a command as `uid` (gid the same), no groups, no capabilities. */
export function asUserCommand(uid: number): string[] {
  return ['setpriv', `--reuid=${uid}`, `--regid=${uid}`, '--clear-groups', '--inh-caps=-all', '--'];
}

/** Throws (never skips) naming every command that is not on PATH. */
export function requireCommands(...commands: string[]): void {
  const dirs = (process.env.PATH ?? '').split(delimiter).concat(['/usr/sbin', '/sbin', '/usr/bin', '/bin']);
  const missing = commands.filter(
    (cmd) =>
      !dirs.some((d) => {
        try {
          accessSync(join(d, cmd), constants.X_OK);
          return true;
        } catch {
          return false;
        }
      }),
  );
  if (missing.length > 0) {
    throw new Error(`integration test prerequisites missing: ${missing.map((c) => `command \`${c}\``).join(', ')} (util-linux / coreutils; run \`bash scripts/install-test-deps.sh\` as root)`);
  }
}

/** Parses the first field of du's output: the total. */
export function parseDuTotal(stdout: string, what: string): number {
  const field = stdout.split('\t', 1)[0] ?? '';
  if (!/^\d+$/.test(field)) throw new Error(`${what}: unexpected du output ${JSON.stringify(stdout)}`);
  return Number(field);
}

/**
 * `du -s -x` of `path` in one mode. du exits 1 when it met entries it could not read but still
 * prints the total: that is accepted; anything else (or no total) throws.
 */
export async function du(path: string, mode: DuMode, opts: { asUser?: number } = {}): Promise<number> {
  const args = [...DU_ARGS[mode], '--', path];
  const [cmd, ...argv] = opts.asUser === undefined ? ['du', ...args] : [...asUserCommand(opts.asUser), 'du', ...args];
  const r = await run(cmd as string, argv, { allowFail: true });
  const what = `du ${args.join(' ')}${opts.asUser === undefined ? '' : ` as uid ${opts.asUser}`}`;
  if (r.code !== 0 && r.code !== 1) throw new Error(`${what} exited ${r.code ?? r.signal}: ${r.stderr}`);
  return parseDuTotal(r.stdout, what);
}

/** du's three totals of `path`. */
export async function duTotals(path: string, opts: { asUser?: number } = {}): Promise<DuTotals> {
  const [blockBytes, apparentBytes, inodes] = await Promise.all([du(path, 'blocks', opts), du(path, 'apparent', opts), du(path, 'inodes', opts)]);
  return { blockBytes, apparentBytes, inodes };
}

export interface TempTree {
  readonly path: string;
  /** Removes the tree (idempotent). */
  cleanup(): Promise<void>;
}

/** A fresh directory under os.tmpdir(), chmod 0755. */
export async function makeTempTree(prefix = 'nodemeter-du-'): Promise<TempTree> {
  const path = await mkdtemp(join(tmpdir(), prefix));
  chmodSync(path, 0o755);
  let removed = false;
  return {
    path,
    async cleanup() {
      if (removed) return;
      removed = true;
      await run('rm', ['-rf', '--', path]);
    },
  };
}

/**
 * Throws unless `uid` (with gid `uid` and no other groups) may search every directory from `/`
 * down to `path` included, so a tree built there can be walked by that user.
 */
export function assertTraversableBy(path: string, uid: number): void {
  for (let dir = path; ; dir = dirname(dir)) {
    const s = statSync(dir);
    const bits = s.uid === uid ? (s.mode >> 6) & 7 : s.gid === uid ? (s.mode >> 3) & 7 : s.mode & 7;
    if ((bits & 1) === 0) {
      throw new Error(`${dir} (mode ${(s.mode & 0o7777).toString(8)}, owner ${s.uid}:${s.gid}) cannot be searched by uid ${uid}; the unprivileged walk of ${path} needs it`);
    }
    if (dir === dirname(dir)) return;
  }
}

/** A file of `size` bytes (not zeros, so nothing can be deduplicated or compressed away). */
function writeBytes(path: string | Buffer, size: number): void {
  const chunk = Buffer.alloc(Math.min(size, 1 << 20));
  for (let i = 0; i < chunk.length; i++) chunk[i] = (i * 131 + 7) & 0xff;
  const fd = openSync(path, 'wx');
  try {
    for (let left = size; left > 0; left -= chunk.length) writeSync(fd, chunk, 0, Math.min(left, chunk.length));
  } finally {
    closeSync(fd);
  }
}

/** Regular files of sizes around block boundaries, empty ones and a few MiB, in nested dirs. */
export function buildSizedFiles(dir: string): void {
  const sizes = [0, 1, 100, 511, 512, 513, 4095, 4096, 4097, 65_537, 1_000_000, 3 * 1024 * 1024 + 17];
  mkdirSync(join(dir, 'a', 'b', 'c'), { recursive: true });
  mkdirSync(join(dir, 'empty-dir'));
  sizes.forEach((size, i) => writeBytes(join(dir, ['', 'a', 'a/b', 'a/b/c'][i % 4] as string, `file-${size}`), size));
}

/** A file with 5 links in 4 directories, a pair of links in one directory, an empty file with 2 links, a single-link file. */
export function buildHardLinks(dir: string): void {
  for (const d of ['one', 'two', 'three/deeper', 'four']) mkdirSync(join(dir, d), { recursive: true });
  writeBytes(join(dir, 'one', 'shared'), 200_000);
  linkSync(join(dir, 'one', 'shared'), join(dir, 'one', 'shared-again'));
  linkSync(join(dir, 'one', 'shared'), join(dir, 'two', 'shared'));
  linkSync(join(dir, 'one', 'shared'), join(dir, 'three', 'deeper', 'shared'));
  linkSync(join(dir, 'one', 'shared'), join(dir, 'four', 'shared'));
  writeBytes(join(dir, 'two', 'pair'), 9_000);
  linkSync(join(dir, 'two', 'pair'), join(dir, 'two', 'pair-link'));
  writeBytes(join(dir, 'four', 'single'), 3_000);
  // An empty file with links: counted once as an inode, with no blocks.
  writeFileSync(join(dir, 'three', 'empty'), '');
  linkSync(join(dir, 'three', 'empty'), join(dir, 'four', 'empty'));
}

/** Sparse files: 100 MiB long with a few written blocks, and one with no data at all. */
export function buildSparseFiles(dir: string): void {
  mkdirSync(dir);
  const size = 100 * 1024 * 1024;
  const block = Buffer.alloc(8192, 0x5a);
  const path = join(dir, 'sparse-100m');
  writeFileSync(path, '');
  truncateSync(path, size);
  const fd = openSync(path, 'r+');
  try {
    for (const at of [0, 10 * 1024 * 1024 + 123, 50 * 1024 * 1024, size - block.length]) writeSync(fd, block, 0, block.length, at);
  } finally {
    closeSync(fd);
  }
  writeFileSync(join(dir, 'hole-only'), '');
  truncateSync(join(dir, 'hole-only'), size);
}

/** Symlinks to a file, to a directory inside, to a path outside the tree, and a dangling one. */
export function buildSymlinks(dir: string, outside = tmpdir()): void {
  mkdirSync(join(dir, 'target-dir'), { recursive: true });
  writeBytes(join(dir, 'target-file'), 50_000);
  writeBytes(join(dir, 'target-dir', 'inside'), 70_000);
  symlinkSync('target-file', join(dir, 'to-file'));
  symlinkSync('target-dir', join(dir, 'to-dir'));
  symlinkSync(join(dir, 'target-dir'), join(dir, 'to-dir-absolute'));
  symlinkSync(outside, join(dir, 'to-outside'));
  symlinkSync('no/such/target', join(dir, 'dangling'));
  // A target longer than fits in the inode: the link gets a data block on ext4.
  symlinkSync('x'.repeat(300), join(dir, 'long-target'));
}

const INVALID_UTF8 = Buffer.from([0x66, 0xff, 0xfe, 0x2e]);

function bytesPath(dir: string | Buffer, name: string | Buffer): Buffer {
  return Buffer.concat([Buffer.from(dir), Buffer.from('/'), Buffer.from(name)]);
}

/**
 * Names with a newline, names that are not valid UTF-8 (two that decode to the same string),
 * one with a real U+FFFD, and a directory with an invalid name holding files and a subdirectory
 * (itself holding a file with an invalid name). `manyInOddDir` files more in that directory.
 */
export function buildOddNames(dir: string, manyInOddDir = 0): void {
  mkdirSync(dir);
  writeBytes(join(dir, 'new\nline'), 1_234);
  mkdirSync(join(dir, 'dir\nwith newline'));
  writeBytes(join(dir, 'dir\nwith newline', 'file'), 4_321);
  writeBytes(bytesPath(dir, INVALID_UTF8), 5_000);
  // Both decode to "f\uFFFD": only their bytes tell them apart.
  writeBytes(bytesPath(dir, Buffer.from([0x66, 0xff])), 6_000);
  writeBytes(bytesPath(dir, Buffer.from([0x66, 0xfe])), 7_000);
  writeBytes(join(dir, 'real-\uFFFD-replacement'), 8_000);
  // A UTF-16 surrogate encoded as UTF-8 (CESU-8): not valid UTF-8 either.
  writeBytes(bytesPath(dir, Buffer.from([0x63, 0xed, 0xa0, 0x80])), 8_500);
  const odd = bytesPath(dir, Buffer.from([0x64, 0xc3, 0x28, 0x80]));
  mkdirSync(odd);
  writeBytes(bytesPath(odd, 'plain'), 9_000);
  writeBytes(bytesPath(odd, INVALID_UTF8), 10_000);
  const sub = bytesPath(odd, Buffer.from([0x73, 0xed, 0xa0, 0x80]));
  mkdirSync(sub);
  writeBytes(bytesPath(sub, Buffer.from([0xc0, 0xaf])), 11_000);
  writeBytes(bytesPath(sub, 'ok'), 12_000);
  const payload = Buffer.from('x');
  for (let i = 0; i < manyInOddDir; i++) {
    const fd = openSync(bytesPath(odd, Buffer.concat([Buffer.from(`m${i}-`), Buffer.from([0xff])])), 'wx');
    writeSync(fd, payload, 0, i % 2);
    closeSync(fd);
  }
}

/**
 * A chain of `levels` directories with `nameBytes`-byte names (40 × 200 by default: over 8000
 * bytes, twice PATH_MAX), built by a shell that `cd`s one level at a time, with a file of data
 * at the bottom and one half-way. Returns the byte length of the bottom file's path.
 */
export function buildDeepChain(dir: string, levels = 40, nameBytes = 200): number {
  mkdirSync(dir);
  const script = `set -eu
cd -- "$1"
pad=$(head -c $(($3 - 3)) /dev/zero | tr '\\0' x)
i=1
while [ "$i" -le "$2" ]; do
  name=$(printf '%03d' "$i")$pad
  mkdir -- "$name"
  cd -- "$name"
  if [ "$i" -eq $(($2 / 2)) ]; then head -c 33333 /dev/urandom > middle; fi
  i=$((i + 1))
done
head -c 70000 /dev/urandom > bottom
pwd -P | wc -c`;
  const out = execFileSync('bash', ['-c', script, 'deep-chain', dir, String(levels), String(nameBytes)], { encoding: 'utf8' });
  return Number(out.trim()) - 1 + '/bottom'.length;
}

/** `count` files in one directory, 0 to 63 bytes each (a third empty). */
export function buildManyFiles(dir: string, count: number): void {
  mkdirSync(dir);
  const data = Buffer.alloc(64, 0x61);
  for (let i = 0; i < count; i++) {
    const fd = openSync(join(dir, `f${i}`), 'wx');
    if (i % 3 !== 0) writeSync(fd, data, 0, i % 64);
    closeSync(fd);
  }
}

/**
 * Directories an unprivileged user cannot fully read, in a tree it can otherwise walk:
 * `locked` (000) with files and a subdirectory, `list-only` (0644: names readable, entries not
 * stat-able), `search-only` (0311: entries reachable, names not listable), a file chmod 000.
 */
export function buildUnreadable(dir: string): void {
  mkdirSync(join(dir, 'open', 'sub'), { recursive: true });
  writeBytes(join(dir, 'open', 'a'), 10_000);
  writeBytes(join(dir, 'open', 'sub', 'b'), 20_000);
  mkdirSync(join(dir, 'locked', 'inner'), { recursive: true });
  writeBytes(join(dir, 'locked', 'one'), 30_000);
  writeBytes(join(dir, 'locked', 'inner', 'two'), 40_000);
  mkdirSync(join(dir, 'list-only', 'nested'), { recursive: true });
  writeBytes(join(dir, 'list-only', 'x'), 50_000);
  writeBytes(join(dir, 'list-only', 'nested', 'y'), 60_000);
  mkdirSync(join(dir, 'search-only'));
  writeBytes(join(dir, 'search-only', 'z'), 70_000);
  writeBytes(join(dir, 'secret'), 80_000);
  chmodSync(dir, 0o755);
  chmodSync(join(dir, 'locked'), 0o000);
  chmodSync(join(dir, 'list-only'), 0o644);
  chmodSync(join(dir, 'search-only'), 0o311);
  chmodSync(join(dir, 'secret'), 0o000);
}

/** Every feature above in one tree, plus 5,000 files in one directory. */
export function buildCombined(dir: string): void {
  mkdirSync(dir);
  buildSizedFiles(join(dir, 'sized'));
  buildHardLinks(join(dir, 'hardlinks'));
  buildSparseFiles(join(dir, 'sparse'));
  buildSymlinks(join(dir, 'symlinks'));
  buildOddNames(join(dir, 'odd-names'), 3_000);
  buildDeepChain(join(dir, 'deep'), 24, 250);
  buildManyFiles(join(dir, 'many'), 5_000);
  // Hard links between the feature subtrees, so they may land in different threads.
  linkSync(join(dir, 'sized', 'a', 'b', 'file-1000000'), join(dir, 'many', 'link-to-sized'));
  linkSync(join(dir, 'hardlinks', 'one', 'shared'), join(dir, 'symlinks', 'target-dir', 'shared'));
}
