/**
 * Renders the kustomize trees under deploy/ with the real `kubectl kustomize` and checks every
 * object against the Kubernetes API schemas (kubernetes-models) and the Prometheus Operator's
 * CRD schemas (@kubernetes-models/prometheus-operator).
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import * as monitoringV1 from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1';
import * as appsV1 from 'kubernetes-models/apps/v1';
import * as rbacV1 from 'kubernetes-models/rbac.authorization.k8s.io/v1';
import * as coreV1 from 'kubernetes-models/v1';

import { REPO_ROOT } from './agent.ts';

export const DEPLOY_DIR = join(REPO_ROOT, 'deploy');

/** One rendered object, as parsed from the YAML stream. */
export interface KubeObject {
  readonly apiVersion: string;
  readonly kind: string;
  readonly metadata: { readonly name: string; readonly namespace?: string; readonly labels?: Record<string, string> };
  readonly [field: string]: unknown;
}

/** Runs `kubectl kustomize <dir>` and parses the stream; throws naming what went wrong, kubectl's absence included. */
export function renderKustomization(dir: string): KubeObject[] {
  const result = spawnSync('kubectl', ['kustomize', dir], { encoding: 'utf8', timeout: 60_000, maxBuffer: 16 * 1024 * 1024 });
  if (result.error !== undefined) {
    const code = (result.error as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'kubectl is not on PATH (install it: the deploy tests render the kustomize trees with `kubectl kustomize`)' : result.error.message;
    throw new Error(`kubectl kustomize ${dir}: ${why}`);
  }
  if (result.status !== 0) throw new Error(`kubectl kustomize ${dir} exited ${String(result.status ?? result.signal)}:\n${result.stderr}`);
  const objects: KubeObject[] = [];
  for (const doc of parseAllDocuments(result.stdout)) {
    if (doc.errors.length > 0) throw new Error(`kubectl kustomize ${dir}: output is not YAML: ${doc.errors.map((e) => e.message).join('; ')}`);
    const value: unknown = doc.toJS();
    if (value === null || value === undefined) continue;
    objects.push(asKubeObject(value, dir));
  }
  return objects;
}

function asKubeObject(value: unknown, dir: string): KubeObject {
  const object = value as Partial<KubeObject> | null;
  if (typeof object !== 'object' || object === null || Array.isArray(object)) throw new Error(`${dir}: a rendered document is not an object`);
  if (typeof object.apiVersion !== 'string' || typeof object.kind !== 'string' || typeof object.metadata?.name !== 'string') {
    throw new Error(`${dir}: a rendered object lacks apiVersion, kind or metadata.name: ${JSON.stringify(value).slice(0, 200)}`);
  }
  return object as KubeObject;
}

interface ModelClass {
  new (data: object): { validate(): void };
  readonly apiVersion: string;
  readonly kind: string;
}

function isModelClass(value: unknown): value is ModelClass {
  if (typeof value !== 'function') return false;
  const model = value as { apiVersion?: unknown; kind?: unknown; prototype?: { validate?: unknown } };
  return typeof model.apiVersion === 'string' && typeof model.kind === 'string' && typeof model.prototype?.validate === 'function';
}

let models: Map<string, ModelClass> | undefined;

/** Model classes by `apiVersion/kind`, for the API groups the deploy tree uses. */
function modelTable(): Map<string, ModelClass> {
  if (models !== undefined) return models;
  models = new Map();
  for (const module of [coreV1, appsV1, rbacV1, monitoringV1] as ReadonlyArray<Record<string, unknown>>) {
    for (const value of Object.values(module)) {
      if (isModelClass(value)) models.set(`${value.apiVersion}/${value.kind}`, value);
    }
  }
  return models;
}

/**
 * Validates one object against its kind's schema. Throws naming the object and every schema
 * violation; an apiVersion/kind without a schema here is an error too, never a silent pass.
 * (The generated schemas accept fields they do not know: a misspelt field is caught by the
 * assertions on the fields that matter, not here.)
 */
export function validateKubeObject(object: KubeObject): void {
  const model = modelTable().get(`${object.apiVersion}/${object.kind}`);
  const name = `${object.apiVersion} ${object.kind} ${object.metadata.name}`;
  if (model === undefined) throw new Error(`${name}: no schema for this apiVersion and kind (known: ${[...modelTable().keys()].filter((k) => !k.endsWith('List')).length} kinds of core/v1, apps/v1, rbac/v1, monitoring.coreos.com/v1)`);
  try {
    new model(object).validate();
  } catch (err) {
    throw new Error(`${name} does not match its schema: ${(err as Error).message}`, { cause: err });
  }
}
