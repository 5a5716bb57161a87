// CI's dependency audit: `npm audit` of the production dependencies; high or critical findings
// fail. When the registry does not answer advisory queries (some mirrors refuse them), no audit
// is possible: that is printed as a warning and passes, unless NODEMETER_AUDIT_REQUIRED=1.
// Run: node scripts/audit.ts   (with the Node 24 from node_modules/.bin first on PATH)
import { spawnSync } from 'node:child_process';
import { resolve } from 'node:path';
import { auditVerdict } from './audit-verdict.ts';

const repo = resolve(import.meta.dirname, '..');
const npm = spawnSync('npm', ['audit', '--omit=dev', '--json'], { cwd: repo, encoding: 'utf8', timeout: 120_000 });
if (npm.error) {
  process.stderr.write(`audit: cannot run npm audit: ${npm.error.message}\n`);
  process.exit(1);
}
const verdict = auditVerdict(npm.stdout);
if (verdict.kind === 'unavailable') {
  const required = process.env['NODEMETER_AUDIT_REQUIRED'] === '1';
  process.stderr.write(`audit: ${required ? 'ERROR' : 'WARNING'}: no audit was possible: ${verdict.reason}\n`);
  process.exit(required ? 1 : 0);
}
const { counts, blocking } = verdict;
process.stdout.write(
  `audit: ${verdict.dependencies} production dependencies; findings: ${Object.entries(counts)
    .map(([s, n]) => `${s} ${n}`)
    .join(', ')}\n`,
);
for (const f of blocking) process.stderr.write(`audit: ${f.severity}: ${f.name} (${f.via.join('; ')})${f.fixAvailable ? '; a fix is available' : ''}\n`);
process.exit(blocking.length > 0 ? 1 : 0);
