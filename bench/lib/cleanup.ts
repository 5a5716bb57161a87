// Undo everything a benchmark set up, in reverse order, whether it ends normally, throws, or is
// interrupted (Ctrl-C, SIGTERM). Processes are also started with a parent-death signal and
// SIGKILLed on exit (spawnTracked in test/support/proc.ts), so even a SIGKILL of the benchmark
// leaves nothing running.

type Step = { name: string; run: () => Promise<void> | void; runSync?: () => void };

export class Cleanup {
  private readonly steps: Step[] = [];
  private running: Promise<void> | undefined;
  private readonly onSignal = (signal: NodeJS.Signals): void => {
    process.stderr.write(`\nbench: ${signal}, cleaning up…\n`);
    void this.run().finally(() => process.exit(signal === 'SIGINT' ? 130 : 143));
  };
  private readonly onExit = (): void => this.runSyncRemaining();

  constructor() {
    process.on('SIGINT', this.onSignal);
    process.on('SIGTERM', this.onSignal);
    process.on('SIGHUP', this.onSignal);
    process.on('exit', this.onExit);
  }

  /** Register an undo step; `runSync` is the last-resort variant used from the `exit` event. */
  add(name: string, run: () => Promise<void> | void, runSync?: () => void): void {
    this.steps.push(runSync === undefined ? { name, run } : { name, run, runSync });
  }

  /** Run every step, newest first; a failing step is reported and the rest still run. */
  run(): Promise<void> {
    this.running ??= (async () => {
      while (this.steps.length > 0) {
        const step = this.steps.pop() as Step;
        try {
          await step.run();
        } catch (err) {
          process.stderr.write(`bench: cleanup step "${step.name}" failed: ${String(err)}\n`);
        }
      }
      process.off('SIGINT', this.onSignal);
      process.off('SIGTERM', this.onSignal);
      process.off('SIGHUP', this.onSignal);
      process.off('exit', this.onExit);
    })();
    return this.running;
  }

  private runSyncRemaining(): void {
    while (this.steps.length > 0) {
      const step = this.steps.pop() as Step;
      try {
        step.runSync?.();
      } catch {
        // exiting anyway
      }
    }
  }
}
