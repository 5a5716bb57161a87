/**
 * Server-side printing (`meta.k8s.io/v1` Table), which kubectl asks for in its default output.
 * Pods, PVs and PVCs get the real server's columns; the other kinds get Name and Age.
 * Each row carries the object as PartialObjectMetadata (includeObject=Metadata, the default),
 * which kubectl reads for the NAMESPACE column of `-A`.
 */
import type { KubeObject, Resource } from './resources.ts';

type Column = { name: string; type: string; format: string; description: string; priority: number; cell: (o: KubeObject) => unknown };

export function wantsTable(accept: string | undefined): boolean {
  return (accept ?? '').split(',').some((part) => /;\s*as=Table/.test(part) && /g=meta\.k8s\.io/.test(part));
}

/** kubectl's HumanDuration, coarsened: 42s, 7m, 5h, 3d. */
function age(o: KubeObject): string {
  const created = Date.parse(String(o.metadata.creationTimestamp ?? ''));
  if (Number.isNaN(created)) return '<unknown>';
  const s = Math.max(0, Math.floor((Date.now() - created) / 1000));
  if (s < 120) return `${s}s`;
  if (s < 3 * 3600) return `${Math.floor(s / 60)}m`;
  if (s < 48 * 3600) return `${Math.floor(s / 3600)}h`;
  return `${Math.floor(s / 86400)}d`;
}

function get(o: unknown, path: string): unknown {
  let cur = o;
  for (const p of path.split('.')) cur = cur && typeof cur === 'object' ? (cur as Record<string, unknown>)[p] : undefined;
  return cur;
}

function str(o: KubeObject, path: string, fallback = '<none>'): string {
  const v = get(o, path);
  return typeof v === 'string' && v !== '' ? v : fallback;
}

type ContainerStatus = { ready?: boolean; restartCount?: number };

const NAME: Column = { name: 'Name', type: 'string', format: 'name', description: 'Name must be unique within a namespace.', priority: 0, cell: (o) => o.metadata.name };
const AGE: Column = { name: 'Age', type: 'string', format: '', description: 'CreationTimestamp of the object.', priority: 0, cell: age };

const col = (name: string, cell: Column['cell'], priority = 0): Column => ({ name, type: 'string', format: '', description: name, priority, cell });

const COLUMNS: Record<string, Column[]> = {
  pods: [
    NAME,
    col('Ready', (o) => {
      const statuses = (get(o, 'status.containerStatuses') as ContainerStatus[] | undefined) ?? [];
      const total = ((get(o, 'spec.containers') as unknown[] | undefined) ?? []).length;
      return `${statuses.filter((s) => s.ready).length}/${total}`;
    }),
    col('Status', (o) => str(o, 'status.phase', 'Unknown')),
    { ...col('Restarts', (o) => ((get(o, 'status.containerStatuses') as ContainerStatus[] | undefined) ?? []).reduce((n, s) => n + (s.restartCount ?? 0), 0)), type: 'integer' },
    AGE,
    col('IP', (o) => str(o, 'status.podIP'), 1),
    col('Node', (o) => str(o, 'spec.nodeName'), 1),
    col('Nominated Node', (o) => str(o, 'status.nominatedNodeName'), 1),
    col('Readiness Gates', () => '<none>', 1),
  ],
  persistentvolumes: [
    NAME,
    col('Capacity', (o) => str(o, 'spec.capacity.storage', '')),
    col('Access Modes', (o) => ((get(o, 'spec.accessModes') as string[] | undefined) ?? []).map((m) => ({ ReadWriteOnce: 'RWO', ReadOnlyMany: 'ROX', ReadWriteMany: 'RWX', ReadWriteOncePod: 'RWOP' })[m] ?? m).join(',')),
    col('Reclaim Policy', (o) => str(o, 'spec.persistentVolumeReclaimPolicy', '')),
    col('Status', (o) => str(o, 'status.phase', '')),
    col('Claim', (o) => (get(o, 'spec.claimRef.name') ? `${str(o, 'spec.claimRef.namespace', '')}/${str(o, 'spec.claimRef.name', '')}` : '')),
    col('StorageClass', (o) => str(o, 'spec.storageClassName', '')),
    col('VolumeAttributesClass', (o) => str(o, 'spec.volumeAttributesClassName')),
    col('Reason', (o) => str(o, 'status.reason', '')),
    AGE,
    col('VolumeMode', (o) => str(o, 'spec.volumeMode', ''), 1),
  ],
  persistentvolumeclaims: [
    NAME,
    col('Status', (o) => str(o, 'status.phase', '')),
    col('Volume', (o) => str(o, 'spec.volumeName', '')),
    col('Capacity', (o) => str(o, 'status.capacity.storage', '')),
    col('Access Modes', (o) => ((get(o, 'status.accessModes') as string[] | undefined) ?? []).map((m) => ({ ReadWriteOnce: 'RWO', ReadOnlyMany: 'ROX', ReadWriteMany: 'RWX', ReadWriteOncePod: 'RWOP' })[m] ?? m).join(',')),
    col('StorageClass', (o) => str(o, 'spec.storageClassName', '')),
    col('VolumeAttributesClass', (o) => str(o, 'spec.volumeAttributesClassName')),
    AGE,
    col('VolumeMode', (o) => str(o, 'spec.volumeMode', ''), 1),
  ],
};

function partialMetadata(o: KubeObject): object {
  return { kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: o.metadata };
}

export function toTable(resource: Resource, items: KubeObject[], metadata: Record<string, unknown>, includeObject = 'Metadata'): object {
  const columns = COLUMNS[resource.name] ?? [NAME, AGE];
  return {
    kind: 'Table',
    apiVersion: 'meta.k8s.io/v1',
    metadata,
    columnDefinitions: columns.map(({ cell: _cell, ...def }) => def),
    rows: items.map((o) => {
      const row: Record<string, unknown> = { cells: columns.map((c) => c.cell(o)) };
      if (includeObject === 'Object') row.object = o;
      else if (includeObject !== 'None') row.object = partialMetadata(o);
      return row;
    }),
  };
}
