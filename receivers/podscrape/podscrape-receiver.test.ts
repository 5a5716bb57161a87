import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { resourceFromAttributes } from '@opentelemetry/resources';

import { writeExposition } from '../../exporters/prometheus/text-writer.ts';
import { FakeKube, pod } from '../../kube/testing.ts';
import { collectContext } from '../../pipeline/deadline.ts';
import { testSettings } from '../../pipeline/testing.ts';
import { delayed, endlessBody, exposition, HostileTarget, status } from '../../test/support/hostile-target.ts';
import { defaultConfig, type PodScrapeReceiverConfig } from './config.ts';
import { PodScrapeReceiver } from './podscrape-receiver.ts';

const BODY = '# HELP app_requests_total Requests.\n# TYPE app_requests_total counter\napp_requests_total{code="200",pod="inner"} 42\n# TYPE app_temperature gauge\napp_temperature 21.5\n';

/** The test pods' node is node-a: the receiver scrapes its own node's pods only. */
function settings(kube?: FakeKube) {
  return testSettings('podscrape', 'receiver', { agent: { nodeName: 'node-a', version: '0.0.0-test' }, ...(kube ? { kube } : {}) });
}

function config(overrides: Partial<PodScrapeReceiverConfig> = {}): PodScrapeReceiverConfig {
  return { ...defaultConfig(), collection_interval: 3_600_000, scrape_timeout: 1_000, ...overrides };
}

/** The receiver's answer to one pull, as exposition text. */
async function pull(receiver: PodScrapeReceiver, selectors: Record<string, string> = {}): Promise<string> {
  const { scopeMetrics } = await receiver.collect(collectContext(5_000, selectors));
  return writeExposition({ resource: resourceFromAttributes({}), scopeMetrics: [scopeMetrics] }, { prefix: '', targetInfo: false, scopeInfo: false });
}

describe('podscrape receiver', () => {
  let target: HostileTarget;
  const port = (): string => new URL(target.origin).port;

  before(async () => {
    target = await HostileTarget.start();
    target.route('/metrics', exposition(BODY));
    target.route('/broken', status(503, 'down for maintenance'));
    target.route('/slow', endlessBody(100));
    target.route('/memcached', delayed(200, exposition('memcached_items 7\n')));
  });
  after(() => target.close());

  function annotated(name: string, path: string, extra: Partial<Parameters<typeof pod>[0]> = {}) {
    return pod({
      name,
      namespace: 'shop',
      podIPs: ['127.0.0.1'],
      annotations: { 'prometheus.io/scrape': 'true', 'prometheus.io/port': port(), 'prometheus.io/path': path },
      ...extra,
    });
  }

  it('scrapes interval targets in the background and serves them with target labels, up and durations', async () => {
    const kube = new FakeKube();
    kube.pods = [annotated('web-0', '/metrics'), annotated('db-0', '/broken'), annotated('stuck-0', '/slow'), pod({ name: 'quiet', namespace: 'shop', podIPs: ['127.0.0.1'] })];
    const receiver = new PodScrapeReceiver(settings(kube), config({ scrape_timeout: 500 }));
    await receiver.start();
    try {
      await receiver.settled();
      const text = await pull(receiver);
      const lines = new Set(text.split('\n'));
      const at = (p: string): string => `job="kubernetes-pods",instance="127.0.0.1:${port()}",namespace="shop",pod="${p}",node="node-a"`;
      const has = (line: string, why = line): void => assert.ok(lines.has(line), `${why}\n--- got:\n${text}`);
      has(`app_requests_total{code="200",exported_pod="inner",${at('web-0')}} 42`, 'a scraped pod label is kept as exported_pod');
      has(`app_temperature{${at('web-0')}} 21.5`);
      has('# TYPE app_requests_total counter');
      has(`up{${at('web-0')}} 1`);
      has(`up{${at('db-0')}} 0`, 'a 503 is up 0');
      has(`up{${at('stuck-0')}} 0`, 'a body that never ends is up 0');
      has(`scrape_samples_scraped{${at('web-0')}} 2`);
      assert.match(text, /^nodemeter_podscrape_scrape_failures_total\{job="kubernetes-pods",reason="http_status"\} 1$/m);
      assert.match(text, /^nodemeter_podscrape_scrape_failures_total\{job="kubernetes-pods",reason="timeout"\} 1$/m);
      assert.match(text, /^nodemeter_podscrape_targets\{job="kubernetes-pods",mode="interval"\} 3$/m);
      assert.doesNotMatch(text, /pod="quiet"/, 'a pod without the annotation is not scraped');
    } finally {
      await receiver.shutdown();
    }
  });

  it('a slow target does not hold back the others: rounds start every interval and join the slow scrape', async () => {
    target.route('/very-slow', delayed(1_500, exposition('slow_value 1\n')));
    target.route('/quick', exposition('quick_value 1\n'));
    const kube = new FakeKube();
    kube.pods = [annotated('slow-0', '/very-slow'), annotated('quick-0', '/quick')];
    const receiver = new PodScrapeReceiver(settings(kube), config({ collection_interval: 200, scrape_timeout: 3_000 }));
    const quickBefore = target.hits('/quick');
    const slowBefore = target.hits('/very-slow');
    await receiver.start();
    try {
      await new Promise((resolve) => setTimeout(resolve, 1_200));
      assert.ok(target.hits('/quick') - quickBefore >= 4, `the quick target was scraped ${target.hits('/quick') - quickBefore} times in 1.2 s`);
      assert.equal(target.hits('/very-slow') - slowBefore, 1, 'the slow one is scraped once at a time');
    } finally {
      await receiver.shutdown();
    }
  });

  it('a target that keeps breaching its limits is tried less and less often; other failures are retried every interval', async () => {
    target.route('/too-big', exposition(`${'x_total 1\n'.repeat(500)}`));
    target.route('/unavailable', status(503));
    const kube = new FakeKube();
    kube.pods = [annotated('big-0', '/too-big'), annotated('down-0', '/unavailable')];
    const receiver = new PodScrapeReceiver(settings(kube), config({ collection_interval: 100, max_body_bytes: 1_000 }));
    const bigBefore = target.hits('/too-big');
    const downBefore = target.hits('/unavailable');
    await receiver.start();
    try {
      await new Promise((resolve) => setTimeout(resolve, 1_550));
      const big = target.hits('/too-big') - bigBefore;
      const down = target.hits('/unavailable') - downBefore;
      // Rounds at 0, 100, … 1500 ms: the 503 target 16 times; the oversized one at 0, 100, then
      // after 1, 2, 4 and 8 intervals: about 6 times.
      assert.ok(down >= 12, `the 503 target was scraped ${down} times`);
      assert.ok(big >= 3 && big <= 7, `the oversized target was scraped ${big} times`);
      assert.match(await pull(receiver), /^up\{[^}]*pod="big-0"[^}]*\} 0$/m, 'it stays up 0 meanwhile');
    } finally {
      await receiver.shutdown();
    }
  });

  it('a pod that goes away loses its series at the next round', async () => {
    const kube = new FakeKube();
    kube.pods = [annotated('web-0', '/metrics')];
    const receiver = new PodScrapeReceiver(settings(kube), config({ collection_interval: 50 }));
    await receiver.start();
    try {
      await receiver.settled();
      assert.match(await pull(receiver), /pod="web-0"/);
      kube.pods = [];
      await new Promise((resolve) => setTimeout(resolve, 300));
      assert.doesNotMatch(await pull(receiver), /pod="web-0"/);
    } finally {
      await receiver.shutdown();
    }
  });

  it('on-demand jobs are scraped only when a pull names them, and concurrent pulls share one scrape per target', async () => {
    const kube = new FakeKube();
    kube.pods = [
      pod({ name: 'cache-0', namespace: 'shop', podIPs: ['127.0.0.1'], labels: { 'metrics-aggregator.apawel.me/job-name': 'memcached', 'metrics-aggregator.apawel.me/port': port(), 'metrics-aggregator.apawel.me/endpoint': 'memcached' } }),
      annotated('web-0', '/metrics'),
    ];
    const receiver = new PodScrapeReceiver(
      settings(kube),
      config({
        discovery: [{ annotations: 'prometheus.io', job: 'kubernetes-pods' }, { aggregator: 'metrics-aggregator.apawel.me', mode: 'on_demand' }],
        instance_label: 'pod',
        target_labels: { namespace: 'pod_namespace', pod_ip: 'pod_ip' },
      }),
    );
    await receiver.start();
    try {
      await receiver.settled();
      const hitsBefore = target.hits('/memcached');
      assert.equal(hitsBefore, 0, 'not scraped in the background');
      assert.deepEqual(receiver.selectorValues('job'), ['kubernetes-pods', 'memcached']);
      const plain = await pull(receiver);
      assert.doesNotMatch(plain, /memcached_items|^up\{job="memcached"/m, 'a plain pull leaves on-demand jobs out');
      assert.match(plain, /^nodemeter_podscrape_targets\{job="memcached",mode="on_demand"\} 1$/m, 'but counts their targets');
      const [a, b] = await Promise.all([pull(receiver, { job: 'memcached' }), pull(receiver, { job: 'memcached' })]);
      assert.equal(target.hits('/memcached'), 1, 'two concurrent pulls, one scrape');
      for (const text of [a, b]) {
        assert.match(text, /^memcached_items\{job="memcached",instance="cache-0",pod_namespace="shop",pod_ip="127\.0\.0\.1"\} 7$/m);
        assert.match(text, /^up\{job="memcached",instance="cache-0",pod_namespace="shop",pod_ip="127\.0\.0\.1"\} 1$/m);
        assert.doesNotMatch(text, /app_requests_total|kubernetes-pods/, 'only that job');
      }
      const web = await pull(receiver, { job: 'kubernetes-pods' });
      assert.match(web, /^app_temperature\{job="kubernetes-pods",instance="web-0"/m, 'an interval job pulled by name: its last scrape');
      assert.equal(target.hits('/memcached'), 1);
    } finally {
      await receiver.shutdown();
    }
  });

  it('without a Kubernetes cache it reports nothing and stays healthy', async () => {
    const receiver = new PodScrapeReceiver(settings(), config());
    await receiver.start();
    await receiver.settled();
    assert.doesNotMatch(await pull(receiver), /^up/m);
    assert.deepEqual(receiver.selectorValues('job'), ['kubernetes-pods']);
    await receiver.shutdown();
    await receiver.shutdown();
  });
});
