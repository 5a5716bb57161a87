import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { configurationReference, spliceGenerated } from '../config/reference.ts';
import { builtinRegistry } from '../pipeline/builtins.ts';

const read = (path: string) => readFileSync(new URL(`../${path}`, import.meta.url), 'utf8');

describe('docs stay true', () => {
  it('docs/configuration.md holds the current generated reference (run `npm run docs`)', () => {
    const doc = read('docs/configuration.md');
    assert.equal(doc, spliceGenerated(doc, configurationReference(builtinRegistry())));
  });

  it('docs/metrics.md names every metric family the code defines', () => {
    const doc = read('docs/metrics.md');
    // Every non-test source of the components and the core: a new family cannot slip by undocumented.
    const sources = ['receivers', 'processors', 'exporters', 'pipeline', 'kube']
      .flatMap((dir) => readdirSync(new URL(`../${dir}`, import.meta.url), { recursive: true, encoding: 'utf8' }).map((f) => `${dir}/${f}`))
      .filter((f) => /\.(ts|js)$/.test(f) && !f.endsWith('.test.ts') && !f.includes('testdata') && !/testing[^/]*\.ts$/.test(f))
      .map(read);
    const names = new Set<string>();
    for (const source of sources) {
      for (const match of source.matchAll(/['"`]((?:kubelet_volume_stats|local_volume_stats|local_volume_provisioner|node_filesystem|nodemeter)_[a-z_]+)['"`]/g)) names.add(match[1] ?? '');
    }
    assert.ok(names.size >= 15, `found ${names.size} family names in the sources`);
    for (const name of names) {
      const documented = doc.includes(`\`${name}\``) || doc.includes(`\`${name}_total\``);
      assert.ok(documented, `${name} is documented in docs/metrics.md`);
    }
  });
});
