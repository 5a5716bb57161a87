import { NodemeterError } from '../pipeline/errors.ts';

/** One problem found in a configuration, located as precisely as the source allows. */
export interface ConfigIssue {
  /** Collector-style path with `::` separators, e.g. `receivers::filesystem/kubelet::statfs_timeout`; '' for the whole file. */
  readonly path: string;
  readonly message: string;
  /** 1-based, when the YAML (or command line) gives a position. */
  readonly line?: number;
  readonly column?: number;
}

export interface Position {
  readonly line: number;
  readonly column: number;
}

export const PATH_SEPARATOR = '::';

export function joinPath(segments: readonly (string | number)[]): string {
  return segments.map(String).join(PATH_SEPARATOR);
}

export function issue(path: readonly (string | number)[] | string, message: string, at?: Position): ConfigIssue {
  const p = typeof path === 'string' ? path : joinPath(path);
  return at ? { path: p, message, line: at.line, column: at.column } : { path: p, message };
}

/** `<source>:<line>:<col>: <path>: <message>`, leaving out the parts that are unknown. */
export function formatIssue(source: string, i: ConfigIssue): string {
  let where = source;
  if (i.line !== undefined) where += `:${i.line}` + (i.column !== undefined ? `:${i.column}` : '');
  return i.path ? `${where}: ${i.path}: ${i.message}` : `${where}: ${i.message}`;
}

/** Reading order: by position, unpositioned issues last; the sort is stable so equal positions keep discovery order. */
export function sortIssues(issues: readonly ConfigIssue[]): ConfigIssue[] {
  const key = (i: ConfigIssue): [number, number] => [i.line ?? Number.MAX_SAFE_INTEGER, i.column ?? 0];
  return [...issues].sort((a, b) => {
    const [al, ac] = key(a);
    const [bl, bc] = key(b);
    return al - bl || ac - bc;
  });
}

/**
 * Every problem in a configuration at once (the Collector joins them the same way), so an
 * operator fixes a file in one pass. Permanent: the same input fails the same way.
 */
export class ConfigValidationError extends NodemeterError {
  readonly issues: readonly ConfigIssue[];
  /** File name, `command line`, or another label for where the config came from. */
  readonly source: string;

  constructor(source: string, issues: readonly ConfigIssue[], options: { cause?: unknown } = {}) {
    const sorted = sortIssues(issues);
    super('NM_CONFIG_INVALID', sorted.map((i) => formatIssue(source, i)).join('\n'), { retryable: false, cause: options.cause });
    this.name = 'ConfigValidationError';
    this.source = source;
    this.issues = Object.freeze(sorted.map((i) => Object.freeze({ ...i })));
  }
}
