import type { Attributes, Counter } from '@opentelemetry/api';
import type { MetricData, ResourceMetrics, ScopeMetrics } from '@opentelemetry/sdk-metrics';
import type { ComponentSettings, Processor } from '../../pipeline/component.ts';
import type { AttributeRule, FilterConfig, NameRule } from './config.ts';

type Matcher = (value: string) => boolean;

function matcher(matchType: NameRule['match_type'], pattern: string): Matcher {
  if (matchType === 'strict') return (value) => value === pattern;
  // Unanchored, as the Collector's Go regexp MatchString: "disk" matches "node_disk_bytes".
  const re = new RegExp(pattern);
  return (value) => re.test(value);
}

/** A metric-name rule: undefined when it lists no names (matches nothing, constrains nothing). */
function compileNames(rule: NameRule): Matcher | undefined {
  if (rule.names.length === 0) return undefined;
  if (rule.match_type === 'strict') {
    const names = new Set(rule.names);
    return (name) => names.has(name);
  }
  const matchers = rule.names.map((name) => matcher('regexp', name));
  return (name) => matchers.some((m) => m(name));
}

/** Scalars compare by their string form; arrays and absent attributes never match. */
function scalarText(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return undefined;
}

type AttributeMatcher = (attributes: Attributes) => boolean;

function compileAttributes(rule: AttributeRule): AttributeMatcher | undefined {
  const entries = Object.entries(rule.attributes).map(([key, condition]) => [key, matcher(rule.match_type, String(condition))] as const);
  if (entries.length === 0) return undefined;
  return (attributes) =>
    entries.every(([key, match]) => {
      const text = scalarText(attributes[key]);
      return text !== undefined && match(text);
    });
}

/**
 * Keeps or drops metrics by name and data points by attribute values, as the Collector's
 * filter processor: a metric (or point) is kept when the include rule is empty or matches,
 * and it is then dropped when the exclude rule matches. A metric left without points is
 * dropped, and so is a scope left without metrics. Nothing in the batch is mutated: kept
 * metrics are new objects holding the kept points.
 */
export class FilterProcessor implements Processor {
  readonly #settings: ComponentSettings;
  readonly #includeName: Matcher | undefined;
  readonly #excludeName: Matcher | undefined;
  readonly #includePoint: AttributeMatcher | undefined;
  readonly #excludePoint: AttributeMatcher | undefined;
  #dropped: Counter | undefined;

  constructor(settings: ComponentSettings, config: FilterConfig) {
    this.#settings = settings;
    this.#includeName = compileNames(config.metrics.include);
    this.#excludeName = compileNames(config.metrics.exclude);
    this.#includePoint = compileAttributes(config.datapoints.include);
    this.#excludePoint = compileAttributes(config.datapoints.exclude);
  }

  start(): Promise<void> {
    this.#dropped = this.#settings.meter.createCounter('nodemeter_filter_dropped_points_total', {
      description: 'Data points dropped by a filter processor.',
    });
    return Promise.resolve();
  }

  shutdown(): Promise<void> {
    return Promise.resolve();
  }

  process(batch: ResourceMetrics): ResourceMetrics {
    // Receivers share one attributes object across the families of a series: decide once for each.
    const verdicts = new Map<Attributes, boolean>();
    let dropped = 0;
    const scopeMetrics: ScopeMetrics[] = [];
    for (const scope of batch.scopeMetrics) {
      const metrics: MetricData[] = [];
      for (const metric of scope.metrics) {
        if (!this.#keepName(metric.descriptor.name)) {
          dropped += metric.dataPoints.length;
          continue;
        }
        const dataPoints = metric.dataPoints.filter((point) => {
          let keep = verdicts.get(point.attributes);
          if (keep === undefined) {
            keep = this.#keepPoint(point.attributes);
            verdicts.set(point.attributes, keep);
          }
          return keep;
        });
        dropped += metric.dataPoints.length - dataPoints.length;
        if (dataPoints.length > 0) metrics.push({ ...metric, dataPoints } as MetricData);
      }
      if (metrics.length > 0) scopeMetrics.push({ scope: scope.scope, metrics });
    }
    if (dropped > 0) this.#dropped?.add(dropped, { processor: this.#settings.id });
    return { resource: batch.resource, scopeMetrics };
  }

  #keepName(name: string): boolean {
    if (this.#includeName && !this.#includeName(name)) return false;
    return !this.#excludeName?.(name);
  }

  #keepPoint(attributes: Attributes): boolean {
    if (this.#includePoint && !this.#includePoint(attributes)) return false;
    return !this.#excludePoint?.(attributes);
  }
}
