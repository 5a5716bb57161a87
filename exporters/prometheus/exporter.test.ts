import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import pino from 'pino';

import { AgentHttpServer } from '../../cli/http-server.ts';
import { loadConfig } from '../../config/load.ts';
import { builtinRegistry } from '../../pipeline/builtins.ts';
import { buildGraph } from '../../pipeline/graph.ts';
import { Service } from '../../pipeline/service.ts';
import { fakeFactories, type FakeReceiver } from '../../pipeline/testing-components.ts';

describe('the Prometheus exporter on the agent server', () => {
  it('answers at most max_concurrent_pulls pulls at once: one more gets 503 with Retry-After at once', async () => {
    const text = [
      'receivers:',
      '  fake:',
      '    delay_ms: 600',
      'exporters:',
      '  prometheus:',
      '    max_concurrent_pulls: 2',
      'service:',
      '  pipelines:',
      '    metrics:',
      '      receivers: [fake]',
      '      exporters: [prometheus]',
      '',
    ].join('\n');
    const logger = pino({ level: 'silent' });
    const registry = builtinRegistry();
    for (const f of fakeFactories(new Map<string, FakeReceiver>())) registry.register(f);
    const config = loadConfig({ text, source: 'busy.yaml', registry, env: {} });
    const http = new AgentHttpServer({ host: '127.0.0.1', port: 0, logger, readiness: () => ({ ready: true, detail: 'ready' }), describe: () => [] });
    const graph = buildGraph({ config, registry, agent: { nodeName: 'node-a', version: '0.0.0-test' }, logger, http });
    const service = new Service(graph, logger);
    await service.start({ warmUp: false });
    const { port } = await http.listen();
    const url = `http://127.0.0.1:${port}/metrics`;
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
      await http.close(1000);
      await service.shutdown();
    }
  });
});
