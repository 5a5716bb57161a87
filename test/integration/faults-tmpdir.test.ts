// A full disk under the agent's temp dir. The only thing the agent writes there is Node's module
// compile cache (bin/nodemeter.js → cli/compile-cache.ts; nothing in pipeline/, receivers/,
// exporters/, kube/ or cli/ writes files), so TMPDIR points at a tmpfs in a private mount
// namespace: with room, the cache lands there (which proves the agent uses that dir); full to
// the last byte, the agent still starts, collects, serves pulls, pushes to the real Pushgateway
// and exits 0, says in its log why the cache is off, and leaves nothing behind in the full dir.
import assert from 'node:assert/strict';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { filesystemConfig, startAgent, type Agent } from '../support/agent.ts';
import { findSamples, parseExposition } from '../support/exposition.ts';
import { KubeletTree, MountNamespace } from '../support/mountns.ts';
import { requirePrereqs } from '../support/prereqs.ts';
import { waitFor } from '../support/proc.ts';
import { Pushgateway } from '../support/pushgateway.ts';

const NODE = 'node-faults-tmp';
const POD = '6e5d4c3b-7777-4a00-b1c2-aaaaaaaaaaaa';
const CACHE_OFF = 'Node compile cache off: no room in the temp dir (starts take longer)';

/** Every file under `dir` (inside the namespace, seen from the host through /proc/<holder>/root). */
function filesUnder(dir: string): Array<{ path: string; size: number }> {
  const found: Array<{ path: string; size: number }> = [];
  for (const entry of readdirSync(dir, { recursive: true, encoding: 'utf8' })) {
    const stat = statSync(join(dir, entry));
    if (stat.isFile()) found.push({ path: entry, size: stat.size });
  }
  return found;
}

describe('the temp dir on a full disk', () => {
  let ns: MountNamespace | undefined;
  let pg: Pushgateway | undefined;
  const agents: Agent[] = [];
  let kubeletRoot = '';
  let roomy = '';
  let full = '';

  before(async () => {
    requirePrereqs('root', 'mountns', 'pushgateway');
    ns = await MountNamespace.create();
    const tree = new KubeletTree(ns);
    await tree.emptyDir(POD, 'scratch', { size: '8m' });
    kubeletRoot = tree.kubeletRoot;
    roomy = join(ns.root, 'tmp-roomy');
    full = join(ns.root, 'tmp-full');
    await ns.mountTmpfs(roomy, { size: '64m' });
    await ns.mountTmpfs(full, { size: '1m' });
    await ns.writeZeros(join(full, 'filler'), 1024 * 1024);
    pg = await Pushgateway.start();
  });

  after(async () => {
    for (const a of agents) await a.kill();
    await pg?.close();
    await ns?.close();
  });

  async function run(tmp: string): Promise<Agent> {
    const agent = await startAgent({
      prefix: ns!.prefix,
      env: { TMPDIR: tmp },
      extraArgs: ['--node-name', NODE],
      config: filesystemConfig(kubeletRoot, {
        statfsTimeout: null,
        exporters: { pushgateway: [`    endpoint: ${pg!.url}`, `    job: ${JSON.stringify(`tmp-${tmp === full ? 'full' : 'roomy'}`)}`, '    interval: 300ms'] },
      }),
    });
    agents.push(agent);
    return agent;
  }

  /** Pulls and a push work: the emptyDir is measured, and the Pushgateway holds the job's group. */
  async function assertWorks(agent: Agent, job: string): Promise<void> {
    const samples = parseExposition((await agent.scrape()).body);
    assert.equal(findSamples(samples, 'kubelet_volume_stats_capacity_bytes', { pod_uid: POD }).length, 1, 'the emptyDir is measured');
    await waitFor(`a push of job ${job}`, async () => ((await pg!.scrape()).includes(`job="${job}"`) ? true : undefined), { timeoutMs: 5_000, intervalMs: 100 });
  }

  test('with room: the compile cache is written to TMPDIR (so that is where the agent writes)', async () => {
    const agent = await run(roomy);
    await assertWorks(agent, 'tmp-roomy');
    const stopped = await agent.stop();
    assert.equal(stopped.code, 0, agent.describe());
    assert.ok(!stopped.logs.some((l) => l.msg === CACHE_OFF), 'the cache is on');
    const cached = filesUnder(join(`/proc/${ns!.pid}/root`, roomy)).filter((f) => f.path.startsWith('node-compile-cache/'));
    assert.ok(cached.length > 100, `the compile cache holds the agent's modules (${cached.length} files)`);
    assert.ok(cached.every((f) => f.size > 0), 'each a complete entry');
  });

  test('full to the last byte: starts, pulls, pushes and exits 0; the log says the cache is off; nothing is left in the full dir', async () => {
    const fullSeen = join(`/proc/${ns!.pid}/root`, full);
    assert.equal((await ns!.dfBytes(full)).avail, 0, 'the temp dir is full');
    const before_ = filesUnder(fullSeen);
    const agent = await run(full);
    await assertWorks(agent, 'tmp-full');
    const warning = await agent.waitForLog('the compile cache is off', (l) => l.msg === CACHE_OFF);
    assert.equal(warning.level, 40, 'at warn');
    assert.equal(warning.directory, full, 'naming the dir');
    assert.match(String(warning.reason), /^0 bytes free/);
    const stopped = await agent.stop();
    assert.equal(stopped.code, 0, agent.describe());
    assert.deepEqual(stopped.logs.filter((l) => (l.level ?? 0) >= 50), [], 'nothing at error');
    assert.doesNotMatch(stopped.stderr, /ENOSPC|Unhandled|uncaught/i, 'stderr');
    // Node's cache on a full disk would leave an empty temp file per module here, every start.
    assert.deepEqual(filesUnder(fullSeen), before_, 'the full dir holds what it held before');
  });
});
