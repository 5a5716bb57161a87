// The receiver claims node_exporter 1.5-compatible node_filesystem_* families. Debian's
// real node_exporter 1.5 and the agent look at the same mounts (tmpfs, loop-mounted
// ext4 and xfs, a read-only mount, awkward mount point names) and must agree on every
// series: the same label sets (device, mountpoint, fstype) and the same values.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { join } from 'node:path';
import { filesystemConfig, startAgent, type Agent } from '../support/agent.ts';
import { formatLabels, parseExposition, type Sample } from '../support/exposition.ts';
import { MountNamespace } from '../support/mountns.ts';
import { NodeExporter } from '../support/node-exporter.ts';
import { requirePrereqs } from '../support/prereqs.ts';

const FAMILIES = [
  'node_filesystem_size_bytes',
  'node_filesystem_free_bytes',
  'node_filesystem_avail_bytes',
  'node_filesystem_files',
  'node_filesystem_files_free',
  'node_filesystem_readonly',
  'node_filesystem_device_error',
];

describe('node_filesystem_* parity with the real node_exporter 1.5', () => {
  let ns: MountNamespace | undefined;
  let agent: Agent | undefined;
  let exporter: NodeExporter | undefined;
  let mounts: string[] = [];

  before(async () => {
    requirePrereqs('root', 'mountns', 'loop', 'ext4', 'xfs');
    ns = await MountNamespace.create();
    const base = join(ns.root, 'srv');
    const tmpfs = join(base, 'scratch');
    const ext4 = join(base, 'data ext4');
    const xfs = join(base, 'data-xfs');
    const ro = join(base, 'readonly');
    await ns.mountTmpfs(tmpfs, { size: '24m', nrInodes: 2000 });
    await ns.mountImage(ext4, { fstype: 'ext4', sizeMiB: 40 });
    await ns.mountImage(xfs, { fstype: 'xfs', sizeMiB: 300 });
    await ns.mountImage(ro, { fstype: 'ext4', sizeMiB: 16, options: ['ro'] });
    await ns.writeZeros(join(tmpfs, 'f'), 1_000_000);
    await ns.writeZeros(join(ext4, 'f'), 3_000_000);
    await ns.writeZeros(join(xfs, 'f'), 5_000_000);
    mounts = [tmpfs, ext4, xfs, ro];
    exporter = await NodeExporter.start(ns);
    // kubelet_root points at an empty dir: every mount is a node filesystem here.
    agent = await startAgent({ config: filesystemConfig(join(ns.root, 'no-kubelet')), prefix: ns.prefix });
  });

  after(async () => {
    await exporter?.close();
    await agent?.kill();
    await ns?.close();
  });

  function ours(samples: Sample[]): Map<string, Sample> {
    const out = new Map<string, Sample>();
    for (const s of samples) {
      if (!FAMILIES.includes(s.name) || !s.labels.mountpoint?.startsWith(ns!.root)) continue;
      const sorted = Object.fromEntries(Object.entries(s.labels).sort(([x], [y]) => (x < y ? -1 : 1)));
      out.set(`${s.name}${formatLabels(sorted)}`, s);
    }
    return out;
  }

  test('both report the same series for the test mounts, with the same values', async () => {
    const [agentText, exporterText] = await Promise.all([agent!.scrape().then((r) => r.body), exporter!.scrape()]);
    const a = ours(parseExposition(agentText));
    const e = ours(parseExposition(exporterText));
    // Every mount is there in node_exporter's view (the comparison is not vacuous).
    for (const m of mounts) {
      assert.ok(
        [...e.values()].some((s) => s.name === 'node_filesystem_size_bytes' && s.labels.mountpoint === m),
        `node_exporter reports ${m}:\n${exporterText.split('\n').filter((l) => l.includes(ns!.root)).join('\n')}\n${exporter!.log}`,
      );
    }
    assert.deepEqual([...a.keys()].sort(), [...e.keys()].sort(), 'same families and label sets');
    for (const [key, want] of e) {
      assert.equal(a.get(key)?.value, want.value, `value of ${key}`);
    }
  });

  test('the read-only mount is reported read-only by both', async () => {
    const samples = parseExposition((await agent!.scrape()).body);
    const ro = samples.find((s) => s.name === 'node_filesystem_readonly' && s.labels.mountpoint === mounts[3]);
    assert.equal(ro?.value, 1);
  });
});
