import assert from 'node:assert/strict';
import { test } from 'node:test';
import { auditVerdict } from '../scripts/audit-verdict.ts';

/** npm's audit report (auditReportVersion 2), reduced to the fields the verdict reads. */
function report(vulnerabilities: Record<string, object>, counts: Partial<Record<string, number>>): string {
  return JSON.stringify({
    auditReportVersion: 2,
    vulnerabilities,
    metadata: {
      vulnerabilities: { info: 0, low: 0, moderate: 0, high: 0, critical: 0, total: 0, ...counts },
      dependencies: { prod: 42, dev: 0, optional: 0, peer: 0, peerOptional: 0, total: 42 },
    },
  });
}

test('a clean report passes', () => {
  assert.deepEqual(auditVerdict(report({}, {})), {
    kind: 'audited',
    dependencies: 42,
    counts: { info: 0, low: 0, moderate: 0, high: 0, critical: 0 },
    blocking: [],
  });
});

test('high and critical findings block, with their advisories; lower ones are only counted', () => {
  const v = auditVerdict(
    report(
      {
        'yaml-ish': { name: 'yaml-ish', severity: 'moderate', via: [{ title: 'ReDoS in yaml-ish' }], fixAvailable: true },
        'tar-ish': { name: 'tar-ish', severity: 'high', via: [{ title: 'Path traversal in tar-ish' }], fixAvailable: false },
        wrapper: { name: 'wrapper', severity: 'critical', via: ['tar-ish'], fixAvailable: { name: 'wrapper', version: '2.0.0' } },
      },
      { moderate: 1, high: 1, critical: 1, total: 3 },
    ),
  );
  assert.equal(v.kind, 'audited');
  if (v.kind !== 'audited') return;
  assert.deepEqual(v.counts, { info: 0, low: 0, moderate: 1, high: 1, critical: 1 });
  assert.deepEqual(v.blocking, [
    { name: 'tar-ish', severity: 'high', via: ['Path traversal in tar-ish'], fixAvailable: false },
    { name: 'wrapper', severity: 'critical', via: ['tar-ish'], fixAvailable: true },
  ]);
  // With a lower threshold the moderate one blocks too.
  const strict = auditVerdict(report({ a: { severity: 'moderate', via: [] } }, { moderate: 1 }), 'moderate');
  assert.equal(strict.kind === 'audited' && strict.blocking.length, 1);
});

test('a registry that refuses advisory queries is "unavailable", with the status and no URL', () => {
  const npmError = JSON.stringify({ message: '405 Method Not Allowed - POST https://mirror.example/-/npm/v1/security/advisories/bulk', statusCode: 405, body: '' });
  const v = auditVerdict(npmError);
  assert.equal(v.kind, 'unavailable');
  assert.match(v.kind === 'unavailable' ? v.reason : '', /HTTP 405: 405 Method Not Allowed - POST <registry>/);
  assert.doesNotMatch(v.kind === 'unavailable' ? v.reason : '', /mirror\.example/);
});

test('no output or no JSON is "unavailable"', () => {
  assert.deepEqual(auditVerdict(''), { kind: 'unavailable', reason: 'npm audit printed nothing' });
  assert.equal(auditVerdict('npm ERR! something').kind, 'unavailable');
  assert.equal(auditVerdict('[]').kind, 'unavailable');
});
