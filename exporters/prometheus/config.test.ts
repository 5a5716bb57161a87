import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AGENT_PATHS } from '../../pipeline/route-table.ts';
import { createDefaultConfig, validate } from './config.ts';

describe('prometheus exporter config', () => {
  it('refuses the paths the agent answers itself', () => {
    assert.deepEqual(validate(createDefaultConfig()), []);
    for (const path of AGENT_PATHS) {
      assert.deepEqual(validate({ ...createDefaultConfig(), path }), [{ path: 'path', message: `"${path}" is reserved by the agent (/, /healthz, /readyz)` }]);
    }
  });
});
