// What `npm audit --json` said, reduced to a verdict for CI: the findings at or above a
// severity, or that no audit could be made (the registry does not answer advisory queries).

export const SEVERITIES = ['info', 'low', 'moderate', 'high', 'critical'] as const;
export type Severity = (typeof SEVERITIES)[number];

export interface AuditFinding {
  readonly name: string;
  readonly severity: Severity;
  /** Advisory titles, or the packages the finding comes through. */
  readonly via: readonly string[];
  readonly fixAvailable: boolean;
}

export type AuditVerdict =
  | { readonly kind: 'audited'; readonly dependencies: number; readonly counts: Readonly<Record<Severity, number>>; readonly blocking: readonly AuditFinding[] }
  | { readonly kind: 'unavailable'; readonly reason: string };

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** The reason without any URL, so no registry host ends up in logs. */
function withoutUrls(text: string): string {
  return text.replace(/\b[a-z][a-z0-9+.-]*:\/\/\S+/gi, '<registry>').trim();
}

/**
 * Reads npm's JSON audit report (auditReportVersion 2). `atLeast` is the lowest severity that
 * blocks. Anything that is not a report (npm's error object when the advisory endpoint fails,
 * empty output) is `unavailable`, with npm's own reason.
 */
export function auditVerdict(stdout: string, atLeast: Severity = 'high'): AuditVerdict {
  let report: unknown;
  try {
    report = JSON.parse(stdout);
  } catch {
    return { kind: 'unavailable', reason: stdout.trim() === '' ? 'npm audit printed nothing' : `npm audit printed no JSON report: ${withoutUrls(stdout.slice(0, 200))}` };
  }
  if (!isRecord(report)) return { kind: 'unavailable', reason: 'npm audit printed no JSON report' };
  const metadata = report['metadata'];
  const vulnerabilities = report['vulnerabilities'];
  if (!isRecord(metadata) || !isRecord(vulnerabilities) || !isRecord(metadata['vulnerabilities'])) {
    const status = typeof report['statusCode'] === 'number' ? `HTTP ${report['statusCode']}` : 'no report';
    const message = typeof report['message'] === 'string' ? `: ${withoutUrls(report['message'])}` : '';
    return { kind: 'unavailable', reason: `the registry did not answer the advisory query (${status}${message})` };
  }
  const counted = metadata['vulnerabilities'];
  const counts = Object.fromEntries(SEVERITIES.map((s) => [s, typeof counted[s] === 'number' ? counted[s] : 0])) as Record<Severity, number>;
  const threshold = SEVERITIES.indexOf(atLeast);
  const blocking: AuditFinding[] = [];
  for (const [name, entry] of Object.entries(vulnerabilities)) {
    if (!isRecord(entry)) continue;
    const severity = SEVERITIES.includes(entry['severity'] as Severity) ? (entry['severity'] as Severity) : 'critical';
    if (SEVERITIES.indexOf(severity) < threshold) continue;
    const via = Array.isArray(entry['via']) ? entry['via'].map((v) => (typeof v === 'string' ? v : isRecord(v) && typeof v['title'] === 'string' ? v['title'] : 'unknown advisory')) : [];
    blocking.push({ name, severity, via, fixAvailable: entry['fixAvailable'] !== false });
  }
  const deps = isRecord(metadata['dependencies']) && typeof metadata['dependencies']['prod'] === 'number' ? metadata['dependencies']['prod'] : 0;
  return { kind: 'audited', dependencies: deps, counts, blocking: blocking.sort((a, b) => a.name.localeCompare(b.name)) };
}
