import { SweepMap } from './sweep-map.ts';

/** One line of /proc/<pid>/mountinfo (proc(5)), with the escaped fields decoded. */
export interface MountInfo {
  readonly mountId: number;
  readonly parentId: number;
  /** `major:minor` of the filesystem's device (st_dev), e.g. `259:1`; `0:45` for virtual ones. */
  readonly majorMinor: string;
  /** Directory of the filesystem that forms this mount's root (not `/` for bind mounts of a subtree). */
  readonly root: string;
  /** Mount point as the reading process's mount namespace sees it. */
  readonly mountPoint: string;
  /** Per-mount options (`rw`, `ro`, `nosuid`, …). */
  readonly mountOptions: readonly string[];
  /** Optional fields such as `shared:1`, `master:2`. */
  readonly optionalFields: readonly string[];
  readonly fsType: string;
  /** Filesystem-specific source (the device for block filesystems); may be empty. */
  readonly source: string;
  readonly superOptions: readonly string[];
}

/**
 * Decodes the kernel's `\ooo` octal escapes. The kernel escapes space, tab, newline and
 * backslash (and `#` in some fields); a backslash not followed by three octal digits is kept.
 */
export function decodeMountField(field: string): string {
  if (!field.includes('\\')) return field;
  return field.replace(/\\([0-3][0-7]{2})/g, (_m, oct: string) => String.fromCharCode(parseInt(oct, 8)));
}

/** Parses one mountinfo text; see MountinfoParser. */
export function parseMountinfo(text: string): { mounts: MountInfo[]; malformed: number } {
  return new MountinfoParser().parse(text);
}

/**
 * Parses mountinfo text. Lines that do not have the documented shape are skipped and counted
 * rather than failing the whole table: one odd line must not hide every mount. Remembers the
 * last table's lines: between two reads a mount table changes in a few lines at most, and an
 * unchanged line (it carries the mount ID) parses the same; lines no longer listed are dropped.
 */
export class MountinfoParser {
  readonly #lines = new SweepMap<string, MountInfo>();

  parse(text: string): { mounts: MountInfo[]; malformed: number } {
    const mounts: MountInfo[] = [];
    let malformed = 0;
    for (const line of text.split('\n')) {
      if (line === '') continue;
      const mount = this.#lines.get(line) ?? parseLine(line);
      if (mount) mounts.push(this.#lines.keep(line, mount));
      else malformed++;
    }
    this.#lines.sweep();
    return { mounts, malformed };
  }
}

function parseLine(line: string): MountInfo | undefined {
  // Split on single spaces, not runs: an empty source shows up as two adjacent spaces.
  const parts = line.split(' ');
  const sep = parts.indexOf('-', 6);
  if (sep < 0 || parts.length < sep + 3) return undefined;
  const [id, parent, majorMinor, root, mountPoint, options] = parts;
  if (!id || !parent || !majorMinor || root === undefined || !mountPoint || options === undefined) return undefined;
  if (!/^\d+$/.test(id) || !/^\d+$/.test(parent) || !/^\d+:\d+$/.test(majorMinor)) return undefined;
  return {
    mountId: Number(id),
    parentId: Number(parent),
    majorMinor,
    root: decodeMountField(root),
    mountPoint: decodeMountField(mountPoint),
    mountOptions: options.split(','),
    optionalFields: parts.slice(6, sep),
    fsType: decodeMountField(parts[sep + 1] ?? ''),
    source: decodeMountField(parts[sep + 2] ?? ''),
    superOptions: (parts[sep + 3] ?? '').split(',').filter((o) => o !== ''),
  };
}

/** True when the mount or its superblock is read-only. */
export function isReadOnly(mount: MountInfo): boolean {
  return mount.mountOptions.includes('ro') || mount.superOptions.includes('ro');
}
