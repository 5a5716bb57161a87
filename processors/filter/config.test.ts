import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { validateComponentConfig } from '../../config/component-config.ts';
import { filterProcessorFactory } from './factory.ts';

function check(raw: unknown) {
  return validateComponentConfig(filterProcessorFactory, raw, { path: ['processors', 'filter'], positions: undefined, at: undefined });
}

function messages(raw: unknown): string[] {
  const result = check(raw);
  return result.issues.map((i) => `${i.path}: ${i.message}`);
}

describe('filter config', () => {
  it('fills the defaults, which equal createDefaultConfig()', () => {
    const result = check(undefined);
    assert.deepEqual(result.issues, []);
    assert.deepEqual(result.config, filterProcessorFactory.createDefaultConfig());
  });

  it('accepts every rule kind', () => {
    const result = check({
      metrics: { include: { match_type: 'regexp', names: ['^node_'] }, exclude: { names: ['node_boot_time'] } },
      datapoints: { include: { attributes: { namespace: 'shop', code: 200 } }, exclude: { match_type: 'regexp', attributes: { pod: '-canary-' } } },
    });
    assert.deepEqual(result.issues, []);
    assert.deepEqual(result.config['datapoints'], {
      include: { match_type: 'strict', attributes: { namespace: 'shop', code: 200 } },
      exclude: { match_type: 'regexp', attributes: { pod: '-canary-' } },
    });
  });

  it('rejects an unknown match type and unknown keys', () => {
    const issues = messages({ metrics: { include: { match_type: 'glob', metric_names: ['x'] } } });
    assert.equal(issues.length, 2, issues.join('\n'));
    assert.ok(issues.some((i) => i.startsWith('processors::filter::metrics::include::match_type:')), issues.join('\n'));
    assert.ok(issues.some((i) => i.includes('metric_names')), issues.join('\n'));
  });

  it('names the attribute whose value is not a scalar', () => {
    const issues = messages({ datapoints: { exclude: { attributes: { pod: ['a'] } } } });
    assert.equal(issues.length, 1);
    assert.match(issues[0] ?? '', /^processors::filter::datapoints::exclude::attributes: attribute "pod": the value must be a string, number or boolean/);
  });

  it('names the item of a bad metric-name regexp, only for match_type regexp', () => {
    assert.deepEqual(messages({ metrics: { include: { names: ['a(b'] } } }), []);
    const issues = messages({ metrics: { include: { match_type: 'regexp', names: ['ok', 'a(b'] }, exclude: { names: [''] } } });
    assert.equal(issues.length, 2, issues.join('\n'));
    assert.match(issues[0] ?? '', /^processors::filter::metrics::include::names: item 1: "a\(b" is not a valid regular expression/);
    assert.equal(issues[1], 'processors::filter::metrics::exclude::names: item 0: must be a non-empty string');
  });

  it('names the attribute of a bad value regexp', () => {
    const issues = messages({ datapoints: { include: { match_type: 'regexp', attributes: { pod: '[' } } } });
    assert.equal(issues.length, 1);
    assert.match(issues[0] ?? '', /^processors::filter::datapoints::include::attributes: attribute "pod": "\[" is not a valid regular expression/);
  });
});
