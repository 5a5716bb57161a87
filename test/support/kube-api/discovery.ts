/**
 * Legacy (unaggregated) discovery documents: what kubectl reads to map `pods,pv,pvc` to
 * resources. kubectl asks for aggregated discovery (apidiscovery.k8s.io/v2) first and falls
 * back to these when the answer is plain `application/json`, as from a pre-1.26 server.
 */
import { createHash } from 'node:crypto';
import { RESOURCES, type Resource } from './resources.ts';

/** The read-only verbs: this server never writes, and says so in discovery. */
const VERBS = ['get', 'list', 'watch'];

export const SERVER_VERSION = {
  major: '1',
  minor: '32',
  gitVersion: 'v1.32.0-nodemeter-test',
  gitCommit: '0000000000000000000000000000000000000000',
  gitTreeState: 'clean',
  buildDate: '2025-01-01T00:00:00Z',
  goVersion: 'go1.23.0',
  compiler: 'gc',
  platform: 'linux/amd64',
};

export function apiVersions(serverAddress: string): object {
  return {
    kind: 'APIVersions',
    versions: ['v1'],
    serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress }],
  };
}

const GROUPS = [...new Set(RESOURCES.map((r) => r.group).filter((g) => g !== ''))];

function groupDocument(group: string): object {
  const gv = { groupVersion: `${group}/v1`, version: 'v1' };
  return { name: group, versions: [gv], preferredVersion: gv };
}

export function apiGroupList(): object {
  return { kind: 'APIGroupList', apiVersion: 'v1', groups: GROUPS.map(groupDocument) };
}

export function apiGroup(group: string): object | undefined {
  if (!GROUPS.includes(group)) return undefined;
  return { kind: 'APIGroup', apiVersion: 'v1', ...groupDocument(group) };
}

function resourceEntry(r: Resource): object {
  const entry: Record<string, unknown> = {
    name: r.name,
    singularName: r.singularName,
    namespaced: r.namespaced,
    kind: r.kind,
    verbs: VERBS,
    // The real server's hash of the storage version; clients only compare it for equality.
    storageVersionHash: createHash('sha256').update(`${r.group}/${r.version}/${r.kind}`).digest('base64').slice(0, 11),
  };
  if (r.shortNames.length) entry.shortNames = r.shortNames;
  if (r.categories.length) entry.categories = r.categories;
  return entry;
}

/** `/api/v1` (group "") or `/apis/<group>/v1`. */
export function apiResourceList(group: string): object | undefined {
  const resources = RESOURCES.filter((r) => r.group === group);
  if (!resources.length) return undefined;
  return {
    kind: 'APIResourceList',
    apiVersion: 'v1',
    groupVersion: group ? `${group}/v1` : 'v1',
    resources: resources.map(resourceEntry),
  };
}
