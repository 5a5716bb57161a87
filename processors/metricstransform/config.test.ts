import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigValidationError } from '../../config/issues.ts';
import { loadConfig } from '../../config/load.ts';
import { prometheusExporterFactory } from '../../exporters/prometheus/factory.ts';
import { FactoryRegistry } from '../../pipeline/registry.ts';
import { filesystemReceiverFactory } from '../../receivers/filesystem/factory.ts';
import { metricsTransformProcessorFactory } from './factory.ts';

function load(processorYaml: string) {
  const text = `receivers:\n  filesystem:\nprocessors:\n  metricstransform:\n${processorYaml}exporters:\n  prometheus:\nservice:\n  pipelines:\n    metrics:\n      receivers: [filesystem]\n      processors: [metricstransform]\n      exporters: [prometheus]\n`;
  const registry = new FactoryRegistry().register(filesystemReceiverFactory).register(prometheusExporterFactory).register(metricsTransformProcessorFactory);
  return loadConfig({ text, source: 'mt.yaml', registry, env: {} });
}

function issue(transformsYaml: string): string {
  try {
    load(`    transforms:\n${transformsYaml}`);
  } catch (err) {
    assert.ok(err instanceof ConfigValidationError);
    const [first] = err.issues;
    return `${first?.path}: ${first?.message}`;
  }
  assert.fail('expected the config to be rejected');
}

describe('metricstransform config', () => {
  it('defaults to no transforms and accepts rename, regexp groups and scale', () => {
    assert.deepEqual(load('').processors.get('metricstransform')?.config, { transforms: [] });
    const config = load(
      '    transforms:\n      - include: kubelet_volume_stats_used_bytes\n        new_name: pv_disk_usage_bytes_used\n      - include: ^(.*)_seconds$\n        match_type: regexp\n        action: insert\n        new_name: $1_ms\n        scale: 1000\n',
    ).processors.get('metricstransform')?.config;
    assert.deepEqual(config, {
      transforms: [
        { include: 'kubelet_volume_stats_used_bytes', new_name: 'pv_disk_usage_bytes_used' },
        { include: '^(.*)_seconds$', match_type: 'regexp', action: 'insert', new_name: '$1_ms', scale: 1000 },
      ],
    });
  });

  const bad: Array<[string, string]> = [
    ['      - new_name: a\n', 'item 0: "include" must be a non-empty string'],
    ['      - include: a\n', 'item 0: give "new_name", "scale" or both'],
    ['      - include: a\n        name: b\n', 'item 0: unknown key "name" (allowed: include, match_type, action, new_name, scale)'],
    ['      - include: a\n        match_type: glob\n        new_name: b\n', 'item 0: "match_type" must be one of strict, regexp, got "glob"'],
    ['      - include: a\n        action: combine\n        new_name: b\n', 'item 0: "action" must be one of update, insert, got "combine"'],
    ['      - include: a\n        scale: 0\n', 'item 0: "scale" must be a finite number above 0, got 0'],
    ['      - include: a\n        scale: "2"\n', 'item 0: "scale" must be a finite number above 0, got "2"'],
    ['      - include: a\n        action: insert\n        scale: 2\n', 'item 0: insert adds a copy, which needs a "new_name"'],
    ['      - include: a\n        action: insert\n        new_name: a\n', 'item 0: insert with a "new_name" equal to "include" would duplicate the metric'],
    ['      - include: a\n        scale: 1\n      - include: "(["\n        match_type: regexp\n        new_name: b\n', 'item 1: "include" is not a valid regular expression'],
    ['      - include: a_(.*)\n        new_name: b_$1\n', 'item 0: "new_name" refers to group $1, but the regular expression has no groups'],
    ['      - include: a_(.*)\n        match_type: regexp\n        new_name: b_$${x}\n', 'item 0: "new_name" refers to group "x", which the regular expression does not name'],
    ['      - include: a\n        new_name: b$\n', 'item 0: "new_name" has a "$" at position 1 that is not $n, ${n}, ${name} or $$'],
  ];
  for (const [yaml, message] of bad) {
    it(`rejects: ${message}`, () => {
      const got = issue(yaml);
      assert.ok(got.startsWith(`processors::metricstransform::transforms: ${message}`), got);
    });
  }
});
