import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { resourceFromAttributes } from '@opentelemetry/resources';
import type { ResourceMetrics } from '@opentelemetry/sdk-metrics';
import { counter, gauge } from '../../pipeline/datapoints.ts';
import { renderExposition, type ExpositionOptions } from './exposition.ts';

const base: ExpositionOptions = { metricPrefix: '', constLabels: {}, targetInfo: false, scopeInfo: false, dedupe: false };
const t0: [number, number] = [1_700_000_000, 0];

function batch(): ResourceMetrics {
  const used = { name: 'kubelet_volume_stats_used_bytes', description: 'Used bytes.' };
  return {
    resource: resourceFromAttributes({ 'service.name': 'nodemeter', 'k8s.node.name': 'n1' }),
    scopeMetrics: [
      { scope: { name: 'a' }, metrics: [gauge(used, [{ attributes: { persistentvolume: 'pv-1', mountpoint: '/x y' }, value: 1024 }])] },
      {
        scope: { name: 'b' },
        metrics: [
          gauge(used, [{ attributes: { persistentvolume: 'pv-2', mountpoint: 'a"b\\c\nd' }, value: 2048 }]),
          counter({ name: 'nodemeter_things', description: 'Things.' }, [{ attributes: {}, value: 3 }], t0),
        ],
      },
    ],
  };
}

describe('renderExposition', () => {
  it('groups one family across scopes under a single HELP/TYPE and escapes label values', () => {
    const text = renderExposition(batch(), base);
    assert.equal(text.match(/^# TYPE kubelet_volume_stats_used_bytes gauge$/gm)?.length, 1);
    const lines = text.split('\n');
    const typeAt = lines.indexOf('# TYPE kubelet_volume_stats_used_bytes gauge');
    assert.equal(lines[typeAt + 1], 'kubelet_volume_stats_used_bytes{persistentvolume="pv-1",mountpoint="/x y"} 1024');
    assert.equal(lines[typeAt + 2], 'kubelet_volume_stats_used_bytes{persistentvolume="pv-2",mountpoint="a\\"b\\\\c\\nd"} 2048');
    assert.match(text, /^# TYPE nodemeter_things_total counter$/m);
    assert.match(text, /^nodemeter_things_total 3$/m);
    assert.doesNotMatch(text, /otel_scope_name|target_info/);
  });

  it('applies prefix, constant labels (series labels win) and target_info when asked', () => {
    const text = renderExposition(batch(), { ...base, metricPrefix: 'nm', constLabels: { cluster: 'c1', persistentvolume: 'ignored' }, targetInfo: true });
    assert.match(text, /^nm_kubelet_volume_stats_used_bytes\{cluster="c1",persistentvolume="pv-1",mountpoint="\/x y"\} 1024$/m);
    assert.match(text, /^target_info\{service_name="nodemeter",k8s_node_name="n1"\} 1$/m);
  });

  it('adds scope labels only when asked', () => {
    assert.match(renderExposition(batch(), { ...base, scopeInfo: true }), /otel_scope_name="a"/);
  });

  it('drops repeated series when several pipelines carry the same receiver', () => {
    const b = batch();
    const doubled = { resource: b.resource, scopeMetrics: [...b.scopeMetrics, ...batch().scopeMetrics] };
    const text = renderExposition(doubled, { ...base, dedupe: true });
    assert.equal(text.match(/persistentvolume="pv-1"/g)?.length, 1);
    assert.equal(text.match(/^nodemeter_things_total /gm)?.length, 1);
  });
});
