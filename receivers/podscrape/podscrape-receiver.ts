import type { HrTime } from '@opentelemetry/api';
import type { MetricData } from '@opentelemetry/sdk-metrics';

import type { KubeLookup } from '../../kube/lookup.ts';
import type { CollectContext, ComponentSettings, Receiver, ReceiverResult } from '../../pipeline/component.ts';
import { counter, gauge, nowHr, type Sample } from '../../pipeline/datapoints.ts';
import { discoveryRules, type PodScrapeReceiverConfig } from './config.ts';
import { discoverTargets, type DiscoveryRule, type ScrapeMode, type ScrapeTarget } from './discovery.ts';
import { ScrapeClient } from './scrape-client.ts';
import { ScrapeSlots } from './scrape-slots.ts';
import { scrapeTarget, targetLabels, type TargetScrape } from './target-scraper.ts';

/** How soon a round that found the cache not yet synced is tried again. */
const UNSYNCED_RETRY_MS = 100;

/** Failures where the target sent more than its limits allow: scraping it again costs the limit again. */
const LIMIT_BREACHES = new Set(['body_too_large', 'decompressed_too_large', 'series_limit', 'limit']);
/** Longest pause before a target that keeps breaching its limits is tried again. */
const MAX_BREACH_BACKOFF_MS = 5 * 60_000;

/** A target and the scrape a pull is answered with. */
interface Served {
  readonly target: ScrapeTarget;
  readonly last: TargetScrape;
}

interface KnownTarget {
  target: ScrapeTarget;
  /** When the target was first discovered: the start of its counters. */
  readonly firstSeen: HrTime;
  last?: TargetScrape;
  /** Consecutive scrapes that breached a limit, and when the rounds may try it again. */
  breaches: number;
  notBeforeMs: number;
}

/**
 * Scrapes this node's pods: targets from the shared Kubernetes cache by the discovery rules,
 * interval-mode jobs in the background every collection_interval (a pull serves the last
 * scrape), on-demand jobs only when a pull asks for them with `?job=<name>`. Each target gets
 * `up`, `scrape_duration_seconds` and `scrape_samples_scraped`. Never throws from its loop.
 */
export class PodScrapeReceiver implements Receiver {
  readonly #settings: ComponentSettings;
  readonly #config: Readonly<PodScrapeReceiverConfig>;
  readonly #rules: readonly DiscoveryRule[];
  readonly #lookup: KubeLookup | undefined;
  readonly #client = new ScrapeClient();
  readonly #known = new Map<string, KnownTarget>();
  /** Scrapes under way by target key: concurrent pulls of one job share them. */
  readonly #inFlight = new Map<string, Promise<TargetScrape>>();
  /** Failed scrapes by job and reason, for nodemeter_podscrape_scrape_failures_total. */
  readonly #failures = new Map<string, { job: string; reason: string; count: number }>();
  readonly #startTime = nowHr();
  #reportedProblems = '';
  #timer: NodeJS.Timeout | undefined;
  /** Rounds under way: more than one when a slow target outlasts the interval. */
  readonly #rounds = new Set<Promise<void>>();
  readonly #slots: ScrapeSlots;
  #firstRound: { promise: Promise<void>; resolve: () => void };
  #state: 'new' | 'started' | 'stopped' = 'new';
  readonly #abort = new AbortController();

  constructor(settings: ComponentSettings, config: Readonly<PodScrapeReceiverConfig>) {
    this.#settings = settings;
    this.#config = config;
    this.#rules = discoveryRules(config);
    this.#slots = new ScrapeSlots(config.concurrency);
    this.#lookup = settings.kube?.require(['pods']);
    let resolve!: () => void;
    const promise = new Promise<void>((r) => (resolve = r));
    this.#firstRound = { promise, resolve };
  }

  start(): Promise<void> {
    if (this.#state !== 'new') return Promise.resolve();
    this.#state = 'started';
    if (!this.#lookup) {
      this.#settings.logger.warn('no Kubernetes API server configured: no pod to scrape');
      this.#firstRound.resolve();
      return Promise.resolve();
    }
    this.#tick();
    return Promise.resolve();
  }

  async shutdown(): Promise<void> {
    if (this.#state === 'stopped') return;
    this.#state = 'stopped';
    clearTimeout(this.#timer);
    this.#abort.abort();
    await Promise.all([...this.#rounds]);
    this.#client.destroy();
    this.#firstRound.resolve();
  }

  /**
   * Resolves once the interval-mode targets were scraped once (or there is no cache). Before the
   * cache has synced there is nothing to wait for: `collect --once` waits for the sync first and
   * gives up on it after a while, and must not then wait forever here.
   */
  settled(): Promise<void> {
    if (this.#state === 'started' && this.#lookup !== undefined && !this.#lookup.synced) return Promise.resolve();
    return this.#firstRound.promise;
  }

  /** The jobs a pull can ask for with `?job=`: every job discovered now, whatever its mode. */
  selectorValues(key: string): readonly string[] | undefined {
    if (key !== 'job') return undefined;
    const jobs = new Set<string>();
    for (const t of this.#discover()) jobs.add(t.job);
    for (const rule of this.#rules) if (rule.kind === 'annotations') jobs.add(rule.job);
    return [...jobs].sort();
  }

  async collect(ctx: CollectContext): Promise<ReceiverResult> {
    const job = ctx.selectors['job'];
    const entries: Served[] = [];
    if (job === undefined) {
      for (const k of this.#known.values()) if (k.target.mode === 'interval' && k.last !== undefined) entries.push({ target: k.target, last: k.last });
    } else {
      const targets = this.#discover().filter((t) => t.job === job);
      // The receiver's own signal, not the pull's: another pull may be sharing these scrapes, and
      // each is bounded by its own timeout; the pull stops waiting at its deadline regardless.
      const fresh = await this.#scrapeAll(
        targets.filter((t) => t.mode === 'on_demand'),
        this.#abort.signal,
      );
      for (const t of targets) {
        const last = fresh.get(t.key) ?? this.#known.get(t.key)?.last;
        if (last !== undefined) entries.push({ target: t, last });
      }
    }
    const metrics = this.#families(entries, job);
    return { scopeMetrics: { scope: { name: `nodemeter/receiver/${this.#settings.id}` }, metrics } };
  }

  #discover(): ScrapeTarget[] {
    if (!this.#lookup) return [];
    const node = this.#settings.agent.nodeName;
    // The cache holds this node's pods; the check keeps a cache shared with a wider watch honest.
    const pods = this.#lookup.list('pods').filter((p) => node === '' || p.nodeName === node);
    const { targets, problems } = discoverTargets(pods, this.#rules);
    const report = problems.map((p) => `${p.namespace}/${p.pod}: ${p.message}`).join('\n');
    if (report !== this.#reportedProblems) {
      this.#reportedProblems = report;
      for (const p of problems) this.#settings.logger.warn({ namespace: p.namespace, pod: p.pod }, `pod not scraped: ${p.message}`);
    }
    // Targets that went away lose their series; new ones start counting now.
    const current = new Set(targets.map((t) => t.key));
    for (const key of this.#known.keys()) if (!current.has(key)) this.#known.delete(key);
    for (const t of targets) {
      const known = this.#known.get(t.key);
      if (known === undefined) this.#known.set(t.key, { target: t, firstSeen: nowHr(), breaches: 0, notBeforeMs: 0 });
      else known.target = t;
    }
    return targets;
  }

  /**
   * Starts a round every collection_interval from the previous round's start, whether or not
   * that round has finished: a slow target (still being scraped, and then joined, not scraped
   * twice) does not hold back the others. Before the cache has synced it looks again soon.
   */
  #tick(): void {
    if (this.#state !== 'started') return;
    const synced = this.#lookup?.synced === true;
    this.#timer = setTimeout(() => this.#tick(), synced ? this.#config.collection_interval : UNSYNCED_RETRY_MS);
    this.#timer.unref();
    // Until the first list arrives an empty cache would read as "every pod gone".
    if (!synced) return;
    const round = this.#runRound();
    this.#rounds.add(round);
    void round.finally(() => {
      this.#rounds.delete(round);
      this.#firstRound.resolve();
    });
  }

  /** One round of the interval-mode targets. Never rejects. */
  async #runRound(): Promise<void> {
    try {
      await this.#scrapeAll(
        this.#discover().filter((t) => t.mode === 'interval' && Date.now() >= (this.#known.get(t.key)?.notBeforeMs ?? 0)),
        this.#abort.signal,
      );
    } catch (err) {
      this.#settings.logger.error({ err }, 'pod scrape round failed');
    }
  }

  /** Scrapes `targets` through the shared slots, joining scrapes of the same target under way. */
  async #scrapeAll(targets: readonly ScrapeTarget[], signal: AbortSignal): Promise<Map<string, TargetScrape>> {
    const results = await Promise.all(targets.map((target) => this.#scrapeOne(target, signal)));
    return new Map(targets.map((t, i) => [t.key, results[i] as TargetScrape]));
  }

  #scrapeOne(target: ScrapeTarget, signal: AbortSignal): Promise<TargetScrape> {
    let scrape = this.#inFlight.get(target.key);
    if (scrape === undefined) {
      const known = this.#known.get(target.key);
      const startTime = known?.firstSeen ?? nowHr();
      scrape = this.#slots.run(() => scrapeTarget(this.#client, target, startTime, this.#config, signal)).then((result) => {
        const k = this.#known.get(target.key);
        const wasUp = k?.last?.up ?? true;
        if (k !== undefined) {
          // An on-demand target's series go to the pulls that asked (they get `result`); keeping
          // them until the next pull would hold a whole job's data between pulls for nothing.
          k.last = target.mode === 'on_demand' ? { ...result, metrics: [] } : result;
          // A target that keeps sending more than its limits is tried less and less often
          // (one interval, two, four … up to 5 min): each try costs the agent the whole limit.
          k.breaches = result.reason !== undefined && LIMIT_BREACHES.has(result.reason) ? k.breaches + 1 : 0;
          k.notBeforeMs = k.breaches < 2 ? 0 : Date.now() + Math.min(MAX_BREACH_BACKOFF_MS, this.#config.collection_interval * 2 ** (k.breaches - 2));
        }
        if (!result.up) this.#recordFailure(target, result, wasUp);
        else if (!wasUp) this.#settings.logger.info({ job: target.job, namespace: target.namespace, pod: target.pod }, 'scrape target is up again');
        return result;
      });
      this.#inFlight.set(target.key, scrape);
      void scrape.finally(() => this.#inFlight.delete(target.key));
    }
    return scrape;
  }

  /** Counts a failed scrape; logs a warning when a target goes down, debug while it stays down. */
  #recordFailure(target: ScrapeTarget, result: TargetScrape, wasUp: boolean): void {
    const reason = result.reason ?? 'unknown';
    const key = `${target.job}\u0000${reason}`;
    const entry = this.#failures.get(key) ?? { job: target.job, reason, count: 0 };
    entry.count++;
    this.#failures.set(key, entry);
    const fields = { job: target.job, namespace: target.namespace, pod: target.pod, address: target.address, reason, err: result.error };
    if (wasUp) this.#settings.logger.warn(fields, 'scrape failed');
    else this.#settings.logger.debug(fields, 'scrape failed again');
  }

  #families(entries: readonly Served[], job: string | undefined): MetricData[] {
    const time = nowHr();
    const up: Sample[] = [];
    const duration: Sample[] = [];
    const scraped: Sample[] = [];
    const metrics: MetricData[] = [];
    for (const { target, last } of entries) {
      if (last === undefined) continue;
      const attributes = targetLabels(target, this.#config);
      up.push({ attributes, value: last.up ? 1 : 0 });
      duration.push({ attributes, value: last.durationMs / 1000 });
      scraped.push({ attributes, value: last.samples });
      // A loop, not push(...): a target may have tens of thousands of families.
      for (const m of last.metrics) metrics.push(m);
    }
    const byMode = new Map<string, { job: string; mode: ScrapeMode; count: number }>();
    for (const { target } of this.#known.values()) {
      if (job !== undefined && target.job !== job) continue;
      const key = `${target.job}\u0000${target.mode}`;
      const entry = byMode.get(key) ?? { job: target.job, mode: target.mode, count: 0 };
      entry.count++;
      byMode.set(key, entry);
    }
    const failures = [...this.#failures.values()].filter((f) => job === undefined || f.job === job);
    metrics.push(
      gauge({ name: 'up', description: 'Whether the last scrape of the target succeeded (1) or not (0).' }, up, time),
      gauge({ name: 'scrape_duration_seconds', description: 'Duration of the last scrape of the target.', unit: 's' }, duration, time),
      gauge({ name: 'scrape_samples_scraped', description: 'Samples the target exposed in its last scrape.' }, scraped, time),
      gauge(
        { name: 'nodemeter_podscrape_targets', description: 'Scrape targets discovered on this node, by job and mode.' },
        [...byMode.values()].map((e) => ({ attributes: { job: e.job, mode: e.mode }, value: e.count })),
        time,
      ),
      counter(
        { name: 'nodemeter_podscrape_scrape_failures_total', description: 'Failed scrapes by job and reason (timeout, connect, http_status, body_too_large, parse, series_limit, …).' },
        failures.map((f) => ({ attributes: { job: f.job, reason: f.reason }, value: f.count })),
        this.#startTime,
        time,
      ),
    );
    return metrics;
  }
}
