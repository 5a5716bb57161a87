import type { ChildProcess } from 'node:child_process';

/** A server the tests run as a child process on a loopback port, with its output kept for failure messages. */
export class ChildServer {
  readonly port: number;
  protected readonly child: ChildProcess;
  protected output = '';

  protected constructor(port: number, child: ChildProcess) {
    this.port = port;
    this.child = child;
    child.stdout?.setEncoding('utf8').on('data', (d: string) => (this.output += d));
    child.stderr?.setEncoding('utf8').on('data', (d: string) => (this.output += d));
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** Everything the server wrote to stdout and stderr. */
  get log(): string {
    return this.output;
  }
}
