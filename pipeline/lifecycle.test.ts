import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { builtinRegistry } from './builtins.ts';
import type { Component } from './component.ts';
import { RouteTable } from './route-table.ts';
import { testSettings } from './testing.ts';

/** Live handles and requests, by kind, ignoring the test runner's own stdio. */
function liveResources(): Map<string, number> {
  const counts = new Map<string, number>();
  for (const kind of process.getActiveResourcesInfo()) {
    if (kind === 'TTYWrap' || kind === 'PipeWrap' || kind === 'Timeout') continue;
    counts.set(kind, (counts.get(kind) ?? 0) + 1);
  }
  return counts;
}

async function settle(): Promise<void> {
  for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
  await new Promise((r) => setTimeout(r, 50));
}

/** Every leaf of a convict schema has a doc and a default; groups (no `default`) are walked into. */
function assertDocumented(path: string, schema: Record<string, unknown>): void {
  for (const [key, spec] of Object.entries(schema)) {
    const entry = spec as Record<string, unknown>;
    if (!('default' in entry) && !('format' in entry)) {
      assertDocumented(`${path}.${key}`, entry);
      continue;
    }
    assert.ok(entry['doc'], `${path}.${key} has a doc string`);
    assert.ok('default' in entry, `${path}.${key} has a default`);
  }
}

const factories = builtinRegistry().all();

describe('component lifecycle contract', () => {
  it('covers every built-in factory', () => {
    assert.ok(factories.length >= 2, 'the registry lists the built-in components');
  });

  for (const factory of factories) {
    describe(`${factory.kind} ${factory.type}`, () => {
      it('has a default config and a documented schema', () => {
        const config = factory.createDefaultConfig();
        assert.equal(typeof config, 'object');
        assertDocumented(factory.type, factory.schema);
        assert.deepEqual(factory.validate?.(config) ?? [], [], 'the default config passes the factory checks');
      });

      it('shuts down without being started, twice', async () => {
        const component: Component = factory.create(testSettings(factory.type, factory.kind), factory.createDefaultConfig());
        await component.shutdown();
        await component.shutdown();
      });

      it('starts quickly, shuts down, and a fresh instance starts again without leaking handles or routes', async () => {
        const before = liveResources();
        const router = new RouteTable();
        for (let round = 0; round < 2; round++) {
          const component: Component = factory.create(testSettings(factory.type, factory.kind, { http: router }), factory.createDefaultConfig());
          const started = performance.now();
          await component.start();
          assert.ok(performance.now() - started < 1000, 'start() returns quickly');
          await component.shutdown();
          await component.shutdown();
        }
        await settle();
        assert.equal(router.routes.size, 0, 'no HTTP routes left behind');
        assert.deepEqual(liveResources(), before, 'no sockets, workers or file handles left behind');
      });
    });
  }
});
