import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigValidationError } from '../../config/issues.ts';
import { loadConfig } from '../../config/load.ts';
import { builtinRegistry } from '../../pipeline/builtins.ts';

function load(processorYaml: string) {
  const text = `receivers:\n  filesystem:\nprocessors:\n  k8sattributes:\n${processorYaml}exporters:\n  prometheus:\nservice:\n  pipelines:\n    metrics:\n      receivers: [filesystem]\n      processors: [k8sattributes]\n      exporters: [prometheus]\n`;
  return loadConfig({ text, source: 'k8s.yaml', registry: builtinRegistry(), env: {} });
}

function issues(processorYaml: string): string[] {
  try {
    load(processorYaml);
  } catch (err) {
    assert.ok(err instanceof ConfigValidationError);
    return err.issues.map((i) => `${i.line}:${i.column} ${i.path}: ${i.message}`);
  }
  assert.fail('expected the config to be rejected');
}

describe('k8sattributes config', () => {
  it('accepts association and extraction rules and fills the defaults', () => {
    const config = load(
      '    pod_association:\n      - from: pod_name\n        attribute: pod\n        namespace_attribute: namespace\n    extract:\n      labels:\n        - from: pod\n          key_regex: app\\.kubernetes\\.io/(.*)\n          tag_name: app_$1\n',
    ).processors.get('k8sattributes')?.config as Record<string, unknown>;
    assert.deepEqual(config['pod_association'], [{ from: 'pod_name', attribute: 'pod', namespace_attribute: 'namespace' }]);
    assert.equal(config['keep_non_pvc_volumes'], false);
  });

  it('names the rule, key and position of every bad rule', () => {
    assert.deepEqual(
      issues(
        '    pod_association:\n      - from: pod_guid\n        attribute: x\n    volume_association:\n      - from: pvc\n        attribute: claim\n    extract:\n      labels:\n        - from: pod\n          key: a\n          key_regex: b\n',
      ),
      [
        '5:5 processors::k8sattributes::pod_association: item 0: "from" must be one of pod_uid, pod_ip, container_id, pod_name, got "pod_guid", got [{"from":"pod_guid","attribute":"x"}]',
        '8:5 processors::k8sattributes::volume_association: item 0: "namespace_attribute" must be a non-empty string, got [{"from":"pvc","attribute":"claim"}]',
        '12:7 processors::k8sattributes::extract::labels: item 0: give exactly one of "key" and "key_regex", got [{"from":"pod","key":"a","key_regex":"b"}]',
      ],
    );
  });
});
