// Directory-walk worker thread (protocol: walk-protocol.ts). Plain JavaScript on purpose: a .ts
// worker loads Node's type stripper into every thread, about 11 MB each.
// Sync fs calls block this thread only; async ones would queue on libuv's four shared pool
// threads and stall every other file operation of the agent for the length of a walk.
import { closeSync, constants, lstatSync, openSync, readdirSync, statfsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { constants as osConstants } from 'node:os';
import { dirname } from 'node:path';
import { parentPort, workerData } from 'node:worker_threads';

const port = parentPort;
if (!port) throw new Error('walk-worker.js must run as a worker thread');

// Repeated from walk-protocol.ts (a .js worker cannot import .ts).
const ABORT = 0;
const ENTRIES = 1;
const ABORT_ENTRY_LIMIT = 2;
const POOL_IDLE = 0;
/** Entries of one directory handed out at a time while another thread is idle. */
const SHARE_CHUNK = 2048;
/** Above this many path bytes a directory is reopened through /proc/self/fd: PATH_MAX is 4096. */
const LONG_PATH_BYTES = 3072;

// Positions in a stat field array (Node's own layout of its stat buffer; see fastLstat()).
const DEV = 0;
const MODE = 1;
const NLINK = 2;
const INO = 7;
const SIZE = 8;
const BLOCKS = 9;

const S_IFMT = 0o170000;
const S_IFDIR = 0o040000;
const STAT_OPTIONS = { throwIfNoEntry: false };
const BUFFER_NAMES = { encoding: /** @type {const} */ ('buffer') };
const SLASH = Buffer.from('/');
const REPLACEMENT = '\uFFFD';
const DIR_FLAGS = constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW;

/** @type {Int32Array} */
const pool = new Int32Array(/** @type {SharedArrayBuffer} */ (workerData.pool));

/**
 * @typedef {string | Buffer} WalkPath
 * @typedef {import('./walk-protocol.ts').WalkTask} WalkTask
 */

/**
 * lstat returning stat fields (DEV, MODE, … above) valid until the next call, undefined for ENOENT;
 * throws for other errors. Node's public lstatSync spends about 320 ns per call building a Stats
 * object, half its user time and a quarter of a walk's CPU; its fs binding hands back the raw
 * field array. The binding is internal, so it is used only after it proves to agree with
 * lstatSync on this very runtime (the field layout, ENOENT, errors); otherwise lstatSync it is.
 * @returns {(path: WalkPath) => ArrayLike<number> | undefined}
 */
function chooseLstat() {
  const fields = new Float64Array(10);
  /** @param {WalkPath} path */
  const portable = (path) => {
    const s = lstatSync(path, STAT_OPTIONS);
    if (s === undefined) return undefined;
    fields[DEV] = s.dev;
    fields[MODE] = s.mode;
    fields[NLINK] = s.nlink;
    fields[INO] = s.ino;
    fields[SIZE] = s.size;
    fields[BLOCKS] = s.blocks;
    return fields;
  };
  // Test seam: the portable path, so tests prove both agree.
  if (workerData?.portableStat === true) return portable;
  try {
    const binding = /** @type {{ lstat?: Function }} */ (process.binding('fs'));
    const raw = binding.lstat;
    if (typeof raw !== 'function') return portable;
    /** @param {WalkPath} path */
    const fast = (path) => /** @type {Float64Array | undefined} */ (raw.call(binding, path, false, undefined, false));
    const here = new URL(import.meta.url).pathname;
    for (const probe of [here, dirname(here), Buffer.from(here)]) {
      const a = fast(probe);
      const b = lstatSync(probe);
      if (!a || [DEV, MODE, NLINK, INO, SIZE, BLOCKS].some((i, k) => a[i] !== [b.dev, b.mode, b.nlink, b.ino, b.size, b.blocks][k])) return portable;
    }
    if (fast(`${here}.absent`) !== undefined) return portable;
    try {
      fast(`${here}/not-a-directory`);
      return portable;
    } catch (err) {
      if (codeOf(err) !== 'ENOTDIR') return portable;
    }
    return fast;
  } catch {
    return portable;
  }
}

const lstatFields = chooseLstat();

/**
 * The native scanner (native/walkdir.c) when the pool found it built: one call per directory,
 * getdents64 and fstatat relative to the directory's descriptor, like du.
 * @type {{ scan: (path: WalkPath, dev: number, control: Int32Array, maxEntries: number, pool: Int32Array | null, handBackAbove: number, follow: boolean, out: Float64Array, links: number[], errors: number[]) => WalkPath[] } | undefined}
 */
const native = typeof workerData?.nativePath === 'string' ? createRequire(import.meta.url)(workerData.nativePath) : undefined;
// scan()'s out fields and statuses (walkdir.c).
const OUT_STATUS = 0;
const OUT_OPEN_ERRNO = 1;
const OUT_BLOCKS = 2;
const OUT_BYTES = 3;
const OUT_INODES = 4;
const OUT_MOUNTS = 5;
const SCAN_ABORTED = 1;
const SCAN_HANDED_BACK = 2;
const scanOut = new Float64Array(8);
/** @type {number[]} */
const scanLinks = [];
/** @type {number[]} */
const scanErrors = [];
/** errno number → code, for the skipped-entry counts. */
const ERRNO_CODES = new Map(Object.entries(osConstants.errno).map(([code, n]) => [n, code]));

/** Errno code of a failed fs call, for the skipped-entry counts. */
function codeOf(/** @type {unknown} */ err) {
  const code = /** @type {{ code?: unknown }} */ (err)?.code;
  return typeof code === 'string' ? code : 'EIO';
}

/** Task paths arrive as Uint8Array (structured clone drops Buffer); fs wants Buffer. */
function asPath(/** @type {string | Uint8Array} */ p) {
  return typeof p === 'string' ? p : Buffer.from(p.buffer, p.byteOffset, p.byteLength);
}

function join(/** @type {WalkPath} */ dir, /** @type {WalkPath} */ name) {
  if (typeof dir === 'string' && typeof name === 'string') return dir + '/' + name;
  return Buffer.concat([typeof dir === 'string' ? Buffer.from(dir) : dir, SLASH, typeof name === 'string' ? Buffer.from(name) : name]);
}

function byteLength(/** @type {WalkPath} */ p) {
  // A UTF-16 length under a third of the limit cannot reach it in UTF-8.
  if (typeof p === 'string') return p.length * 3 < LONG_PATH_BYTES ? 0 : Buffer.byteLength(p);
  return p.length;
}

/** One task's totals and its hard-linked inodes, sent back when the task ends. */
class Tally {
  blocks = 0;
  bytes = 0;
  inodes = 0;
  mounts = 0;
  /** @type {Record<string, number>} */
  skipped = {};
  /** ino → index into `links` (triples ino, blocks, bytes) of inodes with more than one link. */
  /** @type {Map<number, number>} */
  seen = new Map();
  /** @type {number[]} */
  links = [];

  /** Counts entries left out of the totals (vanished or unreadable), by errno code. */
  countSkipped(/** @type {string} */ reason, n = 1) {
    this.skipped[reason] = (this.skipped[reason] ?? 0) + n;
  }

  /** Counts a non-directory with more than one link once per inode. */
  countLink(/** @type {number} */ ino, /** @type {number} */ blocks, /** @type {number} */ bytes) {
    if (this.seen.has(ino)) return;
    this.seen.set(ino, this.links.length);
    this.links.push(ino, blocks, bytes);
    this.blocks += blocks;
    this.bytes += bytes;
    this.inodes++;
  }

  /** Counts one entry; false for a second link to an inode already counted. */
  count(/** @type {ArrayLike<number>} */ s) {
    if (s[NLINK] > 1 && (s[MODE] & S_IFMT) !== S_IFDIR) {
      const ino = s[INO];
      if (this.seen.has(ino)) return false;
      this.seen.set(ino, this.links.length);
      this.links.push(ino, s[BLOCKS], s[SIZE]);
    }
    this.blocks += s[BLOCKS];
    this.bytes += s[SIZE];
    this.inodes++;
    return true;
  }
}

/** Walks one task; returns whether it stopped early because the job was aborted. */
class Walk {
  /** @type {Int32Array} */ control;
  /** @type {number} */ dev;
  /** @type {number} */ maxEntries;
  tally = new Tally();
  aborted = false;

  constructor(/** @type {Int32Array} */ control, /** @type {number} */ dev, /** @type {number} */ maxEntries) {
    this.control = control;
    this.dev = dev;
    this.maxEntries = maxEntries;
  }

  stopped() {
    if (this.aborted) return true;
    if (Atomics.load(this.control, ABORT) !== 0) this.aborted = true;
    return this.aborted;
  }

  /** Adds to the job's entry count; over the budget the whole job is aborted. */
  spend(/** @type {number} */ n) {
    if (this.maxEntries > 0 && Atomics.add(this.control, ENTRIES, n) + n > this.maxEntries) {
      Atomics.compareExchange(this.control, ABORT, 0, ABORT_ENTRY_LIMIT);
      this.aborted = true;
    }
  }

  /** Hands part of the work to an idle thread through the coordinator. */
  share(/** @type {number} */ jobId, /** @type {unknown} */ task) {
    Atomics.sub(pool, POOL_IDLE, 1);
    port?.postMessage({ type: 'share', jobId, dev: this.dev, task });
  }

  /** Reads a directory's names; undefined (and counted) when it cannot be read. */
  names(/** @type {WalkPath} */ dir) {
    try {
      if (typeof dir !== 'string') return readdirSync(dir, BUFFER_NAMES);
      const names = readdirSync(dir);
      // Names that are not valid UTF-8 decode lossily and could not be stat-ed back: read this
      // directory again as bytes so they are measured, not skipped.
      for (let i = 0; i < names.length; i++) if (names[i].includes(REPLACEMENT)) return readdirSync(dir, BUFFER_NAMES);
      return names;
    } catch (err) {
      this.tally.countSkipped(codeOf(err));
      return undefined;
    }
  }

  /**
   * Stats `names` in `dir`, counting each; directories on this filesystem are pushed on `stack`.
   * A negative `jobId` means nothing may be shared (paths built on a descriptor of this thread).
   * @param {WalkPath} dir
   * @param {ReadonlyArray<WalkPath>} names
   * @param {WalkPath[]} stack
   * @param {number} jobId
   */
  entries(dir, names, stack, jobId) {
    let from = 0;
    let to = names.length;
    // A huge directory is split while another thread has nothing to do.
    while (jobId >= 0 && to - from > SHARE_CHUNK && Atomics.load(pool, POOL_IDLE) > 0) {
      const half = from + Math.max(SHARE_CHUNK, (to - from) >> 1);
      this.share(jobId, { kind: 'entries', dir, names: names.slice(half, to) });
      to = half;
    }
    const long = byteLength(dir) > LONG_PATH_BYTES;
    const tally = this.tally;
    for (let i = from; i < to; i++) {
      if ((i & 1023) === 1023 && this.stopped()) return;
      const path = join(dir, names[i]);
      let s;
      try {
        s = lstatFields(path);
      } catch (err) {
        tally.countSkipped(codeOf(err));
        continue;
      }
      if (s === undefined) {
        tally.countSkipped('ENOENT');
        continue;
      }
      // Like `du -x`: another filesystem's mount point is neither counted nor entered.
      if (s[DEV] !== this.dev) {
        tally.mounts++;
        continue;
      }
      if (!tally.count(s)) continue;
      if ((s[MODE] & S_IFMT) !== S_IFDIR) continue;
      if (long) this.deep(path, jobId);
      else stack.push(path);
    }
  }

  /**
   * A directory whose path nears PATH_MAX: opened (never following a symlink) and walked
   * through /proc/self/fd/<fd>, so its subtree is measured at any depth. Walked here, never
   * shared, because the descriptor must outlive every path built on it.
   * @param {WalkPath} path
   * @param {number} jobId
   */
  deep(path, jobId) {
    let fd;
    try {
      fd = openSync(path, DIR_FLAGS);
    } catch (err) {
      this.tally.countSkipped(codeOf(err));
      return;
    }
    try {
      /** @type {WalkPath[]} */
      const stack = [];
      this.directory(`/proc/self/fd/${fd}`, stack, -1, true);
      this.drain(stack, jobId, false);
    } finally {
      closeSync(fd);
    }
  }

  /**
   * Depth-first over `stack`, sharing its oldest (largest) directories while a thread is idle.
   * @param {WalkPath[]} stack
   * @param {number} jobId
   * @param {boolean} shareable
   */
  drain(stack, jobId, shareable) {
    while (stack.length > 0) {
      if (this.stopped()) return;
      if (shareable && stack.length > 1 && Atomics.load(pool, POOL_IDLE) > 0) {
        this.share(jobId, { kind: 'dirs', dirs: stack.splice(0, stack.length >> 1) });
      }
      this.directory(/** @type {WalkPath} */ (stack.pop()), stack, shareable ? jobId : -1, false);
    }
  }

  /**
   * Counts one directory's entries and pushes its subdirectories on `stack`. `follow` opens a
   * /proc/self/fd/N root, a symlink by nature; every other directory is opened with O_NOFOLLOW
   * by the native scanner.
   * @param {WalkPath} dir
   * @param {WalkPath[]} stack
   * @param {number} jobId
   * @param {boolean} follow
   */
  directory(dir, stack, jobId, follow) {
    if (native === undefined) {
      const names = this.names(dir);
      if (names === undefined || names.length === 0) return;
      this.spend(names.length);
      if (this.aborted) return;
      this.entries(dir, names, stack, jobId);
      return;
    }
    const tally = this.tally;
    const names = native.scan(dir, this.dev, this.control, this.maxEntries, jobId >= 0 ? pool : null, 2 * SHARE_CHUNK, follow, scanOut, scanLinks, scanErrors);
    if (scanOut[OUT_OPEN_ERRNO] !== 0) {
      tally.countSkipped(ERRNO_CODES.get(scanOut[OUT_OPEN_ERRNO]) ?? 'EIO');
      return;
    }
    for (let i = 0; i < scanErrors.length; i += 2) {
      tally.countSkipped(ERRNO_CODES.get(scanErrors[i]) ?? 'EIO', scanErrors[i + 1]);
    }
    for (let i = 0; i < scanLinks.length; i += 3) tally.countLink(scanLinks[i], scanLinks[i + 1], scanLinks[i + 2]);
    scanErrors.length = 0;
    scanLinks.length = 0;
    tally.blocks += scanOut[OUT_BLOCKS];
    tally.bytes += scanOut[OUT_BYTES];
    tally.inodes += scanOut[OUT_INODES];
    tally.mounts += scanOut[OUT_MOUNTS];
    const status = scanOut[OUT_STATUS];
    if (status === SCAN_ABORTED) {
      this.aborted = true;
      return;
    }
    // A huge directory while a thread is idle: its names (already spent) are split by entries().
    if (status === SCAN_HANDED_BACK) {
      this.entries(dir, names, stack, jobId);
      return;
    }
    const long = byteLength(dir) > LONG_PATH_BYTES;
    for (let i = 0; i < names.length; i++) {
      const path = join(dir, names[i]);
      if (long) this.deep(path, jobId);
      else stack.push(path);
    }
  }
}

/** The volume's filesystem totals, for capacity and inode limits; undefined if statfs fails. */
function filesystemOf(/** @type {WalkPath} */ path) {
  try {
    const f = statfsSync(path);
    return { bsize: f.bsize, blocks: f.blocks, bavail: f.bavail, files: f.files, ffree: f.ffree };
  } catch {
    return undefined;
  }
}

port.on('message', (/** @type {import('./walk-protocol.ts').WalkMessage} */ msg) => {
  const control = new Int32Array(msg.control);
  const walk = new Walk(control, msg.dev, msg.maxEntries);
  const task = msg.task;
  /** @type {{ dev: number, isDirectory: boolean } | undefined} */
  let root;
  if (task.kind === 'root') {
    // A trailing "/" or "/." makes lstat resolve a symlinked root: drop it ("/" itself stays).
    const path = asPath(task.path.replace(/(?<=.)(\/\.?)+$/, ''));
    let s;
    try {
      s = lstatSync(path);
    } catch (err) {
      port.postMessage({ type: 'done', jobId: msg.jobId, rootError: { code: codeOf(err), message: String(/** @type {Error} */ (err).message) } });
      return;
    }
    if (s.isSymbolicLink()) {
      port.postMessage({ type: 'done', jobId: msg.jobId, rootError: { code: 'ELOOP', message: `${String(path)} is a symbolic link; volume roots are never followed` } });
      return;
    }
    walk.dev = s.dev;
    walk.tally.count([s.dev, s.mode, s.nlink, 0, 0, 0, 0, s.ino, s.size, s.blocks]);
    root = { dev: s.dev, isDirectory: s.isDirectory(), fs: filesystemOf(path) };
    if (root.isDirectory) walk.drain([path], msg.jobId, true);
  } else if (task.kind === 'dirs') {
    walk.drain(task.dirs.map(asPath), msg.jobId, true);
  } else {
    const stack = /** @type {WalkPath[]} */ ([]);
    walk.entries(asPath(task.dir), task.names.map(asPath), stack, msg.jobId);
    walk.drain(stack, msg.jobId, true);
  }
  const t = walk.tally;
  port.postMessage({
    type: 'done',
    jobId: msg.jobId,
    root,
    aborted: walk.aborted,
    blocks: t.blocks,
    bytes: t.bytes,
    inodes: t.inodes,
    mounts: t.mounts,
    skipped: t.skipped,
    links: t.links,
  });
});
