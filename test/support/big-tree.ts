/**
 * A directory tree of a million entries or so, built fast for the hostpath tests: `directories`
 * directories directly under the root, each holding `filesPerDirectory` empty regular files.
 *
 * A Python script does it with plain syscalls, relative to directory descriptors (`mkdir`, then
 * `mknod` of an empty file: one syscall per entry, no open/close), in `processes` forked
 * builders that split the directories between them. Run it through a namespace's `prefix` to
 * build on a tmpfs mounted there: 1,000,000 entries take about 2 s on a tmpfs of the 2-core test
 * machine, while the same on its ext4 root took from 4.5 s to over 150 s (slowest right after a
 * tree of that size had been deleted there), and a tmpfs is removed by unmounting it (about 1 s)
 * instead of a million unlinks.
 */
import { run } from './proc.ts';

export interface BigTreeOptions {
  readonly directories: number;
  readonly filesPerDirectory: number;
  /** Builder processes; default 2. */
  readonly processes?: number;
  /** Command prefix the builder runs behind, e.g. a mount namespace's `prefix`. */
  readonly prefix?: readonly string[];
  /** Kill the build and reject after this long; default 180 s. */
  readonly timeoutMs?: number;
}

export interface BigTree {
  /** The tree's root directory (made by the build; it must not exist before). */
  readonly path: string;
  readonly directories: number;
  readonly files: number;
  /** Directories + files, the root not included. */
  readonly entries: number;
  /** Inodes `du --inodes -s -x` counts: the entries and the root. */
  readonly inodes: number;
  /** Wall time of the build, ms. */
  readonly buildMs: number;
}

// Each builder sets PR_SET_PDEATHSIG (1) to SIGKILL (9): a test that dies takes its builders along.
const BUILDER = String.raw`
import ctypes, os, stat, sys

root = sys.argv[1]
directories, files, processes = int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
os.mkdir(root, 0o755)
root_fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY)
names = ['f%d' % f for f in range(files)]
mode = stat.S_IFREG | 0o644

def build(k):
    for d in range(k, directories, processes):
        name = 'd%d' % d
        os.mkdir(name, 0o755, dir_fd=root_fd)
        fd = os.open(name, os.O_RDONLY | os.O_DIRECTORY, dir_fd=root_fd)
        try:
            for n in names:
                os.mknod(n, mode, dir_fd=fd)
        finally:
            os.close(fd)

pids = []
for k in range(processes):
    pid = os.fork()
    if pid == 0:
        code = 0
        try:
            ctypes.CDLL(None, use_errno=True).prctl(1, 9, 0, 0, 0)
            build(k)
        except BaseException as e:
            print('builder %d: %r' % (k, e), file=sys.stderr)
            code = 1
        sys.stderr.flush()
        os._exit(code)
    pids.append(pid)
failed = [pid for pid in pids if os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]) != 0]
sys.exit(1 if failed else 0)
`;

/** Builds the tree at `path` (which must not exist; its parent must); rejects if any builder failed. */
export async function buildBigTree(path: string, options: BigTreeOptions): Promise<BigTree> {
  const { directories, filesPerDirectory } = options;
  const processes = Math.max(1, options.processes ?? 2);
  const [command, ...prefixArgs] = [...(options.prefix ?? []), 'python3'];
  const started = performance.now();
  await run(command, [...prefixArgs, '-c', BUILDER, path, String(directories), String(filesPerDirectory), String(processes)], {
    timeoutMs: options.timeoutMs ?? 180_000,
  });
  const files = directories * filesPerDirectory;
  return { path, directories, files, entries: directories + files, inodes: directories + files + 1, buildMs: performance.now() - started };
}
