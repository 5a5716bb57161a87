import { readFile, stat } from 'node:fs/promises';

/** What a file held when last read, and the stat fields that say whether it changed since. */
interface Snapshot {
  readonly stamp: string;
  readonly contents: Buffer;
}

/**
 * Small files read once and re-read only when they change: service-account tokens and CA
 * bundles rotate (the kubelet swaps them by renaming a symlink, so the inode changes; an
 * in-place rewrite changes mtime/ctime), and a stat per scrape is much cheaper than a read.
 * Contents never appear in an error message: a token file's contents are a secret.
 */
export class FileSnapshots {
  readonly #maxBytes: number;
  readonly #snapshots = new Map<string, Snapshot>();

  /** @param maxBytes files larger than this are refused instead of read (a token is < 4 KiB). */
  constructor(maxBytes: number) {
    this.#maxBytes = maxBytes;
  }

  /**
   * The file's current contents, read again only when its identity, size or times differ
   * from the previous read; `changed` is true on the first read and when the contents differ
   * from the previous ones. Rejects with an Error whose message names the path and the
   * problem, never the contents.
   */
  async read(path: string): Promise<{ contents: Buffer; changed: boolean }> {
    let info;
    try {
      info = await stat(path, { bigint: true });
    } catch (err) {
      throw new Error(`cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`, { cause: err });
    }
    if (!info.isFile()) throw new Error(`${path} is not a regular file`);
    if (info.size > BigInt(this.#maxBytes)) throw new Error(`${path} is larger than ${this.#maxBytes} bytes`);
    const stamp = `${info.dev}:${info.ino}:${info.size}:${info.mtimeNs}:${info.ctimeNs}`;
    const previous = this.#snapshots.get(path);
    if (previous?.stamp === stamp) return { contents: previous.contents, changed: false };
    let contents: Buffer;
    try {
      contents = await readFile(path);
    } catch (err) {
      throw new Error(`cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`, { cause: err });
    }
    // A file swapped between stat and read is stored under the older stamp; the next stat
    // differs from it, so the next call reads again. Never a stale result kept for good.
    if (contents.length > this.#maxBytes) throw new Error(`${path} is larger than ${this.#maxBytes} bytes`);
    this.#snapshots.set(path, { stamp, contents });
    return { contents, changed: previous === undefined || !previous.contents.equals(contents) };
  }
}
