import { readFile } from 'node:fs/promises';
import { NodemeterError, errorMessage } from '../../pipeline/errors.ts';
import { normaliseRootPath } from './host-view.ts';
import type { MountInfo, MountinfoParser } from './mountinfo.ts';

/** Where to look for the mount table: the configured file, else the host's init's, else our own. */
export function mountTableCandidates(mountinfoPath: string, rootPath: string): string[] {
  if (mountinfoPath !== '') return [mountinfoPath];
  const hostInit = `${normaliseRootPath(rootPath)}/proc/1/mountinfo`;
  return [hostInit, '/proc/self/mountinfo'];
}

/**
 * Reads the first readable candidate. /proc files never block, so the libuv pool is safe here.
 * Reading another process's mountinfo needs ptrace-read rights, hence the fallback on any error.
 */
export async function readMountTable(
  candidates: readonly string[],
  parser: MountinfoParser,
): Promise<{ path: string; mounts: MountInfo[]; malformed: number }> {
  const failures: string[] = [];
  for (const path of candidates) {
    try {
      const text = await readFile(path, 'utf8');
      return { path, ...parser.parse(text) };
    } catch (err) {
      failures.push(`${path}: ${errorMessage(err)}`);
    }
  }
  throw new NodemeterError('NM_FS_MOUNTINFO', `no readable mount table (${failures.join('; ')})`, { retryable: true });
}
