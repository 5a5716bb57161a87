// A failing destination never hurts another: one pipeline feeds the Prometheus pull endpoint, a
// Pushgateway exporter whose gateway is down (nothing listens on its port) and an OTLP/HTTP
// exporter whose loopback receiver is up. Pulls stay fast and complete, OTLP exports keep
// arriving, and the push failures are counted.
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import pino from 'pino';

import { loadConfig } from '../../config/load.ts';
import type { PrometheusExporter } from '../../exporters/prometheus/exporter.ts';
import type { PushgatewayExporter } from '../../exporters/pushgateway/exporter.ts';
import { builtinRegistry } from '../../pipeline/builtins.ts';
import { buildGraph } from '../../pipeline/graph.ts';
import { RouteTable } from '../../pipeline/route-table.ts';
import { Service } from '../../pipeline/service.ts';
import { fakeFactories, type FakeReceiver } from '../../pipeline/testing-components.ts';
import { findSamples, parseExposition } from '../support/exposition.ts';
import { freePort } from '../support/ports.ts';

/** An OTLP/HTTP JSON receiver that counts the exports carrying `fake_value`. */
async function otlpReceiver(): Promise<{ server: Server; port: number; exports: () => number }> {
  let exports = 0;
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (Buffer.concat(chunks).toString('utf8').includes('"fake_value"')) exports++;
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, port: (server.address() as AddressInfo).port, exports: () => exports };
}

describe('exporters are isolated from each other', () => {
  let receiver: Awaited<ReturnType<typeof otlpReceiver>> | undefined;
  let service: Service | undefined;

  before(async () => {
    receiver = await otlpReceiver();
  });

  after(async () => {
    await service?.shutdown();
    await new Promise((resolve) => receiver?.server.close(resolve));
  });

  it('with the Pushgateway down, pulls stay fast and complete and OTLP exports keep arriving', async () => {
    // A port nothing listens on: every push is refused.
    const deadPort = await freePort();
    const text = [
      'receivers:',
      '  fake:',
      '    value: 7',
      'exporters:',
      '  prometheus:',
      '  pushgateway:',
      `    endpoint: http://127.0.0.1:${deadPort}`,
      '    interval: 200ms',
      '    timeout: 200ms',
      '  otlphttp:',
      `    endpoint: http://127.0.0.1:${receiver!.port}/v1/metrics`,
      '    compression: none',
      '    interval: 200ms',
      '    timeout: 200ms',
      'service:',
      '  pipelines:',
      '    metrics:',
      '      receivers: [fake]',
      '      exporters: [prometheus, pushgateway, otlphttp]',
      '',
    ].join('\n');
    const instances = new Map<string, FakeReceiver>();
    const registry = builtinRegistry();
    for (const f of fakeFactories(instances)) registry.register(f);
    const config = loadConfig({ text, source: 'isolation.yaml', registry, env: {} });
    const graph = buildGraph({ config, registry, agent: { nodeName: 'node-a', version: '0.0.0-test' }, logger: pino({ level: 'silent' }), http: new RouteTable() });
    service = new Service(graph, pino({ level: 'silent' }));
    await service.start({ warmUp: false });

    const pusher = graph.exporters.get('pushgateway') as PushgatewayExporter;
    const prometheus = graph.exporters.get('prometheus') as PrometheusExporter;
    const pulls: number[] = [];
    const exportsBefore = receiver!.exports();
    const started = performance.now();
    let failedPushes = 0;
    while (performance.now() - started < 2_000) {
      const t = performance.now();
      const { text: body } = await prometheus.scrape(2_000);
      pulls.push(performance.now() - t);
      assert.equal(findSamples(parseExposition(body), 'fake_value', { receiver: 'fake' })[0]?.value, 7, 'every pull is complete');
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    for (let i = 0; i < 3; i++) if ((await pusher.nextPush()).outcome === 'failed') failedPushes++;

    assert.equal(failedPushes, 3, 'pushes to the dead gateway fail');
    assert.ok(Math.max(...pulls) < 500, `slowest pull ${Math.max(...pulls).toFixed(0)} ms`);
    const exported = receiver!.exports() - exportsBefore;
    assert.ok(exported >= 4, `${exported} OTLP exports arrived in 2 s at a 200 ms interval`);
    const self = parseExposition((await prometheus.scrape(2_000)).text);
    assert.ok((findSamples(self, 'nodemeter_exporter_pushes_total', { exporter: 'pushgateway', outcome: 'failed' })[0]?.value ?? 0) >= 3, 'the failed pushes are counted');
    assert.ok((findSamples(self, 'nodemeter_exporter_pushes_total', { exporter: 'otlphttp', outcome: 'success' })[0]?.value ?? 0) >= 4, 'the OTLP exports are counted');
    // The last error says why, per exporter; the healthy one has none.
    const lastErrors = findSamples(self, 'nodemeter_exporter_last_error_timestamp_seconds', {});
    assert.deepEqual(
      lastErrors.map((s) => `${s.labels.exporter}:${s.labels.reason}`),
      ['pushgateway:network'],
      'connection refused by the dead gateway',
    );
    assert.ok(Math.abs((lastErrors[0]?.value ?? 0) - Date.now() / 1000) < 30);
    assert.ok((findSamples(self, 'nodemeter_exporter_points_failed_total', { exporter: 'pushgateway' })[0]?.value ?? 0) > 0);
    for (const exporter of ['pushgateway', 'otlphttp', 'prometheus']) {
      assert.equal(findSamples(self, 'nodemeter_exporter_in_flight', { exporter }).length, 1, `${exporter} reports what it has in flight`);
    }
  });
});
