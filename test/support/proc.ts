/**
 * Child-process helpers for the integration tests.
 *
 * Every process started through {@link spawnTracked} is remembered until it exits;
 * if the test process itself exits first (a crash, an uncaught failure), an `exit`
 * handler SIGKILLs whatever is still running, so no agent, Prometheus or FUSE daemon
 * outlives its test file.
 */
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const live = new Set<ChildProcess>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const child of live) {
      try {
        child.kill('SIGKILL');
      } catch {
        // already gone
      }
    }
  });
}

const SETPRIV = ['/usr/bin/setpriv', '/bin/setpriv'].find((p) => existsSync(p));

/**
 * `spawn` that registers the child for kill-on-exit. stdin defaults to ignored.
 * Where util-linux's setpriv exists, the child also gets a parent-death signal
 * (`setpriv --pdeathsig KILL`, kept across the exec chain `nsenter` → `node`), so it
 * dies even when the test process is SIGKILLed and no exit handler runs.
 */
export function spawnTracked(command: string, args: readonly string[], options: SpawnOptions = {}): ChildProcess {
  installExitHook();
  const [cmd, argv] = SETPRIV ? [SETPRIV, ['--pdeathsig', 'KILL', '--', command, ...args]] : [command, args];
  const child = spawn(cmd, argv, { stdio: ['ignore', 'pipe', 'pipe'], ...options });
  live.add(child);
  child.once('exit', () => live.delete(child));
  child.once('error', () => live.delete(child));
  return child;
}

export interface RunOptions {
  /** Text written to the command's stdin (stdin is closed afterwards). */
  input?: string;
  /** Kill the command (SIGKILL) after this long and reject; default 30 s. */
  timeoutMs?: number;
  /** Resolve with a non-zero exit code instead of rejecting. Default false. */
  allowFail?: boolean;
  cwd?: string;
  env?: NodeJS.ProcessEnv;
}

export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Runs a command to completion and collects its output. */
export function run(command: string, args: readonly string[], options: RunOptions = {}): Promise<RunResult> {
  const timeoutMs = options.timeoutMs ?? 30_000;
  return new Promise((resolve, reject) => {
    const child = spawnTracked(command, args, {
      stdio: [options.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
      cwd: options.cwd,
      env: options.env ?? process.env,
    });
    let stdout = '';
    let stderr = '';
    child.stdout?.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr?.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${describe(command, args)} did not finish within ${timeoutMs} ms\nstdout: ${stdout}\nstderr: ${stderr}`));
    }, timeoutMs);
    child.once('error', (err) => {
      clearTimeout(timer);
      reject(new Error(`${describe(command, args)} could not start: ${err.message}`));
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      const result = { code, signal, stdout, stderr };
      if (!options.allowFail && code !== 0) {
        reject(new Error(`${describe(command, args)} exited ${code ?? signal}\nstdout: ${stdout}\nstderr: ${stderr}`));
      } else {
        resolve(result);
      }
    });
    if (options.input !== undefined) child.stdin?.end(options.input);
  });
}

export function describe(command: string, args: readonly string[]): string {
  return [command, ...args].map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : JSON.stringify(a))).join(' ');
}

export interface ExitResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** True when the child outlived `graceMs` and was sent SIGKILL. */
  killed: boolean;
  /**
   * False when even SIGKILL did not end it within `killWaitMs`: a thread stuck in
   * an uninterruptible syscall (a statfs on a hung FUSE mount) keeps a process alive
   * until the call returns, whatever signal it gets.
   */
  exited: boolean;
}

/**
 * Resolves once the child has exited (code or signal). If it has not exited after
 * `graceMs`, sends SIGKILL and waits up to `killWaitMs` (default 5 s) more; never
 * waits longer than that.
 */
export async function waitForExit(child: ChildProcess, graceMs: number, killWaitMs = 5_000): Promise<ExitResult> {
  if (child.exitCode !== null || child.signalCode !== null) {
    return { code: child.exitCode, signal: child.signalCode, killed: false, exited: true };
  }
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  const within = async (ms: number): Promise<{ code: number | null; signal: NodeJS.Signals | null } | undefined> => {
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<undefined>((resolve) => {
      timer = setTimeout(() => resolve(undefined), ms);
    });
    const first = await Promise.race([exited, timedOut]);
    clearTimeout(timer);
    return first;
  };
  const first = await within(graceMs);
  if (first) return { ...first, killed: false, exited: true };
  child.kill('SIGKILL');
  const second = await within(killWaitMs);
  if (second) return { ...second, killed: true, exited: true };
  return { code: null, signal: null, killed: true, exited: false };
}

/** Polls `check` every `intervalMs` until it returns a value other than undefined. */
export async function waitFor<T>(
  what: string,
  check: () => Promise<T | undefined> | T | undefined,
  { timeoutMs = 15_000, intervalMs = 100 }: { timeoutMs?: number; intervalMs?: number } = {},
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() > deadline) {
      const detail = lastError instanceof Error ? `: ${lastError.message}` : '';
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${detail}`);
    }
    await sleep(intervalMs);
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** A fresh directory under the OS temp dir; `remove()` deletes it recursively. */
export async function makeTempDir(prefix = 'nodemeter-it-'): Promise<{ path: string; remove: () => Promise<void> }> {
  const path = await mkdtemp(join(tmpdir(), prefix));
  return { path, remove: () => rm(path, { recursive: true, force: true }) };
}
