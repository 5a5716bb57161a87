// SIGTERM while the agent is in the middle of something long: a push the gateway holds, an OTLP
// export the receiver holds, a directory walk of a million entries. What the code is designed to
// do (exporters/push-loop.ts, exporters/pushgateway/exporter.ts, exporters/otlphttp/exporter.ts,
// receivers/hostpath/walk-pool.ts, cli/main.ts):
// - Pushgateway: the push in flight is abandoned at once (no final push); with
//   delete_on_shutdown the group is DELETEd, that request bounded by `timeout`.
// - OTLP: the export in flight is awaited (at most `timeout`), so it lands if the receiver answers.
// - A walk is aborted and its partial totals dropped: nothing incomplete is served or pushed.
// Each time the agent exits 0 well within its grace (10 s to drain pulls in cli/main.ts, 30 s
// terminationGracePeriodSeconds in deploy/), with no thread or process left behind.
// sigterm.test.ts covers SIGTERM and SIGINT at rest, with a pull in flight, and during a blocked statfs.
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { filesystemConfig, startAgent, type Agent, type StopResult } from '../support/agent.ts';
import { buildBigTree, type BigTree } from '../support/big-tree.ts';
import { findSamples, parseExposition } from '../support/exposition.ts';
import { MountNamespace } from '../support/mountns.ts';
import { requirePrereqs } from '../support/prereqs.ts';
import { makeTempDir, waitFor } from '../support/proc.ts';
import { Pushgateway } from '../support/pushgateway.ts';
import { ScriptedServer } from '../support/scripted-server.ts';

const NODE = 'node-faults-term';
const GROUP_PATH = `/metrics/job/nodemeter/instance/${NODE}`;
/** The Kubernetes default and deploy/base/daemonset.yaml's terminationGracePeriodSeconds. */
const POD_GRACE_MS = 30_000;

/** Exit 0 on its own (not killed, no signal), "shutting down" and "stopped" logged, nothing at error. */
function assertCleanExit(agent: Agent, stopped: StopResult): void {
  assert.equal(stopped.killed, false, `the agent did not exit by itself\n${agent.describe()}`);
  assert.equal(stopped.signal, null, agent.describe());
  assert.equal(stopped.code, 0, agent.describe());
  assert.ok(stopped.logs.some((l) => l.msg === 'shutting down' && l.signal === 'SIGTERM'), agent.describe());
  assert.ok(stopped.logs.some((l) => l.msg === 'stopped'), agent.describe());
  assert.deepEqual(stopped.logs.filter((l) => (l.level ?? 0) >= 50), [], 'nothing at error');
  assert.doesNotMatch(stopped.stderr, /blocked|Unhandled|uncaught/i, 'stderr');
}

describe('SIGTERM during a Pushgateway push', () => {
  let dir: Awaited<ReturnType<typeof makeTempDir>> | undefined;
  const servers: ScriptedServer[] = [];
  const agents: Agent[] = [];

  before(async () => {
    dir = await makeTempDir('nodemeter-faults-term-');
  });

  after(async () => {
    for (const a of agents) await a.kill();
    for (const s of servers) await s.close();
    await dir?.remove();
  });

  /** An agent pushing to a gateway that holds every PUT (and DELETEs too, with `holdDelete`). */
  async function pushingAgent(holdDelete: boolean): Promise<{ agent: Agent; gateway: ScriptedServer }> {
    const gateway = await ScriptedServer.start({
      script: (r) => (r.method === 'PUT' ? { holdMs: Infinity } : { holdMs: holdDelete ? Infinity : 0, status: 202 }),
    });
    servers.push(gateway);
    const agent = await startAgent({
      config: filesystemConfig(join(dir!.path, 'kubelet'), { statfsTimeout: null, exporters: { pushgateway: [`    endpoint: ${gateway.url}`, '    interval: 1s', '    timeout: 2s', '    delete_on_shutdown: true'] } }),
      extraArgs: ['--node-name', NODE],
    });
    agents.push(agent);
    await gateway.waitForRequest('a push held by the gateway', (r) => r.method === 'PUT' && r.outcome === 'held');
    return { agent, gateway };
  }

  test('the held push is abandoned at once (no final push), the group is DELETEd, exit 0 within a second or two', async (t) => {
    const { agent, gateway } = await pushingAgent(false);
    const held = gateway.requests.find((r) => r.method === 'PUT' && r.outcome === 'held')!;
    const signalledAt = performance.now();
    const stopped = await agent.stop('SIGTERM', POD_GRACE_MS);
    const exitMs = performance.now() - signalledAt;
    t.diagnostic(`exit ${exitMs.toFixed(0)} ms after SIGTERM; the held push ended ${(held.endedAt! - signalledAt).toFixed(0)} ms after it`);
    assertCleanExit(agent, stopped);
    assert.equal(held.outcome, 'client_closed', 'the agent dropped the push it was making');
    assert.ok(held.endedAt! - signalledAt < 1_500, 'at once, not after its 2 s timeout');
    const after_ = gateway.requests.filter((r) => r.arrivedAt > signalledAt);
    assert.deepEqual(after_.map((r) => `${r.method} ${r.path}`), [`DELETE ${GROUP_PATH}`], 'no final push; the group is deleted');
    assert.ok(stopped.logs.some((l) => l.msg === 'deleted the group from the Pushgateway'));
    assert.ok(exitMs < 2_000, `exit ${exitMs.toFixed(0)} ms after SIGTERM: shorter than the 2 s push timeout`);
  });

  test('a gateway that holds the DELETE too: it is given up after `timeout` (2 s), logged at warn, exit 0', async (t) => {
    const { agent, gateway } = await pushingAgent(true);
    const signalledAt = performance.now();
    const stopped = await agent.stop('SIGTERM', POD_GRACE_MS);
    const exitMs = performance.now() - signalledAt;
    t.diagnostic(`exit ${exitMs.toFixed(0)} ms after SIGTERM`);
    assertCleanExit(agent, stopped);
    const deleted = gateway.requests.find((r) => r.method === 'DELETE');
    assert.ok(deleted, 'the DELETE was sent');
    assert.equal(deleted.outcome, 'client_closed', 'and given up');
    const heldMs = deleted.endedAt! - deleted.arrivedAt;
    assert.ok(heldMs >= 1_800 && heldMs < 3_000, `after about its 2 s timeout (${heldMs.toFixed(0)} ms)`);
    const warning = stopped.logs.find((l) => l.msg === 'could not delete the group from the Pushgateway');
    assert.ok(warning, agent.describe());
    assert.equal(warning.level, 40);
    assert.equal(warning.reason, 'timeout');
    assert.ok(exitMs < 4_000, `exit ${exitMs.toFixed(0)} ms after SIGTERM: bounded by the DELETE's timeout`);
  });
});

describe('SIGTERM during an OTLP export', () => {
  let dir: Awaited<ReturnType<typeof makeTempDir>> | undefined;
  let receiver: ScriptedServer | undefined;
  let agent: Agent | undefined;

  before(async () => {
    dir = await makeTempDir('nodemeter-faults-term-otlp-');
    // Held 1.5 s, well inside the 5 s timeout.
    receiver = await ScriptedServer.start({ script: () => ({ holdMs: 1_500, status: 200, body: '{}', contentType: 'application/json' }) });
    agent = await startAgent({
      config: filesystemConfig(join(dir.path, 'kubelet'), { statfsTimeout: null, exporters: { otlphttp: [`    endpoint: ${receiver.url}/v1/metrics`, '    compression: none', '    interval: 10s', '    timeout: 5s'] } }),
      extraArgs: ['--node-name', NODE],
    });
  });

  after(async () => {
    await agent?.kill();
    await receiver?.close();
    await dir?.remove();
  });

  test('the export in flight is waited for and lands; nothing is sent after it; exit 0 once it is answered', async (t) => {
    const held = await receiver!.waitForRequest('an export held by the receiver', (r) => r.method === 'POST' && r.outcome === 'held');
    const signalledAt = performance.now();
    const stopped = await agent!.stop('SIGTERM', POD_GRACE_MS);
    const exitMs = performance.now() - signalledAt;
    t.diagnostic(`exit ${exitMs.toFixed(0)} ms after SIGTERM; the export was answered ${(held.endedAt! - signalledAt).toFixed(0)} ms after it`);
    assertCleanExit(agent!, stopped);
    assert.equal(held.outcome, 'answered', 'the export in flight was not cut off');
    assert.match(held.body.toString('utf8'), /"node_filesystem_size_bytes"/);
    assert.equal(receiver!.requests.filter((r) => r.arrivedAt > signalledAt).length, 0, 'no export started after SIGTERM');
    assert.ok(exitMs < 5_000, `exit ${exitMs.toFixed(0)} ms after SIGTERM: within the export timeout`);
  });
});

describe('SIGTERM during a directory walk of 1,000,000 entries', () => {
  const PV = 'pvc-7a6b5c4d-3333-4444-5555-666677778888';
  const VOLUME = `${PV}_shop_archive`;
  let ns: MountNamespace | undefined;
  let pg: Pushgateway | undefined;
  let agent: Agent | undefined;
  let tree: BigTree;
  let base = '';

  before(async () => {
    requirePrereqs('root', 'mountns', 'pushgateway');
    ns = await MountNamespace.create();
    const mount = join(ns.root, 'disk');
    await ns.mountTmpfs(mount, { size: '256m', nrInodes: 2_100_000 });
    base = join(mount, 'local-path-provisioner');
    await ns.exec('mkdir', ['-p', base, join(mount, 'staging')]);
    tree = await buildBigTree(join(mount, 'staging', VOLUME), { directories: 10_000, filesPerDirectory: 99, processes: 2, prefix: ns.prefix });
    pg = await Pushgateway.start();
  });

  after(async () => {
    await agent?.kill();
    await pg?.close();
    await ns?.close();
  });

  test('the walk is aborted: its partial totals are neither served nor pushed, the walk threads end, exit 0 at once, nothing left running', async (t) => {
    const namespace = ns!;
    agent = await startAgent({
      prefix: namespace.prefix,
      extraArgs: ['--node-name', NODE],
      config: [
        'receivers:',
        '  hostpath:',
        `    local_path_base_dirs: [${JSON.stringify(base)}]`,
        '    collection_interval: 10m',
        '    jitter: 0',
        '    walk_timeout: 5m',
        // One thread: the walk takes seconds, so SIGTERM lands in the middle of it.
        '    threads: 1',
        'exporters:',
        '  prometheus: {}',
        '  pushgateway:',
        `    endpoint: ${pg!.url}`,
        '    interval: 200ms',
        '    timeout: 2s',
        'service:',
        '  pipelines:',
        '    metrics:',
        '      receivers: [hostpath]',
        '      exporters: [prometheus, pushgateway]',
        '',
      ].join('\n'),
    });
    const pid = agent.child.pid!;
    const threadsAtRest = threadCount(pid);
    await namespace.exec('mv', ['-T', tree.path, join(base, VOLUME)]);
    // Under way: a walk thread busy, no result yet; and the gateway got a push saying so.
    await waitFor(
      'a pull showing the walk under way',
      async () => {
        const samples = parseExposition((await agent!.scrape()).body);
        const busy = findSamples(samples, 'nodemeter_hostpath_walk_threads', { state: 'busy' })[0]?.value ?? 0;
        assert.equal(findSamples(samples, 'kubelet_volume_stats_used_bytes', { persistentvolume: PV }).length, 0, 'no usage before the walk ends');
        return busy > 0 ? true : undefined;
      },
      { timeoutMs: 20_000, intervalMs: 20 },
    );
    await waitFor('a push made during the walk', async () => ((await pg!.scrape()).includes('state="busy"} 1') ? true : undefined), { timeoutMs: 5_000, intervalMs: 50 });
    const threadsWalking = threadCount(pid);
    const signalledAt = performance.now();
    const stopped = await agent.stop('SIGTERM', POD_GRACE_MS);
    const exitMs = performance.now() - signalledAt;
    t.diagnostic(`threads at rest ${threadsAtRest}, while walking ${threadsWalking}; exit ${exitMs.toFixed(0)} ms after SIGTERM`);

    assertCleanExit(agent, stopped);
    assert.ok(threadsWalking > threadsAtRest, 'a walk thread was running at SIGTERM');
    assert.ok(exitMs < 3_000, `exit ${exitMs.toFixed(0)} ms after SIGTERM: the walk was not waited for`);
    assert.ok(!stopped.logs.some((l) => l.msg === 'volume walk failed; serving the last good result'), 'the abort is no walk failure');
    assert.equal(existsSync(`/proc/${pid}`), false, 'the agent process is gone');
    assert.deepEqual(processesIn(namespace), [], 'nothing of the agent is left in its mount namespace');
    // The last push stands on the gateway (no delete_on_shutdown): it holds no total of the
    // half-walked volume, and no push after SIGTERM added one.
    const exposition = await pg!.scrape();
    assert.doesNotMatch(exposition, new RegExp(`kubelet_volume_stats_(used_bytes|inodes_used)\\{[^}]*${PV}`), 'no partial total pushed');
    assert.match(exposition, /nodemeter_hostpath_walk_threads\{[^}]*state="busy"[^}]*\} 1/, 'the last push was made during the walk');
  });
});

/** Threads of process `pid` (its /proc status). */
function threadCount(pid: number): number {
  const match = /^Threads:\s+(\d+)$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(match?.[1] ?? NaN);
}

/** Processes in the namespace other than its holder, as `pid command`. */
function processesIn(ns: MountNamespace): string[] {
  const mine = readlinkSync(`/proc/${ns.pid}/ns/mnt`);
  const found: string[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === ns.pid) continue;
    try {
      if (readlinkSync(`/proc/${entry}/ns/mnt`) === mine) found.push(`${entry} ${readFileSync(`/proc/${entry}/cmdline`, 'utf8').replaceAll('\0', ' ').trim()}`);
    } catch {
      // gone meanwhile
    }
  }
  return found;
}
