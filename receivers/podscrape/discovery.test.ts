import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { pod } from '../../kube/testing.ts';
import type { PodInfo } from '../../kube/types.ts';
import { discoverTargets, podTargets, type AggregatorRule, type AnnotationRule, type DiscoveryProblem } from './discovery.ts';

const ANNOTATIONS: AnnotationRule = { kind: 'annotations', prefix: 'prometheus.io', job: 'kubernetes-pods', mode: 'interval' };
const AGGREGATOR: AggregatorRule = { kind: 'aggregator', prefix: 'metrics-aggregator.apawel.me', mode: 'on_demand' };

function web(overrides: Partial<PodInfo> = {}): PodInfo {
  return pod({ name: 'web-0', namespace: 'shop', podIPs: ['10.4.1.7'], ...overrides });
}

function urls(p: PodInfo, rules = [ANNOTATIONS, AGGREGATOR]): string[] {
  const problems: DiscoveryProblem[] = [];
  const found = podTargets(p, rules, problems);
  assert.deepEqual(problems, []);
  return found.map((t) => `${t.job} ${t.url.href}`);
}

describe('prometheus.io annotations', () => {
  it('scrape: "true" with port, path and scheme gives one target with those', () => {
    const p = web({ annotations: { 'prometheus.io/scrape': 'true', 'prometheus.io/port': '9102', 'prometheus.io/path': '/stats/prometheus', 'prometheus.io/scheme': 'https' } });
    const [t] = podTargets(p, [ANNOTATIONS], []);
    assert.equal(t?.url.href, 'https://10.4.1.7:9102/stats/prometheus');
    assert.equal(t?.job, 'kubernetes-pods');
    assert.equal(t?.address, '10.4.1.7:9102');
    assert.equal(t?.namespace, 'shop');
    assert.equal(t?.pod, 'web-0');
    assert.equal(t?.node, 'node-a');
    assert.equal(t?.mode, 'interval');
    assert.equal(t?.tlsVerify, true);
  });

  it('no port annotation: every declared TCP port, once each; none declared: the scheme’s port', () => {
    const ports = [
      { container: 'main', name: 'http', port: 8080, protocol: 'TCP' },
      { container: 'main', name: 'dns', port: 53, protocol: 'UDP' },
      { container: 'sidecar', name: 'metrics', port: 9100, protocol: 'TCP' },
      { container: 'other', name: '', port: 8080, protocol: 'TCP' },
    ];
    assert.deepEqual(urls(web({ annotations: { 'prometheus.io/scrape': 'true' }, ports })), [
      'kubernetes-pods http://10.4.1.7:8080/metrics',
      'kubernetes-pods http://10.4.1.7:9100/metrics',
    ]);
    assert.deepEqual(urls(web({ annotations: { 'prometheus.io/scrape': 'true' } })), ['kubernetes-pods http://10.4.1.7/metrics']);
    assert.deepEqual(urls(web({ annotations: { 'prometheus.io/scrape': 'true', 'prometheus.io/scheme': 'https' } })), ['kubernetes-pods https://10.4.1.7/metrics']);
  });

  it('without scrape: "true" (absent or "false") there is no target; another prefix is honoured', () => {
    assert.deepEqual(urls(web({ annotations: { 'prometheus.io/port': '9102' } })), []);
    assert.deepEqual(urls(web({ annotations: { 'prometheus.io/scrape': 'false' } })), []);
    const custom: AnnotationRule = { ...ANNOTATIONS, prefix: 'example.com' };
    assert.deepEqual(urls(web({ annotations: { 'example.com/scrape': 'true', 'example.com/port': '81' } }), [custom]), ['kubernetes-pods http://10.4.1.7:81/metrics']);
  });

  it('an IPv6 pod address is bracketed', () => {
    const [t] = podTargets(web({ podIPs: ['fd00:10:4::7', '10.4.1.7'], annotations: { 'prometheus.io/scrape': 'true', 'prometheus.io/port': '9102' } }), [ANNOTATIONS], []);
    assert.equal(t?.url.href, 'http://[fd00:10:4::7]:9102/metrics');
    assert.equal(t?.address, '[fd00:10:4::7]:9102');
  });

  it('bad values are problems naming the pod and the annotation, and give no target', () => {
    const cases: Array<[Record<string, string>, RegExp]> = [
      [{ 'prometheus.io/scrape': 'maybe' }, /prometheus\.io\/scrape must be "true" or "false", got "maybe"/],
      [{ 'prometheus.io/scrape': 'true', 'prometheus.io/port': '70000' }, /prometheus\.io\/port must be a port number, got "70000"/],
      [{ 'prometheus.io/scrape': 'true', 'prometheus.io/port': '9102x' }, /port must be a port number/],
      [{ 'prometheus.io/scrape': 'true', 'prometheus.io/scheme': 'ftp' }, /scheme must be http or https, got "ftp"/],
      // A pod must not be able to point the agent at another host or add a query.
      [{ 'prometheus.io/scrape': 'true', 'prometheus.io/path': '//evil.example/metrics' }, /path must be a URL path/],
      [{ 'prometheus.io/scrape': 'true', 'prometheus.io/path': '/metrics?target=http://evil' }, /path must be a URL path/],
      [{ 'prometheus.io/scrape': 'true', 'prometheus.io/path': '/m#x' }, /path must be a URL path/],
    ];
    for (const [annotations, message] of cases) {
      const problems: DiscoveryProblem[] = [];
      assert.deepEqual(podTargets(web({ annotations }), [ANNOTATIONS], problems), [], JSON.stringify(annotations));
      assert.equal(problems.length, 1, JSON.stringify(annotations));
      assert.match(problems[0]?.message ?? '', message);
      assert.equal(problems[0]?.pod, 'web-0');
      assert.equal(problems[0]?.namespace, 'shop');
    }
  });
});

describe('aggregator labels', () => {
  const prefix = 'metrics-aggregator.apawel.me';

  it('job-name alone gives the aggregator’s defaults: /metrics on port 80, 5 s, plain HTTP', () => {
    const [t] = podTargets(web({ labels: { [`${prefix}/job-name`]: 'memcached' } }), [AGGREGATOR], []);
    assert.equal(t?.url.href, 'http://10.4.1.7/metrics');
    assert.equal(t?.job, 'memcached');
    assert.equal(t?.timeoutMs, 5000);
    assert.equal(t?.tlsVerify, true);
    assert.equal(t?.mode, 'on_demand');
  });

  it('every key from labels; an annotation wins over a label', () => {
    const labels = {
      [`${prefix}/job-name`]: 'memcached',
      [`${prefix}/endpoint`]: 'stats',
      [`${prefix}/port`]: '9150',
      [`${prefix}/scrape-timeout-seconds`]: '2.5',
      [`${prefix}/tls-enabled`]: 'true',
      [`${prefix}/tls-verify`]: 'false',
    };
    const [t] = podTargets(web({ labels }), [AGGREGATOR], []);
    assert.equal(t?.url.href, 'https://10.4.1.7:9150/stats');
    assert.equal(t?.timeoutMs, 2500);
    assert.equal(t?.tlsVerify, false);
    const [u] = podTargets(web({ labels, annotations: { [`${prefix}/endpoint`]: '/v2/metrics', [`${prefix}/job-name`]: 'cache' } }), [AGGREGATOR], []);
    assert.equal(u?.url.href, 'https://10.4.1.7:9150/v2/metrics');
    assert.equal(u?.job, 'cache');
  });

  it('bad values are problems; a pod without job-name is not a target', () => {
    assert.deepEqual(urls(web({ labels: { [`${prefix}/port`]: '9150' } })), []);
    for (const [key, value, message] of [
      ['job-name', '', /job-name is empty/],
      ['port', 'http', /port must be a port number, got "http"/],
      ['scrape-timeout-seconds', '0', /scrape-timeout-seconds must be a positive number, got "0"/],
      ['scrape-timeout-seconds', '1e9', /scrape-timeout-seconds must be a positive number/],
      ['tls-enabled', 'sometimes', /tls-enabled must be "true" or "false"/],
      ['tls-verify', 'nah', /tls-verify must be "true" or "false"/],
    ] as const) {
      const problems: DiscoveryProblem[] = [];
      const labels = { [`${prefix}/job-name`]: 'memcached', [`${prefix}/${key}`]: value };
      assert.deepEqual(podTargets(web({ labels }), [AGGREGATOR], problems), [], `${key}=${value}`);
      assert.match(problems[0]?.message ?? '', message);
    }
  });
});

describe('pods and rules together', () => {
  it('only running pods with an IP that are not being deleted', () => {
    const annotations = { 'prometheus.io/scrape': 'true', 'prometheus.io/port': '9102' };
    assert.equal(urls(web({ annotations, phase: 'Pending' })).length, 0);
    assert.equal(urls(web({ annotations, phase: 'Succeeded' })).length, 0);
    assert.equal(urls(web({ annotations, podIPs: [] })).length, 0);
    assert.equal(urls(web({ annotations, deletedAt: Date.now() })).length, 0);
    assert.equal(urls(web({ annotations })).length, 1);
  });

  it('a pod both rules find is scraped once per job; the same job and URL twice is one target', () => {
    const both = web({
      annotations: { 'prometheus.io/scrape': 'true', 'prometheus.io/port': '80' },
      labels: { 'metrics-aggregator.apawel.me/job-name': 'memcached' },
    });
    assert.deepEqual(urls(both), ['kubernetes-pods http://10.4.1.7/metrics', 'memcached http://10.4.1.7/metrics']);
    assert.equal(podTargets(both, [ANNOTATIONS, ANNOTATIONS], []).length, 1);
  });

  it('discoverTargets collects every pod’s targets and problems', () => {
    const pods = [
      web({ annotations: { 'prometheus.io/scrape': 'true', 'prometheus.io/port': '9102' } }),
      pod({ name: 'db-0', namespace: 'shop', podIPs: ['10.4.1.8'], annotations: { 'prometheus.io/scrape': 'true', 'prometheus.io/port': 'x' } }),
      pod({ name: 'idle', namespace: 'shop', podIPs: ['10.4.1.9'] }),
    ];
    const { targets, problems } = discoverTargets(pods, [ANNOTATIONS]);
    assert.deepEqual(
      targets.map((t) => t.key),
      ['kubernetes-pods|shop/web-0|http://10.4.1.7:9102/metrics'],
    );
    assert.deepEqual(
      problems.map((p) => `${p.namespace}/${p.pod}`),
      ['shop/db-0'],
    );
  });
});
