import { readFileSync } from 'node:fs';
import type { ComponentKind } from '../pipeline/component.ts';
import { errorMessage } from '../pipeline/errors.ts';
import type { ComponentEntry, GraphConfig, PipelineEntry } from '../pipeline/graph.ts';
import type { FactoryRegistry } from '../pipeline/registry.ts';
import { validateComponentConfig } from './component-config.ts';
import { parseComponentId, parsePipelineId } from './component-id.ts';
import type { Env } from './env-expand.ts';
import { FrozenMap, deepFreeze } from './frozen.ts';
import { ConfigValidationError, formatIssue, issue, sortIssues, type ConfigIssue } from './issues.ts';
import { didYouMean, quoteList } from './suggest.ts';
import { isPlainObject, locate, parseYamlSource, subtree } from './yaml-source.ts';

/** One configured component, its settings validated and defaulted. */
export interface ComponentConfig extends ComponentEntry {
  readonly kind: ComponentKind;
  readonly name?: string;
  /** convict getProperties() output: defaults filled, durations in milliseconds. Deeply frozen. */
  readonly config: Readonly<Record<string, unknown>>;
}

/** One `service.pipelines` entry; `id` is `metrics` or `metrics/<name>`. */
export type PipelineConfig = PipelineEntry;

/** A valid configuration, deeply frozen: what the graph builder needs, plus where it came from. */
export interface LoadedConfig extends GraphConfig {
  readonly source: string;
  readonly receivers: ReadonlyMap<string, ComponentConfig>;
  readonly processors: ReadonlyMap<string, ComponentConfig>;
  readonly exporters: ReadonlyMap<string, ComponentConfig>;
  /** Worth logging, not worth refusing to start: unused components, YAML oddities. */
  readonly warnings: readonly string[];
}

export interface LoadConfigOptions {
  readonly text: string;
  /** Names the config in messages: a file path or a label such as "embedded default config". */
  readonly source?: string;
  readonly registry: FactoryRegistry;
  /** For `${env:…}`; defaults to process.env. */
  readonly env?: Env;
}

type Section = 'receivers' | 'processors' | 'exporters';
const SECTIONS: readonly Section[] = ['receivers', 'processors', 'exporters'];
const KIND: Record<Section, ComponentKind> = { receivers: 'receiver', processors: 'processor', exporters: 'exporter' };
const TOP_KEYS = [...SECTIONS, 'service'];
// service.telemetry and service.extensions have no meaning in nodemeter yet: agent settings cover them.
const SERVICE_KEYS = ['pipelines'];
const PIPELINE_KEYS: readonly Section[] = SECTIONS;

function article(kind: string): string {
  return /^[aeiou]/.test(kind) ? `an ${kind}` : `a ${kind}`;
}

/**
 * Parses, expands and validates a Collector-shaped config. Throws one ConfigValidationError
 * carrying every issue found; nothing is returned unless the whole config is valid.
 */
export function loadConfig(options: LoadConfigOptions): LoadedConfig {
  const source = options.source ?? '<config>';
  const { registry } = options;
  const parsed = parseYamlSource(options.text, options.env ?? process.env);
  const issues: ConfigIssue[] = [...parsed.issues];
  const warnings: ConfigIssue[] = [...parsed.warnings];
  const pos = parsed.positions;
  const at = (...path: (string | number)[]) => locate(pos, path);

  if (parsed.issues.length && parsed.value === undefined) throw new ConfigValidationError(source, issues);
  const root = parsed.value;
  if (root === undefined || root === null) {
    throw new ConfigValidationError(source, [
      ...issues,
      issue('', `the config is empty; it needs ${TOP_KEYS.join(', ')} (receivers, exporters and service.pipelines at least)`, { line: 1, column: 1 }),
    ]);
  }
  if (!isPlainObject(root)) {
    const got = Array.isArray(root) ? 'a list' : 'a single value';
    throw new ConfigValidationError(source, [...issues, issue('', `the config must be a mapping with keys ${TOP_KEYS.join(', ')}; got ${got}`, pos)]);
  }
  for (const key of Object.keys(root)) {
    if (TOP_KEYS.includes(key)) continue;
    issues.push(issue([key], `unknown top-level key${didYouMean(key, TOP_KEYS)}; allowed keys: ${TOP_KEYS.join(', ')}`, at(key)));
  }

  const components = {} as Record<Section, Map<string, ComponentConfig>>;
  // Every ID written under a section, valid or not, so a broken definition is not also reported as a dangling reference.
  const written = {} as Record<Section, Set<string>>;
  for (const section of SECTIONS) {
    components[section] = new Map();
    written[section] = new Set();
    const body = root[section];
    if (body === undefined || body === null) continue;
    if (!isPlainObject(body)) {
      issues.push(issue([section], `must be a mapping of ${KIND[section]} IDs to their settings`, at(section)));
      continue;
    }
    for (const [id, raw] of Object.entries(body)) {
      written[section].add(id);
      const entry = checkComponent(section, id, raw);
      if (entry) components[section].set(id, entry);
    }
  }

  function checkComponent(section: Section, id: string, raw: unknown): ComponentConfig | undefined {
    const kind = KIND[section];
    const keyAt = at(section, id);
    const parsedId = parseComponentId(id);
    if (!parsedId.ok) {
      issues.push(issue([section, id], parsedId.message, keyAt));
      return undefined;
    }
    const { type, name } = parsedId.id;
    const factory = registry.get(kind, type);
    if (!factory) {
      const elsewhere = SECTIONS.find((s) => s !== section && registry.get(KIND[s], type));
      const message = elsewhere
        ? `"${type}" is ${article(KIND[elsewhere])} type, not ${article(kind)} type; define it under ${elsewhere}`
        : `unknown ${kind} type "${type}"${didYouMean(type, registry.types(kind))}; known ${kind} types: ${quoteList(registry.types(kind))}`;
      issues.push(issue([section, id], message, keyAt));
      return undefined;
    }
    const result = validateComponentConfig(factory, raw, { path: [section, id], positions: subtree(pos, [section, id]), at: keyAt });
    issues.push(...result.issues);
    return { id, kind, type, ...(name === undefined ? {} : { name }), config: result.config };
  }

  const pipelines = new Map<string, PipelineConfig>();
  const used = new Set<string>();
  const service = root.service;
  if (service === undefined || service === null) {
    issues.push(issue(['service'], 'is required: service.pipelines must define at least one metrics pipeline', service === null ? at('service') : undefined));
  } else if (!isPlainObject(service)) {
    issues.push(issue(['service'], 'must be a mapping with key pipelines', at('service')));
  } else {
    for (const key of Object.keys(service)) {
      if (!SERVICE_KEYS.includes(key)) {
        issues.push(issue(['service', key], `unknown key under service${didYouMean(key, SERVICE_KEYS)}; allowed keys: ${SERVICE_KEYS.join(', ')}`, at('service', key)));
      }
    }
    const defs = service.pipelines;
    if (defs === undefined || defs === null || (isPlainObject(defs) && Object.keys(defs).length === 0)) {
      issues.push(issue(['service', 'pipelines'], 'must define at least one pipeline (metrics or metrics/<name>)', at('service', 'pipelines') ?? at('service')));
    } else if (!isPlainObject(defs)) {
      issues.push(issue(['service', 'pipelines'], 'must be a mapping of pipeline IDs (metrics or metrics/<name>) to their receivers, processors and exporters', at('service', 'pipelines')));
    } else {
      for (const [pid, body] of Object.entries(defs)) {
        const p = checkPipeline(pid, body);
        if (p) pipelines.set(pid, p);
      }
    }
  }

  function checkPipeline(pid: string, body: unknown): PipelineConfig | undefined {
    const path = ['service', 'pipelines', pid];
    const keyAt = at(...path);
    let ok = true;
    const parsedId = parsePipelineId(pid);
    if (!parsedId.ok) {
      issues.push(issue(path, parsedId.message, keyAt));
      ok = false;
    }
    if (!isPlainObject(body)) {
      const message = body === null ? 'is empty: a pipeline needs receivers and exporters' : 'must be a mapping with receivers, processors (optional) and exporters';
      issues.push(issue(path, message, keyAt));
      return undefined;
    }
    for (const key of Object.keys(body)) {
      if ((PIPELINE_KEYS as readonly string[]).includes(key)) continue;
      issues.push(issue([...path, key], `unknown key in a pipeline${didYouMean(key, PIPELINE_KEYS)}; allowed keys: ${PIPELINE_KEYS.join(', ')}`, at(...path, key)));
      ok = false;
    }
    const lists = {} as Record<Section, string[]>;
    for (const role of PIPELINE_KEYS) {
      const ids = checkRefs(path, role, body[role]);
      if (!ids) ok = false;
      lists[role] = ids ?? [];
    }
    return ok ? { id: pid, receivers: lists.receivers, processors: lists.processors, exporters: lists.exporters } : undefined;
  }

  function checkRefs(path: string[], role: Section, value: unknown): string[] | undefined {
    const kind = KIND[role];
    const required = role !== 'processors';
    const here = [...path, role];
    if (value === undefined || value === null) {
      if (!required) return [];
      issues.push(issue(here, `is required: list at least one ${kind} ID`, at(...here) ?? at(...path)));
      return undefined;
    }
    if (!Array.isArray(value)) {
      issues.push(issue(here, `must be a list of ${kind} IDs, got ${isPlainObject(value) ? 'a mapping' : JSON.stringify(value)}`, at(...here)));
      return undefined;
    }
    if (required && value.length === 0) {
      issues.push(issue(here, `must list at least one ${kind} ID`, at(...here)));
      return undefined;
    }
    const ids: string[] = [];
    let ok = true;
    const items: unknown[] = value;
    items.forEach((ref, index) => {
      const itemAt = at(...here, index);
      const problem = refProblem(role, ref, ids);
      if (problem) {
        issues.push(issue(here, problem, itemAt));
        ok = false;
      } else {
        ids.push(ref as string);
        used.add(`${role}\u0000${ref as string}`);
      }
    });
    return ok ? ids : undefined;
  }

  function refProblem(role: Section, ref: unknown, seen: readonly string[]): string | undefined {
    const kind = KIND[role];
    if (typeof ref !== 'string') return `list items must be ${kind} IDs (strings), got ${JSON.stringify(ref)}`;
    if (seen.includes(ref)) return `lists ${kind} "${ref}" more than once`;
    if (written[role].has(ref)) return undefined;
    const elsewhere = SECTIONS.find((s) => s !== role && written[s].has(ref));
    if (elsewhere) return `"${ref}" is defined under ${elsewhere}, not ${role}; a pipeline's ${role} may only name ${kind}s`;
    const defined = [...written[role]];
    return `dangling reference: ${kind} "${ref}" is not defined under ${role}${didYouMean(ref, defined)}; defined ${role}: ${quoteList(defined)}`;
  }

  for (const section of SECTIONS) {
    for (const id of components[section].keys()) {
      if (used.has(`${section}\u0000${id}`)) continue;
      warnings.push(issue([section, id], `${KIND[section]} is defined but not used by any pipeline; it will not run`, at(section, id)));
    }
  }

  if (issues.length) throw new ConfigValidationError(source, issues);
  const freezeMap = <V>(m: Map<string, V>) => new FrozenMap(deepFreeze([...m]));
  return Object.freeze({
    source,
    receivers: freezeMap(components.receivers),
    processors: freezeMap(components.processors),
    exporters: freezeMap(components.exporters),
    pipelines: freezeMap(pipelines),
    warnings: Object.freeze(sortIssues(warnings).map((w) => formatIssue(source, w))),
  });
}

/** Reads and loads a config file; an unreadable file is a ConfigValidationError naming it. */
export function loadConfigFile(path: string, registry: FactoryRegistry, env: Env = process.env): LoadedConfig {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'the file does not exist' : code === 'EISDIR' ? 'it is a directory' : errorMessage(err);
    throw new ConfigValidationError(path, [{ path: '', message: `cannot read config file "${path}": ${why}` }], { cause: err });
  }
  return loadConfig({ text, source: path, registry, env });
}
