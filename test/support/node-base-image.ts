/**
 * A local Node 24 base image for building nodemeter's Dockerfile with no registry in reach:
 * Debian's minimal root filesystem from debootstrap (the host's own release and mirror), with a
 * C compiler and libc headers for the native scanner, plus the Node binary this project pins
 * (node_modules/node/bin/node) and the host's npm. The Dockerfile's `NODE_IMAGE` build argument
 * takes it in place of the Node project's image.
 *
 * The root filesystem is kept as a tarball under /var/tmp (debootstrap takes about 30 s), keyed
 * by the release, the Node version and the npm version, so later runs only import it.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, realpathSync } from 'node:fs';
import { copyFile, mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';

import { REPO_ROOT } from './agent.ts';
import type { Dockerd } from './dockerd.ts';
import { makeTempDir, run } from './proc.ts';

export const NODE_BASE_IMAGE = 'nodemeter-test/node:24';
const CACHE_DIR = '/var/tmp/nodemeter-test-images';
const PINNED_NODE = join(REPO_ROOT, 'node_modules', 'node', 'bin', 'node');

/** The host's Debian release codename and first archive URI, as apt uses them. */
function hostRelease(): { codename: string; mirror: string } {
  const osRelease = readFileSync('/etc/os-release', 'utf8');
  const codename = /^VERSION_CODENAME=(\w+)$/m.exec(osRelease)?.[1];
  if (codename === undefined) throw new Error('/etc/os-release: no VERSION_CODENAME; debootstrap needs a Debian release name');
  let mirror = 'http://deb.debian.org/debian';
  for (const file of ['/etc/apt/sources.list.d/debian.sources', '/etc/apt/sources.list']) {
    if (!existsSync(file)) continue;
    const text = readFileSync(file, 'utf8');
    const uri = /^URIs:\s*(\S+\/debian)\s*$/m.exec(text)?.[1] ?? /^deb\s+(?:\[[^\]]*\]\s+)?(\S+\/debian)\s/m.exec(text)?.[1];
    if (uri !== undefined) {
      mirror = uri;
      break;
    }
  }
  return { codename, mirror };
}

/** Builds (or reuses) the base root filesystem tarball; returns its path. */
async function baseTarball(): Promise<string> {
  const { codename, mirror } = hostRelease();
  const nodeVersion = (await run(PINNED_NODE, ['--version'])).stdout.trim();
  const npmDir = await findNpm();
  const npmVersion = (JSON.parse(readFileSync(join(npmDir, 'package.json'), 'utf8')) as { version: string }).version;
  const key = createHash('sha256').update(`${codename} ${mirror} ${nodeVersion} ${npmVersion} gcc libc6-dev`).digest('hex').slice(0, 16);
  const tarball = join(CACHE_DIR, `node-base-${codename}-${nodeVersion}-${key}.tar`);
  if (existsSync(tarball)) return tarball;

  await mkdir(CACHE_DIR, { recursive: true });
  const tmp = await makeTempDir('nodemeter-node-base-');
  try {
    const rootfs = join(tmp.path, 'rootfs');
    const boot = await run('debootstrap', ['--variant=minbase', '--include=gcc,libc6-dev', codename, rootfs, mirror], { timeoutMs: 600_000, allowFail: true });
    if (boot.code !== 0) throw new Error(`debootstrap ${codename} from ${mirror} failed (exit ${boot.code}):\n${(boot.stdout + boot.stderr).slice(-2000)}`);
    // Trim what an image never uses.
    await run('sh', ['-c', `rm -rf '${rootfs}'/var/cache/apt/archives/*.deb '${rootfs}'/var/lib/apt/lists/* '${rootfs}'/usr/share/doc/* '${rootfs}'/usr/share/man/* '${rootfs}'/usr/share/locale/*`]);
    await run('install', ['-D', '-m', '0755', PINNED_NODE, join(rootfs, 'usr/local/bin/node')]);
    await mkdir(join(rootfs, 'usr/local/lib/node_modules'), { recursive: true });
    await run('cp', ['-a', npmDir, join(rootfs, 'usr/local/lib/node_modules/npm')]);
    await run('ln', ['-sf', '../lib/node_modules/npm/bin/npm-cli.js', join(rootfs, 'usr/local/bin/npm')]);
    await run('tar', ['--numeric-owner', '-C', rootfs, '-cf', `${tarball}.part`, '.'], { timeoutMs: 300_000 });
    await rename(`${tarball}.part`, tarball);
    return tarball;
  } finally {
    await tmp.remove();
    await rm(`${tarball}.part`, { force: true });
  }
}

/** The npm package directory behind `npm` on PATH (the one running the tests). */
async function findNpm(): Promise<string> {
  const { stdout } = await run('sh', ['-c', 'command -v npm']);
  const cli = realpathSync(stdout.trim());
  // …/npm/bin/npm-cli.js → …/npm
  const dir = dirname(dirname(cli));
  if (!existsSync(join(dir, 'package.json'))) throw new Error(`cannot find the npm package behind ${stdout.trim()} (resolved to ${cli})`);
  return dir;
}

/** Imports the base image into `dockerd` (building its root filesystem first when not cached). */
export async function importNodeBaseImage(dockerd: Dockerd): Promise<string> {
  const tarball = await baseTarball();
  await dockerd.docker(['import', '--change', 'ENV PATH=/usr/local/bin:/usr/local/sbin:/usr/sbin:/usr/bin:/sbin:/bin', tarball, NODE_BASE_IMAGE], { timeoutMs: 300_000 });
  return NODE_BASE_IMAGE;
}

/**
 * An npm cache holding everything `npm ci` of this repository's lockfile needs, for an offline
 * `npm ci` in the image build (the test daemon has no network). Filled on the host by an
 * `npm ci --ignore-scripts` of package.json and package-lock.json into a scratch directory, and
 * kept under /var/tmp with a marker naming the lockfile's hash: the install runs again only when
 * the lockfile changed.
 */
export async function npmCacheForLockfile(): Promise<string> {
  const cache = join(CACHE_DIR, 'npm-cache');
  const lockHash = createHash('sha256').update(readFileSync(join(REPO_ROOT, 'package-lock.json'))).digest('hex').slice(0, 16);
  const marker = join(cache, `.filled-for-${lockHash}`);
  if (existsSync(marker)) return cache;
  await mkdir(cache, { recursive: true });
  const scratch = await makeTempDir('nodemeter-npm-cache-');
  try {
    await copyFile(join(REPO_ROOT, 'package.json'), join(scratch.path, 'package.json'));
    await copyFile(join(REPO_ROOT, 'package-lock.json'), join(scratch.path, 'package-lock.json'));
    const r = await run('npm', ['ci', '--prefer-offline', '--ignore-scripts', '--no-audit', '--no-fund', '--cache', cache], { cwd: scratch.path, timeoutMs: 600_000, allowFail: true });
    if (r.code !== 0) throw new Error(`npm ci into the image build's cache failed (exit ${r.code}):\n${(r.stdout + r.stderr).slice(-3000)}`);
    await writeFile(marker, '');
    return cache;
  } finally {
    await scratch.remove();
  }
}
