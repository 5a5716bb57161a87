/**
 * Prerequisite checks for the integration tests.
 *
 * The integration tests never skip: CI installs everything they need
 * (scripts/install-test-deps.sh) and runs as root. When something is missing,
 * {@link requirePrereqs} throws one error naming every missing piece and how to get
 * it, so the test fails with a useful message instead of a confusing one later.
 */
import { accessSync, constants, existsSync, readFileSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { spawnSync } from 'node:child_process';

export type Prereq =
  | 'root'
  | 'mountns' // unshare + nsenter, and the right to make a mount namespace
  | 'loop' // losetup and loop devices
  | 'ext4' // mkfs.ext4
  | 'xfs' // mkfs.xfs
  | 'fuse' // /dev/fuse, fusermount3 and python3-fusepy under /usr/bin/python3
  | 'df'
  | 'prometheus'
  | 'promtool'
  | 'pushgateway' // Debian's prometheus-pushgateway at its fixed path (test/support/pushgateway.ts)
  | 'node-exporter' // Debian's prometheus-node-exporter (test/support/node-exporter.ts)
  | 'dockerd' // Debian's dockerd + docker CLI, static busybox for the test image, root
  | 'openssl' // the openssl CLI, which makes the test certificates (test/support/tls.ts)
  | 'debootstrap'; // Debian's debootstrap, which makes the image test's Node base (test/support/node-base-image.ts)

export const SYSTEM_PYTHON = '/usr/bin/python3';
const HINT = 'run `bash scripts/install-test-deps.sh` as root';

function onPath(cmd: string): boolean {
  const dirs = (process.env.PATH ?? '').split(delimiter).concat(['/usr/sbin', '/sbin', '/usr/bin', '/bin']);
  return dirs.some((d) => {
    try {
      accessSync(join(d, cmd), constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

function check(p: Prereq): string[] {
  const missing: string[] = [];
  const need = (cmd: string, pkg: string): void => {
    if (!onPath(cmd)) missing.push(`command \`${cmd}\` (Debian package ${pkg}; ${HINT})`);
  };
  switch (p) {
    case 'root':
      if (process.getuid?.() !== 0) missing.push('root privileges (the tests mount filesystems; run as root)');
      break;
    case 'mountns': {
      need('unshare', 'util-linux');
      need('nsenter', 'util-linux');
      if (missing.length === 0) {
        const r = spawnSync('unshare', ['-m', '--propagation', 'private', 'true'], { encoding: 'utf8' });
        if (r.status !== 0) missing.push(`a private mount namespace (\`unshare -m\` failed: ${(r.stderr || r.error?.message || '').trim()})`);
      }
      break;
    }
    case 'loop':
      need('losetup', 'util-linux');
      if (!existsSync('/dev/loop-control')) missing.push('loop devices (/dev/loop-control is missing; `modprobe loop`)');
      break;
    case 'ext4':
      need('mkfs.ext4', 'e2fsprogs');
      break;
    case 'xfs':
      need('mkfs.xfs', 'xfsprogs');
      break;
    case 'fuse': {
      if (!existsSync('/dev/fuse')) missing.push('/dev/fuse (the fuse kernel module; `modprobe fuse`)');
      need('fusermount3', 'fuse3');
      const r = spawnSync(SYSTEM_PYTHON, ['-c', 'try:\n import fusepy\nexcept ImportError:\n import fuse'], { encoding: 'utf8' });
      if (r.status !== 0) missing.push(`python3-fusepy for ${SYSTEM_PYTHON} (Debian package python3-fusepy; ${HINT})`);
      break;
    }
    case 'df':
      need('df', 'coreutils');
      break;
    case 'prometheus':
      need('prometheus', 'prometheus');
      break;
    case 'promtool':
      need('promtool', 'prometheus');
      break;
    case 'pushgateway':
      try {
        accessSync('/usr/bin/prometheus-pushgateway', constants.X_OK);
      } catch {
        missing.push(`/usr/bin/prometheus-pushgateway (Debian package prometheus-pushgateway; ${HINT})`);
      }
      break;
    case 'node-exporter':
      need('prometheus-node-exporter', 'prometheus-node-exporter');
      break;
    case 'openssl':
      need('openssl', 'openssl');
      break;
    case 'debootstrap':
      need('debootstrap', 'debootstrap');
      need('curl', 'curl');
      need('nsenter', 'util-linux');
      break;
    case 'dockerd': {
      // Fixed paths, not PATH: /usr/local/bin/docker may be an unrelated, newer client.
      const needFile = (path: string, pkg: string): void => {
        try {
          accessSync(path, constants.X_OK);
        } catch {
          missing.push(`${path} (Debian package ${pkg}; ${HINT})`);
        }
      };
      needFile('/usr/sbin/dockerd', 'docker.io');
      needFile('/usr/bin/docker', 'docker.io');
      needFile('/bin/busybox', 'busybox-static');
      // The test image holds busybox alone, no libraries: a dynamic one names its loader
      // (PT_INTERP, e.g. /lib64/ld-linux-x86-64.so.2) in its first page.
      if (existsSync('/bin/busybox') && /ld-linux|ld-musl/.test(readFileSync('/bin/busybox').subarray(0, 4096).toString('latin1'))) {
        missing.push(`a statically linked /bin/busybox (this one is dynamic; Debian package busybox-static; ${HINT})`);
      }
      need('unshare', 'util-linux');
      if (process.getuid?.() !== 0) missing.push('root privileges (dockerd runs as root; run the tests as root)');
      break;
    }
  }
  return missing;
}

/** Throws (never skips) if any prerequisite is missing, naming all of them. */
export function requirePrereqs(...prereqs: Prereq[]): void {
  const missing = prereqs.flatMap(check);
  if (missing.length > 0) {
    throw new Error(`integration test prerequisites missing:\n  - ${missing.join('\n  - ')}`);
  }
}
