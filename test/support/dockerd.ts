/**
 * A private, real Docker daemon (Debian's dockerd 20.10) for integration tests and
 * benchmarks of the Docker receiver.
 *
 * {@link Dockerd.start} runs dockerd in its own network namespace (`unshare -n`, so its
 * docker0 bridge and veths never touch the host's network) with every path of its own
 * under a short temp dir: API socket, data root, exec root (containerd's state and
 * socket), pidfile, daemon.json and the CLI's config. Several daemons can run at once.
 * Containers run on the host's cgroups (cgroupfs driver: `/sys/fs/cgroup/<ctrl>/docker/<id>`)
 * and in the host's PID namespace, as on a node, so `State.Pid` is a host pid.
 *
 * No registry is reachable: {@link Dockerd.ensureImage} imports a busybox root filesystem
 * built from the host's static busybox.
 *
 * Cleanup: {@link Dockerd.close} removes the containers, stops dockerd, kills whatever
 * survived (containerd, shims, container processes), unmounts what is left under the
 * temp dir and removes it. dockerd runs under `setpriv --pdeathsig KILL` and is tracked
 * by proc.ts's exit handler, but shims and containers outlive dockerd and containerd by
 * design, so each daemon also gets a detached reaper (this file run as a program) that
 * does the same sweep when the test process dies without calling close(), even by SIGKILL.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { chmod, copyFile, mkdir, mkdtemp, readFile, readdir, readlink, rm, rmdir, symlink, unlink, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import type { Socket } from 'node:net';
import { join } from 'node:path';
import { makeTempDir, run, sleep, spawnTracked, waitFor, waitForExit, type RunOptions, type RunResult } from './proc.ts';

export const DOCKERD = '/usr/sbin/dockerd';
/** Debian's client; /usr/local/bin/docker on this VM is an unrelated newer one. */
export const DOCKER = '/usr/bin/docker';
export const BUSYBOX = '/bin/busybox';
export const TEST_IMAGE = 'nodemeter-test/busybox:1';

/** Env var that turns this module, run as a program, into a daemon's reaper. */
const REAP_ENV = 'NODEMETER_DOCKERD_REAP';
const SYSTEM_CONTAINERD = '/run/containerd/containerd.sock';
/** sun_path is 108 bytes including the terminating NUL. */
const MAX_SOCKET_PATH = 107;

export interface DockerdOptions {
  /** Short tag in the temp dir's name (`/tmp/nmdk-<name>-XXXXXX`), to tell daemons apart. */
  name?: string;
  /**
   * Default: overlay2, falling back to vfs when dockerd refuses it (e.g. a data root on
   * overlayfs). An explicit driver gets no fallback.
   */
  storageDriver?: string;
  /** More dockerd flags. */
  extraArgs?: string[];
  /** How long to wait for `/_ping`; default 60 s. */
  startTimeoutMs?: number;
}

export interface ContainerSpec {
  name: string;
  /** Shell command, run as `sh -c <command>`. */
  command: string;
  labels?: Record<string, string>;
  env?: Record<string, string>;
  /** `--memory`, e.g. `64m`. */
  memory?: string;
  /** `--cpus`, e.g. `0.5`. */
  cpus?: string;
  /** `--health-cmd` (run by the image's sh). */
  healthCmd?: string;
  /** `--health-interval` in seconds; default 1 when healthCmd is set (Docker's 30 s is too slow for a test). */
  healthIntervalS?: number;
  /** `--network`; default the bridge. */
  network?: string;
  /**
   * `--stop-timeout`; default 1 s. `sh` as PID 1 ignores SIGTERM, so with Docker's 10 s
   * every stop, and every restart() with running containers, would take 10 s.
   */
  stopTimeoutS?: number;
  /** More `docker run` flags, placed before the image. */
  extraArgs?: string[];
}

/** The parts of `docker inspect <container>` the tests use; the rest is there untyped. */
export interface ContainerInspect {
  Id: string;
  Name: string;
  State: {
    Status: string;
    Running: boolean;
    Pid: number;
    ExitCode: number;
    Health?: { Status: string; FailingStreak: number; Log: { ExitCode: number; Output: string }[] };
  };
  Config: { Labels: Record<string, string> | null; Env: string[] | null; Image: string };
  HostConfig: { Memory: number; NanoCpus: number };
  NetworkSettings: { IPAddress: string; Networks: Record<string, { IPAddress: string }> };
  [key: string]: unknown;
}

/**
 * One line of `docker stats --no-stream`, as numbers. Sizes are Docker's rounded display
 * (4 significant digits), so they are within 0.05 % of the daemon's numbers, not exact.
 */
export interface DockerStatsRow {
  id: string;
  name: string;
  cpuPercent: number;
  memUsageBytes: number;
  memLimitBytes: number;
  netRxBytes: number;
  netTxBytes: number;
  blockReadBytes: number;
  blockWriteBytes: number;
  pids: number;
}

const SIZE_UNITS: Record<string, number> = {
  B: 1,
  kB: 1e3,
  KB: 1e3,
  MB: 1e6,
  GB: 1e9,
  TB: 1e12,
  PB: 1e15,
  KiB: 2 ** 10,
  MiB: 2 ** 20,
  GiB: 2 ** 30,
  TiB: 2 ** 40,
  PiB: 2 ** 50,
};

/**
 * Parses a size as the Docker CLI prints it (go-units: `512B`, `6.74kB`, `1.2MB` decimal;
 * `576KiB`, `64MiB`, `23.59GiB` binary) into bytes, rounded to an integer.
 * Throws, naming the text and `column`, on anything else.
 */
export function parseDockerSize(text: string, column = 'size'): number {
  const m = /^\s*(\d+(?:\.\d+)?(?:e[+-]?\d+)?)\s*([A-Za-z]+)\s*$/.exec(text);
  const unit = m ? SIZE_UNITS[m[2]!] : undefined;
  if (!m || unit === undefined) throw new Error(`docker stats column ${column}: cannot parse size ${JSON.stringify(text)}`);
  return Math.round(Number(m[1]) * unit);
}

function parsePair(text: unknown, column: string): [number, number] {
  const parts = typeof text === 'string' ? text.split(' / ') : [];
  if (parts.length !== 2) throw new Error(`docker stats column ${column}: expected "a / b", got ${JSON.stringify(text)}`);
  return [parseDockerSize(parts[0]!, column), parseDockerSize(parts[1]!, column)];
}

function parseNumber(text: unknown, column: string, re: RegExp): number {
  const m = typeof text === 'string' ? re.exec(text) : null;
  if (!m) throw new Error(`docker stats column ${column}: cannot parse ${JSON.stringify(text)}`);
  return Number(m[1]);
}

/** Parses one `docker stats --format '{{json .}}'` line. */
export function parseStatsLine(line: string): DockerStatsRow {
  const raw = JSON.parse(line) as Record<string, unknown>;
  const [memUsageBytes, memLimitBytes] = parsePair(raw.MemUsage, 'MemUsage');
  const [netRxBytes, netTxBytes] = parsePair(raw.NetIO, 'NetIO');
  const [blockReadBytes, blockWriteBytes] = parsePair(raw.BlockIO, 'BlockIO');
  if (typeof raw.ID !== 'string' || typeof raw.Name !== 'string') throw new Error(`docker stats line without ID/Name: ${line}`);
  return {
    id: raw.ID,
    name: raw.Name,
    cpuPercent: parseNumber(raw.CPUPerc, 'CPUPerc', /^(\d+(?:\.\d+)?)%$/),
    memUsageBytes,
    memLimitBytes,
    netRxBytes,
    netTxBytes,
    blockReadBytes,
    blockWriteBytes,
    pids: parseNumber(raw.PIDs, 'PIDs', /^(\d+)$/),
  };
}

/** `GET /_ping` on a unix socket: true when it answers 200 `OK`. */
export function pingSocket(socketPath: string, timeoutMs = 2_000): Promise<boolean> {
  return new Promise((resolve) => {
    const req = request({ socketPath, path: '/_ping', method: 'GET', agent: false, timeout: timeoutMs }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => resolve(res.statusCode === 200 && body === 'OK'));
      res.on('error', () => resolve(false));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', () => resolve(false));
    req.end();
  });
}

export class Dockerd {
  /** The temp dir that holds everything of this daemon. */
  readonly dir: string;
  readonly socketPath: string;
  /** `unix://<socketPath>`, for `-H` / `DOCKER_HOST`. */
  readonly endpoint: string;
  readonly dataRoot: string;
  readonly execRoot: string;
  readonly pidFile: string;
  private driver: string;
  private readonly extraArgs: string[];
  private readonly startTimeoutMs: number;
  private child: ChildProcess | undefined;
  private output = '';
  private image: Promise<string> | undefined;
  private readonly containerIds = new Set<string>();
  private reaper: ChildProcess | undefined;
  private closing: Promise<void> | undefined;

  private constructor(dir: string, options: DockerdOptions) {
    this.dir = dir;
    this.socketPath = join(dir, 'docker.sock');
    this.endpoint = `unix://${this.socketPath}`;
    this.dataRoot = join(dir, 'data');
    this.execRoot = join(dir, 'exec');
    this.pidFile = join(dir, 'docker.pid');
    this.driver = options.storageDriver ?? 'overlay2';
    this.extraArgs = options.extraArgs ?? [];
    this.startTimeoutMs = options.startTimeoutMs ?? 60_000;
  }

  /** Starts a daemon and waits for `/_ping`. Needs root (see prereqs.ts `'dockerd'`). */
  static async start(options: DockerdOptions = {}): Promise<Dockerd> {
    // dockerd 20.10 uses a system containerd whenever this socket exists instead of starting
    // its own: every test daemon would share it, and close() could not tell its shims apart.
    if (existsSync(SYSTEM_CONTAINERD)) {
      throw new Error(`${SYSTEM_CONTAINERD} exists: a system containerd is running; stop it (dockerd would use it instead of its own)`);
    }
    const tag = (options.name ?? '').toLowerCase().replace(/[^a-z0-9]+/g, '-').slice(0, 12);
    const dir = await shortTempDir(tag ? `nmdk-${tag}-` : 'nmdk-');
    const d = new Dockerd(dir, options);
    try {
      await writeFile(join(dir, 'daemon.json'), '{}\n');
      d.startReaper();
      try {
        await d.launch();
      } catch (err) {
        if (options.storageDriver !== undefined) throw err;
        // overlay2 is refused on some backing filesystems (overlayfs, some tmpfs): start
        // afresh on vfs, which works anywhere.
        const first = d.output;
        await d.stop();
        const leftovers = await sweep(dir, { keepDir: true });
        if (leftovers.length > 0) throw new Error(`${(err as Error).message}\ncleanup: ${leftovers.join('\n')}`, { cause: err });
        await rm(d.dataRoot, { recursive: true, force: true });
        d.driver = 'vfs';
        d.output = `${first}\n--- overlay2 failed (${(err as Error).message.split('\n')[0]}); retrying with vfs ---\n`;
        await d.launch();
      }
    } catch (err) {
      await d.close().catch(() => undefined);
      throw err;
    }
    return d;
  }

  /** The storage driver in use. */
  get storageDriver(): string {
    return this.driver;
  }

  /** dockerd's pid (setpriv, unshare and sh exec, so it is the child's own); undefined while stopped. */
  get pid(): number | undefined {
    return this.running() ? this.child?.pid : undefined;
  }

  /**
   * This daemon's own processes: dockerd, its containerd and the containers' shims (their
   * command lines name the temp dir); not the containers' processes. What a benchmark sums to
   * charge the daemon side of a stats request.
   */
  daemonPids(): number[] {
    return processesReferencing([this.dir]);
  }

  /** Everything dockerd has written to stdout and stderr, across restarts. */
  logs(): string {
    return this.output;
  }

  /** `GET /_ping` answers OK. */
  ping(timeoutMs?: number): Promise<boolean> {
    return pingSocket(this.socketPath, timeoutMs);
  }

  /** Runs `/usr/bin/docker -H <endpoint> ...args`; rejects (with stderr) on a non-zero exit unless `allowFail`. */
  docker(args: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
    // A private client config: the user's ~/.docker (contexts, credential helpers,
    // default formats) must not change what the tests see.
    const env: NodeJS.ProcessEnv = { ...(opts.env ?? process.env), DOCKER_CONFIG: join(this.dir, 'client') };
    delete env.DOCKER_HOST;
    delete env.DOCKER_CONTEXT;
    return run(DOCKER, ['-H', this.endpoint, ...args], { ...opts, env });
  }

  /** Imports the busybox image (once per daemon; it survives restart()) and returns its name. */
  ensureImage(): Promise<string> {
    this.image ??= this.importImage().catch((err: unknown) => {
      this.image = undefined;
      throw err;
    });
    return this.image;
  }

  private async importImage(): Promise<string> {
    const rootfs = join(this.dir, 'rootfs');
    await rm(rootfs, { recursive: true, force: true });
    for (const d of ['bin', 'etc', 'tmp', 'root', 'proc', 'sys', 'dev']) await mkdir(join(rootfs, d), { recursive: true });
    await chmod(join(rootfs, 'tmp'), 0o1777);
    await copyFile(BUSYBOX, join(rootfs, 'bin', 'busybox'));
    await chmod(join(rootfs, 'bin', 'busybox'), 0o755);
    const applets = (await run(BUSYBOX, ['--list'])).stdout.split('\n').filter((a) => /^[\w.[-]+$/.test(a) && a !== 'busybox');
    for (const a of applets) await symlink('busybox', join(rootfs, 'bin', a));
    await writeFile(join(rootfs, 'etc', 'passwd'), 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n');
    await writeFile(join(rootfs, 'etc', 'group'), 'root:x:0:\nnogroup:x:65534:\n');
    const tar = join(this.dir, 'busybox.tar');
    await run('tar', ['--numeric-owner', '--owner=0', '--group=0', '-C', rootfs, '-cf', tar, '.']);
    // An imported image has no config: give it a default command so `docker run image` works.
    await this.docker(['import', '--change', 'CMD ["sh"]', tar, TEST_IMAGE], { timeoutMs: 120_000 });
    return TEST_IMAGE;
  }

  /** `docker run -d` of the busybox image with `sh -c <command>`; returns the full id. */
  async runContainer(spec: ContainerSpec): Promise<{ id: string; name: string }> {
    const image = await this.ensureImage();
    const args = ['run', '-d', '--name', spec.name, '--stop-timeout', String(spec.stopTimeoutS ?? 1)];
    for (const [k, v] of Object.entries(spec.labels ?? {})) args.push('--label', `${k}=${v}`);
    for (const [k, v] of Object.entries(spec.env ?? {})) args.push('--env', `${k}=${v}`);
    if (spec.memory !== undefined) args.push('--memory', spec.memory);
    if (spec.cpus !== undefined) args.push('--cpus', spec.cpus);
    if (spec.healthCmd !== undefined) {
      args.push('--health-cmd', spec.healthCmd, '--health-interval', `${spec.healthIntervalS ?? 1}s`);
    }
    if (spec.network !== undefined) args.push('--network', spec.network);
    args.push(...(spec.extraArgs ?? []), image, 'sh', '-c', spec.command);
    const started = await this.docker(args, { timeoutMs: 60_000 });
    this.containerIds.add(started.stdout.trim());
    const id = (await this.docker(['inspect', '--type', 'container', '--format', '{{.Id}}', spec.name])).stdout.trim();
    if (!/^[0-9a-f]{64}$/.test(id)) throw new Error(`docker inspect ${spec.name}: unexpected id ${JSON.stringify(id)}`);
    this.containerIds.add(id);
    return { id, name: spec.name };
  }

  /** `docker inspect` of one container, parsed. */
  async inspect(id: string): Promise<ContainerInspect> {
    const { stdout } = await this.docker(['inspect', '--type', 'container', id]);
    const list = JSON.parse(stdout) as ContainerInspect[];
    if (list.length !== 1) throw new Error(`docker inspect ${id}: ${list.length} objects`);
    return list[0]!;
  }

  /** `docker stats --no-stream` of the running containers, parsed into numbers. */
  async statsNoStream(): Promise<DockerStatsRow[]> {
    const { stdout } = await this.docker(['stats', '--no-stream', '--no-trunc', '--format', '{{json .}}'], { timeoutMs: 60_000 });
    return stdout
      .split('\n')
      .filter((l) => l.trim() !== '')
      .map(parseStatsLine);
  }

  /** Stops dockerd (SIGTERM, SIGKILL after 30 s) and its containerd; containers with no restart policy stay stopped. */
  async stop(): Promise<void> {
    const child = this.child;
    if (child && this.running()) {
      child.kill('SIGTERM');
      await waitForExit(child, 30_000);
    }
    // dockerd stops its containerd on a clean shutdown; after a SIGKILL containerd gets its
    // parent-death signal. Either way wait for it, so restart() starts a fresh one.
    const containerd = (): number[] => processesReferencing([join(this.execRoot, 'containerd', 'containerd.toml')]);
    const gone = await waitFor('containerd to exit', () => (containerd().length === 0 ? true : undefined), {
      timeoutMs: 10_000,
    }).catch(() => false);
    if (!gone) {
      for (const pid of containerd()) killQuietly(pid);
    }
  }

  /** Stops dockerd and starts it again on the same socket and data root; waits for `/_ping`. */
  async restart(): Promise<void> {
    if (this.closing) throw new Error('restart() after close()');
    await this.stop();
    this.output += '\n--- restart ---\n';
    await this.launch();
  }

  /**
   * Removes all containers, stops dockerd, kills any containerd, shim or container process
   * of this daemon that survived, unmounts what is left under the temp dir, removes it.
   * Idempotent. Rejects, listing them, if processes or mounts remain.
   */
  close(): Promise<void> {
    this.closing ??= this.doClose();
    return this.closing;
  }

  private async doClose(): Promise<void> {
    const problems: string[] = [];
    const before = processesReferencing([`${this.dir}/`]);
    if (this.running() && (await this.ping())) {
      const ps = await this.docker(['ps', '-aq', '--no-trunc'], { allowFail: true }).catch((e: Error) => ({
        code: -1,
        stdout: '',
        stderr: e.message,
      }));
      const ids = ps.stdout.split('\n').filter((l) => l !== '');
      for (const id of ids) this.containerIds.add(id);
      if (ids.length > 0) {
        const rmf = await this.docker(['rm', '-f', ...ids], { allowFail: true, timeoutMs: 60_000 }).catch((e: Error) => ({
          code: -1,
          stderr: e.message,
        }));
        if (rmf.code !== 0) problems.push(`docker rm -f: ${rmf.stderr.trim()}`);
      }
    }
    await this.stop();
    const leftovers = await sweep(this.dir, { knownIds: [...this.containerIds] });
    // The sweep is done; the reaper may go (it exits on "done" instead of sweeping).
    this.reaper?.stdin?.end('done\n');
    // Shims (and dockerd, if it was SIGKILLed) are reparented to init, which reaps at its
    // own pace (about a second on the test VM); wait a little so `pgrep` right after
    // close() shows nothing. A zombie holds nothing else, so this is not a failure.
    await waitFor('zombies of dockerd to be reaped', () => (before.some((p) => existsSync(`/proc/${p}`)) ? undefined : true), {
      timeoutMs: 5_000,
    }).catch(() => undefined);
    if (leftovers.length > 0) {
      problems.push(...leftovers);
      throw new Error(`dockerd ${this.dir} teardown:\n${problems.join('\n')}\n--- dockerd log ---\n${this.output.slice(-4000)}`);
    }
  }

  private running(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  private async launch(): Promise<void> {
    await mkdir(this.dataRoot, { recursive: true });
    await mkdir(this.execRoot, { recursive: true });
    const args = [
      '--host', this.endpoint,
      '--data-root', this.dataRoot,
      '--exec-root', this.execRoot,
      '--pidfile', this.pidFile,
      // Not /etc/docker/daemon.json: the host's settings must not leak in.
      '--config-file', join(this.dir, 'daemon.json'),
      '--storage-driver', this.driver,
      // A private network namespace: no host firewall rules to add or clean up.
      '--iptables=false',
      '--ip6tables=false',
      ...this.extraArgs,
    ];
    const env = Object.fromEntries(
      // DOCKER_* (DOCKER_TMPDIR, DOCKER_HOST…) and systemd's NOTIFY_SOCKET would steer dockerd.
      Object.entries(process.env).filter(([k]) => !k.startsWith('DOCKER_') && k !== 'NOTIFY_SOCKET'),
    );
    // unshare (no --fork) and sh exec, so the child's pid is dockerd's. lo is down in a new
    // network namespace; busybox's `ip` avoids needing iproute2.
    const child = spawnTracked(
      'unshare',
      ['-n', '--', '/bin/sh', '-c', `${BUSYBOX} ip link set lo up && exec "$@"`, 'sh', DOCKERD, ...args],
      { stdio: ['ignore', 'pipe', 'pipe'], env },
    );
    this.child = child;
    child.stdout?.setEncoding('utf8').on('data', (d: string) => (this.output += d));
    child.stderr?.setEncoding('utf8').on('data', (d: string) => (this.output += d));
    let spawnError: Error | undefined;
    child.once('error', (err) => (spawnError = err));
    const closed = new Promise<void>((resolve) => child.once('close', () => resolve()));
    // Not waitFor(): it keeps polling until its timeout even after dockerd has exited
    // (say, refusing overlay2), and the vfs fallback should not wait for that.
    const deadline = Date.now() + this.startTimeoutMs;
    for (;;) {
      let failure: string | undefined;
      if (spawnError) failure = `could not start dockerd: ${spawnError.message}`;
      else if (!this.running()) {
        await Promise.race([closed, sleep(1_000)]); // the rest of its output
        failure = `dockerd exited ${child.exitCode ?? child.signalCode} before answering /_ping`;
      } else if (await this.ping(1_000)) return;
      else if (Date.now() > deadline) failure = `dockerd did not answer /_ping within ${this.startTimeoutMs} ms`;
      if (failure) throw new Error(`${failure}\n--- dockerd log ---\n${this.output.slice(-4000)}`);
      await sleep(50);
    }
  }

  /**
   * Starts the reaper: this module as a detached program (no pdeathsig, own session) with a
   * pipe from this process on stdin. "done" on it means close() finished; EOF without it
   * means this process died, and the reaper sweeps the temp dir.
   */
  private startReaper(): void {
    const env: NodeJS.ProcessEnv = { ...process.env, [REAP_ENV]: this.dir };
    // Not a test file: it must not report to node --test.
    delete env.NODE_TEST_CONTEXT;
    delete env.NODE_OPTIONS;
    const reaper = spawn(process.execPath, [import.meta.filename], { detached: true, stdio: ['pipe', 'ignore', 'ignore'], env });
    reaper.on('error', () => undefined);
    reaper.stdin?.on('error', () => undefined);
    // Neither the process nor its pipe may keep this process's event loop alive.
    reaper.unref();
    (reaper.stdin as Socket | null)?.unref();
    this.reaper = reaper;
  }
}

/** A fresh temp dir whose socket path fits in sun_path; falls back to /tmp when TMPDIR is long. */
async function shortTempDir(prefix: string): Promise<string> {
  const tmp = await makeTempDir(prefix);
  if (Buffer.byteLength(join(tmp.path, 'exec', 'containerd', 'containerd.sock.ttrpc')) <= MAX_SOCKET_PATH) return tmp.path;
  await tmp.remove();
  return mkdtemp(join('/tmp', prefix));
}

function killQuietly(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // already gone
  }
}

/** Live (non-zombie) pids whose command line contains one of `needles`, this process excluded. */
function processesReferencing(needles: readonly string[]): number[] {
  const pids: number[] = [];
  for (const entry of readdirSyncSafe('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    const cmdline = readFileSyncSafe(`/proc/${entry}/cmdline`);
    if (cmdline && needles.some((n) => cmdline.includes(n)) && isAlive(Number(entry))) pids.push(Number(entry));
  }
  return pids;
}

/** True when `pid` exists and is not a zombie (a zombie holds nothing but its pid). */
export function isAlive(pid: number): boolean {
  const stat = readFileSyncSafe(`/proc/${pid}/stat`);
  if (stat === undefined) return false;
  // The state follows the parenthesised comm, which may itself contain ") ".
  const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
  return state !== 'Z' && state !== 'X';
}

function readdirSyncSafe(path: string): string[] {
  try {
    return readdirSync(path);
  } catch {
    return [];
  }
}

function readFileSyncSafe(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

/** Mount points (unescaped) at or under `dir`, from /proc/self/mountinfo. */
export async function mountsUnder(dir: string): Promise<string[]> {
  const text = await readFile('/proc/self/mountinfo', 'utf8');
  const unescape = (s: string): string => s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
  return text
    .split('\n')
    .map((l) => unescape(l.split(' ')[4] ?? ''))
    .filter((p) => p === dir || p.startsWith(`${dir}/`));
}

/** Container cgroup dirs of `id` on this host (cgroupfs driver, parent `docker`; v1 and v2 layouts). */
export async function containerCgroupDirs(id: string): Promise<string[]> {
  const roots = (await readdir('/sys/fs/cgroup').catch(() => [] as string[])).map((c) => join('/sys/fs/cgroup', c));
  return [...roots, '/sys/fs/cgroup'].map((r) => join(r, 'docker', id)).filter((p) => existsSync(p));
}

/** containerd's runc v2 shim socket of a container: /run/containerd/s/sha256(<address>/<namespace>/<id>). */
export function shimSocketPath(execRoot: string, id: string): string {
  const address = join(execRoot, 'containerd', 'containerd.sock');
  return join('/run/containerd/s', createHash('sha256').update(join(address, 'moby', id)).digest('hex'));
}

/**
 * Kills every process of the daemon whose temp dir is `dir` (command line under the dir:
 * dockerd, containerd, shims; cgroup members: container processes), removes the
 * containers' empty cgroups and stale shim sockets, lazily unmounts what is mounted under
 * `dir` (deepest first) and removes `dir`. Returns what could not be cleaned.
 */
export async function sweep(dir: string, options: { knownIds?: readonly string[]; keepDir?: boolean } = {}): Promise<string[]> {
  const dataRoot = join(dir, 'data');
  const execRoot = join(dir, 'exec');
  const ids = new Set(options.knownIds ?? []);
  for (const e of await readdir(join(dataRoot, 'containers')).catch(() => [] as string[])) {
    if (/^[0-9a-f]{64}$/.test(e)) ids.add(e);
  }
  const problems: string[] = [];

  const cgroupProcs = async (): Promise<number[]> => {
    const pids: number[] = [];
    for (const id of ids) {
      for (const cg of await containerCgroupDirs(id)) {
        const text = await readFile(join(cg, 'cgroup.procs'), 'utf8').catch(() => '');
        pids.push(...text.split('\n').filter((l) => l !== '').map(Number));
      }
    }
    return pids.filter(isAlive);
  };
  const survivors = async (): Promise<number[]> => [...new Set([...processesReferencing([`${dir}/`]), ...(await cgroupProcs())])];
  // Everything at once (dockerd killed alone would respawn containerd), in rounds, until
  // nothing is left: a shim killed mid-fork can leave a new child behind.
  for (let round = 0; round < 50; round++) {
    const pids = await survivors();
    if (pids.length === 0) break;
    // A paused (frozen) container ignores SIGKILL until thawed.
    for (const id of ids) await writeFile(`/sys/fs/cgroup/freezer/docker/${id}/freezer.state`, 'THAWED').catch(() => undefined);
    for (const pid of pids) killQuietly(pid);
    await sleep(100);
  }
  for (const pid of await survivors()) {
    const exe = await readlink(`/proc/${pid}/exe`).catch(() => '?');
    problems.push(`process ${pid} (${exe}) survived SIGKILL`);
  }

  // runc removes a container's cgroups when it is deleted; not when its shim was killed.
  for (const id of ids) {
    for (const cg of await containerCgroupDirs(id)) {
      await rmdir(cg).catch((e: NodeJS.ErrnoException) => problems.push(`rmdir ${cg}: ${e.code}`));
    }
    await unlink(shimSocketPath(execRoot, id)).catch(() => undefined);
  }

  for (let round = 0; round < 10; round++) {
    const mounts = await mountsUnder(dir);
    if (mounts.length === 0) break;
    // Deepest first; a path mounted twice (dockerd bind-mounts the data root on itself) takes two rounds.
    mounts.sort((a, b) => b.split('/').length - a.split('/').length);
    for (const m of new Set(mounts)) await run('umount', ['-l', m], { allowFail: true, timeoutMs: 10_000 }).catch(() => undefined);
  }
  const mounted = await mountsUnder(dir);
  for (const m of mounted) problems.push(`still mounted: ${m}`);

  // Never rm across a mount: it would delete the mounted filesystem's files.
  if (!options.keepDir && mounted.length === 0) {
    await rm(dir, { recursive: true, force: true, maxRetries: 3 }).catch((e: Error) => problems.push(`rm ${dir}: ${e.message}`));
  }
  return problems;
}

// Run as a program: the reaper of one daemon (see Dockerd.startReaper).
if (import.meta.main && process.env[REAP_ENV]) {
  const dir = process.env[REAP_ENV];
  let input = '';
  process.stdin.setEncoding('utf8');
  process.stdin.on('data', (d: string) => (input += d));
  process.stdin.on('error', () => undefined);
  process.stdin.on('end', () => {
    if (input.includes('done')) return;
    void sweep(dir).then(
      () => process.exit(0),
      () => process.exit(1),
    );
  });
}
