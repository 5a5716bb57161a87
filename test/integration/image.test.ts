// The Dockerfile, built by a real dockerd (Debian's) from a locally made Node 24 base (no
// registry), run the way the DaemonSet runs it: the host's /proc, a tmpfs volume under a
// kubelet-like directory and the Docker socket mounted in. Its /metrics must show that volume
// and the daemon's other containers.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';

import { REPO_ROOT } from '../support/agent.ts';
import { Dockerd } from '../support/dockerd.ts';
import { findSamples, parseExposition } from '../support/exposition.ts';
import { importNodeBaseImage, npmCacheForLockfile } from '../support/node-base-image.ts';
import { requirePrereqs } from '../support/prereqs.ts';
import { makeTempDir, run, waitFor } from '../support/proc.ts';

const IMAGE = 'nodemeter:image-test';
const POD = '7a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d';
const PORT = 9464;
/** The repository's files as the image's build context, without what .dockerignore leaves out. */
const CONTEXT_EXCLUDES = ['./node_modules', './.git', './receivers/hostpath/native/build', './.tmp', './coverage', './bench/results', './docker/npm-cache'];

describe('the container image', { timeout: 900_000 }, () => {
  let dockerd: Dockerd | undefined;
  let tmp: { path: string; remove: () => Promise<void> } | undefined;
  let volumeDir = '';
  let mounted = false;
  let agentId = '';

  before(async () => {
    requirePrereqs('root', 'dockerd', 'debootstrap');
    dockerd = await Dockerd.start({ name: 'image' });
    await dockerd.ensureImage();
    const base = await importNodeBaseImage(dockerd);

    // The build context on stdin: the repository plus an npm cache of the lockfile as
    // docker/npm-cache, so `npm ci` in the build runs offline (the daemon has no network).
    const npmCache = await npmCacheForLockfile();
    const tarArgs = [...CONTEXT_EXCLUDES.map((e) => `--exclude=${e}`), '-C', REPO_ROOT, '-c', '.', '-C', npmCache, '--transform', 's,^_cacache,docker/npm-cache/_cacache,', '_cacache'];
    const quoted = (args: readonly string[]): string => args.map((a) => `'${a.replaceAll("'", "'\\''")}'`).join(' ');
    const build = await run(
      'bash',
      ['-o', 'pipefail', '-c', `tar ${quoted(tarArgs)} | /usr/bin/docker -H ${quoted([dockerd.endpoint])} build --build-arg NODE_IMAGE=${base} -t ${IMAGE} -`],
      { timeoutMs: 900_000, allowFail: true },
    );
    assert.equal(build.code, 0, `docker build failed:\n${(build.stdout + build.stderr).slice(-6000)}`);

    // A kubelet-like tree on the host with one emptyDir on its own tmpfs.
    tmp = await makeTempDir('nodemeter-image-');
    volumeDir = join(tmp.path, 'kubelet', 'pods', POD, 'volumes', 'kubernetes.io~empty-dir', 'cache');
    await mkdir(volumeDir, { recursive: true });
    await run('mount', ['-t', 'tmpfs', '-o', 'size=32m', 'tmpfs', volumeDir]);
    mounted = true;
    await run('dd', ['if=/dev/zero', `of=${join(volumeDir, 'data')}`, 'bs=1M', 'count=4']);

    await writeFile(
      join(tmp.path, 'config.yaml'),
      [
        'receivers:',
        '  filesystem:',
        '    root_path: /host',
        '    node_filesystems:',
        '      enabled: false',
        `    kubelet_root: ${join(tmp.path, 'kubelet')}`,
        '  docker:',
        '    endpoint: unix:///var/run/docker.sock',
        '    proc_root: /host/proc',
        '    collection_interval: 1s',
        'exporters:',
        '  prometheus:',
        'service:',
        '  pipelines:',
        '    metrics:',
        '      receivers: [filesystem, docker]',
        '      exporters: [prometheus]',
        '',
      ].join('\n'),
    );
    await dockerd.runContainer({ name: 'neighbour', command: 'sleep 600' });
    // As the DaemonSet runs it (deploy/base/daemonset.yaml): uid 0 with every capability dropped
    // but DAC_READ_SEARCH, which the kubelet's root-only directories need.
    const started = await dockerd.docker([
      'run', '-d', '--name', 'nodemeter',
      '--user', '0:0', '--cap-drop', 'ALL', '--cap-add', 'DAC_READ_SEARCH', '--read-only', '--tmpfs', '/tmp',
      '-v', '/proc:/host/proc:ro',
      '-v', `${tmp.path}:/host${tmp.path}:ro`,
      '-v', `${dockerd.socketPath}:/var/run/docker.sock`,
      '-v', `${join(tmp.path, 'config.yaml')}:/etc/nodemeter/config.yaml:ro`,
      '-e', 'NODE_NAME=image-test-node',
      IMAGE, '--config', '/etc/nodemeter/config.yaml', '--listen-port', String(PORT),
    ]);
    agentId = started.stdout.trim();
  });

  after(async () => {
    if (dockerd !== undefined && agentId !== '') await dockerd.docker(['rm', '-f', agentId], { allowFail: true });
    await dockerd?.close();
    if (mounted) await run('umount', ['-l', volumeDir], { allowFail: true });
    await tmp?.remove();
  });

  /** GET from inside dockerd's network namespace, where the container's address is reachable. */
  async function fetchFromContainer(path: string): Promise<{ code: number; body: string }> {
    const ip = (await dockerd!.docker(['inspect', '--format', '{{.NetworkSettings.IPAddress}}', agentId])).stdout.trim();
    const pid = dockerd!.pid;
    assert.ok(pid !== undefined, 'dockerd is running');
    const r = await run('nsenter', ['-t', String(pid), '-n', 'curl', '-s', '-m', '10', '-o', '-', '-w', '\n%{http_code}', `http://${ip}:${PORT}${path}`], { allowFail: true });
    const nl = r.stdout.lastIndexOf('\n');
    return { code: Number(r.stdout.slice(nl + 1)), body: r.stdout.slice(0, nl) };
  }

  async function logs(): Promise<string> {
    const r = await dockerd!.docker(['logs', '--tail', '60', agentId], { allowFail: true });
    return `${r.stdout}${r.stderr}`;
  }

  test('runs as a non-root user by default, with production dependencies only and the native scanner built', async () => {
    const user = (await dockerd!.docker(['inspect', '--format', '{{.Config.User}}', IMAGE])).stdout.trim();
    assert.equal(user, '65532:65532');
    const whoami = await dockerd!.docker(['run', '--rm', '--entrypoint', 'node', IMAGE, '-p', 'process.getuid() + ":" + process.getgid()']);
    assert.equal(whoami.stdout.trim(), '65532:65532', 'a container started without --user runs as 65532');
    const pid = (await dockerd!.docker(['inspect', '--format', '{{.State.Pid}}', agentId])).stdout.trim();
    const status = execFileSync('cat', [`/proc/${pid}/status`], { encoding: 'utf8' });
    // DAC_READ_SEARCH is capability 2: the effective set holds it and nothing else.
    assert.equal(/^CapEff:\s+([0-9a-f]+)/m.exec(status)?.[1], '0000000000000004', 'the agent keeps only DAC_READ_SEARCH');
    const probe = await dockerd!.docker([
      'run', '--rm', '--entrypoint', 'node', IMAGE, '-p',
      "['eslint','typescript','fast-check','pino','yaml'].map((p)=>p+'='+require('fs').existsSync('/app/node_modules/'+p)).join(' ')+' native='+require('fs').existsSync('/app/receivers/hostpath/native/build/walkdir.node')+' node='+process.versions.node.split('.')[0]",
    ]);
    assert.equal(probe.stdout.trim(), 'eslint=false typescript=false fast-check=false pino=true yaml=true native=true node=24');
  });

  test("/metrics shows the tmpfs volume and the daemon's other containers", async () => {
    let last = '';
    const samples = await waitFor(
      'the volume and the neighbour container in /metrics',
      async () => {
        const r = await fetchFromContainer('/metrics');
        last = `HTTP ${r.code}`;
        if (r.code !== 200) return undefined;
        const parsed = parseExposition(r.body);
        const complete =
          findSamples(parsed, 'kubelet_volume_stats_capacity_bytes', { pod_uid: POD, volume: 'cache' }).length === 1 &&
          findSamples(parsed, 'container_memory_working_set_bytes', { name: 'neighbour' }).length === 1;
        return complete ? parsed : undefined;
      },
      { timeoutMs: 60_000, intervalMs: 500 },
    ).catch(async (err: unknown) => {
      throw new Error(`${(err as Error).message} (last answer ${last})\n${await logs()}`);
    });
    assert.equal(findSamples(samples, 'kubelet_volume_stats_capacity_bytes', { pod_uid: POD, volume: 'cache' })[0]?.value, 32 * 1024 * 1024);
    const used = findSamples(samples, 'kubelet_volume_stats_used_bytes', { pod_uid: POD, volume: 'cache' })[0]?.value ?? 0;
    assert.ok(used >= 4 * 1024 * 1024, `used ${used} bytes after writing 4 MiB`);
    assert.equal(findSamples(samples, 'kubelet_volume_stats_capacity_bytes', { volume: 'cache' })[0]?.labels.mountpoint, volumeDir, 'the host path, /host stripped');
    const health = await fetchFromContainer('/healthz');
    assert.equal(health.code, 200);
  });

  test('stops on SIGTERM by itself, promptly and cleanly', async () => {
    const began = Date.now();
    await dockerd!.docker(['stop', '--time', '20', agentId], { timeoutMs: 60_000 });
    const tookMs = Date.now() - began;
    const exit = (await dockerd!.docker(['inspect', '--format', '{{.State.ExitCode}} {{.State.OOMKilled}}', agentId])).stdout.trim();
    assert.equal(exit, '0 false', await logs());
    assert.ok(tookMs < 10_000, `docker stop took ${tookMs} ms: SIGTERM was not handled`);
  });
});
