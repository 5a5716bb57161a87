// The native scanner's own contract (native/walkdir.c), called directly: what one scan() of one
// directory reports. Whole walks against GNU du are in test/integration/hostpath-walk-du.test.ts.
import assert from 'node:assert/strict';
import { linkSync, lstatSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { chooseScanner, NATIVE_SCANNER_PATH } from './native-scanner.ts';

type Name = string | Buffer;
interface Scanner {
  scan(
    path: Name,
    dev: number,
    control: Int32Array,
    maxEntries: number,
    pool: Int32Array | null,
    handBackAbove: number,
    follow: boolean,
    out: Float64Array,
    links: number[],
    errors: number[],
  ): Name[];
}

const [STATUS, OPEN_ERRNO, BLOCKS, BYTES, INODES, MOUNTS, NAMES] = [0, 1, 2, 3, 4, 5, 6];
const ENOENT = 2;
const ENOTDIR = 20;

describe('native directory scanner', () => {
  let scanner: Scanner;
  let dir = '';
  let dev = 0;
  const out = new Float64Array(8);
  /** A directory name that is not valid UTF-8 (0xff). */
  const oddName = (): Buffer => Buffer.concat([Buffer.from(`${dir}/`), Buffer.from([0x62, 0xff, 0x2e, 0x64])]);
  const control = (): Int32Array => new Int32Array(new SharedArrayBuffer(8));
  const scan = (path: Name, opts: { maxEntries?: number; pool?: Int32Array | null; handBackAbove?: number; follow?: boolean; control?: Int32Array } = {}) => {
    const links: number[] = [];
    const errors: number[] = [];
    const names = scanner.scan(path, dev, opts.control ?? control(), opts.maxEntries ?? 0, opts.pool ?? null, opts.handBackAbove ?? 1e9, opts.follow ?? false, out, links, errors);
    return { names, links, errors, out: [...out] };
  };

  before(() => {
    const choice = chooseScanner();
    assert.equal(choice.kind, 'native', `the native scanner must be built for the tests (bash scripts/build-native.sh --require): ${choice.reason}`);
    scanner = createRequire(import.meta.url)(NATIVE_SCANNER_PATH) as Scanner;
    dir = mkdtempSync(join(tmpdir(), 'nodemeter-native-scan-'));
    mkdirSync(join(dir, 'sub'));
    mkdirSync(join(dir, 'other'));
    writeFileSync(join(dir, 'a'), Buffer.alloc(5000, 1));
    writeFileSync(join(dir, 'linked'), Buffer.alloc(9000, 2));
    linkSync(join(dir, 'linked'), join(dir, 'sub', 'second-name'));
    symlinkSync('sub', join(dir, 'to-sub'));
    mkdirSync(oddName());
    dev = lstatSync(dir).dev;
  });

  after(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('counts the entries, returns subdirectories (not symlinks to them) and hard-linked files apart', () => {
    const r = scan(dir);
    const counted = [...['sub', 'other', 'a', 'to-sub'].map((n) => lstatSync(join(dir, n))), lstatSync(oddName())];
    assert.equal(r.out[STATUS], 0);
    assert.equal(r.out[OPEN_ERRNO], 0);
    assert.equal(r.out[NAMES], 6);
    assert.equal(r.out[INODES], 5, 'two directories, a file, a symlink and the odd-named directory; the linked file goes to JS');
    assert.equal(r.out[BLOCKS], counted.reduce((s, st) => s + st.blocks, 0));
    assert.equal(r.out[BYTES], counted.reduce((s, st) => s + st.size, 0));
    assert.equal(r.out[MOUNTS], 0);
    const linked = lstatSync(join(dir, 'linked'));
    assert.deepEqual(r.links, [linked.ino, linked.blocks, linked.size]);
    assert.deepEqual(r.errors, []);
    const names = r.names.map((n) => (typeof n === 'string' ? n : `bytes:${n.toString('hex')}`)).sort();
    assert.deepEqual(names, ['bytes:62ff2e64', 'other', 'sub'], 'a name that is not UTF-8 comes back as its bytes');
  });

  it('takes the path as a Buffer too', () => {
    const r = scan(Buffer.from(dir));
    assert.equal(r.out[INODES], 5);
  });

  it('reports an unopenable directory by errno: missing, a file, a symlink (never followed unless asked)', () => {
    assert.equal(scan(join(dir, 'absent')).out[OPEN_ERRNO], ENOENT);
    assert.equal(scan(join(dir, 'a')).out[OPEN_ERRNO], ENOTDIR);
    // O_DIRECTORY | O_NOFOLLOW on a symlink: Linux answers ENOTDIR (the link itself is no directory).
    assert.equal(scan(join(dir, 'to-sub')).out[OPEN_ERRNO], ENOTDIR);
    const followed = scan(join(dir, 'to-sub'), { follow: true });
    assert.equal(followed.out[OPEN_ERRNO], 0);
    assert.equal(followed.out[NAMES], 1, 'sub holds second-name');
  });

  it('entries on another device are mount points: neither counted nor returned', () => {
    const links: number[] = [];
    scanner.scan(dir, dev + 1, control(), 0, null, 1e9, false, out, links, []);
    assert.equal(out[MOUNTS], 6);
    assert.equal(out[INODES], 0);
    assert.deepEqual(links, []);
  });

  it('spends its names on the entry budget and aborts the job past it', () => {
    const c = control();
    scan(dir, { maxEntries: 10, control: c });
    assert.equal(out[STATUS], 0);
    assert.equal(c[1], 6);
    const r = scan(dir, { maxEntries: 10, control: c });
    assert.equal(r.out[STATUS], 1, 'aborted');
    assert.equal(c[0], 2, 'the abort flag says entry limit');
    assert.deepEqual(r.names, []);
  });

  it('stops when the job is aborted by another thread', () => {
    const many = join(dir, 'many');
    mkdirSync(many);
    for (let i = 0; i < 2100; i++) writeFileSync(join(many, `f${i}`), '');
    const c = control();
    c[0] = 1;
    const r = scan(many, { control: c });
    assert.equal(r.out[STATUS], 1);
    assert.ok((r.out[INODES] ?? NaN) < 2100, `stopped early (${r.out[INODES]} counted)`);
    rmSync(many, { recursive: true });
  });

  it('hands a large directory back unstat-ed only while a thread is idle', () => {
    const pool = new Int32Array(new SharedArrayBuffer(4));
    const busy = scan(dir, { pool, handBackAbove: 3 });
    assert.equal(busy.out[STATUS], 0, 'nobody idle: scanned here');
    pool[0] = 1;
    const handed = scan(dir, { pool, handBackAbove: 3 });
    assert.equal(handed.out[STATUS], 2);
    assert.equal(handed.names.length, 6, 'every name, files included');
    assert.equal(handed.out[INODES], 0, 'nothing counted yet');
    assert.equal(scan(dir, { pool, handBackAbove: 6 }).out[STATUS], 0, 'not above the threshold');
  });

  it('rejects bad arguments with a stable code', () => {
    assert.throws(() => (scanner.scan as unknown as (...a: unknown[]) => unknown)(dir), { code: 'ERR_NODEMETER_WALKDIR_ARGS' });
    assert.throws(() => scanner.scan(dir, dev, new Int32Array(1), 0, null, 0, false, out, [], []), { code: 'ERR_NODEMETER_WALKDIR_ARGS' });
    assert.throws(() => scanner.scan(`${dir}\u0000x`, dev, control(), 0, null, 0, false, out, [], []), { code: 'ERR_NODEMETER_WALKDIR_ARGS' });
    assert.throws(() => scanner.scan(dir, dev, control(), 0, null, 0, false, new Float64Array(2), [], []), { code: 'ERR_NODEMETER_WALKDIR_ARGS' });
  });
});
