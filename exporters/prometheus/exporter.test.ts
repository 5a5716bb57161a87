import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import pino from 'pino';

import { AgentHttpServer } from '../../cli/http-server.ts';
import { loadConfig } from '../../config/load.ts';
import { builtinRegistry } from '../../pipeline/builtins.ts';
import { buildGraph } from '../../pipeline/graph.ts';
import { Service } from '../../pipeline/service.ts';
import { fakeFactories, type FakeReceiver } from '../../pipeline/testing-components.ts';
import { sleep } from '../../test/support/proc.ts';

/** An agent server with one fake receiver (`delay_ms` per collection) behind a Prometheus exporter. */
async function startEndpoint(exporterLines: string[], delayMs: number): Promise<{ url: string; close: () => Promise<void> }> {
  const text = [
    'receivers:',
    '  fake:',
    `    delay_ms: ${delayMs}`,
    'exporters:',
    ...(exporterLines.length === 0 ? ['  prometheus: {}'] : ['  prometheus:', ...exporterLines]),
    'service:',
    '  pipelines:',
    '    metrics:',
    '      receivers: [fake]',
    '      exporters: [prometheus]',
    '',
  ].join('\n');
  const logger = pino({ level: 'silent' });
  const registry = builtinRegistry();
  const receivers = new Map<string, FakeReceiver>();
  for (const f of fakeFactories(receivers)) registry.register(f);
  const config = loadConfig({ text, source: 'endpoint.yaml', registry, env: {} });
  const http = new AgentHttpServer({ host: '127.0.0.1', port: 0, logger, readiness: () => ({ ready: true, detail: 'ready' }), describe: () => [] });
  const graph = buildGraph({ config, registry, agent: { nodeName: 'node-a', version: '0.0.0-test' }, logger, http });
  const service = new Service(graph, logger);
  await service.start({ warmUp: false });
  const { port } = await http.listen();
  return {
    url: `http://127.0.0.1:${port}/metrics`,
    close: async () => {
      await http.close(1000);
      await service.shutdown();
    },
  };
}

describe('the Prometheus exporter on the agent server', () => {
  it('answers at most max_concurrent_pulls pulls at once: one more gets 503 with Retry-After at once', async () => {
    const { url, close } = await startEndpoint(['    max_concurrent_pulls: 2'], 600);
    try {
      // Two slow pulls under way (the receiver takes 600 ms).
      const slow = [fetch(url), fetch(url)];
      await new Promise((resolve) => setTimeout(resolve, 150));
      const began = performance.now();
      const extra = await fetch(url);
      assert.equal(extra.status, 503);
      assert.equal(extra.headers.get('retry-after'), '1');
      assert.match(await extra.text(), /max_concurrent_pulls/);
      assert.ok(performance.now() - began < 300, 'refused at once, not queued');
      for (const r of await Promise.all(slow)) {
        assert.equal(r.status, 200);
        assert.match(await r.text(), /fake_value/);
      }
      // Capacity is back once they are done.
      const after = await fetch(url);
      assert.equal(after.status, 200);
      assert.match(await after.text(), /nodemeter_exporter_scrapes_total\{[^}]*outcome="busy"[^}]*\} 1/);
    } finally {
      await close();
    }
  });

  it('pulls arriving while one is collected share its collection and answer; a later pull collects again', async () => {
    const { url, close } = await startEndpoint([], 400);
    // Pipeline collections so far, as the pull's own self-telemetry reports them (the receiver's
    // calls are shared anyway; the pipeline's processing and the render are what pulls share).
    const collections = async (): Promise<number> => {
      const r = await fetch(url);
      assert.equal(r.status, 200);
      const body = await r.text();
      const m = /^nodemeter_pipeline_collect_duration_seconds_count\{[^}]*\} (\d+)$/m.exec(body);
      assert.match(body, /fake_value/);
      // Absent before the first collection has been recorded.
      return m ? Number(m[1]) : 0;
    };
    try {
      const before = await collections();
      const first = fetch(url);
      await sleep(100);
      const second = fetch(url);
      const bodies = await Promise.all([first, second].map(async (p) => {
        const r = await p;
        assert.equal(r.status, 200);
        return r.text();
      }));
      assert.match(bodies[0]!, /fake_value/);
      assert.match(bodies[1]!, /fake_value/);
      // One collection for the two overlapping pulls, one for the reading pull.
      assert.equal((await collections()) - before, 2);
      assert.equal((await collections()) - before, 3, 'a pull after they ended collects afresh');
    } finally {
      await close();
    }
  });

  it('a puller leaving does not cut short the answer of another sharing its collection', async () => {
    const { url, close } = await startEndpoint([], 400);
    try {
      const leaving = new AbortController();
      const first = fetch(url, { signal: leaving.signal }).catch((err: unknown) => err);
      await sleep(100);
      const second = fetch(url);
      await sleep(50);
      leaving.abort();
      assert.ok((await first) instanceof Error, 'the first puller gave up');
      const r = await second;
      assert.equal(r.status, 200);
      assert.match(await r.text(), /fake_value/);
    } finally {
      await close();
    }
  });
});
