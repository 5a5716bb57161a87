import { createHash } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import type { Env } from '../../config/env-expand.ts';
import { ConfigValidationError, issue } from '../../config/issues.ts';
import { locate } from '../../config/yaml-source.ts';
import { ioProblem } from './io-problem.ts';
import { checkWebConfig } from './parse.ts';
import { loadTlsMaterial, type TlsMaterial } from './tls-material.ts';
import { fileState, type WebConfig } from './web-config.ts';

const MAX_FILE_BYTES = 1024 * 1024;

/** A web config with everything it names read and checked: what the server runs with. */
export interface LoadedWebConfig {
  readonly config: WebConfig;
  readonly tls: TlsMaterial | undefined;
  /** SHA-256 of the token in each `bearer_token_files` entry, by file. */
  readonly tokenFileDigests: ReadonlyMap<string, Buffer>;
  /** {@link fileState} of every file read (the web config and each file it names), as read. */
  readonly fileStates: ReadonlyMap<string, string>;
}

/** Reads a web config or token file; `states` (when given) notes the bytes' state. */
function readSmall(file: string, states?: Map<string, string>): string {
  const size = statSync(file).size;
  if (size > MAX_FILE_BYTES) throw new Error(`${size} bytes; larger than the ${MAX_FILE_BYTES} a web config or token file may be`);
  const bytes = readFileSync(file);
  states?.set(file, fileState(bytes));
  return bytes.toString('utf8');
}

/**
 * The SHA-256 of the token a file holds. Trailing whitespace is dropped: Secrets made with
 * `kubectl create secret --from-file` or `echo` often end in a newline the client never sends.
 */
export function readTokenFile(file: string, states?: Map<string, string>): { digest: Buffer } | { error: string } {
  let text: string;
  try {
    text = readSmall(file, states);
  } catch (err) {
    return { error: `cannot read ${file}: ${ioProblem(err)}` };
  }
  const token = text.trimEnd();
  if (token === '') return { error: `${file} is empty; it must hold the bearer token` };
  if (/[\s]/.test(token)) return { error: `${file} holds whitespace inside the token; it must hold one token` };
  return { digest: createHash('sha256').update(token, 'utf8').digest() };
}

/**
 * Reads the web config file and every file it names. Throws {@link ConfigValidationError}
 * (source: the file) listing every problem with its key path and line.
 */
export function loadWebConfigFile(file: string, env: Env): LoadedWebConfig {
  const fileStates = new Map<string, string>();
  let text: string;
  try {
    text = readSmall(file, fileStates);
  } catch (err) {
    throw new ConfigValidationError(file, [issue('', `cannot read the web config: ${ioProblem(err)}`)], { cause: err });
  }
  // The files named by the parts that check out are read even when other parts have problems: every problem at once.
  const { config, positions, issues } = checkWebConfig(text, file, env);
  if (config === undefined) throw new ConfigValidationError(file, issues);
  let tls: TlsMaterial | undefined;
  if (config.tls) {
    const result = loadTlsMaterial(config.tls, fileStates);
    if (result.ok) tls = result.material;
    else for (const p of result.problems) issues.push(issue([...p.path], p.message, locate(positions, p.path)));
  }
  const tokenFileDigests = new Map<string, Buffer>();
  config.bearerTokenFiles.forEach((tokenFile, i) => {
    const r = readTokenFile(tokenFile, fileStates);
    if ('digest' in r) tokenFileDigests.set(tokenFile, r.digest);
    else issues.push(issue(['bearer_token_files', i], r.error, locate(positions, ['bearer_token_files', i])));
  });
  if (issues.length > 0) throw new ConfigValidationError(file, issues);
  return { config, tls, tokenFileDigests, fileStates };
}
