// `promtool check metrics` (Prometheus 2.42, Debian) lints the agent's real /metrics
// exposition: volumes, node filesystems with awkward mount point names, a stuck mount's
// error series and the agent's self-telemetry, all in one scrape.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { join } from 'node:path';
import { filesystemConfig, startAgent, type Agent } from '../support/agent.ts';
import { findSamples, parseExposition } from '../support/exposition.ts';
import { FuseHang } from '../support/fuse.ts';
import { KubeletTree, MountNamespace } from '../support/mountns.ts';
import { requirePrereqs } from '../support/prereqs.ts';
import { promtoolCheckMetrics } from '../support/promtool.ts';
import { waitFor } from '../support/proc.ts';

const POD = '9a8b7c6d-4444-4d8e-9f0a-dddddddddddd';

describe('promtool check metrics on the agent exposition', () => {
  let ns: MountNamespace | undefined;
  let fuse: FuseHang | undefined;
  let agent: Agent | undefined;
  let oddDir: string;
  let exposition = '';

  before(async () => {
    requirePrereqs('root', 'mountns', 'loop', 'ext4', 'fuse', 'promtool');
    ns = await MountNamespace.create();
    const tree = new KubeletTree(ns);
    await tree.emptyDir(POD, 'cache', { size: '16m' });
    await tree.csiVolume(POD, 'pvc-lint-ext4', { fstype: 'ext4', sizeMiB: 32 });
    // A node filesystem whose mount point needs escaping both in mountinfo and in the exposition.
    oddDir = join(ns.root, 'mnt', 'odd "quoted" back\\slash');
    await ns.mountTmpfs(oddDir, { size: '4m' });
    fuse = await FuseHang.start(ns, { mountpoint: join(tree.volumeDir(POD, 'csi', 'pvc-lint-fuse'), 'mount') });
    agent = await startAgent({ config: filesystemConfig(tree.kubeletRoot), prefix: ns.prefix });
    // Hang the FUSE volume so the error families are in the exposition too.
    await fuse.hang();
    exposition = await waitFor(
      'an exposition with the stuck volume reported',
      async () => {
        const body = (await agent!.scrape()).body;
        return findSamples(parseExposition(body), 'nodemeter_filesystem_volume_error').length > 0 ? body : undefined;
      },
      { timeoutMs: 10_000, intervalMs: 100 },
    );
  });

  after(async () => {
    await fuse?.unhang();
    await agent?.kill();
    await fuse?.close();
    await ns?.close();
  });

  test('promtool accepts the exposition with no lint findings', async () => {
    const result = await promtoolCheckMetrics(exposition);
    assert.equal(result.output, '', `promtool findings:\n${result.output}`);
    assert.equal(result.code, 0);
  });

  test('promtool itself rejects a broken exposition (the check is live)', async () => {
    const result = await promtoolCheckMetrics('# TYPE x_bytes GAUGE\nx_bytes 1\n');
    assert.notEqual(result.code, 0, 'upper-case TYPE, as the replaced exporter wrote, must fail');
  });

  test('one HELP and TYPE per family, lower-case types, samples grouped under their family', () => {
    const seenType = new Set<string>();
    const seenHelp = new Set<string>();
    let family: string | undefined;
    const closed = new Set<string>();
    for (const line of exposition.split('\n')) {
      const meta = /^# (HELP|TYPE) (\S+)(?: (.*))?$/.exec(line);
      if (meta) {
        const [, kind, name, rest] = meta;
        const seen = kind === 'TYPE' ? seenType : seenHelp;
        assert.ok(!seen.has(name!), `second # ${kind} for ${name}`);
        seen.add(name!);
        if (kind === 'TYPE') {
          assert.match(rest ?? '', /^(counter|gauge|histogram|summary|untyped)$/, line);
        }
        if (family !== undefined && family !== name) closed.add(family);
        family = name;
        continue;
      }
      if (line === '' || line.startsWith('#')) continue;
      const name = /^[a-zA-Z_:][a-zA-Z0-9_:]*/.exec(line)?.[0] ?? '';
      assert.ok(family !== undefined && name.startsWith(family), `sample ${name} outside its family block (current: ${family})`);
      assert.ok(!closed.has(family), `samples of ${family} interleaved with another family`);
    }
    assert.ok(seenType.has('kubelet_volume_stats_capacity_bytes'));
  });

  test('label values are escaped and round-trip to the real mount point', () => {
    const samples = parseExposition(exposition);
    const odd = findSamples(samples, 'node_filesystem_size_bytes', { mountpoint: oddDir });
    assert.equal(odd.length, 1, `node_filesystem_size_bytes for ${JSON.stringify(oddDir)}`);
    assert.equal(odd[0]!.value, 4 * 1024 * 1024);
    assert.ok(exposition.includes('odd \\"quoted\\" back\\\\slash'), 'quote and backslash escaped in the text');
  });
});
