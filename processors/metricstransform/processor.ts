import { ValueType } from '@opentelemetry/api';
import { DataPointType, type Histogram, type MetricData, type MetricDescriptor, type ResourceMetrics } from '@opentelemetry/sdk-metrics';
import { RegexTemplate } from '../../config/regex-template.ts';
import type { ComponentSettings, Processor } from '../../pipeline/component.ts';
import { prometheusFamilyOf, type PrometheusFamily, type ScrapedDescriptor } from '../../pipeline/prometheus-family.ts';
import type { MetricsTransformConfig, MetricTransform } from './config.ts';

const PROMETHEUS_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;

/** One transform compiled once: its matcher, name template and scale. */
class CompiledTransform {
  readonly insert: boolean;
  readonly #strict: string | undefined;
  readonly #regex: RegExp | undefined;
  readonly #template: RegexTemplate | undefined;
  readonly #scale: number | undefined;

  constructor(transform: MetricTransform) {
    this.insert = transform.action === 'insert';
    this.#regex = transform.match_type === 'regexp' ? new RegExp(transform.include) : undefined;
    this.#strict = this.#regex ? undefined : transform.include;
    this.#template = transform.new_name !== undefined ? RegexTemplate.parse(transform.new_name, 'new_name', this.#regex) : undefined;
    this.#scale = transform.scale;
  }

  /** The name `name` gets, or undefined when this transform does not match it. */
  newName(name: string): string | undefined {
    let match: RegExpExecArray | null = null;
    if (this.#regex) {
      match = this.#regex.exec(name);
      if (!match) return undefined;
    } else if (name !== this.#strict) return undefined;
    return this.#template?.expand(match) ?? name;
  }

  /** The changed metric, given the name newName() returned. */
  apply(metric: MetricData, name: string, warn: (message: string) => void): MetricData {
    let out: MetricData = metric;
    if (name !== metric.descriptor.name) out = this.#rename(out, name);
    if (this.#scale !== undefined) out = this.#scaleValues(out, this.#scale, warn);
    return out;
  }

  #rename(metric: MetricData, name: string): MetricData {
    const hint = prometheusFamilyOf(metric);
    if (hint === undefined) return { ...metric, descriptor: { ...metric.descriptor, name } };
    const { prometheus: _old, ...plain } = metric.descriptor as ScrapedDescriptor;
    const prometheus = this.#renamedFamily(metric.descriptor.name, name, hint);
    const descriptor: MetricDescriptor = prometheus === undefined ? { ...plain, name } : ({ ...plain, name, prometheus } as ScrapedDescriptor);
    return { ...metric, descriptor };
  }

  /**
   * A scraped metric's family after a rename, so the Prometheus exporter writes the new name:
   * the family's own metric takes the new name as its family; a member sample (`foo_sum` of `foo`)
   * stays in its family when the family is renamed alike (`^foo(.*)$` → `bar$1`), and otherwise
   * leaves it as an untyped family of its own. Undefined (no hint: the exporter's usual naming and
   * sanitising) when the new name is not a valid Prometheus name.
   */
  #renamedFamily(oldName: string, newName: string, hint: PrometheusFamily): PrometheusFamily | undefined {
    if (!PROMETHEUS_NAME.test(newName)) return undefined;
    if (hint.family === oldName) return { ...hint, family: newName };
    const familyName = this.newName(hint.family);
    const suffix = oldName.startsWith(hint.family) ? oldName.slice(hint.family.length) : undefined;
    if (familyName !== undefined && suffix !== undefined && familyName + suffix === newName && PROMETHEUS_NAME.test(familyName)) {
      return { ...hint, family: familyName };
    }
    return { family: newName, type: 'untyped' };
  }

  #scaleValues(metric: MetricData, scale: number, warn: (message: string) => void): MetricData {
    const descriptor = { ...metric.descriptor, valueType: ValueType.DOUBLE };
    switch (metric.dataPointType) {
      case DataPointType.GAUGE:
      case DataPointType.SUM:
        return { ...metric, descriptor, dataPoints: metric.dataPoints.map((p) => ({ ...p, value: p.value * scale })) };
      case DataPointType.HISTOGRAM: {
        // Boundaries change, so a scraped histogram's `le` spellings no longer apply.
        const hint = prometheusFamilyOf(metric);
        const scaled = hint ? { ...descriptor, prometheus: { family: hint.family, type: hint.type } } : descriptor;
        // Series of a family usually share one boundaries array: keep them sharing.
        const bounds = new Map<readonly number[], number[]>();
        const scaleValue = (value: Histogram): Histogram => {
          let boundaries = bounds.get(value.buckets.boundaries);
          if (boundaries === undefined) bounds.set(value.buckets.boundaries, (boundaries = value.buckets.boundaries.map((b) => b * scale)));
          const out: Histogram = { ...value, buckets: { boundaries, counts: value.buckets.counts } };
          if (value.sum !== undefined) out.sum = value.sum * scale;
          if (value.min !== undefined) out.min = value.min * scale;
          if (value.max !== undefined) out.max = value.max * scale;
          return out;
        };
        return { ...metric, descriptor: scaled, dataPoints: metric.dataPoints.map((p) => ({ ...p, value: scaleValue(p.value) })) };
      }
      default:
        warn(`metric "${metric.descriptor.name}" is an exponential histogram, which cannot be scaled; left unscaled`);
        return metric;
    }
  }
}

/**
 * Renames metrics and scales their values, transform by transform in the configured order; a
 * later transform sees the names earlier ones gave. See README.md.
 */
export class MetricsTransformProcessor implements Processor {
  readonly #settings: ComponentSettings;
  readonly #transforms: readonly CompiledTransform[];
  readonly #warned = new Set<string>();

  constructor(settings: ComponentSettings, config: MetricsTransformConfig) {
    this.#settings = settings;
    this.#transforms = config.transforms.map((t) => new CompiledTransform(t));
  }

  start(): Promise<void> {
    return Promise.resolve();
  }

  shutdown(): Promise<void> {
    return Promise.resolve();
  }

  process(batch: ResourceMetrics): ResourceMetrics {
    if (this.#transforms.length === 0) return batch;
    const warn = (message: string): void => {
      if (this.#warned.has(message)) return;
      this.#warned.add(message);
      this.#settings.logger.warn(message);
    };
    return {
      resource: batch.resource,
      scopeMetrics: batch.scopeMetrics.map((scope) => {
        let metrics: readonly MetricData[] = scope.metrics;
        for (const transform of this.#transforms) {
          const out: MetricData[] = [];
          for (const metric of metrics) {
            const name = transform.newName(metric.descriptor.name);
            if (name === undefined) {
              out.push(metric);
              continue;
            }
            const changed = transform.apply(metric, name, warn);
            if (transform.insert) out.push(metric);
            out.push(changed);
          }
          metrics = out;
        }
        return { scope: scope.scope, metrics: [...metrics] };
      }),
    };
  }
}
