// The machine a benchmark run describes in its report: hardware, kernel, distribution, Node and
// the version of every peer program the benchmarks compare nodemeter with.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { cpus, release, totalmem } from 'node:os';

import { gitDescribe } from './git.ts';
import type { MachineDescription } from './report-markdown.ts';

/** Peer → the command printing its version and a pattern picking the version out of the output. */
const PEERS: ReadonlyArray<{ name: string; argv: readonly string[]; pattern: RegExp }> = [
  { name: 'node_exporter', argv: ['/usr/bin/prometheus-node-exporter', '--version'], pattern: /version (\S+)/ },
  { name: 'GNU du', argv: ['du', '--version'], pattern: /^du \(GNU coreutils\) (\S+)/m },
  { name: 'dockerd', argv: ['/usr/sbin/dockerd', '--version'], pattern: /version ([^,\s]+)/ },
  { name: 'Prometheus', argv: ['/usr/bin/prometheus', '--version'], pattern: /version (\S+)/ },
  { name: 'Pushgateway', argv: ['/usr/bin/prometheus-pushgateway', '--version'], pattern: /version (\S+)/ },
];

/** The version a program reports, `not installed` when it cannot be run. */
export function programVersion(argv: readonly string[], pattern: RegExp): string {
  const [command, ...args] = argv;
  if (command === undefined) throw new Error('programVersion: empty command');
  const res = spawnSync(command, args, { encoding: 'utf8', timeout: 10_000 });
  if (res.error !== undefined || res.status !== 0) return 'not installed';
  const out = `${res.stdout}\n${res.stderr}`;
  return pattern.exec(out)?.[1] ?? out.trim().split('\n')[0] ?? 'unknown';
}

/** `PRETTY_NAME` of /etc/os-release, with /etc/debian_version's point release when there is one. */
export function distribution(): string {
  let pretty = 'unknown';
  try {
    pretty = /^PRETTY_NAME="?([^"\n]*)"?$/m.exec(readFileSync('/etc/os-release', 'utf8'))?.[1] ?? pretty;
  } catch {
    // not a systemd-style distribution
  }
  const debian = existsSync('/etc/debian_version') ? readFileSync('/etc/debian_version', 'utf8').trim() : undefined;
  return debian === undefined ? pretty : `${pretty} (${debian})`;
}

export function describeMachine(repoRoot: string): MachineDescription {
  return {
    cpu: cpus()[0]?.model ?? 'unknown',
    cores: cpus().length,
    memoryMiB: Math.round(totalmem() / 1048576),
    kernel: release(),
    os: distribution(),
    node: process.version,
    nodemeter: gitDescribe(repoRoot),
    peers: Object.fromEntries(PEERS.map((p) => [p.name, programVersion(p.argv, p.pattern)])),
  };
}
