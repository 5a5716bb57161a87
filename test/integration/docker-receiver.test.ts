// The docker receiver against a real dockerd (Debian's docker.io, on a private socket, data root
// and network namespace; test/support/dockerd.ts) running busybox containers that burn CPU, hold
// memory, write to disk with O_DIRECT, exchange traffic over the bridge (ICMP), carry io.kubernetes.*
// labels and a health check. Two real agents read them, one through the Engine API and one
// through the cgroup files; both must agree with each other and with `docker stats --no-stream`,
// and follow containers and the daemon through start, stop, removal and restarts.
import assert from 'node:assert/strict';
import { mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { AGENT_BIN, NODE24, REPO_ROOT, startAgent, type Agent } from '../support/agent.ts';
import { Dockerd, type DockerStatsRow } from '../support/dockerd.ts';
import { findSamples, parseExposition, sampleValue, type Sample } from '../support/exposition.ts';
import { requirePrereqs } from '../support/prereqs.ts';
import { run as run2, sleep, waitFor } from '../support/proc.ts';

const MiB = 1024 * 1024;
const HELD_BYTES = 30_000_000;
const WRITTEN_BYTES = 16 * MiB;
/** ICMP payload the client sends the server (and gets back): 50 × 1,200 + 20 × 60,000 bytes. */
const SENT_BYTES = 50 * 1200 + 20 * 60_000;
const K8S = { 'io.kubernetes.pod.namespace': 'shop', 'io.kubernetes.pod.name': 'web-0', 'io.kubernetes.container.name': 'burner' };

function agentConfig(endpoint: string, source: 'api' | 'cgroup'): string {
  return [
    'receivers:',
    '  docker:',
    `    endpoint: ${JSON.stringify(endpoint)}`,
    `    source: ${source}`,
    '    collection_interval: 1s',
    // Long on purpose: containers that come and go must be followed through the event stream.
    '    container_refresh_interval: 10m',
    '    container_labels_to_metric_labels: { team: team }',
    '    env_vars_to_metric_labels: { APP_TIER: tier }',
    '    excluded_names: ["excluded-*"]',
    'exporters:',
    '  prometheus: {}',
    'service:',
    '  pipelines:',
    '    metrics:',
    '      receivers: [docker]',
    '      exporters: [prometheus]',
    '',
  ].join('\n');
}

async function scrape(agent: Agent): Promise<{ text: string; samples: Sample[] }> {
  const res = await agent.get('/metrics');
  assert.equal(res.status, 200, `scrape failed: ${res.status} ${res.body.slice(0, 300)}`);
  return { text: res.body, samples: parseExposition(res.body) };
}

/** Polls until `check` stops throwing (proc.ts's waitFor, for checks that return nothing). */
function eventually(what: string, timeoutMs: number, check: () => Promise<void>): Promise<true> {
  return waitFor(what, async () => (await check(), true as const), { timeoutMs });
}

function within(actual: number, expected: number, relative: number, absolute: number, what: string): void {
  const tolerance = Math.max(Math.abs(expected) * relative, absolute);
  assert.ok(Math.abs(actual - expected) <= tolerance, `${what}: ${actual} vs ${expected} (tolerance ${tolerance})`);
}

describe('docker receiver against a real dockerd', () => {
  let dockerd: Dockerd;
  let apiAgent: Agent | undefined;
  let cgroupAgent: Agent | undefined;
  const ids: Record<string, string> = {};

  before(async () => {
    requirePrereqs('root', 'dockerd');
    dockerd = await Dockerd.start({ name: 'receiver' });
    await dockerd.ensureImage();
    const run = async (spec: Parameters<Dockerd['runContainer']>[0]): Promise<void> => {
      ids[spec.name] = (await dockerd.runContainer(spec)).id;
    };
    await run({ name: 'burner', command: 'yes > /dev/null', memory: '64m', labels: { ...K8S, team: 'payments' }, env: { APP_TIER: 'batch', SECRET_TOKEN: 's3cr3t-value' } });
    // tmpfs pages are charged to the container and are never inactive file pages: all working set.
    await run({ name: 'memhog', command: `head -c ${HELD_BYTES} /dev/zero > /dev/shm/held; sleep 100000` });
    // This kernel accounts a v1 cgroup's block I/O only once blk-throttle has a rule for it (the
    // root's blkio.throttle.io_service_bytes stays at 0): a limit far above the writes enables it.
    const device = (await run2('df', ['--output=source', dockerd.dataRoot])).stdout.trim().split('\n').pop() as string;
    await run({
      name: 'writer',
      command: `dd if=/dev/zero of=/written bs=1M count=${WRITTEN_BYTES / MiB} oflag=direct 2>/dev/null; sleep 100000`,
      extraArgs: ['--device-write-bps', `${device}:1gb`],
    });
    await run({ name: 'checked', command: 'sleep 100000', healthCmd: 'true' });
    await run({ name: 'server', command: 'sleep 100000' });
    const serverIp = (await dockerd.inspect(ids.server as string)).NetworkSettings.IPAddress;
    assert.ok(serverIp, 'the server container has an address on the bridge');
    await sleep(300);
    // Pings, large ones fragmented: simpler than busybox nc, whose server quits when its own stdin ends.
    await run({ name: 'client', command: `ping -q -c 50 -s 1200 -i 0.02 ${serverIp}; ping -q -c 20 -s 60000 -i 0.05 ${serverIp}; sleep 100000` });
    await run({ name: 'excluded-one', command: 'sleep 100000' });
    // Everything settled: traffic sent, memory held, file written, health check passed.
    await eventually('the containers settling', 30_000, async () => {
      const rows = new Map((await dockerd.statsNoStream()).map((r) => [r.name, r]));
      assert.ok((rows.get('server')?.netRxBytes ?? 0) >= SENT_BYTES, `server received ${rows.get('server')?.netRxBytes}`);
      assert.ok((rows.get('memhog')?.memUsageBytes ?? 0) >= HELD_BYTES, `memhog holds ${rows.get('memhog')?.memUsageBytes}`);
      assert.ok((rows.get('writer')?.blockWriteBytes ?? 0) >= WRITTEN_BYTES, `writer wrote ${rows.get('writer')?.blockWriteBytes}`);
      assert.equal((await dockerd.inspect(ids.checked as string)).State.Health?.Status, 'healthy');
    });
    [apiAgent, cgroupAgent] = await Promise.all([startAgent({ config: agentConfig(dockerd.endpoint, 'api') }), startAgent({ config: agentConfig(dockerd.endpoint, 'cgroup') })]);
    // Both have read every container at least once.
    for (const agent of [apiAgent, cgroupAgent]) {
      await eventually('a first complete round', 15_000, async () => {
        const { samples } = await scrape(agent);
        for (const name of ['burner', 'memhog', 'writer', 'checked', 'server', 'client']) sampleValue(samples, 'container_memory_usage_bytes', { name });
      });
    }
  });

  after(async () => {
    await Promise.all([apiAgent?.stop(), cgroupAgent?.stop()]);
    await dockerd?.close();
  });

  it('gives the same families and labels from the API and from the cgroup files, Kubernetes names and chosen labels included, secrets left out', async () => {
    const [api, cg] = await Promise.all([scrape(apiAgent as Agent), scrape(cgroupAgent as Agent)]);
    const familiesOf = (samples: readonly Sample[], name: string): string[] =>
      [...new Set(samples.filter((s) => s.labels.name === name).map((s) => s.name))].sort();
    for (const name of ['burner', 'memhog', 'writer', 'checked', 'server', 'client']) {
      assert.deepEqual(familiesOf(cg.samples, name), familiesOf(api.samples, name), `families of ${name}`);
    }
    const burner = findSamples(api.samples, 'container_cpu_usage_seconds_total', { name: 'burner' })[0];
    assert.deepEqual(burner?.labels, { id: ids.burner, name: 'burner', image: 'nodemeter-test/busybox:1', namespace: 'shop', pod: 'web-0', container: 'burner', team: 'payments', tier: 'batch' });
    assert.deepEqual(findSamples(cg.samples, 'container_cpu_usage_seconds_total', { name: 'burner' })[0]?.labels, burner?.labels);
    for (const family of [
      'container_cpu_usage_seconds_total',
      'container_cpu_user_seconds_total',
      'container_cpu_system_seconds_total',
      'container_cpu_cfs_throttled_periods_total',
      'container_cpu_cfs_throttled_seconds_total',
      'container_memory_usage_bytes',
      'container_memory_working_set_bytes',
      'container_memory_rss',
      'container_memory_cache',
      'container_spec_memory_limit_bytes',
      'container_pids',
      'container_network_receive_bytes_total',
      'container_network_transmit_packets_total',
      'container_fs_writes_bytes_total',
      'container_running',
      'container_health_status',
    ]) {
      assert.ok(familiesOf(api.samples, 'server').includes(family) || familiesOf(api.samples, 'writer').includes(family), `${family} is reported`);
    }
    for (const text of [api.text, cg.text]) {
      assert.ok(!text.includes('s3cr3t-value') && !text.includes('SECRET_TOKEN'), 'an environment variable not asked for never becomes a label');
      assert.ok(!text.includes('excluded-one'), 'excluded_names drops the container');
    }
    assert.equal(sampleValue(api.samples, 'nodemeter_docker_up', {}), 1);
  });

  it('the two sources agree with each other and with docker stats --no-stream', async () => {
    const [api, cg, stats] = await Promise.all([scrape(apiAgent as Agent), scrape(cgroupAgent as Agent), dockerd.statsNoStream()]);
    const rows = new Map<string, DockerStatsRow>(stats.map((r) => [r.name, r]));
    const both = (family: string, name: string, extra: Record<string, string> = {}): [number, number] => [sampleValue(api.samples, family, { name, ...extra }), sampleValue(cg.samples, family, { name, ...extra })];

    // CPU: the burner uses a whole CPU; the two agents read it up to a round (1 s) apart.
    const [apiCpu, cgCpu] = both('container_cpu_usage_seconds_total', 'burner');
    assert.ok(apiCpu > 0.5, `the burner has used CPU: ${apiCpu}`);
    within(cgCpu, apiCpu, 0, 2.5, 'burner CPU seconds, cgroup vs API');
    const [apiUser, cgUser] = both('container_cpu_user_seconds_total', 'burner');
    within(cgUser, apiUser, 0, 2.5, 'burner user CPU seconds');
    const [apiIdle, cgIdle] = both('container_cpu_usage_seconds_total', 'checked');
    within(cgIdle, apiIdle, 0, 0.5, 'an idle container’s CPU seconds (health checks run in it)');

    // Memory.
    for (const name of ['memhog', 'burner', 'server']) {
      const [a, c] = both('container_memory_usage_bytes', name);
      within(c, a, 0.05, 1 * MiB, `${name} memory usage, cgroup vs API`);
      const [wa, wc] = both('container_memory_working_set_bytes', name);
      within(wc, wa, 0.05, 1 * MiB, `${name} working set, cgroup vs API`);
      // docker stats (20.10) shows usage − total_inactive_file: the working set, rounded to 4 digits.
      within(wa, rows.get(name)?.memUsageBytes ?? NaN, 0.05, 1 * MiB, `${name} working set vs docker stats`);
      const [ra, rc] = both('container_memory_rss', name);
      within(rc, ra, 0.05, 1 * MiB, `${name} rss`);
    }
    const [heldApi] = both('container_memory_working_set_bytes', 'memhog');
    assert.ok(heldApi >= HELD_BYTES, `memhog's working set holds its ${HELD_BYTES} bytes: ${heldApi}`);
    assert.deepEqual(both('container_spec_memory_limit_bytes', 'burner'), [64 * MiB, 64 * MiB]);
    assert.equal(rows.get('burner')?.memLimitBytes, 64 * MiB);
    assert.deepEqual(both('container_spec_memory_limit_bytes', 'server'), [0, 0], 'no limit is 0');

    // Tasks.
    for (const name of ['burner', 'memhog', 'server']) {
      const [a, c] = both('container_pids', name);
      assert.equal(c, a, `${name} pids`);
      assert.equal(a, rows.get(name)?.pids, `${name} pids vs docker stats`);
    }

    // Network: the server received what the client sent, over eth0 (loopback is not reported).
    const [rxApi, rxCg] = both('container_network_receive_bytes_total', 'server', { interface: 'eth0' });
    assert.ok(rxApi >= SENT_BYTES, `server rx ${rxApi}`);
    within(rxCg, rxApi, 0.001, 2000, 'server rx bytes, cgroup vs API');
    within(rxApi, rows.get('server')?.netRxBytes ?? NaN, 0.005, 2000, 'server rx bytes vs docker stats');
    const [txApi, txCg] = both('container_network_transmit_bytes_total', 'client', { interface: 'eth0' });
    assert.ok(txApi >= SENT_BYTES, `client tx ${txApi}`);
    within(txCg, txApi, 0.001, 2000, 'client tx bytes, cgroup vs API');
    assert.equal(findSamples(api.samples, 'container_network_receive_bytes_total', { interface: 'lo' }).length, 0);
    assert.equal(findSamples(cg.samples, 'container_network_receive_bytes_total', { interface: 'lo' }).length, 0);

    // Block I/O: the writer's O_DIRECT writes, on the device holding the data root.
    const writes = (samples: readonly Sample[]): number => findSamples(samples, 'container_fs_writes_bytes_total', { name: 'writer' }).reduce((sum, s) => sum + s.value, 0);
    assert.ok(writes(api.samples) >= WRITTEN_BYTES, `writer's writes through the API: ${writes(api.samples)}`);
    assert.equal(writes(cg.samples), writes(api.samples), 'writer bytes written, cgroup vs API');
    within(writes(api.samples), rows.get('writer')?.blockWriteBytes ?? NaN, 0.005, 0, 'writer bytes written vs docker stats');
    const devices = findSamples(api.samples, 'container_fs_writes_bytes_total', { name: 'writer' }).map((s) => s.labels.device);
    assert.ok(devices.every((d) => d?.startsWith('/dev/')), `devices are named: ${devices.join(', ')}`);
  });

  it('nodemeter collect --once reports every running container read once', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'nm-dk-once-'));
    try {
      for (const source of ['api', 'cgroup'] as const) {
        const configPath = join(dir, `${source}.yaml`);
        // Intervals far longer than the run: only the first list and the first round can answer.
        await writeFile(configPath, agentConfig(dockerd.endpoint, source).replace('collection_interval: 1s', 'collection_interval: 1h'));
        const r = await run2(NODE24, [AGENT_BIN, 'collect', '--once', '--config', configPath], { cwd: REPO_ROOT, timeoutMs: 60_000, allowFail: true });
        assert.equal(r.code, 0, `${source}: collect --once exit code\nstderr:\n${r.stderr}`);
        const samples = parseExposition(r.stdout);
        for (const name of ['burner', 'memhog', 'writer', 'checked', 'server', 'client']) {
          assert.ok(sampleValue(samples, 'container_memory_working_set_bytes', { name }) > 0, `${source}: ${name} working set`);
          assert.ok(sampleValue(samples, 'container_cpu_usage_seconds_total', { name }) > 0, `${source}: ${name} CPU`);
        }
        assert.equal(findSamples(samples, 'container_running', { name: 'excluded-one' }).length, 0, `${source}: excluded container`);
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('reports running and health state', async () => {
    const { samples } = await scrape(apiAgent as Agent);
    assert.equal(sampleValue(samples, 'container_health_status', { name: 'checked', status: 'healthy' }), 1);
    assert.equal(sampleValue(samples, 'container_health_status', { name: 'checked', status: 'none' }), 0);
    assert.equal(sampleValue(samples, 'container_health_status', { name: 'burner', status: 'none' }), 1);
    assert.equal(sampleValue(samples, 'container_running', { name: 'burner' }), 1);
  });

  it('follows a container started, stopped and removed after the agents started (through events)', async () => {
    const late = await dockerd.runContainer({ name: 'late', command: 'sleep 100000' });
    for (const agent of [apiAgent as Agent, cgroupAgent as Agent]) {
      await eventually('the new container’s usage', 10_000, async () => {
        const { samples } = await scrape(agent);
        assert.equal(sampleValue(samples, 'container_running', { name: 'late' }), 1);
        sampleValue(samples, 'container_memory_usage_bytes', { name: 'late' });
      });
    }
    await dockerd.docker(['stop', '-t', '1', late.id]);
    for (const agent of [apiAgent as Agent, cgroupAgent as Agent]) {
      await eventually('the stopped container losing its usage series', 10_000, async () => {
        const { samples } = await scrape(agent);
        assert.equal(sampleValue(samples, 'container_running', { name: 'late' }), 0);
        assert.equal(findSamples(samples, 'container_memory_usage_bytes', { name: 'late' }).length, 0);
        assert.equal(findSamples(samples, 'container_cpu_usage_seconds_total', { name: 'late' }).length, 0);
      });
    }
    await dockerd.docker(['rm', late.id]);
    for (const agent of [apiAgent as Agent, cgroupAgent as Agent]) {
      await eventually('the removed container losing every series', 10_000, async () => {
        const { text } = await scrape(agent);
        assert.ok(!text.includes('name="late"'), 'no series of the removed container');
      });
    }
  });

  it('a dockerd absent at start is retried until it answers; a dockerd restart is reported and survived', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'nm-dk-later-'));
    const later = join(dir, 'docker.sock');
    const waiting = await startAgent({ config: agentConfig(`unix://${later}`, 'api') });
    try {
      await eventually('the absent daemon reported', 10_000, async () => {
        const { samples } = await scrape(waiting);
        assert.equal(sampleValue(samples, 'nodemeter_docker_up', {}), 0);
        assert.ok(sampleValue(samples, 'nodemeter_docker_errors_total', { operation: 'version' }) >= 1);
      });
      // The daemon "appears" at the configured path.
      await symlink(dockerd.socketPath, later);
      await eventually('the daemon found once it answers', 40_000, async () => {
        const { samples } = await scrape(waiting);
        assert.equal(sampleValue(samples, 'nodemeter_docker_up', {}), 1);
        sampleValue(samples, 'container_memory_usage_bytes', { name: 'burner' });
      });

      // Restart: the agents see the daemon go and come back; containers without a restart policy stay stopped.
      const seenDown = { value: false };
      const watch = (async () => {
        const deadline = Date.now() + 60_000;
        while (!seenDown.value && Date.now() < deadline) {
          const { samples } = await scrape(apiAgent as Agent);
          if (findSamples(samples, 'nodemeter_docker_up', {})[0]?.value === 0) seenDown.value = true;
          await sleep(20);
        }
      })();
      await dockerd.restart();
      await watch;
      assert.ok(seenDown.value, 'nodemeter_docker_up went to 0 while the daemon was down');
      for (const agent of [apiAgent as Agent, cgroupAgent as Agent, waiting]) {
        await eventually('the daemon answering again', 40_000, async () => {
          const { samples } = await scrape(agent);
          assert.equal(sampleValue(samples, 'nodemeter_docker_up', {}), 1);
          assert.equal(sampleValue(samples, 'container_running', { name: 'burner' }), 0, 'the restart stopped the burner');
          assert.ok(sampleValue(samples, 'nodemeter_docker_errors_total', { operation: 'events' }) >= 1, 'the lost event stream was counted');
        });
        assert.ok(!agent.exited, 'the agent is still running');
      }
      // A container started after the restart is found through the new event stream.
      await dockerd.runContainer({ name: 'after-restart', command: 'sleep 100000' });
      await eventually('a container started after the restart', 10_000, async () => {
        const { samples } = await scrape(apiAgent as Agent);
        sampleValue(samples, 'container_memory_usage_bytes', { name: 'after-restart' });
      });
    } finally {
      await waiting.stop();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
