// Shutdown on SIGTERM (what the kubelet sends) and SIGINT (Ctrl-C): exit code 0, the
// logs say so, and a scrape in flight when the signal arrives is answered, not cut off.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { join } from 'node:path';
import { filesystemConfig, startAgent, type Agent } from '../support/agent.ts';
import { findSamples, parseExposition } from '../support/exposition.ts';
import { FuseHang } from '../support/fuse.ts';
import type { HttpResponse } from '../support/http.ts';
import { KubeletTree, MountNamespace } from '../support/mountns.ts';
import { requirePrereqs } from '../support/prereqs.ts';
import { makeTempDir, sleep } from '../support/proc.ts';

const POD = '2f3e4d5c-6666-4fa0-b1c2-ffffffffffff';

function assertCleanShutdown(agent: Agent, stopped: Awaited<ReturnType<Agent['stop']>>, signal: NodeJS.Signals): void {
  assert.equal(stopped.killed, false, `agent did not exit on ${signal} within the grace period\n${agent.describe()}`);
  assert.equal(stopped.signal, null, `agent died of a signal instead of exiting\n${agent.describe()}`);
  assert.equal(stopped.code, 0, agent.describe());
  const shutting = stopped.logs.find((l) => l.msg === 'shutting down');
  assert.ok(shutting, `a "shutting down" log line\n${agent.describe()}`);
  assert.equal(shutting.signal, signal);
  assert.ok(
    stopped.logs.some((l) => l.msg === 'stopped'),
    `a "stopped" log line\n${agent.describe()}`,
  );
  assert.ok(!stopped.logs.some((l) => (l.level ?? 0) >= 50), `no error or fatal log lines\n${agent.describe()}`);
}

describe('agent shutdown on signals', () => {
  let dir: { path: string; remove: () => Promise<void> } | undefined;
  const agents: Agent[] = [];

  before(async () => {
    dir = await makeTempDir('nodemeter-sig-');
  });

  after(async () => {
    for (const a of agents) await a.kill();
    await dir?.remove();
  });

  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    test(`${signal}: exit code 0 and the logs say it shut down`, async () => {
      const agent = await startAgent({ config: filesystemConfig(join(dir!.path, 'kubelet')) });
      agents.push(agent);
      const res = await agent.scrape();
      assert.ok(res.body.includes('# TYPE'), 'serves metrics before the signal');
      const stopped = await agent.stop(signal);
      assertCleanShutdown(agent, stopped, signal);
    });
  }
});

describe('SIGTERM with a scrape in flight', () => {
  let ns: MountNamespace | undefined;
  let fuse: FuseHang | undefined;
  let agent: Agent | undefined;
  let fuseMount: string;

  before(async () => {
    requirePrereqs('root', 'mountns', 'fuse');
    ns = await MountNamespace.create();
    const tree = new KubeletTree(ns);
    await tree.emptyDir(POD, 'cache', { size: '8m' });
    fuseMount = join(tree.volumeDir(POD, 'csi', 'pvc-slow'), 'mount');
    fuse = await FuseHang.start(ns, { mountpoint: fuseMount });
    // A long statfs timeout: a scrape that meets the hung mount takes that long.
    agent = await startAgent({ config: filesystemConfig(tree.kubeletRoot, { statfsTimeout: '2s' }), prefix: ns.prefix });
  });

  after(async () => {
    await fuse?.unhang();
    await agent?.kill();
    await fuse?.close();
    await ns?.close();
  });

  test('a scrape in flight at SIGTERM is answered in full, new connections are refused, exit code 0', async () => {
    // statfs on the FUSE volume blocks until we release it, well inside the 2 s timeout:
    // the scrape is slow, not failed.
    await fuse!.hang();
    const started = performance.now();
    const inFlight: Promise<HttpResponse> = agent!.scrape('/metrics', { timeoutMs: 30_000 });
    inFlight.catch(() => undefined); // awaited below; keep an early rejection from going unhandled
    await sleep(400);
    const stopping = agent!.stop('SIGTERM', 20_000);
    await sleep(200);
    assert.ok(!agent!.exited, 'still serving the in-flight scrape 200 ms after SIGTERM');
    const fresh = await agent!.get('/readyz', { timeoutMs: 2_000 }).then(
      (r) => `status ${r.status}`,
      (e: Error) => `error ${e.message}`,
    );
    assert.ok(!fresh.startsWith('status 200'), `a new request after SIGTERM got ${fresh}`);
    await fuse!.unhang();

    const res = await inFlight;
    const elapsed = performance.now() - started;
    assert.equal(res.status, 200);
    assert.ok(elapsed >= 600, `the scrape was in flight across the signal (${elapsed.toFixed(0)} ms)`);
    const samples = parseExposition(res.body);
    assert.equal(findSamples(samples, 'kubelet_volume_stats_capacity_bytes', { mountpoint: fuseMount }).length, 1, 'full answer for the slow mount');
    assert.deepEqual(findSamples(samples, 'nodemeter_filesystem_volume_error'), []);
    const stopped = await stopping;
    assertCleanShutdown(agent!, stopped, 'SIGTERM');
  });
});

describe('SIGTERM while a statfs call stays blocked in the kernel', () => {
  // A thread blocked in statfs on a FUSE mount whose daemon has the request cannot be
  // ended by any signal, SIGKILL included, until the daemon answers (the kernel waits
  // uninterruptibly). So the process cannot end while the hang lasts; what the agent
  // can do is shut everything else down at once and end as soon as the call returns.
  let ns: MountNamespace | undefined;
  let fuse: FuseHang | undefined;
  let agent: Agent | undefined;

  before(async () => {
    requirePrereqs('root', 'mountns', 'fuse');
    ns = await MountNamespace.create();
    const tree = new KubeletTree(ns);
    fuse = await FuseHang.start(ns, { mountpoint: join(tree.volumeDir(POD, 'csi', 'pvc-stuck'), 'mount') });
    agent = await startAgent({ config: filesystemConfig(tree.kubeletRoot, { statfsTimeout: '300ms' }), prefix: ns.prefix });
  });

  after(async () => {
    await fuse?.unhang(); // first: nothing can end while the statfs is blocked
    await agent?.kill();
    await fuse?.close();
    await ns?.close();
  });

  test('shutdown completes at once, and the process ends as soon as the mount answers', async (t) => {
    await fuse!.hang();
    const res = await agent!.scrape();
    assert.equal(findSamples(parseExposition(res.body), 'nodemeter_filesystem_volume_error').length, 1);
    agent!.child.kill('SIGTERM');
    // Everything but the blocked thread shuts down without waiting for it.
    await agent!.waitForLog('stopped', (l) => l.msg === 'stopped', 5_000);
    const fresh = await agent!.get('/readyz', { timeoutMs: 2_000 }).then(
      (r) => `status ${r.status}`,
      (e: Error) => `error ${e.message}`,
    );
    assert.ok(!fresh.startsWith('status 200'), `a new request after SIGTERM got ${fresh}`);
    await sleep(500);
    const exitedWhileHung = agent!.exited;
    await fuse!.unhang();
    const stopped = await agent!.stop(null, 5_000); // already signalled once; a second SIGTERM would kill it outright
    t.diagnostic(`after the mount answered the agent ended with code ${stopped.code} signal ${stopped.signal}`);
    assert.equal(stopped.killed, false, `the agent did not end within 5 s of the mount answering\n${agent!.describe()}`);
    assert.ok(stopped.logs.some((l) => l.msg === 'shutting down'), agent!.describe());
    // Node cannot join a thread blocked in statfs: the agent either exits 0 or, as
    // receivers/filesystem/README.md documents, ends itself with SIGKILL after saying so.
    if (stopped.code !== 0) {
      assert.equal(stopped.signal, 'SIGKILL', agent!.describe());
      assert.match(stopped.stderr, /blocked/, agent!.describe());
    }
    assert.equal(exitedWhileHung, false, 'the kernel cannot end a process while one of its threads waits on a hung FUSE statfs');
  });
});
