// A benchmark's peer comes from a Debian package; a fresh machine may not have it yet.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Makes sure `path` exists: runs scripts/install-test-deps.sh (which installs every peer the
 * tests and benchmarks use), or `apt-get install <debPackage>` where that script is absent.
 */
export function ensureInstalled(repoRoot: string, path: string, debPackage: string, log: (line: string) => void): void {
  if (existsSync(path)) return;
  const script = join(repoRoot, 'scripts', 'install-test-deps.sh');
  if (existsSync(script)) {
    log(`${path} missing; running scripts/install-test-deps.sh`);
    execFileSync('bash', [script], { stdio: 'inherit', cwd: repoRoot });
  } else {
    log(`${path} missing; installing ${debPackage} with apt-get`);
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
    execFileSync('apt-get', ['update'], { stdio: 'inherit', env });
    execFileSync('apt-get', ['install', '-y', '--no-install-recommends', debPackage], { stdio: 'inherit', env });
  }
  if (!existsSync(path)) throw new Error(`${path} still missing after installing ${debPackage}`);
}
