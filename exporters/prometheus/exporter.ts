import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Counter, Histogram } from '@opentelemetry/api';
import { MetricReader } from '@opentelemetry/sdk-metrics';
import type { ComponentSettings, Exporter, PipelineSource } from '../../pipeline/component.ts';
import { collectContext } from '../../pipeline/deadline.ts';
import { ChangeLogger } from '../../pipeline/error-log.ts';
import { PipelineFanIn } from '../../pipeline/fan-in.ts';
import { DURATION_BUCKETS_SECONDS } from '../../pipeline/self-telemetry.ts';
import { countPoints, ExporterTelemetry, exporterTemporality } from '../exporter-telemetry.ts';
import type { PrometheusExporterConfig } from './config.ts';
import { PullCoalescer } from './pull-coalescer.ts';
import { EXPOSITION_CONTENT_TYPE, renderExposition } from './text-writer.ts';

/**
 * Sends `chunks` in order (true when all were written), asking for the next piece only once the socket has taken the last
 * (waiting for it to drain when its buffer is full): with a lazy render, a large exposition is
 * never in memory whole. Stops (without throwing) when the client goes away; leaving the loop
 * early finishes the render's generator.
 */
async function writeChunks(res: ServerResponse, chunks: Iterable<string | Buffer>, gone: AbortSignal): Promise<boolean> {
  for (const chunk of chunks) {
    if (gone.aborted) return false;
    const ok = res.write(chunk);
    if (!ok) {
      await new Promise<void>((resolve) => {
        const done = (): void => {
          res.off('drain', done);
          gone.removeEventListener('abort', done);
          resolve();
        };
        res.on('drain', done);
        gone.addEventListener('abort', done);
      });
    }
  }
  if (gone.aborted) return false;
  res.end();
  return true;
}

/** Time kept back from Prometheus' scrape timeout so the answer arrives before it gives up. */
const SCRAPE_TIMEOUT_MARGIN_MS = 250;

/** The SDK reader behind the endpoint: pulls the MeterProvider (self-telemetry) plus the pipelines. */
class PullReader extends MetricReader {
  protected override onForceFlush(): Promise<void> {
    return Promise.resolve();
  }
  protected override onShutdown(): Promise<void> {
    return Promise.resolve();
  }
}

/** One collection's answer: rendered lazily as strings, or (shared) whole as bytes. */
interface Rendered<Chunk extends string | Buffer = string | Buffer> {
  readonly chunks: Iterable<Chunk>;
  readonly errors: unknown[];
  readonly points: number;
}

/**
 * Prometheus pull endpoint on the agent's HTTP server. Each scrape runs one collection of
 * every pipeline that names this exporter, under the scraper's own timeout; plain pulls that
 * arrive while one is being collected and rendered share it (`?job=` pulls already share their
 * target scrapes, and render lazily to keep their larger answers out of memory).
 */
export class PrometheusExporter implements Exporter {
  readonly reader: MetricReader;
  readonly #fanIn = new PipelineFanIn();
  readonly #settings: ComponentSettings;
  readonly #config: PrometheusExporterConfig;
  #unroute: (() => void) | undefined;
  #shutdown = false;
  readonly #errorLog: ChangeLogger;
  #scrapes: Counter | undefined;
  #scrapeDuration: Histogram | undefined;
  readonly #telemetry: ExporterTelemetry;
  readonly #plainPulls = new PullCoalescer<Rendered<Buffer>>();

  constructor(settings: ComponentSettings, config: PrometheusExporterConfig) {
    this.#settings = settings;
    this.#config = config;
    this.#errorLog = new ChangeLogger(settings.logger);
    this.#telemetry = new ExporterTelemetry(settings.id, { push: false });
    this.reader = new PullReader({ metricProducers: [this.#fanIn], aggregationTemporalitySelector: exporterTemporality });
  }

  attach(source: PipelineSource): void {
    this.#fanIn.attach(source);
  }

  start(): Promise<void> {
    if (this.#shutdown) return Promise.reject(new Error(`exporter ${this.#settings.id} was shut down; create a new one`));
    if (this.#unroute) return Promise.resolve();
    const meter = this.#settings.meter;
    this.#telemetry.start(meter);
    this.#scrapes = meter.createCounter('nodemeter_exporter_scrapes_total', {
      description: 'Scrapes answered by a Prometheus exporter, by exporter and outcome.',
    });
    this.#scrapeDuration = meter.createHistogram('nodemeter_exporter_scrape_duration_seconds', {
      description: 'Time to collect and render one scrape, by exporter.',
      unit: 's',
      advice: { explicitBucketBoundaries: DURATION_BUCKETS_SECONDS },
    });
    this.#unroute = this.#settings.http.route(this.#config.path, `Prometheus exposition (${this.#settings.id})`, (req, res, url) =>
      this.#handle(req, res, url),
    );
    return Promise.resolve();
  }

  async shutdown(): Promise<void> {
    if (this.#shutdown) return;
    this.#shutdown = true;
    this.#unroute?.();
    this.#unroute = undefined;
    this.#telemetry.shutdown();
    await this.reader.shutdown().catch(() => undefined);
  }

  /** One collection rendered as exposition text; used by `collect --once` and tests. */
  async scrape(timeoutMs: number, selectors: Record<string, string> = {}, signal?: AbortSignal): Promise<{ text: string; errors: unknown[] }> {
    const { chunks, errors } = await this.#render(timeoutMs, selectors, signal);
    return { text: [...chunks].join(''), errors };
  }

  /** One collection, its exposition rendered lazily in pieces of about 64 K characters. */
  async #render(timeoutMs: number, selectors: Record<string, string>, signal?: AbortSignal): Promise<Rendered<string>> {
    const ctx = collectContext(timeoutMs, selectors, signal);
    // A pull for one job answers with that job's series only, without the agent's own telemetry.
    const narrowed = Object.keys(selectors).length > 0;
    const { resourceMetrics, errors } = await this.#fanIn.withContext(ctx, () =>
      narrowed ? this.#fanIn.collect({ timeoutMillis: timeoutMs }) : this.reader.collect({ timeoutMillis: timeoutMs }),
    );
    const chunks = renderExposition(resourceMetrics, {
      prefix: this.#config.metric_prefix,
      constLabels: this.#config.const_labels,
      targetInfo: this.#config.target_info,
      scopeInfo: this.#config.scope_info,
      dedupe: this.#fanIn.sources.length > 1,
    });
    return { chunks, errors, points: countPoints(resourceMetrics) };
  }

  /** A plain pull's answer, shared with the plain pulls that arrive while it is produced. */
  #renderShared(timeoutMs: number, gone: AbortSignal): Promise<Rendered<Buffer>> {
    return this.#plainPulls.run(gone, async (signal) => {
      const r = await this.#render(timeoutMs, {}, signal);
      // Rendered whole so every pull sharing it can send it from the start, as bytes: the
      // chunks' strings are ropes of many small pieces that, kept alive, would all be
      // promoted to the old generation (measured: twice the CPU and +140 MiB at 50 000 series).
      return { ...r, chunks: Array.from(r.chunks, (chunk) => Buffer.from(chunk, 'utf8')) };
    });
  }

  /**
   * `?job=<name>`: the selectors of a pull narrowed to one job, or the reason to refuse it (400):
   * an empty or repeated value, or a job no receiver of these pipelines knows.
   */
  #selectors(url: URL): { selectors: Record<string, string> } | { refused: string } {
    const jobs = url.searchParams.getAll('job');
    if (jobs.length === 0) return { selectors: {} };
    if (jobs.length > 1) return { refused: 'give ?job= once' };
    const job = jobs[0] as string;
    const known = new Set<string>();
    let answered = false;
    for (const source of this.#fanIn.sources) {
      const values = source.selectorValues('job');
      if (values === undefined) continue;
      answered = true;
      for (const v of values) known.add(v);
    }
    if (!answered) return { refused: 'no receiver of this endpoint scrapes jobs: ?job= is not supported here' };
    if (!known.has(job)) return { refused: `unknown job ${JSON.stringify(job.slice(0, 200))}; known jobs: ${known.size === 0 ? '(none)' : [...known].sort().join(', ')}` };
    return { selectors: { job } };
  }

  async #handle(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain; charset=utf-8' }).end('method not allowed\n');
      return;
    }
    const narrowed = this.#selectors(url);
    if ('refused' in narrowed) {
      this.#scrapes?.add(1, { exporter: this.#settings.id, outcome: 'refused' });
      res.writeHead(400, { 'content-type': 'text/plain; charset=utf-8' }).end(`${narrowed.refused}\n`);
      return;
    }
    // Each pull holds its batch until it is sent: past the limit, say so at once rather than queue.
    if (this.#telemetry.inFlight >= this.#config.max_concurrent_pulls) {
      this.#scrapes?.add(1, { exporter: this.#settings.id, outcome: 'busy' });
      res.writeHead(503, { 'content-type': 'text/plain; charset=utf-8', 'retry-after': '1' }).end(`busy: ${this.#telemetry.inFlight} pulls in progress (max_concurrent_pulls)\n`);
      return;
    }
    const started = performance.now();
    const ended = this.#telemetry.begin();
    const aborted = new AbortController();
    res.once('close', () => aborted.abort());
    let points = 0;
    try {
      const timeoutMs = this.#timeoutFor(req);
      const rendered = Object.keys(narrowed.selectors).length > 0 ? await this.#render(timeoutMs, narrowed.selectors, aborted.signal) : await this.#renderShared(timeoutMs, aborted.signal);
      points = rendered.points;
      this.#errorLog.report(rendered.errors, 'scrape');
      if (rendered.errors.length > 0) this.#telemetry.erred('collection');
      this.#scrapes?.add(1, { exporter: this.#settings.id, outcome: rendered.errors.length > 0 ? 'partial' : 'success' });
      res.writeHead(200, { 'content-type': EXPOSITION_CONTENT_TYPE });
      if (req.method === 'HEAD') {
        res.end();
        this.#telemetry.succeeded(0);
      } else if (await writeChunks(res, rendered.chunks, aborted.signal)) {
        this.#telemetry.succeeded(points);
      } else {
        // The puller went away (its own timeout, most often) before the whole answer was sent.
        this.#telemetry.failed(points, 'client_gone');
      }
    } catch (err) {
      this.#scrapes?.add(1, { exporter: this.#settings.id, outcome: 'failure' });
      this.#telemetry.failed(points, 'render');
      this.#settings.logger.error({ err }, 'scrape failed');
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' });
      res.end(`collection failed: ${err instanceof Error ? err.message : String(err)}\n`);
    } finally {
      ended();
      this.#scrapeDuration?.record((performance.now() - started) / 1000, { exporter: this.#settings.id });
    }
  }

  #timeoutFor(req: IncomingMessage): number {
    const header = Number(req.headers['x-prometheus-scrape-timeout-seconds']);
    if (!Number.isFinite(header) || header <= 0) return this.#config.collect_timeout;
    return Math.max(100, Math.min(this.#config.collect_timeout, header * 1000 - SCRAPE_TIMEOUT_MARGIN_MS));
  }
}
