// Choosing the text format from a scrape response's Content-Type. The Prometheus server picks its
// parser by media type alone (any `application/openmetrics-text` is OpenMetrics) and falls back to
// the Prometheus text format for anything else, including a missing or unknown header; this does
// the same, so a target is read here the way Prometheus reads it.

import type { ExpositionFormat } from './model.ts';

/**
 * `application/openmetrics-text[; version=…]` → `openmetrics`; `text/plain; version=0.0.4`,
 * anything else, or no header → `prometheus`. Media types compare case-insensitively and
 * parameters (version, charset, escaping) do not change the choice.
 */
export function formatFromContentType(contentType: string | null | undefined): ExpositionFormat {
  if (contentType === null || contentType === undefined) return 'prometheus';
  const semicolon = contentType.indexOf(';');
  const mediaType = (semicolon === -1 ? contentType : contentType.slice(0, semicolon)).trim().toLowerCase();
  return mediaType === 'application/openmetrics-text' ? 'openmetrics' : 'prometheus';
}

/** The Accept header a scraper sends to get either format, OpenMetrics 1.0 preferred (as Prometheus asks). */
export const EXPOSITION_ACCEPT_HEADER = 'application/openmetrics-text;version=1.0.0;q=0.9,text/plain;version=0.0.4;q=0.5,*/*;q=0.1';
