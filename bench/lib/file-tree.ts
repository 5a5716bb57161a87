// Large synthetic directory trees for the hostPath walk benchmark, built by a Python script (one
// process per CPU, plain syscalls) and cached under the OS temp dir, one tree per size, so only
// the first run pays for building. See bench/README.md ("hostpath").
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';

import { run } from '../../test/support/proc.ts';

/** Bump when the layout below changes: cached trees of another version are not reused. */
export const TREE_LAYOUT_VERSION = 1;

export const DEFAULT_TREE_CACHE = join(tmpdir(), 'nodemeter-hostpath-bench-trees');

/** Non-directory entries per leaf directory. */
export const FILES_PER_DIR = 100;

export interface TreeInfo {
  /** The tree's root directory. */
  root: string;
  /** Non-directory entries: regular files, symlinks and second links to files. */
  files: number;
  regularFiles: number;
  emptyFiles: number;
  sparseFiles: number;
  symlinks: number;
  /** Extra names of regular files elsewhere in the tree (each file then has 2 links). */
  hardLinks: number;
  /** Directories, the root included. */
  directories: number;
  leafDirectories: number;
  /** Subdirectories per directory on the two upper levels. */
  fanout: number;
  /** Bytes written into regular files (sparse files: their one written byte). */
  dataBytes: number;
  /** How long the build took, ms (of the run that built it). */
  buildMs: number;
  builtAt: string;
  layoutVersion: number;
  /** True when this run built it, false when a cached tree was reused. */
  built: boolean;
}

/**
 * Layout, all of it derived from the entry index i (0 … files-1), so every build of a size is the
 * same tree:
 * - entry i lives in leaf directory l = i // 100, at `a<l // fanout²>/b<(l // fanout) % fanout>/c<l % fanout>`
 *   (three levels, fanout = ⌈leaves^⅓⌉: 13 for 200 000 files, 22 for 1 000 000);
 * - i % 100 == 99: a relative symlink `l<i>` → `f<i-1>`;
 * - i % 500 == 250: `h<i>`, a hard link to `f<i-101>` in the previous leaf directory (made in a
 *   second pass, after every process has created its files);
 * - otherwise a regular file `f<i>`; with h = (i · 2654435761) mod 2³², by h % 100: < 60 empty,
 *   < 96 1–4 096 bytes, < 99 4 097–65 536 bytes, else sparse (1 MiB apparent, one byte written at
 *   the end).
 */
const BUILDER = String.raw`
import json, multiprocessing, os, sys, time

root = sys.argv[1]
n = int(sys.argv[2])
procs = max(1, int(sys.argv[3]))
PER_DIR = 100
leaves = (n + PER_DIR - 1) // PER_DIR
fan = 1
while fan ** 3 < leaves:
    fan += 1
DATA = memoryview(b'Z' * 65536)

def leaf_dir(l):
    return os.path.join(root, 'a%d' % (l // (fan * fan)), 'b%d' % ((l // fan) % fan), 'c%d' % (l % fan))

def build(span):
    lo, hi = span
    counts = {'regular': 0, 'empty': 0, 'sparse': 0, 'symlinks': 0, 'bytes': 0}
    for l in range(lo, hi):
        d = leaf_dir(l)
        os.makedirs(d, exist_ok=True)
        dfd = os.open(d, os.O_RDONLY | os.O_DIRECTORY)
        try:
            for i in range(l * PER_DIR, min(n, (l + 1) * PER_DIR)):
                if i % PER_DIR == PER_DIR - 1:
                    os.symlink('f%d' % (i - 1), 'l%d' % i, dir_fd=dfd)
                    counts['symlinks'] += 1
                    continue
                if i % 500 == 250:
                    continue
                h = (i * 2654435761) & 0xFFFFFFFF
                r = h % 100
                fd = os.open('f%d' % i, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644, dir_fd=dfd)
                try:
                    if r < 60:
                        counts['empty'] += 1
                    elif r < 96:
                        counts['bytes'] += os.write(fd, DATA[:1 + (h >> 8) % 4096])
                    elif r < 99:
                        counts['bytes'] += os.write(fd, DATA[:4097 + (h >> 8) % 61440])
                    else:
                        counts['bytes'] += os.pwrite(fd, b'z', 1048575)
                        counts['sparse'] += 1
                finally:
                    os.close(fd)
                counts['regular'] += 1
        finally:
            os.close(dfd)
    return counts

started = time.monotonic()
os.makedirs(root)
spans = [(a, min(a + fan * fan, leaves)) for a in range(0, leaves, fan * fan)]
with multiprocessing.get_context('fork').Pool(procs) as p:
    parts = p.map(build, spans, chunksize=1)
total = {k: sum(c[k] for c in parts) for k in parts[0]}
links = 0
for i in range(250, n, 500):
    j = i - 101
    os.link(os.path.join(leaf_dir(j // PER_DIR), 'f%d' % j), os.path.join(leaf_dir(i // PER_DIR), 'h%d' % i))
    links += 1
dirs = 1 + len({l // (fan * fan) for l in range(leaves)}) + len({l // fan for l in range(leaves)}) + leaves
print(json.dumps({
    'files': total['regular'] + total['symlinks'] + links,
    'regularFiles': total['regular'],
    'emptyFiles': total['empty'],
    'sparseFiles': total['sparse'],
    'symlinks': total['symlinks'],
    'hardLinks': links,
    'directories': dirs,
    'leafDirectories': leaves,
    'fanout': fan,
    'dataBytes': total['bytes'],
    'buildMs': round((time.monotonic() - started) * 1000),
}))
`;

/** The system Python when there is one (a pyenv shim adds ~100 ms per start), else PATH's. */
export function python3(): string {
  return existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';
}

function treePaths(cacheDir: string, files: number): { root: string; marker: string } {
  const name = `tree-${files}-v${TREE_LAYOUT_VERSION}`;
  return { root: join(cacheDir, name), marker: join(cacheDir, `${name}.complete`) };
}

/**
 * The tree of `files` entries under `cacheDir`, built unless a complete one is cached. The marker
 * file `<tree>.complete` (beside the tree, so neither tool walks it) holds the build's counts and
 * is written last: a tree without one (an interrupted build) is deleted and built again.
 */
export async function ensureTree(cacheDir: string, files: number, rebuild: boolean, log: (l: string) => void): Promise<TreeInfo> {
  const { root, marker } = treePaths(cacheDir, files);
  mkdirSync(cacheDir, { recursive: true });
  if (!rebuild && existsSync(marker) && existsSync(root)) {
    const info = JSON.parse(readFileSync(marker, 'utf8')) as Omit<TreeInfo, 'built' | 'root'>;
    return { ...info, root, built: false };
  }
  if (existsSync(marker)) await run('rm', ['-f', marker]);
  if (existsSync(root)) {
    log(`removing ${root} (${rebuild ? '--rebuild' : 'incomplete: no marker'})`);
    await run('rm', ['-rf', '--one-file-system', root], { timeoutMs: 600_000 });
  }
  const procs = Math.max(2, cpus().length);
  log(`building ${root}: ${files} files, ${procs} processes…`);
  const res = await run(python3(), ['-c', BUILDER, root, String(files), String(procs)], { timeoutMs: 1_800_000 });
  const counts = JSON.parse(res.stdout) as Omit<TreeInfo, 'built' | 'root' | 'builtAt' | 'layoutVersion'>;
  if (counts.files !== files) throw new Error(`the tree builder made ${counts.files} entries, expected ${files}`);
  // Written back to disk before the marker, so a crash cannot leave a marker for a partial tree.
  await run('sync', ['-f', root], { timeoutMs: 600_000 });
  const info = { ...counts, builtAt: new Date().toISOString(), layoutVersion: TREE_LAYOUT_VERSION };
  writeFileSync(marker, `${JSON.stringify(info, null, 2)}\n`);
  return { ...info, root, built: true };
}
