// A long-lived Node child a benchmark talks to over IPC, one request at a time: the measured code
// runs there, so the benchmark's own work is in none of its figures (bench/lib/*-child.ts).
import { fork, type ChildProcess } from 'node:child_process';

import { waitForExit } from '../../test/support/proc.ts';

type Reply = { readonly type: string; readonly message?: string };

export class BenchChild<Req extends { readonly type: string }, Rep extends Reply> {
  readonly #proc: ChildProcess;
  readonly #label: string;
  #waiting: { resolve: (reply: Rep) => void; reject: (err: Error) => void } | undefined;
  #gone: string | undefined;

  private constructor(proc: ChildProcess, label: string) {
    this.#proc = proc;
    this.#label = label;
    proc.on('message', (reply: Rep) => {
      const waiting = this.#waiting;
      this.#waiting = undefined;
      if (reply.type === 'error') waiting?.reject(new Error(`${label}: ${reply.message}`));
      else waiting?.resolve(reply);
    });
    const gone = (why: string): void => {
      this.#gone ??= why;
      this.#waiting?.reject(new Error(`${label} ${why}`));
      this.#waiting = undefined;
    };
    proc.on('exit', (code, signal) => gone(`exited (${code ?? signal})`));
    proc.on('error', (err) => gone(`failed: ${err.message}`));
  }

  /**
   * Runs `script` with this Node but without the benchmark's own flags, and waits for its first
   * message, which must be `{ type: 'ready', … }`.
   */
  static async start<Q extends { readonly type: string }, P extends Reply>(
    script: string,
    args: readonly string[],
    label: string,
    cwd: string,
  ): Promise<{ child: BenchChild<Q, P>; ready: P }> {
    const proc = fork(script, args, { execPath: process.execPath, execArgv: [], cwd, stdio: ['ignore', 'inherit', 'inherit', 'ipc'], serialization: 'json' });
    const child = new BenchChild<Q, P>(proc, label);
    const ready = await child.#next();
    if (ready.type !== 'ready') throw new Error(`${label}: expected "ready", got ${JSON.stringify(ready)}`);
    return { child, ready };
  }

  get pid(): number {
    return this.#proc.pid as number;
  }

  #next(): Promise<Rep> {
    if (this.#gone !== undefined) return Promise.reject(new Error(`${this.#label} ${this.#gone}`));
    return new Promise((resolve, reject) => {
      this.#waiting = { resolve, reject };
    });
  }

  /** Sends one request and resolves with the reply of type `expect`. */
  async request<T extends Rep['type']>(req: Req, expect: T): Promise<Extract<Rep, { type: T }>> {
    const reply = this.#next();
    this.#proc.send(req);
    const got = await reply;
    if (got.type !== expect) throw new Error(`${this.#label}: expected "${expect}", got ${JSON.stringify(got).slice(0, 500)}`);
    return got as Extract<Rep, { type: T }>;
  }

  /** Sends `shutdown` and waits for the exit (SIGKILL after 10 s); idempotent. */
  async stop(shutdown: Req): Promise<void> {
    if (this.#gone === undefined && this.#proc.connected) this.#proc.send(shutdown);
    await waitForExit(this.#proc, 10_000);
  }

  kill(): void {
    this.#proc.kill('SIGKILL');
  }
}
