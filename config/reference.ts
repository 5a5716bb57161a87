import type { FactoryRegistry } from '../pipeline/registry.ts';
import { agentSettingsMarkdown } from './agent-settings.ts';

interface Leaf {
  readonly doc?: string;
  readonly format?: unknown;
  readonly default?: unknown;
}

const BEGIN = '<!-- generated: begin (npm run docs) -->';
const END = '<!-- generated: end -->';

/** The generated part of docs/configuration.md: agent settings and every component's keys. */
export function configurationReference(registry: FactoryRegistry): string {
  const parts = ['## Agent settings', '', agentSettingsMarkdown()];
  for (const kind of ['receiver', 'processor', 'exporter'] as const) {
    for (const type of registry.types(kind)) {
      const factory = registry.get(kind, type);
      if (!factory) continue;
      parts.push(`## ${kind} \`${type}\``, '', '| key | type | default | meaning |', '| --- | --- | --- | --- |');
      for (const row of leaves(factory.schema, '')) parts.push(row);
      parts.push('');
    }
  }
  return `${BEGIN}\n${parts.join('\n').trimEnd()}\n${END}`;
}

/** Replaces the generated block of a document with `generated`. */
export function spliceGenerated(document: string, generated: string): string {
  const start = document.indexOf(BEGIN);
  const end = document.indexOf(END);
  if (start < 0 || end < start) throw new Error('document has no generated block markers');
  return document.slice(0, start) + generated + document.slice(end + END.length);
}

function leaves(schema: Record<string, unknown>, prefix: string): string[] {
  const rows: string[] = [];
  for (const [key, value] of Object.entries(schema)) {
    const leaf = value as Leaf;
    const path = prefix ? `${prefix}.${key}` : key;
    if (!('default' in leaf) && !('format' in leaf)) {
      rows.push(...leaves(value as Record<string, unknown>, path));
      continue;
    }
    const shown = leaf.format === 'duration' && typeof leaf.default === 'number' ? `\`${durationText(leaf.default)}\`` : defaultText(leaf.default);
    rows.push(`| \`${path}\` | ${formatName(leaf.format)} | ${shown} | ${cell(leaf.doc ?? '')} |`);
  }
  return rows;
}

function formatName(format: unknown): string {
  if (typeof format === 'string') return format;
  if (Array.isArray(format)) return `one of ${format.map((v) => `\`${String(v)}\``).join(', ')}`;
  if (format === Boolean) return 'boolean';
  if (format === Number) return 'number';
  if (format === String) return 'string';
  return 'see meaning';
}

function defaultText(value: unknown): string {
  if (value === '') return '""';
  if (typeof value === 'string') return `\`${cell(value)}\``;
  return `\`${cell(JSON.stringify(value))}\``;
}

function durationText(ms: number): string {
  if (ms % 3_600_000 === 0 && ms > 0) return `${ms / 3_600_000}h`;
  if (ms % 60_000 === 0 && ms > 0) return `${ms / 60_000}m`;
  if (ms % 1000 === 0 && ms > 0) return `${ms / 1000}s`;
  return `${ms}ms`;
}

function cell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\n/g, ' ');
}
