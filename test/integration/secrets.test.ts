// Secrets stay secret: every place a secret can enter the agent (Pushgateway basic-auth password,
// bearer token files, custom headers of the Pushgateway and OTLP exporters, the pod scrape token,
// the Kubernetes token file, unrelated environment variables) is filled with a distinctive value,
// then `validate`, `collect --once` and a running agent at trace level whose every destination
// refuses them (and echoes them back in its error bodies) are searched for those values: logs,
// stderr, error messages and the /metrics exposition must hold none of them.
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';

import { AGENT_BIN, NODE24, REPO_ROOT, startAgent, type Agent } from '../support/agent.ts';
import { pod } from '../support/kube-api/fixtures.ts';
import { KubeApiServer } from '../support/kube-api/server.ts';
import { makeTempDir, run, waitFor, type RunResult } from '../support/proc.ts';
import { ScriptedServer, type Answer, type RequestInfo } from '../support/scripted-server.ts';

const NODE = 'secret-node';

/** Distinctive values: each is searched for, whole and in its base64 form (basic auth). */
const SECRETS = {
  PGW_PASSWORD: 'pgw-pass-7f3a9c1e5b',
  PGW_BEARER: 'pgw-bearer-2d8e6a4f0c',
  PGW_HEADER: 'pgw-header-9b1d7c3e5a',
  OTLP_KEY: 'otlp-key-4e6a2c8f1d',
  SCRAPE_TOKEN: 'scrape-token-1c5e9a3b7f',
  KUBE_TOKEN: 'kube-token-8a2f4d6c0e',
  // Not used by any config: the agent must not dump its environment either.
  UNRELATED_SECRET: 'unrelated-env-6f0b2e8d4a',
} as const;

function leaks(text: string): string[] {
  const found: string[] = [];
  for (const [name, value] of Object.entries(SECRETS)) {
    if (text.includes(value)) found.push(name);
  }
  const basic = Buffer.from(`nodemeter:${SECRETS.PGW_PASSWORD}`).toString('base64');
  if (text.includes(basic)) found.push('PGW_PASSWORD (as basic-auth base64)');
  return found;
}

function assertNoLeak(where: string, text: string): void {
  const found = leaks(text);
  assert.deepEqual(found, [], `${where} holds secrets ${found.join(', ')}:\n${text.slice(0, 4000)}`);
}

/**
 * Every request is refused with a body that echoes its headers, as a careless server or a proxy's
 * error page might: the agent must not pass that body on to its logs unredacted.
 */
function echoesHeaders(request: RequestInfo): Answer {
  // 401 for the gateways and the target; 500 for OTLP (retried).
  return { status: request.path === '/v1/metrics' ? 500 : 401, body: `you sent: ${JSON.stringify(request.headers)}\n`, contentType: 'text/plain' };
}

function config(dir: string, echo: ScriptedServer): string {
  return [
    'receivers:',
    '  podscrape:',
    '    collection_interval: 500ms',
    `    bearer_token_file: ${join(dir, 'scrape-token')}`,
    'exporters:',
    '  prometheus: {}',
    '  pushgateway/basic:',
    `    endpoint: ${echo.url}/basic`,
    '    interval: 1s',
    '    basic_auth: {username: nodemeter, password: "${env:PGW_PASSWORD}"}',
    '  pushgateway/bearer:',
    `    endpoint: ${echo.url}/bearer`,
    '    interval: 1s',
    `    bearer_token_file: ${join(dir, 'push-token')}`,
    '  pushgateway/header:',
    `    endpoint: ${echo.url}/header`,
    '    interval: 1s',
    '    headers: {x-auth-token: "${env:PGW_HEADER}"}',
    '  otlphttp:',
    `    endpoint: ${echo.url}/v1/metrics`,
    '    interval: 1s',
    '    timeout: 900ms',
    '    headers: {x-api-key: "${env:OTLP_KEY}"}',
    'service:',
    '  pipelines:',
    '    metrics:',
    '      receivers: [podscrape]',
    '      exporters: [prometheus, pushgateway/basic, pushgateway/bearer, pushgateway/header, otlphttp]',
    '',
  ].join('\n');
}

describe('secrets never appear in logs, errors, validate output or metrics', () => {
  let dir: { path: string; remove: () => Promise<void> } | undefined;
  let echo: ScriptedServer | undefined;
  let api: KubeApiServer | undefined;
  let agent: Agent | undefined;
  let configPath = '';
  const env = { ...SECRETS };

  const agentArgs = (): string[] => ['--config', configPath, '--kube-api-url', api!.url, '--kube-token-file', join(dir!.path, 'kube-token'), '--node-name', NODE, '--log-level', 'trace'];
  const runAgent = (command: string[], extra: string[] = []): Promise<RunResult> =>
    run(NODE24, [AGENT_BIN, ...command, ...agentArgs(), ...extra], { cwd: REPO_ROOT, env: { ...process.env, ...env }, timeoutMs: 30_000, allowFail: true });

  before(async () => {
    dir = await makeTempDir('nodemeter-secrets-');
    await writeFile(join(dir.path, 'scrape-token'), `${SECRETS.SCRAPE_TOKEN}\n`);
    await writeFile(join(dir.path, 'push-token'), `${SECRETS.PGW_BEARER}\n`);
    await writeFile(join(dir.path, 'kube-token'), `${SECRETS.KUBE_TOKEN}\n`);
    echo = await ScriptedServer.start({ script: echoesHeaders });
    configPath = join(dir.path, 'config.yaml');
    await writeFile(configPath, config(dir.path, echo));
    api = await KubeApiServer.start();
    api.add(
      pod('target-0', {
        node: NODE,
        podIP: '127.0.0.1',
        annotations: { 'prometheus.io/scrape': 'true', 'prometheus.io/port': String(echo.port), 'prometheus.io/path': '/target' },
      }),
    );
  });

  after(async () => {
    await agent?.kill();
    await api?.stop();
    await echo?.close();
    await dir?.remove();
  });

  it('validate at trace level prints none of them', async () => {
    const r = await runAgent(['validate']);
    assert.equal(r.code, 0, `validate failed:\n${r.stdout}\n${r.stderr}`);
    assert.match(r.stdout, /valid/);
    assertNoLeak('validate stdout', r.stdout);
    assertNoLeak('validate stderr', r.stderr);
  });

  it('validate of a config that is wrong right beside the secrets names the problems, not the values', async () => {
    const broken = join(dir!.path, 'broken.yaml');
    await writeFile(
      broken,
      config(dir!.path, echo!)
        // A header name that is not a token, holding a secret value.
        .replace('x-api-key:', '"x api key":')
        // A password in the URL, which the exporters refuse.
        .replace(`endpoint: ${echo!.url}/header`, `endpoint: http://nodemeter:${SECRETS.PGW_HEADER}@127.0.0.1:${echo!.port}/header`)
        // A password that is not a string.
        .replace('password: "${env:PGW_PASSWORD}"', 'password: ["${env:PGW_PASSWORD}"]'),
    );
    const r = await run(NODE24, [AGENT_BIN, 'validate', '--config', broken, '--node-name', NODE, '--log-level', 'trace'], {
      cwd: REPO_ROOT,
      env: { ...process.env, ...env },
      allowFail: true,
    });
    assert.notEqual(r.code, 0, `the broken config validated:\n${r.stdout}`);
    const output = `${r.stdout}\n${r.stderr}`;
    // The problems are reported, by place…
    assert.match(output, /otlphttp/);
    assert.match(output, /headers/);
    assert.match(output, /pushgateway\/header/);
    assert.match(output, /basic_auth/);
    // …and without the values.
    assertNoLeak('validate output of the broken config', output);
  });

  it('collect --once at trace level prints none of them', async () => {
    const r = await runAgent(['collect', '--once']);
    assertNoLeak('collect --once stdout', r.stdout);
    assertNoLeak('collect --once stderr', r.stderr);
  });

  it('a running agent at trace level, refused everywhere with its secrets echoed back: none in logs, stderr or /metrics', async () => {
    echo!.requests.length = 0; // count this agent's requests only
    agent = await startAgent({
      config: await readFile(configPath, 'utf8'),
      env,
      extraArgs: ['--kube-api-url', api!.url, '--kube-token-file', join(dir!.path, 'kube-token'), '--node-name', NODE, '--log-level', 'trace'],
    });
    // The secrets really were in play: every destination got its credential at least twice.
    const sent = (path: string, header: string, value: string): number =>
      echo!.requests.filter((r) => r.path === path && String(r.headers[header] ?? '').includes(value)).length;
    await waitFor(
      `every destination refused twice (requests so far: ${echo!.requests.length})`,
      () =>
        sent('/basic/metrics/job/nodemeter/instance/secret-node', 'authorization', Buffer.from(`nodemeter:${SECRETS.PGW_PASSWORD}`).toString('base64')) >= 2 &&
        sent('/bearer/metrics/job/nodemeter/instance/secret-node', 'authorization', SECRETS.PGW_BEARER) >= 2 &&
        sent('/header/metrics/job/nodemeter/instance/secret-node', 'x-auth-token', SECRETS.PGW_HEADER) >= 2 &&
        sent('/v1/metrics', 'x-api-key', SECRETS.OTLP_KEY) >= 2 &&
        sent('/target', 'authorization', SECRETS.SCRAPE_TOKEN) >= 2
          ? true
          : undefined,
      { timeoutMs: 20_000, intervalMs: 200 },
    );
    assert.ok(api!.requests.some((r) => r.authorization === `Bearer ${SECRETS.KUBE_TOKEN}`), 'the Kubernetes token file was not used');
    // The failures were logged (so the search below covers real error paths).
    assert.ok(agent.logs.some((l) => (l.level ?? 0) >= 40 && JSON.stringify(l).includes('pushgateway/basic')), `no failure logged for pushgateway/basic\n${agent.describe()}`);
    const metrics = (await agent.scrape()).body;
    assert.match(metrics, /nodemeter_exporter_last_error_timestamp_seconds/);
    assertNoLeak('/metrics', metrics);
    const stopped = await agent.stop('SIGTERM');
    assert.equal(stopped.code, 0, agent.describe());
    assertNoLeak('agent logs', stopped.logs.map((l) => JSON.stringify(l)).join('\n'));
    assertNoLeak('agent stderr', stopped.stderr);
  });
});
