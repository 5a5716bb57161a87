// The event loop never waits on a walk: while the hostpath receiver walks a 1,000,000-entry
// volume in its worker threads, /metrics keeps answering fast. The tree is built for real (a
// local-path-layout directory of 10,000 directories × 99 empty files), the agent is a real
// process, and the latency is measured from outside with plain HTTP requests.
import assert from 'node:assert/strict';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startAgent, type Agent } from '../support/agent.ts';
import { du, makeTempTree, type TempTree } from '../support/du-tree.ts';
import { findSamples, parseExposition } from '../support/exposition.ts';
import { run } from '../support/proc.ts';

const VOLUME = 'pvc-0b1c2d3e-1111-2222-3333-444455556666_shop_big';
const DIRECTORIES = 10_000;
const FILES_PER_DIRECTORY = 99;
/** Root + 100 parents + 10,000 directories + 990,000 files. */
const ENTRIES = 1 + 100 + DIRECTORIES + DIRECTORIES * FILES_PER_DIRECTORY;

// mknod makes an empty file in one syscall: the quickest way to a million entries.
const BUILD = `
import os, sys
root = sys.argv[1]
for d in range(${DIRECTORIES}):
    p = os.path.join(root, "p%03d" % (d // 100), "d%05d" % d)
    os.makedirs(p)
    for f in range(${FILES_PER_DIRECTORY}):
        os.mknod(os.path.join(p, "f%02d" % f))
`;

function quantile(sorted: readonly number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)] ?? NaN;
}

describe('hostpath: /metrics stays responsive during a 1,000,000-entry walk', () => {
  let tree: TempTree | undefined;
  let agent: Agent | undefined;
  let volume = '';
  let buildMs = 0;

  before(async () => {
    tree = await makeTempTree();
    volume = join(tree.path, 'base', VOLUME);
    await mkdir(volume, { recursive: true });
    const started = performance.now();
    const built = await run('python3', ['-c', BUILD, volume], { timeoutMs: 180_000 });
    assert.equal(built.code, 0, `building the tree failed: ${built.stderr}`);
    buildMs = performance.now() - started;
  });

  after(async () => {
    await agent?.stop();
    // cleanup() is rm -rf in a child: a million unlinks without holding the test's event loop.
    await tree?.cleanup();
  });

  it('answers every pull with p99 under 50 ms while the walk runs, and the walk is complete', async (t) => {
    const base = join(tree!.path, 'base');
    agent = await startAgent({
      config: [
        'receivers:',
        '  hostpath:',
        `    local_path_base_dirs: [${JSON.stringify(base)}]`,
        '    collection_interval: 10m',
        '    jitter: 0',
        '    threads: 2',
        'exporters:',
        '  prometheus:',
        'service:',
        '  pipelines:',
        '    metrics:',
        '      receivers: [hostpath]',
        '      exporters: [prometheus]',
      ].join('\n'),
    });
    const during: number[] = [];
    let walkSeen = false;
    let done = false;
    let walkSeconds = NaN;
    let inodesUsed = NaN;
    const deadline = Date.now() + 120_000;
    // Two clients pulling back to back, as two Prometheus servers would.
    const client = async (): Promise<void> => {
      while (!done && Date.now() < deadline) {
        const res = await agent!.get('/metrics');
        assert.equal(res.status, 200, `a pull failed during the walk: ${res.status} ${res.body.slice(0, 200)}`);
        const samples = parseExposition(res.body);
        const busy = findSamples(samples, 'nodemeter_hostpath_walk_threads', { state: 'busy' })[0]?.value ?? 0;
        const used = findSamples(samples, 'kubelet_volume_stats_inodes_used')[0];
        if (busy > 0 && used === undefined) {
          walkSeen = true;
          during.push(res.elapsedMs);
        }
        if (used !== undefined) {
          done = true;
          inodesUsed = used.value;
          walkSeconds = findSamples(samples, 'nodemeter_hostpath_walk_duration_seconds')[0]?.value ?? NaN;
        }
      }
    };
    await Promise.all([client(), client()]);
    assert.ok(done, 'the walk finished within 120 s');
    assert.ok(walkSeen, 'pulls were answered while the walk ran');
    const sorted = [...during].sort((a, b) => a - b);
    const p50 = quantile(sorted, 0.5);
    const p99 = quantile(sorted, 0.99);
    t.diagnostic(
      `tree of ${ENTRIES} entries built in ${(buildMs / 1000).toFixed(1)} s; walk ${walkSeconds.toFixed(2)} s; ` +
        `${during.length} pulls during it: p50 ${p50.toFixed(1)} ms, p99 ${p99.toFixed(1)} ms, max ${(sorted.at(-1) ?? NaN).toFixed(1)} ms`,
    );
    assert.ok(during.length >= 20, `only ${during.length} pulls landed during the walk`);
    assert.ok(p99 < 50, `p99 ${p99.toFixed(1)} ms during the walk (samples: ${sorted.map((x) => x.toFixed(1)).join(' ')})`);
    assert.equal(inodesUsed, ENTRIES, 'every entry counted');
    assert.equal(inodesUsed, await du(volume, 'inodes'), 'equal to du --inodes -s -x');
  });
});
