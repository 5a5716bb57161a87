import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, it } from 'node:test';

import { AGENT_BIN, launcherNodeFlags, NODE24, REPO_ROOT } from './support/agent.ts';

describe('launcher', () => {
  it('the start script runs the launcher with the Node flags of its #! line', () => {
    const flags = launcherNodeFlags();
    assert.ok(flags.some((f) => f.startsWith('--max-semi-space-size=')), `the launcher caps the young generation: ${flags.join(' ')}`);
    const pkg = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
    assert.equal(pkg.scripts.start, ['node', ...flags, 'bin/nodemeter.js'].join(' '));
  });

  it("the image's entrypoint runs the launcher with the same Node flags", () => {
    const dockerfile = readFileSync(join(REPO_ROOT, 'Dockerfile'), 'utf8');
    const entrypoints = dockerfile.split('\n').filter((line) => line.startsWith('ENTRYPOINT '));
    assert.equal(entrypoints.length, 1, `one ENTRYPOINT in the Dockerfile, found ${entrypoints.length}`);
    const execForm = JSON.parse((entrypoints[0] as string).slice('ENTRYPOINT '.length)) as string[];
    assert.deepEqual(execForm, ['node', ...launcherNodeFlags(), '/app/bin/nodemeter.js']);
  });

  it('runs as an executable through its #! line (how npx and the installed bin start it)', () => {
    const result = spawnSync(AGENT_BIN, ['--help'], {
      encoding: 'utf8',
      env: { ...process.env, PATH: `${dirname(NODE24)}:${process.env.PATH ?? ''}` },
      timeout: 30_000,
    });
    assert.equal(result.status, 0, result.stderr);
    assert.match(result.stdout, /Usage: nodemeter/);
  });
});
