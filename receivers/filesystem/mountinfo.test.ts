import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { decodeMountField, isReadOnly, MountinfoParser, parseMountinfo } from './mountinfo.ts';

const FIXTURE = [
  '27 1 254:0 / / rw,relatime shared:1 - ext4 /dev/vda rw,discard',
  '36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw,errors=continue',
  '40 27 0:45 / /mnt/with\\040space\\011tab\\134slash\\012nl rw shared:5 master:2 propagate_from:3 unbindable - tmpfs tmp\\040fs rw,size=10k',
  '41 27 0:46 / /ro ro,nosuid - tmpfs  rw',
  '42 27 8:1 /data /srv/bind rw - xfs /dev/sdb1 ro,attr2',
  'garbage line',
  '43 27 0:47 / /no-separator rw tmpfs tmpfs rw',
  '',
].join('\n');

void test('parses fields, optional fields and the separator', () => {
  const { mounts, malformed } = parseMountinfo(FIXTURE);
  assert.equal(malformed, 2);
  assert.equal(mounts.length, 5);
  assert.deepEqual(mounts[0], {
    mountId: 27,
    parentId: 1,
    majorMinor: '254:0',
    root: '/',
    mountPoint: '/',
    mountOptions: ['rw', 'relatime'],
    optionalFields: ['shared:1'],
    fsType: 'ext4',
    source: '/dev/vda',
    superOptions: ['rw', 'discard'],
  });
  assert.equal(mounts[1]?.root, '/mnt1');
  assert.deepEqual(mounts[1]?.optionalFields, ['master:1']);
  assert.deepEqual(mounts[2]?.optionalFields, ['shared:5', 'master:2', 'propagate_from:3', 'unbindable']);
});

void test('decodes octal escapes in mount point and source', () => {
  const m = parseMountinfo(FIXTURE).mounts[2];
  assert.equal(m?.mountPoint, '/mnt/with space\ttab\\slash\nnl');
  assert.equal(m?.source, 'tmp fs');
  assert.equal(m?.fsType, 'tmpfs');
});

void test('an empty source (two spaces) keeps the later fields in place', () => {
  const m = parseMountinfo(FIXTURE).mounts[3];
  assert.equal(m?.source, '');
  assert.deepEqual(m?.superOptions, ['rw']);
});

void test('read-only from mount options or superblock options', () => {
  const [root, , , ro, superRo] = parseMountinfo(FIXTURE).mounts;
  assert.ok(root && ro && superRo);
  assert.equal(isReadOnly(root), false);
  assert.equal(isReadOnly(ro), true);
  assert.equal(isReadOnly(superRo), true);
});

void test('a backslash without three octal digits is kept', () => {
  assert.equal(decodeMountField('a\\b\\0x\\777\\40'), 'a\\b\\0x\\777\\40');
  assert.equal(decodeMountField('\\134040'), '\\040');
});

// The kernel's encoder (fs/proc_namespace.c, seq_escape with " \t\n\\").
function encode(field: string): string {
  return field.replace(/[ \t\n\\]/g, (c) => '\\' + c.charCodeAt(0).toString(8).padStart(3, '0'));
}

void test('property: any path survives the kernel encoding and our decoding', () => {
  const pathChar = fc.oneof(fc.constantFrom(' ', '\t', '\n', '\\', '0', '4', '/', '-', '#'), fc.string({ minLength: 1, maxLength: 1 }));
  const path = fc.array(pathChar, { maxLength: 40 }).map((cs) => '/' + cs.join(''));
  fc.assert(
    fc.property(path, path, (mountPoint, root) => {
      const line = `1 0 8:1 ${encode(root)} ${encode(mountPoint)} rw shared:1 - ext4 ${encode(mountPoint)} rw`;
      const { mounts, malformed } = parseMountinfo(line);
      assert.equal(malformed, 0);
      assert.equal(mounts[0]?.mountPoint, mountPoint);
      assert.equal(mounts[0]?.root, root);
      assert.equal(mounts[0]?.source, mountPoint);
    }),
    { numRuns: 500 },
  );
});

void test('parses this machine\'s own mountinfo with no malformed lines', async () => {
  const { readFile } = await import('node:fs/promises');
  const { mounts, malformed } = parseMountinfo(await readFile('/proc/self/mountinfo', 'utf8'));
  assert.equal(malformed, 0);
  assert.ok(mounts.some((m) => m.mountPoint === '/'));
});

void test('MountinfoParser parses as parseMountinfo, reuses unchanged lines, forgets removed ones', () => {
  const parser = new MountinfoParser();
  const first = parser.parse(FIXTURE);
  assert.deepEqual(first, parseMountinfo(FIXTURE));
  const lines = FIXTURE.split('\n');
  // Drop the root line, add a new one: the other entries are the very same objects.
  const changed = [...lines.slice(1), '50 27 0:60 / /new rw - tmpfs tmpfs rw'].join('\n');
  const second = parser.parse(changed);
  assert.deepEqual(second, parseMountinfo(changed));
  assert.equal(second.mounts[0], first.mounts[1]);
  assert.equal(second.mounts.at(-1)?.mountPoint, '/new');
  // The root line was forgotten: parsed afresh (equal, not the same object).
  const third = parser.parse(FIXTURE);
  assert.deepEqual(third.mounts[0], first.mounts[0]);
  assert.notEqual(third.mounts[0], first.mounts[0]);
});
