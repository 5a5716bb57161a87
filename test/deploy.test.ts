/**
 * The kustomize tree under deploy/: rendered with the real `kubectl kustomize`, every object
 * checked against the Kubernetes and Prometheus Operator schemas, and the DaemonSet, RBAC and
 * config checked against the code they deploy (the cache's kinds, the receivers' path settings,
 * the launcher's Node flags, the agent's port and endpoints) and against docs/deployment.md.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, posix, relative } from 'node:path';
import { after, describe, it } from 'node:test';
import { parse } from 'yaml';

import { agentSettingsSchema } from '../config/agent-settings.ts';
import { defaultConfigText } from '../config/default-config.ts';
import { loadConfig, type LoadedConfig } from '../config/load.ts';
import type { PrometheusExporterConfig } from '../exporters/prometheus/config.ts';
import { KINDS } from '../kube/kinds.ts';
import { parseQuantity } from '../kube/quantity.ts';
import { builtinRegistry } from '../pipeline/builtins.ts';
import { loadWebConfigFile } from '../cli/web-config/load.ts';
import { AGENT_BIN, launcherNodeFlags, NODE24, REPO_ROOT } from './support/agent.ts';
import { configHostPaths } from './support/config-host-paths.ts';
import { DEPLOY_DIR, renderKustomization, validateKubeObject, type KubeObject } from './support/kustomize.ts';
import { makeTestPki } from './support/tls.ts';

// ---- the shapes of the objects read here (only the fields the assertions use) ----

interface EnvVar { name: string; value?: string; valueFrom?: { fieldRef?: { fieldPath: string } } }
interface VolumeMount { name: string; mountPath: string; readOnly?: boolean; mountPropagation?: string }
interface Probe { httpGet?: { path: string; port: string | number; scheme?: string } }
interface Container {
  name: string;
  image: string;
  command?: string[];
  args?: string[];
  env?: EnvVar[];
  ports?: Array<{ name?: string; containerPort: number }>;
  livenessProbe?: Probe;
  readinessProbe?: Probe;
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
  securityContext?: {
    readOnlyRootFilesystem?: boolean;
    allowPrivilegeEscalation?: boolean;
    privileged?: boolean;
    runAsUser?: number;
    capabilities?: { add?: string[]; drop?: string[] };
  };
  volumeMounts?: VolumeMount[];
}
interface Volume { name: string; hostPath?: { path: string; type?: string }; configMap?: { name: string }; secret?: { secretName: string; defaultMode?: number }; emptyDir?: object }
interface PodSpec {
  serviceAccountName?: string;
  hostPID?: boolean;
  hostNetwork?: boolean;
  tolerations?: Array<{ key?: string; operator?: string; effect?: string }>;
  securityContext?: { runAsUser?: number; runAsNonRoot?: boolean };
  containers: Container[];
  volumes?: Volume[];
}
interface DaemonSet extends KubeObject {
  spec: { selector: { matchLabels: Record<string, string> }; template: { metadata: { labels: Record<string, string> }; spec: PodSpec } };
}
interface ClusterRole extends KubeObject { rules: Array<{ apiGroups: string[]; resources: string[]; verbs: string[]; resourceNames?: string[] }> }
interface ClusterRoleBinding extends KubeObject { roleRef: { kind: string; name: string }; subjects: Array<{ kind: string; name: string; namespace?: string }> }
interface ConfigMap extends KubeObject { data: Record<string, string> }
interface Service extends KubeObject { spec: { clusterIP?: string; selector: Record<string, string>; ports: Array<{ name: string; port: number; targetPort: string | number }> } }
interface ServiceMonitor extends KubeObject {
  spec: {
    selector: { matchLabels: Record<string, string> };
    endpoints: Array<{
      port: string;
      path?: string;
      honorLabels?: boolean;
      scheme?: string;
      tlsConfig?: { ca?: { secret?: { name: string; key: string } }; serverName?: string };
      authorization?: { type?: string; credentials?: { name: string; key: string } };
    }>;
  };
}

// ---- the trees under test ----

interface Target {
  readonly dir: string;
  /** The embedded default config this tree's config must equal, but for the settings below. */
  readonly expected: { readonly docker: boolean; readonly hostpath: boolean };
  /** The endpoint serves HTTPS (the probes say so). */
  readonly https?: boolean;
}

const TARGETS: readonly Target[] = [
  { dir: 'base', expected: { docker: false, hostpath: false } },
  { dir: 'overlays/local-path', expected: { docker: false, hostpath: true } },
  { dir: 'overlays/docker', expected: { docker: true, hostpath: false } },
  { dir: 'overlays/tls', expected: { docker: false, hostpath: false }, https: true },
];

/**
 * What a deployed config may change in a receiver of the embedded default: where things are on
 * the host as the container sees them, and, for the filesystem receiver, the node's own
 * filesystems (they would need the whole host root mounted).
 */
const DEPLOY_SETTINGS: Readonly<Record<string, readonly string[]>> = {
  filesystem: ['root_path', 'kubelet_root', 'node_filesystems'],
  hostpath: ['root_path', 'local_path_base_dirs'],
  docker: ['endpoint', 'source', 'cgroup_root', 'proc_root'],
};

/** Where every host path is mounted in the container: this root followed by the host path. */
const HOST_ROOT = '/host';
const CONFIG_KEY = 'config.yaml';

const CACHE = new Map<string, KubeObject[]>();
function rendered(dir: string): KubeObject[] {
  let objects = CACHE.get(dir);
  if (objects === undefined) {
    objects = renderKustomization(join(DEPLOY_DIR, dir));
    CACHE.set(dir, objects);
  }
  return objects;
}

function only<T extends KubeObject>(objects: readonly KubeObject[], kind: string): T {
  const found = objects.filter((o) => o.kind === kind);
  assert.equal(found.length, 1, `exactly one ${kind}, found ${found.map((o) => o.metadata.name).join(', ') || 'none'}`);
  return found[0] as T;
}

function agentContainer(ds: DaemonSet): Container {
  const containers = ds.spec.template.spec.containers;
  assert.equal(containers.length, 1, 'one container in the agent pod');
  return containers[0] as Container;
}

function deployedConfigText(objects: readonly KubeObject[]): string {
  const text = only<ConfigMap>(objects, 'ConfigMap').data[CONFIG_KEY];
  assert.ok(text !== undefined, `the ConfigMap holds ${CONFIG_KEY}`);
  return text;
}

function loadDeployed(objects: readonly KubeObject[], dir: string): LoadedConfig {
  // No environment: a config that needs a variable to load would not load in the pod either.
  return loadConfig({ text: deployedConfigText(objects), source: `${dir} ConfigMap`, registry: builtinRegistry(), env: {} });
}

/** `(apiGroup, resource)` pairs the shared cache lists and watches, from its kind table's request paths. */
function cacheResources(): string[] {
  const pairs = new Set<string>();
  for (const [name, spec] of Object.entries(KINDS)) {
    const match = /^\/(?:api\/v1|apis\/([^/]+)\/[^/]+)\/([a-z]+)$/.exec(spec.path);
    assert.ok(match, `kube/kinds.ts ${name}: unexpected path ${spec.path}`);
    pairs.add(`${match[1] ?? ''}/${match[2] ?? ''}`);
  }
  return [...pairs].sort();
}

/** The first cells (in backticks) of the table rows under a `## heading` of docs/deployment.md. */
function documentedTableKeys(heading: string): string[] {
  const text = readFileSync(join(REPO_ROOT, 'docs', 'deployment.md'), 'utf8');
  const start = text.indexOf(`\n## ${heading}\n`);
  assert.ok(start >= 0, `docs/deployment.md has a "## ${heading}" section`);
  const end = text.indexOf('\n## ', start + 1);
  const section = text.slice(start, end < 0 ? undefined : end);
  return [...section.matchAll(/^\| `([^`]+)` \|/gm)].map((m) => m[1] as string);
}

function quantity(text: string | undefined, what: string): number {
  assert.ok(text !== undefined, `${what} is set`);
  const parsed = parseQuantity(text);
  assert.ok(parsed.ok, `${what}: ${text} is a quantity`);
  return parsed.value;
}

/** Deletes the deploy-only settings of each receiver; an emptied receiver becomes null, as an empty YAML key is. */
function withoutDeploySettings(config: Record<string, unknown>): Record<string, unknown> {
  const receivers = { ...(config['receivers'] as Record<string, Record<string, unknown> | null>) };
  for (const [id, settings] of Object.entries(receivers)) {
    if (settings === null) continue;
    const allowed = DEPLOY_SETTINGS[id.split('/')[0] ?? ''] ?? [];
    const kept = Object.fromEntries(Object.entries(settings).filter(([key]) => !allowed.includes(key)));
    receivers[id] = Object.keys(kept).length === 0 ? null : kept;
  }
  return { ...config, receivers };
}

/** The embedded Kubernetes default config as a plain object, with or without the docker and hostpath receivers. */
function embeddedDefault(expected: Target['expected']): Record<string, unknown> {
  const config = parse(defaultConfigText({ kubernetes: true, docker: expected.docker })) as {
    receivers: Record<string, unknown>;
    service: { pipelines: Record<string, { receivers: string[] }> };
  };
  if (!expected.hostpath) {
    delete config.receivers['hostpath'];
    for (const pipeline of Object.values(config.service.pipelines)) pipeline.receivers = pipeline.receivers.filter((r) => r !== 'hostpath');
  }
  return config;
}

const tempDirs: string[] = [];
after(() => {
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
});
/** `nodemeter validate <args>` exits 0 and says valid; no environment, as in a pod without one. */
function assertValid(args: readonly string[]): void {
  const result = spawnSync(NODE24, [...launcherNodeFlags(), AGENT_BIN, 'validate', ...args], {
    encoding: 'utf8',
    timeout: 60_000,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/root' },
  });
  assert.equal(result.status, 0, `nodemeter validate ${args.join(' ')}:\n${result.stdout}${result.stderr}`);
  assert.match(result.stdout, /: valid;/);
}

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'nodemeter-deploy-'));
  tempDirs.push(dir);
  return dir;
}

describe('deploy: schema validation catches broken objects', () => {
  it('rejects a DaemonSet with an invalid field value', () => {
    const ds = structuredClone(only<DaemonSet>(rendered('base'), 'DaemonSet'));
    const mount = agentContainer(ds).volumeMounts?.[0];
    assert.ok(mount);
    mount.mountPropagation = 'Sometimes';
    assert.throws(() => validateKubeObject(ds), /mountPropagation/);
  });

  it('rejects a ServiceMonitor whose endpoints are not a list, and a kind it has no schema for', () => {
    const sm = structuredClone(only<ServiceMonitor>(rendered('base'), 'ServiceMonitor')) as unknown as { spec: { endpoints: unknown } } & KubeObject;
    sm.spec.endpoints = 'metrics';
    assert.throws(() => validateKubeObject(sm), /endpoints/);
    assert.throws(() => validateKubeObject({ apiVersion: 'example.com/v1', kind: 'Widget', metadata: { name: 'w' } }), /no schema/);
  });
});

for (const target of TARGETS) {
  describe(`deploy/${target.dir}`, () => {
    it('renders with kubectl kustomize, and every object matches its schema', () => {
      const objects = rendered(target.dir);
      // Other kinds may join (a PrometheusRule); each must still have a schema here.
      for (const kind of ['ClusterRole', 'ClusterRoleBinding', 'ConfigMap', 'DaemonSet', 'Namespace', 'Service', 'ServiceAccount', 'ServiceMonitor']) only(objects, kind);
      for (const object of objects) validateKubeObject(object);
      const namespace = only(objects, 'Namespace').metadata.name;
      for (const object of objects) {
        if (!['Namespace', 'ClusterRole', 'ClusterRoleBinding'].includes(object.kind)) assert.equal(object.metadata.namespace, namespace, `${object.kind} ${object.metadata.name} is in the agent's namespace`);
      }
    });

    it("the ConfigMap's config passes `nodemeter validate` (exit 0)", () => {
      const file = join(tempDir(), CONFIG_KEY);
      writeFileSync(file, deployedConfigText(rendered(target.dir)));
      assertValid(['--config', file]);
    });

    it('its config is the embedded Kubernetes default config but for where things are on the host', () => {
      const deployed = parse(deployedConfigText(rendered(target.dir))) as Record<string, unknown>;
      assert.deepEqual(withoutDeploySettings(deployed), embeddedDefault(target.expected));
    });

    it('the pod gets that config: --config names the key of the mounted ConfigMap', () => {
      const objects = rendered(target.dir);
      const ds = only<DaemonSet>(objects, 'DaemonSet');
      const container = agentContainer(ds);
      const args = container.args ?? [];
      const configFlag = args.indexOf('--config');
      assert.ok(configFlag >= 0 && args[configFlag + 1] !== undefined, `args pass --config <file>: ${args.join(' ')}`);
      const file = args[configFlag + 1] as string;
      const mount = (container.volumeMounts ?? []).find((m) => posix.join(m.mountPath, CONFIG_KEY) === file);
      assert.ok(mount, `${file} is ${CONFIG_KEY} in a mounted volume`);
      const volume = (ds.spec.template.spec.volumes ?? []).find((v) => v.name === mount.name);
      assert.equal(volume?.configMap?.name, only(objects, 'ConfigMap').metadata.name, 'that volume is the rendered (hash-named) ConfigMap');
    });

    it('mounts exactly the host paths its config reads, each read-only at /host<path>', () => {
      const objects = rendered(target.dir);
      const ds = only<DaemonSet>(objects, 'DaemonSet');
      const container = agentContainer(ds);
      const volumes = new Map((ds.spec.template.spec.volumes ?? []).map((v) => [v.name, v]));
      const hostMounts = (container.volumeMounts ?? []).filter((m) => volumes.get(m.name)?.hostPath !== undefined);
      for (const mount of hostMounts) {
        const hostPath = volumes.get(mount.name)?.hostPath?.path ?? '';
        assert.equal(mount.readOnly, true, `${hostPath} is mounted read-only`);
        assert.equal(mount.mountPath, HOST_ROOT + hostPath, `${hostPath} is mounted at ${HOST_ROOT}${hostPath}`);
      }
      const mounted = new Set(hostMounts.map((m) => m.mountPath));
      assert.equal(mounted.size, hostMounts.length, 'no host path mounted twice');
      for (const volume of volumes.values()) {
        if (volume.hostPath) assert.ok(hostMounts.some((m) => m.name === volume.name), `hostPath volume ${volume.name} is mounted`);
      }
      const read = configHostPaths(loadDeployed(objects, target.dir));
      assert.deepEqual([...mounted].sort(), [...read.keys()].sort(), `host mounts vs the paths the config reads (${JSON.stringify(Object.fromEntries(read))})`);
      const kubelet = hostMounts.find((m) => m.mountPath === `${HOST_ROOT}/var/lib/kubelet`);
      assert.equal(kubelet?.mountPropagation, 'HostToContainer', 'volumes the kubelet mounts later reach the agent');
      assert.ok(hostMounts.some((m) => m.mountPath === `${HOST_ROOT}/proc`), "the host's /proc is mounted");
    });

    it("every host path and capability is in docs/deployment.md, and the container adds no other capability", () => {
      const ds = only<DaemonSet>(rendered(target.dir), 'DaemonSet');
      const documentedPaths = documentedTableKeys('Host paths');
      for (const volume of ds.spec.template.spec.volumes ?? []) {
        if (volume.hostPath) assert.ok(documentedPaths.includes(volume.hostPath.path), `${volume.hostPath.path} is explained in docs/deployment.md (## Host paths lists ${documentedPaths.join(', ')})`);
      }
      const security = agentContainer(ds).securityContext;
      assert.deepEqual(security?.capabilities?.drop, ['ALL']);
      assert.deepEqual([...(security?.capabilities?.add ?? [])].sort(), documentedTableKeys('Capabilities').sort());
      assert.equal(security?.readOnlyRootFilesystem, true);
      assert.equal(security?.allowPrivilegeEscalation, false);
      assert.notEqual(security?.privileged, true);
    });

    it('runs as root only because it is documented why, with /tmp writable on an emptyDir', () => {
      const ds = only<DaemonSet>(rendered(target.dir), 'DaemonSet');
      const pod = ds.spec.template.spec;
      const container = agentContainer(ds);
      const user = container.securityContext?.runAsUser ?? pod.securityContext?.runAsUser;
      if (user === 0) {
        assert.match(readFileSync(join(REPO_ROOT, 'docs', 'deployment.md'), 'utf8'), /^## Why user 0$/m, 'running as user 0 is justified in docs/deployment.md');
      } else {
        assert.ok(user !== undefined || pod.securityContext?.runAsNonRoot === true, 'a non-root user is set');
      }
      assert.notEqual(pod.hostPID, true, 'no host PID namespace: the host /proc mount is enough');
      assert.notEqual(pod.hostNetwork, true);
      const tmp = (container.volumeMounts ?? []).find((m) => m.mountPath === '/tmp');
      assert.ok(tmp && tmp.readOnly !== true, '/tmp is mounted writable');
      assert.ok((pod.volumes ?? []).find((v) => v.name === tmp.name)?.emptyDir, '/tmp is an emptyDir');
    });

    it("runs the launcher with its #! line's Node flags, NODE_NAME from spec.nodeName, every taint tolerated", () => {
      const ds = only<DaemonSet>(rendered(target.dir), 'DaemonSet');
      const container = agentContainer(ds);
      assert.deepEqual(container.command, ['node', ...launcherNodeFlags(), 'bin/nodemeter.js']);
      assert.equal(container.args?.[0], 'run');
      const nodeName = (container.env ?? []).find((e) => e.name === agentSettingsSchema.node_name.env);
      assert.equal(nodeName?.valueFrom?.fieldRef?.fieldPath, 'spec.nodeName');
      const tolerations = ds.spec.template.spec.tolerations ?? [];
      assert.ok(tolerations.some((t) => t.operator === 'Exists' && t.key === undefined && t.effect === undefined), `a toleration of every taint: ${JSON.stringify(tolerations)}`);
    });

    it('sets requests and limits, each request within its limit', () => {
      const resources = agentContainer(only<DaemonSet>(rendered(target.dir), 'DaemonSet')).resources;
      for (const name of ['cpu', 'memory']) {
        const request = quantity(resources?.requests?.[name], `requests.${name}`);
        const limit = quantity(resources?.limits?.[name], `limits.${name}`);
        assert.ok(request > 0 && request <= limit, `${name}: request ${request} ≤ limit ${limit}`);
      }
    });

    it('probes /healthz and /readyz on the metrics port, which the Service and ServiceMonitor expose', () => {
      const objects = rendered(target.dir);
      const ds = only<DaemonSet>(objects, 'DaemonSet');
      const container = agentContainer(ds);
      const port = (container.ports ?? []).find((p) => p.name === 'metrics');
      assert.equal(port?.containerPort, agentSettingsSchema.listen_port.default, "the agent's default listen port");
      const scheme = target.https === true ? { scheme: 'HTTPS' } : {};
      assert.deepEqual(container.livenessProbe?.httpGet, { path: '/healthz', port: 'metrics', ...scheme });
      assert.deepEqual(container.readinessProbe?.httpGet, { path: '/readyz', port: 'metrics', ...scheme });

      const podLabels = ds.spec.template.metadata.labels;
      const service = only<Service>(objects, 'Service');
      assert.equal(service.spec.clusterIP, 'None', 'headless');
      for (const [key, value] of Object.entries(service.spec.selector)) assert.equal(podLabels[key], value, `the Service selects the agent pods (${key})`);
      for (const [key, value] of Object.entries(ds.spec.selector.matchLabels)) assert.equal(podLabels[key], value);
      const servicePort = service.spec.ports.find((p) => p.name === 'metrics');
      assert.equal(servicePort?.targetPort, 'metrics');

      const monitor = only<ServiceMonitor>(objects, 'ServiceMonitor');
      for (const [key, value] of Object.entries(monitor.spec.selector.matchLabels)) assert.equal(service.metadata.labels?.[key], value, `the ServiceMonitor selects the Service (${key})`);
      const prometheus = [...loadDeployed(objects, target.dir).exporters.values()].filter((e) => e.type === 'prometheus');
      assert.equal(prometheus.length, 1, 'one prometheus exporter');
      const path = (prometheus[0]?.config as unknown as PrometheusExporterConfig).path;
      assert.deepEqual(monitor.spec.endpoints.map((e) => [e.port, e.path, e.honorLabels]), [['metrics', path, true]]);
    });

    it("grants get/list/watch on exactly the kinds the shared cache watches, to the DaemonSet's account", () => {
      const objects = rendered(target.dir);
      const role = only<ClusterRole>(objects, 'ClusterRole');
      const granted: string[] = [];
      for (const rule of role.rules) {
        assert.deepEqual([...rule.verbs].sort(), ['get', 'list', 'watch'], 'read-only verbs');
        assert.equal(rule.resourceNames, undefined);
        for (const group of rule.apiGroups) for (const resource of rule.resources) granted.push(`${group}/${resource}`);
      }
      assert.deepEqual(granted.sort(), cacheResources());
      const binding = only<ClusterRoleBinding>(objects, 'ClusterRoleBinding');
      assert.deepEqual(binding.roleRef, { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: role.metadata.name });
      const ds = only<DaemonSet>(objects, 'DaemonSet');
      const account = only(objects, 'ServiceAccount');
      assert.equal(ds.spec.template.spec.serviceAccountName, account.metadata.name);
      assert.deepEqual(binding.subjects, [{ kind: 'ServiceAccount', name: account.metadata.name, namespace: account.metadata.namespace }]);
    });
  });
}

describe('deploy/overlays/tls: HTTPS and a bearer token', () => {
  const dir = 'overlays/tls';
  const WEB_MOUNT = '/etc/nodemeter/web';

  it('names the web config in the Secret nodemeter-web, and mounts the token Secret the ServiceMonitor sends', () => {
    const objects = rendered(dir);
    const ds = only<DaemonSet>(objects, 'DaemonSet');
    const container = agentContainer(ds);
    const env = (container.env ?? []).find((e) => e.name === agentSettingsSchema.web_config_file.env);
    assert.equal(env?.value, posix.join(WEB_MOUNT, 'web.yaml'));
    const secretOf = (mountPath: string): Volume | undefined => {
      const mount = (container.volumeMounts ?? []).find((m) => m.mountPath === mountPath);
      assert.equal(mount?.readOnly, true, `${mountPath} is mounted read-only`);
      return (ds.spec.template.spec.volumes ?? []).find((v) => v.name === mount?.name);
    };
    assert.equal(secretOf(WEB_MOUNT)?.secret?.secretName, 'nodemeter-web');
    const tokenVolume = secretOf('/etc/nodemeter/token');
    const endpoint = only<ServiceMonitor>(objects, 'ServiceMonitor').spec.endpoints[0];
    assert.equal(endpoint?.scheme, 'https');
    assert.equal(endpoint?.authorization?.type, 'Bearer');
    assert.equal(endpoint?.authorization?.credentials?.name, tokenVolume?.secret?.secretName, 'Prometheus sends the token the agent reads');
    assert.equal(endpoint?.authorization?.credentials?.key, 'token');
    assert.ok(endpoint?.tlsConfig?.ca?.secret?.name, 'Prometheus verifies the certificate against a CA');

    // The example web.yaml's token path, resolved from where the pod mounts it, is in the token mount.
    const web = parse(readFileSync(join(DEPLOY_DIR, dir, 'web.yaml'), 'utf8')) as { bearer_token_files: string[] };
    assert.deepEqual(web.bearer_token_files.map((f) => posix.join(WEB_MOUNT, f)), ['/etc/nodemeter/token/token']);
  });

  it('the example web.yaml, laid out as the pod mounts the Secrets, passes `nodemeter validate` with the deployed config', async () => {
    const pki = await makeTestPki();
    try {
      const root = tempDir();
      mkdirSync(join(root, 'web'));
      mkdirSync(join(root, 'token'));
      copyFileSync(join(DEPLOY_DIR, dir, 'web.yaml'), join(root, 'web', 'web.yaml'));
      copyFileSync(pki.serverCertFile, join(root, 'web', 'tls.crt'));
      copyFileSync(pki.serverKeyFile, join(root, 'web', 'tls.key'));
      writeFileSync(join(root, 'token', 'token'), 'a-token-of-the-scrape\n');
      const configFile = join(root, CONFIG_KEY);
      writeFileSync(configFile, deployedConfigText(rendered(dir)));
      assertValid(['--config', configFile, '--web-config-file', join(root, 'web', 'web.yaml')]);
      const loaded = loadWebConfigFile(join(root, 'web', 'web.yaml'), {});
      assert.ok(loaded.tls, 'TLS on');
      assert.deepEqual(loaded.config.bearerTokenFiles, [join(root, 'token', 'token')]);
    } finally {
      await pki.remove();
    }
  });
});

describe('deploy: images', () => {
  it('the base runs the placeholder nodemeter:latest', () => {
    assert.equal(agentContainer(only<DaemonSet>(rendered('base'), 'DaemonSet')).image, 'nodemeter:latest');
  });

  it('a kustomization on top of the base sets the image with images:', () => {
    // kustomize takes other kustomizations by relative path only.
    const dir = tempDir();
    writeFileSync(
      join(dir, 'kustomization.yaml'),
      ['apiVersion: kustomize.config.k8s.io/v1beta1', 'kind: Kustomization', 'resources:', `  - ${relative(dir, join(DEPLOY_DIR, 'base'))}`, 'images:', '  - name: nodemeter', '    newName: registry.example.com/team/nodemeter', '    newTag: "1.2.3"', ''].join('\n'),
    );
    const ds = only<DaemonSet>(renderKustomization(dir), 'DaemonSet');
    assert.equal(agentContainer(ds).image, 'registry.example.com/team/nodemeter:1.2.3');
  });
});
