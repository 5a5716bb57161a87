// A private mount namespace held open by a long-running process, and processes run inside it.
//
//   holder:   unshare -m --propagation private setpriv --pdeathsig KILL -- sleep infinity
//   inside:   nsenter -t <holder> -m -- setpriv --pdeathsig KILL -- <command> …
//
// `unshare`, `nsenter` (without -p/-U) and `setpriv` all exec, so the PID we spawn is the PID of
// the final program: /proc/<pid>/stat and /proc/<pid>/status describe the server itself.
// The parent-death signal makes every one of them die with the benchmark, even on SIGKILL.
// Mounts made inside exist only there and vanish when the last process in the namespace exits.
import { spawn, type ChildProcess } from 'node:child_process';
import { readlinkSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';

export class ManagedProcess {
  readonly pid: number;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  private exitInfo: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  private stderrTail = '';
  private stdoutBuffer = '';
  private readonly lineListeners: ((line: string) => void)[] = [];

  readonly name: string;

  constructor(name: string, child: ChildProcess) {
    this.name = name;
    if (child.pid === undefined) throw new Error(`${name}: spawn failed`);
    this.pid = child.pid;
    this.exited = new Promise((resolve) => {
      child.on('exit', (code, signal) => {
        this.exitInfo = { code, signal };
        resolve(this.exitInfo);
      });
    });
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (chunk: string) => {
      this.stderrTail = (this.stderrTail + chunk).slice(-4000);
    });
    child.stdout?.setEncoding('utf8');
    child.stdout?.on('data', (chunk: string) => {
      this.stdoutBuffer += chunk;
      let nl: number;
      while ((nl = this.stdoutBuffer.indexOf('\n')) !== -1) {
        const line = this.stdoutBuffer.slice(0, nl);
        this.stdoutBuffer = this.stdoutBuffer.slice(nl + 1);
        for (const listener of this.lineListeners) listener(line);
      }
      if (this.stdoutBuffer.length > 1_000_000) this.stdoutBuffer = '';
    });
  }

  get running(): boolean {
    return this.exitInfo === undefined;
  }

  /** Recent stderr output, for error messages. */
  get stderr(): string {
    return this.stderrTail;
  }

  onStdoutLine(listener: (line: string) => void): void {
    this.lineListeners.push(listener);
  }

  describeExit(): string {
    if (this.exitInfo === undefined) return `${this.name} (pid ${this.pid}) is running`;
    const { code, signal } = this.exitInfo;
    return `${this.name} (pid ${this.pid}) exited with ${signal ?? `code ${code}`}; stderr:\n${this.stderrTail}`;
  }

  /** SIGTERM (or the given signal), then SIGKILL after `graceMs`; resolves once it has exited. */
  async stop(signal: NodeJS.Signals = 'SIGTERM', graceMs = 5000): Promise<void> {
    if (!this.running) return;
    this.kill(signal);
    const timer = sleep(graceMs, 'timeout' as const);
    if ((await Promise.race([this.exited, timer])) === 'timeout' && this.running) {
      this.kill('SIGKILL');
      await this.exited;
    }
  }

  kill(signal: NodeJS.Signals): void {
    if (!this.running) return;
    try {
      process.kill(this.pid, signal);
    } catch {
      // already gone
    }
  }
}

export interface SpawnInsideOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
}

export class MountNamespace {
  readonly holder: ManagedProcess;

  private constructor(holder: ManagedProcess) {
    this.holder = holder;
  }

  get pid(): number {
    return this.holder.pid;
  }

  /** Start the holder and wait until it is inside a mount namespace of its own. */
  static async create(): Promise<MountNamespace> {
    const child = spawn(
      'unshare',
      ['-m', '--propagation', 'private', 'setpriv', '--pdeathsig', 'KILL', '--', 'sleep', 'infinity'],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    const holder = new ManagedProcess('namespace holder', child);
    const ownNs = readlinkSync('/proc/self/ns/mnt');
    const deadline = Date.now() + 10_000;
    for (;;) {
      if (!holder.running) throw new Error(holder.describeExit());
      let ns: string | undefined;
      let exe: string | undefined;
      try {
        ns = readlinkSync(`/proc/${holder.pid}/ns/mnt`);
        exe = readlinkSync(`/proc/${holder.pid}/exe`);
      } catch {
        // not there yet
      }
      if (ns !== undefined && ns !== ownNs && exe !== undefined && /\/sleep$/.test(exe)) break;
      if (Date.now() > deadline) {
        await holder.stop('SIGKILL');
        throw new Error('the namespace holder did not come up within 10 s (is this root? `unshare -m` needs CAP_SYS_ADMIN)');
      }
      await sleep(5);
    }
    return new MountNamespace(holder);
  }

  /** Run a shell script (fed on stdin to `sh -e`) inside the namespace; resolves with its stdout. */
  runScript(script: string): Promise<string> {
    return new Promise((resolve, reject) => {
      const child = spawn('nsenter', ['-t', String(this.pid), '-m', '--', 'sh', '-e'], {
        stdio: ['pipe', 'pipe', 'pipe'],
      });
      let out = '';
      let err = '';
      child.stdout.setEncoding('utf8').on('data', (c: string) => (out += c));
      child.stderr.setEncoding('utf8').on('data', (c: string) => (err = (err + c).slice(-4000)));
      child.on('error', reject);
      child.on('exit', (code, signal) => {
        if (code === 0) resolve(out);
        else reject(new Error(`script in namespace failed (${signal ?? `exit ${code}`}): ${err}`));
      });
      child.stdin.end(script);
    });
  }

  /** Start a long-running program inside the namespace; it dies if the benchmark dies. */
  spawn(name: string, command: string, args: readonly string[], options: SpawnInsideOptions = {}): ManagedProcess {
    const child = spawn(
      'nsenter',
      ['-t', String(this.pid), '-m', '--', 'setpriv', '--pdeathsig', 'KILL', '--', command, ...args],
      { stdio: ['ignore', 'pipe', 'pipe'], cwd: options.cwd, env: options.env ?? process.env },
    );
    return new ManagedProcess(name, child);
  }

  /** Ending the holder ends the namespace once the processes spawned inside have exited too. */
  async destroy(): Promise<void> {
    await this.holder.stop('SIGKILL');
  }
}

/** True when `pid` runs in the mount namespace `ns` holds (sanity check after spawning). */
export function inNamespace(pid: number, ns: MountNamespace): boolean {
  try {
    return readlinkSync(`/proc/${pid}/ns/mnt`) === readlinkSync(`/proc/${ns.pid}/ns/mnt`);
  } catch {
    return false;
  }
}
