// Which sample names a family of each type owns. A sample line names the sample, not the family:
// `foo_bucket` is a bucket of histogram `foo` only when `foo` was declared a histogram, so the
// parser needs, per format and type, the suffixes ("roles") a family's samples may carry.
// Roles are small integers so the per-sample checks are bit tests.

import type { FamilyType } from './model.ts';

export const ROLE_NONE = 0; // the family name itself
export const ROLE_TOTAL = 1;
export const ROLE_CREATED = 2;
export const ROLE_BUCKET = 3;
export const ROLE_COUNT = 4;
export const ROLE_SUM = 5;
export const ROLE_GCOUNT = 6;
export const ROLE_GSUM = 7;
export const ROLE_INFO = 8;

const bit = (role: number): number => 1 << role;

/** The suffix each role adds to the family name. */
export const ROLE_SUFFIX = ['', '_total', '_created', '_bucket', '_count', '_sum', '_gcount', '_gsum', '_info'] as const;

/**
 * OpenMetrics 1.0, "Suffixes": counter `_total`/`_created`; summary ``/`_count`/`_sum`/`_created`;
 * histogram `_bucket`/`_count`/`_sum`/`_created`; gaugehistogram `_bucket`/`_gcount`/`_gsum`;
 * info `_info`; gauge, stateset, unknown: none.
 */
const OPENMETRICS_ROLES: Record<FamilyType, number> = {
  counter: bit(ROLE_TOTAL) | bit(ROLE_CREATED),
  gauge: bit(ROLE_NONE),
  histogram: bit(ROLE_BUCKET) | bit(ROLE_COUNT) | bit(ROLE_SUM) | bit(ROLE_CREATED),
  gaugehistogram: bit(ROLE_BUCKET) | bit(ROLE_GCOUNT) | bit(ROLE_GSUM),
  summary: bit(ROLE_NONE) | bit(ROLE_COUNT) | bit(ROLE_SUM) | bit(ROLE_CREATED),
  info: bit(ROLE_INFO),
  stateset: bit(ROLE_NONE),
  unknown: bit(ROLE_NONE),
  untyped: bit(ROLE_NONE),
};

/**
 * Prometheus text 0.0.4 as prometheus/common's expfmt groups it: a histogram owns `_bucket`,
 * `_count`, `_sum`; a summary owns its own name (quantiles), `_count`, `_sum`; other types only
 * their own name (a `_created` or `_total` sample is a family of its own in this format).
 */
const PROMETHEUS_ROLES: Record<FamilyType, number> = {
  counter: bit(ROLE_NONE),
  gauge: bit(ROLE_NONE),
  histogram: bit(ROLE_BUCKET) | bit(ROLE_COUNT) | bit(ROLE_SUM),
  summary: bit(ROLE_NONE) | bit(ROLE_COUNT) | bit(ROLE_SUM),
  untyped: bit(ROLE_NONE),
  gaugehistogram: bit(ROLE_NONE),
  info: bit(ROLE_NONE),
  stateset: bit(ROLE_NONE),
  unknown: bit(ROLE_NONE),
};

/** Bit mask of the roles a family of `type` may have samples in. */
export function allowedRoles(type: FamilyType, openMetrics: boolean): number {
  return (openMetrics ? OPENMETRICS_ROLES : PROMETHEUS_ROLES)[type];
}

/** Whether `mask` (from {@link allowedRoles}) includes `role`. */
export function hasRole(mask: number, role: number): boolean {
  return (mask & bit(role)) !== 0;
}

/** The role of sample `name` in a family called `family` (-1 when the name is not family + a known suffix). */
export function roleOf(name: string, family: string): number {
  if (name.length === family.length) return name === family ? ROLE_NONE : -1;
  if (name.length <= family.length || name.charCodeAt(family.length) !== 0x5f /* _ */ || !name.startsWith(family)) return -1;
  switch (name.slice(family.length)) {
    case '_total':
      return ROLE_TOTAL;
    case '_created':
      return ROLE_CREATED;
    case '_bucket':
      return ROLE_BUCKET;
    case '_count':
      return ROLE_COUNT;
    case '_sum':
      return ROLE_SUM;
    case '_gcount':
      return ROLE_GCOUNT;
    case '_gsum':
      return ROLE_GSUM;
    case '_info':
      return ROLE_INFO;
    default:
      return -1;
  }
}

/** The suffixes a family of `type` may use, for error messages ("no suffix, _count, _sum"). */
export function describeRoles(type: FamilyType, openMetrics: boolean): string {
  const mask = allowedRoles(type, openMetrics);
  const suffixes: string[] = [];
  for (let role = 0; role < ROLE_SUFFIX.length; role++) if (hasRole(mask, role)) suffixes.push(role === ROLE_NONE ? 'no suffix' : (ROLE_SUFFIX[role] as string));
  return suffixes.join(', ');
}
