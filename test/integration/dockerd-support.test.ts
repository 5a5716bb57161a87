// Proves test/support/dockerd.ts against Debian's real dockerd 20.10: a private daemon
// starts and answers, the busybox image imports, containers burn CPU, hold memory, talk over
// the bridge and pass a health check as `docker inspect`/`docker stats` and their cgroups
// show, restart() brings the daemon back, and close() (or the reaper, when the test process
// is SIGKILLed) leaves no process, mount, cgroup or file behind.
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { after, before, describe, test } from 'node:test';
import {
  Dockerd,
  parseDockerSize,
  parseStatsLine,
  pingSocket,
  shimSocketPath,
  TEST_IMAGE,
  type DockerStatsRow,
} from '../support/dockerd.ts';
import { requirePrereqs } from '../support/prereqs.ts';
import { run, spawnTracked, waitFor } from '../support/proc.ts';

const MiB = 2 ** 20;
const POD_LABELS = {
  'io.kubernetes.pod.name': 'p1',
  'io.kubernetes.pod.namespace': 'ns1',
  'io.kubernetes.container.name': 'burn',
};

// Independent of the helper's own sweep code, so a bug there cannot hide itself.
function pidsReferencing(dir: string): number[] {
  return readdirSync('/proc')
    .filter((e) => /^\d+$/.test(e) && Number(e) !== process.pid)
    .filter((e) => {
      try {
        return readFileSync(`/proc/${e}/cmdline`, 'utf8').includes(`${dir}/`);
      } catch {
        return false;
      }
    })
    .map(Number);
}

/** Exists and is not a zombie. */
function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !/^[ZX]/.test(stat.slice(stat.lastIndexOf(')') + 2));
  } catch {
    return false;
  }
}

function mountPointsUnder(dir: string): string[] {
  return readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((l) => l.split(' ')[4] ?? '')
    .filter((m) => m === dir || m.startsWith(`${dir}/`));
}

function cgroupDirs(id: string): string[] {
  return ['pids', 'memory', 'cpu', 'cpuacct', 'blkio', 'freezer', 'devices', 'cpuset', 'systemd', 'unified']
    .map((c) => `/sys/fs/cgroup/${c}/docker/${id}`)
    .filter((p) => existsSync(p));
}

function cmdline(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
  } catch {
    return '';
  }
}

describe('parseDockerSize', () => {
  test('decimal units, as docker stats prints network and block I/O', () => {
    assert.equal(parseDockerSize('0B'), 0);
    assert.equal(parseDockerSize('512B'), 512);
    assert.equal(parseDockerSize('6.74kB'), 6740);
    assert.equal(parseDockerSize('6.74KB'), 6740);
    assert.equal(parseDockerSize('1.2MB'), 1_200_000);
    assert.equal(parseDockerSize('5.27MB'), 5_270_000);
    assert.equal(parseDockerSize('3.5GB'), 3_500_000_000);
    assert.equal(parseDockerSize('1.25TB'), 1_250_000_000_000);
  });

  test('binary units, as docker stats prints memory', () => {
    assert.equal(parseDockerSize('576KiB'), 576 * 1024);
    assert.equal(parseDockerSize('64MiB'), 64 * MiB);
    assert.equal(parseDockerSize('20.07MiB'), Math.round(20.07 * MiB));
    assert.equal(parseDockerSize('23.59GiB'), Math.round(23.59 * 2 ** 30));
    assert.equal(parseDockerSize('1.5TiB'), 1.5 * 2 ** 40);
  });

  test('anything else throws, naming the text and the column', () => {
    for (const bad of ['', '--', '12', 'MiB', '1.2XB', '1,2MB', '-1B', '1.2mb', '1.2 / 3B', '.5MB']) {
      assert.throws(
        () => parseDockerSize(bad, 'MemUsage'),
        (err: Error) => err.message.includes(JSON.stringify(bad)) && err.message.includes('MemUsage'),
        `parseDockerSize(${JSON.stringify(bad)})`,
      );
    }
  });
});

describe('parseStatsLine', () => {
  test('a line of dockerd 20.10 `docker stats --no-trunc --format {{json .}}`', () => {
    const id = 'de29173cda0105b930a49875cbd97d6988ce8b5f243193544a0d56ff6316c4ad';
    const row = parseStatsLine(
      JSON.stringify({
        BlockIO: '1.2MB / 6.74kB',
        CPUPerc: '100.61%',
        Container: id.slice(0, 12),
        ID: id,
        MemPerc: '31.36%',
        MemUsage: '20.07MiB / 64MiB',
        Name: 'mem',
        NetIO: '5.27MB / 170kB',
        PIDs: '3',
      }),
    );
    assert.deepEqual(row, {
      id,
      name: 'mem',
      cpuPercent: 100.61,
      memUsageBytes: Math.round(20.07 * MiB),
      memLimitBytes: 64 * MiB,
      netRxBytes: 5_270_000,
      netTxBytes: 170_000,
      blockReadBytes: 1_200_000,
      blockWriteBytes: 6740,
      pids: 3,
    } satisfies DockerStatsRow);
  });

  test('a placeholder ("--", as for a container that is going away) throws naming the column', () => {
    const line = { ID: 'x', Name: 'y', CPUPerc: '--', MemUsage: '-- / --', NetIO: '0B / 0B', BlockIO: '0B / 0B', PIDs: '--' };
    assert.throws(() => parseStatsLine(JSON.stringify(line)), /MemUsage.*"--"/);
    assert.throws(() => parseStatsLine(JSON.stringify({ ...line, MemUsage: '1MiB / 2MiB' })), /CPUPerc.*"--"/);
  });
});

describe('a private dockerd (test/support/dockerd.ts)', () => {
  let d: Dockerd | undefined;
  let startMs = 0;
  const ids = new Map<string, string>();

  before(async () => {
    requirePrereqs('dockerd');
    const t0 = Date.now();
    d = await Dockerd.start({ name: 'support' });
    startMs = Date.now() - t0;
  });

  after(async () => {
    await d?.close();
  });

  test('starts, answers /_ping on its own socket, in its own network namespace, with its own containerd', async (t) => {
    t.diagnostic(`dockerd start: ${startMs} ms (${d!.storageDriver}, ${d!.dir})`);
    assert.ok(await pingSocket(d!.socketPath), d!.logs());
    assert.equal(d!.endpoint, `unix://${d!.socketPath}`);
    assert.ok(Buffer.byteLength(d!.socketPath) < 108, d!.socketPath);
    for (const p of [d!.socketPath, d!.dataRoot, d!.execRoot, d!.pidFile]) assert.ok(p.startsWith(`${d!.dir}/`), p);
    const pid = d!.pid!;
    assert.equal(Number((await readFile(d!.pidFile, 'utf8')).trim()), pid);
    assert.match(readlinkSync(`/proc/${pid}/exe`), /\/dockerd$/);
    assert.notEqual(readlinkSync(`/proc/${pid}/ns/net`), readlinkSync('/proc/self/ns/net'));
    assert.equal(readlinkSync(`/proc/${pid}/ns/pid`), readlinkSync('/proc/self/ns/pid'));
    const containerd = pidsReferencing(d!.execRoot).filter((p) => / --config \S+\/containerd\.toml/.test(cmdline(p)));
    assert.equal(containerd.length, 1, `containerd of ${d!.execRoot}: ${containerd.map(cmdline).join('\n')}`);

    const info = JSON.parse((await d!.docker(['info', '--format', '{{json .}}'])).stdout) as Record<string, unknown>;
    assert.equal(info.DockerRootDir, d!.dataRoot);
    assert.equal(info.Driver, d!.storageDriver);
    assert.equal(info.CgroupDriver, 'cgroupfs');
    assert.equal(info.Containers, 0);
  });

  test('ensureImage imports the busybox image once, with every applet and /etc/passwd', async (t) => {
    const t0 = Date.now();
    assert.equal(await d!.ensureImage(), TEST_IMAGE);
    t.diagnostic(`image build + import: ${Date.now() - t0} ms`);
    assert.equal(await d!.ensureImage(), TEST_IMAGE);
    const images = (await d!.docker(['image', 'ls', '--format', '{{.Repository}}:{{.Tag}}'])).stdout.trim().split('\n');
    assert.deepEqual(images, [TEST_IMAGE]);
    const applets = (await run('/bin/busybox', ['--list'])).stdout;
    const out = await d!.docker(['run', '--rm', TEST_IMAGE, 'sh', '-c', 'ls /bin | wc -l; id -un; test -d /tmp && test -d /proc && echo dirs']);
    // Every applet is a symlink in /bin, plus busybox itself (which --list also names).
    assert.deepEqual(out.stdout.trim().split('\n'), [String(applets.trim().split('\n').length), 'root', 'dirs']);
  });

  test('a CPU-burning container with a 64 MiB limit and pod labels shows in inspect, its cgroups and stats', async () => {
    const c = await d!.runContainer({ name: 'burn', command: 'yes > /dev/null', labels: POD_LABELS, env: { FOO: 'bar' }, memory: '64m' });
    ids.set('burn', c.id);
    assert.match(c.id, /^[0-9a-f]{64}$/);
    const info = await d!.inspect(c.id);
    assert.equal(info.Id, c.id);
    assert.equal(info.Name, '/burn');
    assert.equal(info.State.Running, true);
    assert.deepEqual(info.Config.Labels, POD_LABELS);
    assert.ok(info.Config.Env?.includes('FOO=bar'), JSON.stringify(info.Config.Env));
    assert.equal(info.HostConfig.Memory, 64 * MiB);
    assert.equal(readFileSync(`/sys/fs/cgroup/memory/docker/${c.id}/memory.limit_in_bytes`, 'utf8').trim(), String(64 * MiB));
    const procs = readFileSync(`/sys/fs/cgroup/pids/docker/${c.id}/cgroup.procs`, 'utf8').split('\n').map(Number);
    assert.ok(procs.includes(info.State.Pid), `State.Pid ${info.State.Pid} not in cgroup.procs ${procs.join(',')}`);

    let last: DockerStatsRow | undefined;
    await waitFor(
      'the burner at > 50 % CPU in docker stats',
      async () => {
        last = (await d!.statsNoStream()).find((r) => r.id === c.id);
        return last && last.cpuPercent > 50 ? last : undefined;
      },
      { timeoutMs: 30_000, intervalMs: 200 },
    ).catch((err: Error) => assert.fail(`${err.message}; last row ${JSON.stringify(last)}`));
    assert.equal(last!.name, 'burn');
    assert.equal(last!.memLimitBytes, 64 * MiB);
    assert.ok(last!.pids >= 1);
  });

  test('a container holding 20 MB shows it in stats and in its memory cgroup; --cpus reaches the CFS quota', async () => {
    // tail keeps the whole newline-free input as its last "line" until its input ends.
    const c = await d!.runContainer({
      name: 'mem',
      command: '(head -c 20000000 /dev/zero; exec sleep 1000000) | tail',
      memory: '128m',
      cpus: '0.5',
    });
    ids.set('mem', c.id);
    let last: DockerStatsRow | undefined;
    await waitFor(
      '≥ 20 MB used in docker stats',
      async () => {
        last = (await d!.statsNoStream()).find((r) => r.id === c.id);
        return last && last.memUsageBytes >= 20_000_000 ? last : undefined;
      },
      { timeoutMs: 30_000, intervalMs: 200 },
    ).catch((err: Error) => assert.fail(`${err.message}; last row ${JSON.stringify(last)}`));
    assert.ok(last!.memUsageBytes < 128 * MiB, JSON.stringify(last));
    assert.equal(last!.memLimitBytes, 128 * MiB);
    assert.equal(last!.pids, 3); // sh, sleep, tail
    const usage = Number(readFileSync(`/sys/fs/cgroup/memory/docker/${c.id}/memory.usage_in_bytes`, 'utf8'));
    assert.ok(usage >= 20_000_000, `memory.usage_in_bytes ${usage}`);

    assert.equal((await d!.inspect(c.id)).HostConfig.NanoCpus, 500_000_000);
    const quota = Number(readFileSync(`/sys/fs/cgroup/cpu/docker/${c.id}/cpu.cfs_quota_us`, 'utf8'));
    const period = Number(readFileSync(`/sys/fs/cgroup/cpu/docker/${c.id}/cpu.cfs_period_us`, 'utf8'));
    assert.equal(quota / period, 0.5);
  });

  test('two containers exchange 5 MB over the docker0 bridge; stats count it on both sides', async () => {
    const bytes = 5_000_000;
    // nc's stdin must never end: busybox nc -l quits at stdin EOF and resets the connection.
    const server = await d!.runContainer({ name: 'server', command: 'tail -f /dev/null | nc -l -p 8080 | wc -c > /tmp/received' });
    ids.set('server', server.id);
    const serverIp = (await d!.inspect(server.id)).NetworkSettings.IPAddress;
    assert.match(serverIp, /^172\.17\.\d+\.\d+$/);
    // Retried until the server listens; the client stays up so stats still list it.
    const client = await d!.runContainer({
      name: 'client',
      command: `until head -c ${bytes} /dev/zero | nc ${serverIp} 8080; do sleep 0.2; done; exec sleep 1000000`,
    });
    ids.set('client', client.id);
    const clientIp = (await d!.inspect(client.id)).NetworkSettings.IPAddress;
    assert.match(clientIp, /^172\.17\.\d+\.\d+$/);
    assert.notEqual(clientIp, serverIp);

    const received = await waitFor(
      'the server to count what it received',
      async () => {
        const r = await d!.docker(['exec', 'server', 'cat', '/tmp/received'], { allowFail: true });
        return r.code === 0 && r.stdout.trim() !== '' ? Number(r.stdout) : undefined;
      },
      { timeoutMs: 30_000, intervalMs: 200 },
    );
    assert.equal(received, bytes);
    const rows = await d!.statsNoStream();
    const s = rows.find((r) => r.id === server.id);
    const c = rows.find((r) => r.id === client.id);
    assert.ok(s && c, JSON.stringify(rows));
    assert.ok(s.netRxBytes >= bytes, `server rx ${s.netRxBytes}`);
    assert.ok(c.netTxBytes >= bytes, `client tx ${c.netTxBytes}`);
    // Nothing else talks on the bridge: the server sent only ACKs, far less than it got.
    assert.ok(s.netTxBytes < bytes / 10, `server tx ${s.netTxBytes}`);
  });

  test('a health check goes from starting to healthy', async () => {
    const c = await d!.runContainer({
      name: 'health',
      command: 'sleep 2; touch /tmp/ready; exec sleep 1000000',
      healthCmd: 'test -f /tmp/ready',
      healthIntervalS: 1,
    });
    ids.set('health', c.id);
    assert.equal((await d!.inspect(c.id)).State.Health?.Status, 'starting');
    const health = await waitFor(
      'healthy',
      async () => {
        const h = (await d!.inspect(c.id)).State.Health;
        return h?.Status === 'healthy' ? h : undefined;
      },
      { timeoutMs: 30_000, intervalMs: 200 },
    );
    assert.equal(health.Log.at(-1)?.ExitCode, 0);
    assert.ok(health.Log.some((l) => l.ExitCode !== 0), `no failed probe before /tmp/ready: ${JSON.stringify(health.Log)}`);
  });

  test('restart(): the daemon answers again on the same socket with a new pid; containers stay, stopped', async (t) => {
    const oldPid = d!.pid!;
    const burnPid = (await d!.inspect(ids.get('burn')!)).State.Pid;
    const t0 = Date.now();
    await d!.restart();
    t.diagnostic(`restart with ${ids.size} running containers: ${Date.now() - t0} ms`);
    assert.ok(await d!.ping(), d!.logs());
    assert.ok(!alive(oldPid), `old dockerd ${oldPid} still alive`);
    assert.ok(!alive(burnPid), `burner ${burnPid} still alive`);
    assert.notEqual(d!.pid, oldPid);
    assert.equal(Number((await readFile(d!.pidFile, 'utf8')).trim()), d!.pid);
    for (const [name, id] of ids) {
      const info = await d!.inspect(id);
      assert.equal(info.State.Running, false, name);
      assert.deepEqual(cgroupDirs(id), [], `cgroups of stopped ${name}`);
    }
    assert.deepEqual(await d!.statsNoStream(), []);
    assert.equal(await d!.ensureImage(), TEST_IMAGE);
    await d!.docker(['image', 'inspect', TEST_IMAGE]);
    const c = await d!.runContainer({ name: 'after-restart', command: 'exec sleep 1000000', labels: POD_LABELS });
    ids.set('after-restart', c.id);
    const rows = await d!.statsNoStream();
    assert.deepEqual(rows.map((r) => r.name), ['after-restart']);
  });

  test('close() leaves no process, mount, cgroup, shim socket or file of the daemon', async (t) => {
    const dir = d!.dir;
    const dockerdPid = d!.pid!;
    const running = await d!.inspect(ids.get('after-restart')!);
    const before = pidsReferencing(dir);
    const shims = before.filter((p) => cmdline(p).includes('containerd-shim'));
    assert.ok(before.includes(dockerdPid), `dockerd ${dockerdPid} not among ${before.join(',')}`);
    assert.ok(before.some((p) => / --config \S+\/containerd\.toml/.test(cmdline(p))), 'no containerd');
    assert.equal(shims.length, 1, before.map(cmdline).join('\n'));
    assert.ok(alive(running.State.Pid));
    assert.ok(existsSync(shimSocketPath(d!.execRoot, running.Id)), 'shim socket');
    assert.ok(mountPointsUnder(dir).length > 0, 'no mount to clean up: the check below would prove nothing');
    assert.ok(cgroupDirs(running.Id).length > 0);

    const t0 = Date.now();
    await d!.close();
    t.diagnostic(`close: ${Date.now() - t0} ms`);
    await d!.close(); // idempotent

    for (const pid of [...before, running.State.Pid]) assert.ok(!alive(pid), `${pid} (${cmdline(pid)}) survived close()`);
    assert.deepEqual(pidsReferencing(dir), []);
    assert.deepEqual(mountPointsUnder(dir), []);
    for (const [name, id] of ids) {
      assert.deepEqual(cgroupDirs(id), [], `cgroups of ${name}`);
      assert.ok(!existsSync(shimSocketPath(d!.execRoot, id)), `shim socket of ${name}`);
    }
    assert.ok(!existsSync(dir), `${dir} still exists`);
    assert.equal(await pingSocket(d!.socketPath), false);
  });
});

describe('when things die', () => {
  before(() => requirePrereqs('dockerd'));

  test('close() after dockerd was SIGKILLed kills the orphaned shim and container and unmounts what dockerd left', async () => {
    const d = await Dockerd.start({ name: 'killed' });
    try {
      const c = await d.runContainer({ name: 'sleeper', command: 'exec sleep 1000000' });
      const containerPid = (await d.inspect(c.id)).State.Pid;
      const pids = pidsReferencing(d.dir);
      const daemons = pids.filter((p) => /dockerd|containerd\.toml/.test(cmdline(p)));
      assert.equal(daemons.length, 2, pids.map(cmdline).join('\n'));
      process.kill(d.pid!, 'SIGKILL');
      await waitFor('dockerd and containerd to die', () => (daemons.some(alive) ? undefined : true));
      // What close() has to deal with: no daemon to ask, a shim and a container still running, mounts left.
      const shims = pids.filter((p) => cmdline(p).includes('containerd-shim'));
      assert.equal(shims.length, 1, pids.map(cmdline).join('\n'));
      assert.ok(alive(containerPid));
      // The data root bound on itself, the container's netns (and its rootfs with overlay2).
      assert.ok(mountPointsUnder(d.dir).length >= 2, mountPointsUnder(d.dir).join('\n'));

      await d.close();
      for (const pid of [...pids, containerPid]) assert.ok(!alive(pid), `${pid} (${cmdline(pid)}) survived close()`);
      assert.deepEqual(pidsReferencing(d.dir), []);
      assert.deepEqual(mountPointsUnder(d.dir), []);
      assert.deepEqual(cgroupDirs(c.id), []);
      assert.ok(!existsSync(shimSocketPath(d.execRoot, c.id)), 'shim socket');
      assert.ok(!existsSync(d.dir), `${d.dir} still exists`);
    } finally {
      await d.close().catch(() => undefined);
    }
  });

  test('leaves nothing behind: the reaper sweeps the daemon, its containerd, shims, containers and mounts', async (t) => {
    const helper = new URL('../support/dockerd.ts', import.meta.url).href;
    const script = [
      `import { Dockerd } from ${JSON.stringify(helper)};`,
      `const d = await Dockerd.start({ name: 'crash' });`,
      `const c = await d.runContainer({ name: 'burn', command: 'yes > /dev/null' });`,
      `const pid = (await d.inspect(c.id)).State.Pid;`,
      `console.log(JSON.stringify({ dir: d.dir, execRoot: d.execRoot, dockerd: d.pid, id: c.id, pid }));`,
      `setInterval(() => {}, 60_000);`,
    ].join('\n');
    const env = { ...process.env };
    delete env.NODE_TEST_CONTEXT;
    const child = spawnTracked(process.execPath, ['--input-type=module', '-e', script], { env });
    let out = '';
    let err = '';
    child.stdout?.setEncoding('utf8').on('data', (s: string) => (out += s));
    child.stderr?.setEncoding('utf8').on('data', (s: string) => (err += s));
    const state = await waitFor(
      'the child to start a daemon and a container',
      () => {
        if (child.exitCode !== null) throw new Error(`child exited ${child.exitCode}: ${err}`);
        const line = out.split('\n').find((l) => l.startsWith('{'));
        return line ? (JSON.parse(line) as { dir: string; execRoot: string; dockerd: number; id: string; pid: number }) : undefined;
      },
      { timeoutMs: 60_000, intervalMs: 50 },
    ).catch((e: Error) => assert.fail(`${e.message}\nstderr: ${err}`));
    const pids = pidsReferencing(state.dir);
    assert.ok(pids.includes(state.dockerd) && pids.length >= 3, `dockerd, containerd and a shim: ${pids.map(cmdline).join('\n')}`);
    assert.ok(alive(state.pid));
    assert.ok(mountPointsUnder(state.dir).length > 0);

    child.kill('SIGKILL');
    const t0 = Date.now();
    await waitFor(
      'the reaper to clean up',
      () =>
        [...pids, state.pid].every((p) => !alive(p)) &&
        mountPointsUnder(state.dir).length === 0 &&
        cgroupDirs(state.id).length === 0 &&
        !existsSync(shimSocketPath(state.execRoot, state.id)) &&
        !existsSync(state.dir)
          ? true
          : undefined,
      { timeoutMs: 30_000, intervalMs: 100 },
    ).catch(() =>
      assert.fail(
        `left behind: processes ${[...pids, state.pid].filter(alive).map((p) => `${p} ${cmdline(p)}`).join('; ')}; ` +
          `mounts ${mountPointsUnder(state.dir).join(', ')}; cgroups ${cgroupDirs(state.id).join(', ')}; dir ${existsSync(state.dir)}`,
      ),
    );
    t.diagnostic(`reaper cleaned up ${Date.now() - t0} ms after SIGKILL`);
    assert.deepEqual(pidsReferencing(state.dir), []);
    // The orphans' zombies belong to init, which reaps at its own pace; give it a moment so
    // `pgrep` after the run shows nothing (a zombie holds no resource: not a failure).
    await waitFor('init to reap the zombies', () => ([...pids, state.pid].some((p) => existsSync(`/proc/${p}`)) ? undefined : true), {
      timeoutMs: 10_000,
    }).catch(() => undefined);
  });
});
