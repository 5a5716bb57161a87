import type { BatchObservableCallback, Counter, ObservableGauge } from '@opentelemetry/api';
import type { CollectContext, ComponentSettings, Receiver, ReceiverResult } from '../../pipeline/component.ts';
import { nowHr } from '../../pipeline/datapoints.ts';
import { NodemeterError } from '../../pipeline/errors.ts';
import type { FilesystemReceiverConfig } from './config.ts';
import type { HostMount } from './host-view.ts';
import { FamilyBuilder } from './metric-families.ts';
import { MountPlanner } from './mount-planner.ts';
import { mountTableCandidates, readMountTable } from './mount-table.ts';
import { MountinfoParser } from './mountinfo.ts';
import { StatfsPool, type ProbeOutcome } from './statfs-pool.ts';

/** Test seam: `workerData` for the statfs threads (`{ statfsModule }`, see StatfsPoolOptions). */
export interface FilesystemReceiverOptions {
  readonly workerData?: unknown;
}

// Longest wait setTimeout accepts; a later deadline is as good as none.
const MAX_TIMER_MS = 2 ** 31 - 1;

const DEADLINE: ProbeOutcome = { ok: false, reason: 'timeout', message: 'the collection deadline passed before statfs returned' };

/** Kubelet volume stats and node_exporter-style filesystem stats from mountinfo + statfs. */
export class FilesystemReceiver implements Receiver {
  readonly #settings: ComponentSettings;
  readonly #planner: MountPlanner;
  readonly #candidates: string[];
  readonly #pool: StatfsPool;
  readonly #families: FamilyBuilder;
  readonly #mountinfo = new MountinfoParser();
  #timeouts: Counter | undefined;
  #stuckGauge: ObservableGauge | undefined;
  #observe: BatchObservableCallback | undefined;
  #stopped = false;

  constructor(settings: ComponentSettings, config: Readonly<FilesystemReceiverConfig>, options: FilesystemReceiverOptions = {}) {
    this.#settings = settings;
    this.#planner = new MountPlanner(config);
    this.#families = new FamilyBuilder(settings.agent.nodeName);
    this.#candidates = mountTableCandidates(config.mountinfo_path, config.root_path);
    this.#pool = new StatfsPool({
      concurrency: config.concurrency,
      maxStuck: config.max_stuck,
      timeoutMs: config.statfs_timeout,
      workerData: options.workerData,
      onStuck: (path) => {
        this.#timeouts?.add(1, { receiver: settings.id });
        settings.logger.warn({ path, timeoutMs: config.statfs_timeout }, 'statfs timed out; mount marked stuck and skipped until it answers');
      },
      onRecovered: (path, stuckMs) => settings.logger.info({ path, stuckMs }, 'stuck mount answered again'),
    });
  }

  /** Paths currently stuck (statfs paths, with root_path) and since when. */
  get stuckMounts(): ReadonlyMap<string, number> {
    return this.#pool.stuck;
  }

  start(): Promise<void> {
    if (this.#stopped) return Promise.resolve();
    const meter = this.#settings.meter;
    this.#timeouts = meter.createCounter('nodemeter_filesystem_statfs_timeouts', {
      description: 'statfs calls that passed statfs_timeout (each marks its mount stuck).',
    });
    const stuckGauge = meter.createObservableGauge('nodemeter_filesystem_stuck_mounts', {
      description: 'Mounts whose statfs has not returned after statfs_timeout; skipped until it does.',
    });
    this.#stuckGauge = stuckGauge;
    this.#observe = (result) => result.observe(stuckGauge, this.#pool.stuck.size, { receiver: this.#settings.id });
    meter.addBatchObservableCallback(this.#observe, [stuckGauge]);
    this.#pool.warm();
    return Promise.resolve();
  }

  async shutdown(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    if (this.#observe && this.#stuckGauge) this.#settings.meter.removeBatchObservableCallback(this.#observe, [this.#stuckGauge]);
    await this.#pool.shutdown();
  }

  async collect(ctx: CollectContext): Promise<ReceiverResult> {
    const time = nowHr();
    const scope = { name: `nodemeter/receiver/${this.#settings.id}` };
    let table;
    try {
      table = await readMountTable(this.#candidates, this.#mountinfo);
    } catch (err) {
      return { scopeMetrics: { scope, metrics: [] }, errors: [err as Error] };
    }
    const errors: Error[] = [];
    if (table.malformed > 0) {
      errors.push(new NodemeterError('NM_FS_MOUNTINFO', `${table.path}: skipped ${table.malformed} malformed line(s)`));
    }
    const plan = this.#planner.plan(table.mounts);
    const mounts: HostMount[] = [...plan.volumes, ...plan.nodeFilesystems];
    const outcomes = await this.#probeAll(mounts.map((m) => m.statfsPath), ctx);
    const outcomeOf = (m: HostMount): ProbeOutcome => outcomes.get(m.statfsPath) ?? DEADLINE;
    for (const m of mounts) {
      const o = outcomeOf(m);
      if (!o.ok) {
        errors.push(new NodemeterError('NM_FS_STATFS', `${m.mountPoint}: ${o.reason}: ${o.message}`, { retryable: true }));
      }
    }
    const metrics = this.#families.build(plan.volumes, plan.nodeFilesystems, outcomeOf, time);
    return { scopeMetrics: { scope, metrics }, errors };
  }

  /** Probes every path; what has not answered by the deadline (or abort) is a `timeout`. */
  async #probeAll(paths: readonly string[], ctx: CollectContext): Promise<Map<string, ProbeOutcome>> {
    // The caller's abort and the collect deadline as one signal.
    const giveUp = new AbortController();
    const onAbort = (): void => giveUp.abort();
    ctx.signal.addEventListener('abort', onAbort, { once: true });
    if (ctx.signal.aborted) giveUp.abort();
    const remaining = ctx.deadline - Date.now();
    const timer = Number.isFinite(remaining) && remaining < MAX_TIMER_MS ? setTimeout(onAbort, Math.max(0, remaining)) : undefined;
    let answers: ProbeOutcome[];
    try {
      // Resolves at the abort too, with what answered by then; probes still running finish in the background.
      answers = await this.#pool.probeMany(paths, giveUp.signal);
    } finally {
      clearTimeout(timer);
      ctx.signal.removeEventListener('abort', onAbort);
    }
    const outcomes = new Map<string, ProbeOutcome>();
    for (let i = 0; i < paths.length; i++) {
      const outcome = answers[i] as ProbeOutcome;
      // A probe the deadline cut short timed out as far as this collect goes.
      outcomes.set(paths[i] as string, !outcome.ok && outcome.reason === 'aborted' ? DEADLINE : outcome);
    }
    return outcomes;
  }
}
