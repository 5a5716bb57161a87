/**
 * The configs under examples/ as the integration tests run them: read as the file users copy,
 * with nothing changed but the `${env:…}` variables each example documents. A test passes those
 * variables in the agent's environment ({@link exampleEnv}), so what runs is the example itself.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { AGENT_BIN, launcherNodeFlags, NODE24, REPO_ROOT } from './agent.ts';
import { run, type RunResult } from './proc.ts';

export const EXAMPLES_DIR = join(REPO_ROOT, 'examples');

/** Every example config file name (`*.yaml`, `*.yml`), sorted. */
export function exampleFiles(): string[] {
  return readdirSync(EXAMPLES_DIR)
    .filter((f) => /\.ya?ml$/.test(f))
    .sort();
}

/** The text of one example, unchanged. */
export function readExample(file: string): string {
  return readFileSync(join(EXAMPLES_DIR, file), 'utf8');
}

/** The `${env:NAME…}` references of an example, each with its default (undefined: none). */
export function exampleEnvReferences(text: string): Map<string, string | undefined> {
  const refs = new Map<string, string | undefined>();
  // `$${…}` is a literal, not a reference: skip an escaped dollar.
  for (const m of text.matchAll(/(?<!\$)\$\{env:([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g)) {
    const name = m[1]!;
    const fallback = m[2];
    if (!refs.has(name) || refs.get(name) === undefined) refs.set(name, fallback);
  }
  return refs;
}

/**
 * The environment an example runs under in a test: `vars`, and nothing else from the test
 * process for the variables the example reads (a stray NODE_NAME or HOST_ROOT in the shell that
 * runs the tests must not change what is tested). Throws when `vars` names a variable the
 * example does not read: the example and its test would have drifted apart.
 */
export function exampleEnv(text: string, vars: Readonly<Record<string, string>>): Record<string, string> {
  const refs = exampleEnvReferences(text);
  const unknown = Object.keys(vars).filter((k) => !refs.has(k) && k !== 'NODE_NAME');
  if (unknown.length > 0) throw new Error(`the example reads no ${unknown.join(', ')} (it reads ${[...refs.keys()].join(', ')})`);
  const env: Record<string, string> = {};
  for (const name of refs.keys()) env[name] = '';
  return { ...env, ...vars };
}

/** `nodemeter validate --config examples/<file>` with `env`; resolves with its exit code and output. */
export function validateExample(file: string, env: Readonly<Record<string, string>>): Promise<RunResult> {
  return run(NODE24, [...launcherNodeFlags(), AGENT_BIN, 'validate', '--config', join(EXAMPLES_DIR, file)], {
    cwd: REPO_ROOT,
    env: { ...process.env, ...env },
    allowFail: true,
  });
}
