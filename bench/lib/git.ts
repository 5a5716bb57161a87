import { execFileSync } from 'node:child_process';

/** The short commit a benchmark ran on, `+uncommitted` when sources (bench/ aside) differ from it. */
export function gitDescribe(repoRoot: string): string {
  try {
    const head = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: repoRoot, encoding: 'utf8' }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--untracked-files=normal', '--', '.', ':!bench'], { cwd: repoRoot, encoding: 'utf8' }).trim();
    return dirty === '' ? head : `${head}+uncommitted`;
  } catch {
    return 'unknown';
  }
}
