import { hostname } from 'node:os';
import type { Meter } from '@opentelemetry/api';
import type { Logger } from 'pino';
import { KubeCache } from '../kube/cache.ts';
import { resolveKubeConnection, type KubeConnection } from '../kube/connection.ts';
import type { KubeService } from '../kube/lookup.ts';
import { parseAgentSettings, type AgentSettings } from '../config/agent-settings.ts';
import { DEFAULT_CONFIG_SOURCE, defaultConfigText } from '../config/default-config.ts';
import { dockerAnswers } from '../receivers/docker/probe.ts';
import { ConfigValidationError } from '../config/issues.ts';
import { loadConfig, loadConfigFile, type LoadedConfig } from '../config/load.ts';
import { PrometheusExporter } from '../exporters/prometheus/exporter.ts';
import { writeExposition } from '../exporters/prometheus/text-writer.ts';
import type { AgentInfo } from '../pipeline/component.ts';
import { DEFAULT_COLLECT_TIMEOUT_MS } from '../pipeline/deadline.ts';
import { buildGraph, type Graph } from '../pipeline/graph.ts';
import { builtinRegistry } from '../pipeline/builtins.ts';
import { Service } from '../pipeline/service.ts';
import { RouteTable } from '../pipeline/route-table.ts';
import { compileCacheSkipped } from './compile-cache.ts';
import { AgentHttpServer } from './http-server.ts';
import { loadWebConfigFile, type LoadedWebConfig } from './web-config/load.ts';
import { WebSecurity } from './web-config/web-security.ts';
import { createLogger } from './logger.ts';
import { USAGE } from './usage.ts';
import { VERSION } from './version.ts';

export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;

/** How long `collect --once` waits for the Kubernetes cache's first sync. */
const COLLECT_SYNC_TIMEOUT_MS = 15_000;

type KubeFactory = (meter: Meter) => KubeService;

/** How long in-flight scrapes may take to finish after SIGTERM. */
const SHUTDOWN_GRACE_MS = 10_000;

/** Entry point of the `nodemeter` command; resolves to the process exit code. */
export async function main(argv: string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  let parsed: ReturnType<typeof parseAgentSettings>;
  try {
    parsed = parseAgentSettings(argv, env, { extraBooleanFlags: ['--once', '--help', '--version'] });
  } catch (err) {
    return reportStartupError(err);
  }
  const { settings, rest } = parsed;
  if (rest.includes('--help')) {
    process.stdout.write(USAGE);
    return EXIT_OK;
  }
  if (rest.includes('--version')) {
    process.stdout.write(`nodemeter ${VERSION}\n`);
    return EXIT_OK;
  }
  const words = rest.filter((word) => !word.startsWith('--'));
  const command = words[0] ?? 'run';
  if (words.length > 1 || !['run', 'validate', 'collect'].includes(command)) {
    process.stderr.write(`nodemeter: unknown command "${words.join(' ')}"\n\n${USAGE}`);
    return EXIT_USAGE;
  }
  if (command === 'collect' && !rest.includes('--once')) {
    process.stderr.write('nodemeter: collect needs --once (continuous collection is what `nodemeter run` does)\n');
    return EXIT_USAGE;
  }
  // Commands that print results keep stdout for the results; logs go to stderr.
  const logger = createLogger({
    level: settings.log_level,
    human: settings.log_human,
    destination: command === 'run' ? process.stdout : process.stderr,
  });
  const cacheSkipped = compileCacheSkipped();
  if (cacheSkipped) logger.warn(cacheSkipped, 'Node compile cache off: no room in the temp dir (starts take longer)');
  const agent: AgentInfo = { nodeName: settings.node_name || hostname(), version: VERSION };
  let connection: KubeConnection | undefined;
  let config: LoadedConfig;
  let web: LoadedWebConfig | undefined;
  try {
    // Checked before anything starts: a bad web config must not leave the endpoint open.
    if (settings.web_config_file) web = loadWebConfigFile(settings.web_config_file, env);
    connection = await resolveKubeConnection(
      { api_url: settings.kube_api_url, token_file: settings.kube_token_file, kubeconfig: settings.kubeconfig },
      env,
    );
    // The embedded config measures containers only where a Docker daemon answers.
    const docker = settings.config ? false : await dockerAnswers(env);
    config = loadAgentConfig(settings, env, connection !== undefined, docker);
  } catch (err) {
    return reportStartupError(err);
  }
  if (connection) logger.info({ server: connection.server, source: connection.source }, 'Kubernetes API server configured');
  const createKube = connection ? kubeFactory(connection, agent, logger) : undefined;
  for (const warning of config.warnings) logger.warn(warning);
  switch (command) {
    case 'validate':
      return validate(config, agent, logger, settings, web);
    case 'collect':
      return collectOnce(config, agent, logger, createKube);
    default:
      return run(config, agent, logger, settings, createKube, web ? new WebSecurity({ loaded: web, logger: logger.child({ component: 'web' }), env }) : undefined);
  }
}

function loadAgentConfig(settings: AgentSettings, env: NodeJS.ProcessEnv, kubernetes: boolean, docker: boolean): LoadedConfig {
  const registry = builtinRegistry();
  if (settings.config) return loadConfigFile(settings.config, registry, env);
  return loadConfig({ text: defaultConfigText({ kubernetes, docker }), source: DEFAULT_CONFIG_SOURCE, registry, env });
}

/** The one shared cache, created by the graph builder once the self-telemetry meter exists. */
function kubeFactory(connection: KubeConnection, agent: AgentInfo, logger: Logger): KubeFactory {
  return (meter) => KubeCache.create({ connection, nodeName: agent.nodeName, logger: logger.child({ component: 'kube' }), meter });
}

function validate(config: LoadedConfig, agent: AgentInfo, logger: Logger, settings: AgentSettings, web: LoadedWebConfig | undefined): number {
  try {
    const graph = buildGraph({ config, registry: builtinRegistry(), agent, logger, http: new RouteTable() });
    process.stdout.write(
      `${settings.config || DEFAULT_CONFIG_SOURCE}: valid; ${describeGraph(graph).join('; ')}\n`,
    );
    if (web) process.stdout.write(`${settings.web_config_file}: valid; ${describeWebConfig(web)}\n`);
    return EXIT_OK;
  } catch (err) {
    return reportStartupError(err);
  }
}

async function collectOnce(config: LoadedConfig, agent: AgentInfo, logger: Logger, createKube: KubeFactory | undefined): Promise<number> {
  const graph = buildGraph({ config, registry: builtinRegistry(), agent, logger, http: new RouteTable(), ...(createKube ? { createKube } : {}) });
  const service = new Service(graph, logger);
  try {
    await service.start({ warmUp: false });
    // One collection should carry Kubernetes names: wait for the first sync, but not forever.
    if (graph.kube && !(await graph.kube.waitForSync(COLLECT_SYNC_TIMEOUT_MS))) {
      logger.warn({ timeoutMs: COLLECT_SYNC_TIMEOUT_MS }, 'Kubernetes cache not synced in time; collecting without complete names');
    }
    // Background receivers (directory walks) finish one round, so the output is complete.
    await service.settled();
    const prometheus = [...graph.exporters.values()].find((e) => e instanceof PrometheusExporter);
    let text: string;
    let errors: unknown[];
    if (prometheus) {
      ({ text, errors } = await prometheus.scrape(DEFAULT_COLLECT_TIMEOUT_MS));
    } else {
      const results = await Promise.all([...graph.pipelines.values()].map((p) => p.collect()));
      errors = results.flatMap((r) => r.errors);
      text = writeExposition(
        { resource: graph.resource, scopeMetrics: results.flatMap((r) => r.resourceMetrics.scopeMetrics) },
        { prefix: '', targetInfo: false, scopeInfo: false, dedupe: true },
      );
    }
    process.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
    for (const err of errors) logger.warn({ err }, 'collection error');
    return EXIT_OK;
  } catch (err) {
    logger.error({ err }, 'collection failed');
    return EXIT_FAILURE;
  } finally {
    await service.shutdown();
  }
}

async function run(
  config: LoadedConfig,
  agent: AgentInfo,
  logger: Logger,
  settings: AgentSettings,
  createKube: KubeFactory | undefined,
  security: WebSecurity | undefined,
): Promise<number> {
  // The server exists before the graph (components register routes on it); it asks the
  // service for readiness once there is one.
  const serviceRef: { current?: Service } = {};
  const server = new AgentHttpServer({
    host: settings.listen_host,
    port: settings.listen_port,
    logger,
    readiness: () => {
      const service = serviceRef.current;
      if (!service?.ready) return { ready: false, detail: `not ready: waiting for ${service?.pendingReceivers().join(', ') || 'start'}` };
      return { ready: true, detail: 'ready' };
    },
    describe: () => (serviceRef.current ? describeGraph(serviceRef.current.graph) : []),
    ...(security ? { security } : {}),
  });
  const graph = buildGraph({ config, registry: builtinRegistry(), agent, logger, http: server, ...(createKube ? { createKube } : {}) });
  const service = new Service(graph, logger);
  serviceRef.current = service;
  try {
    await service.start();
  } catch (err) {
    logger.fatal({ err }, 'start failed');
    return EXIT_FAILURE;
  }
  let address;
  try {
    address = await server.listen();
  } catch (err) {
    logger.fatal({ err, host: settings.listen_host, port: settings.listen_port }, `cannot listen on ${settings.listen_host}:${settings.listen_port}`);
    await service.shutdown();
    return EXIT_FAILURE;
  }
  logger.info({ host: address.address, port: address.port, scheme: server.scheme, node: agent.nodeName, version: VERSION, ...security?.describe() }, 'listening');
  const signal = await waitForSignal();
  logger.info({ signal }, 'shutting down');
  await server.close(SHUTDOWN_GRACE_MS);
  await service.shutdown();
  logger.info('stopped');
  return EXIT_OK;
}

function waitForSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const onSignal = (signal: NodeJS.Signals) => {
      process.off('SIGTERM', onSignal);
      process.off('SIGINT', onSignal);
      resolve(signal);
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
  });
}

function describeGraph(graph: Graph): string[] {
  return [...graph.pipelines.values()].map(
    (p) => `pipeline ${p.id}: receivers [${p.receiverIds.join(', ')}]`,
  );
}

/** One line for `validate`: what the web config turns on (never a secret). */
function describeWebConfig(web: LoadedWebConfig): string {
  const c = web.config;
  const parts = [c.tls ? `TLS (certificate ${web.tls?.certificate.subject.replace(/\n/g, ', ') ?? '?'}, valid until ${web.tls?.certificate.notAfter ?? '?'}; client certificates: ${c.tls.clientAuthType})` : 'plain HTTP'];
  const users = Object.keys(c.basicAuthUsers).length;
  const tokens = c.bearerTokenHashes.length + c.bearerTokenFiles.length;
  if (users + tokens === 0) parts.push('no credentials required');
  else parts.push(`${users} basic auth user(s), ${tokens} bearer token(s); open without credentials: ${c.authExcludedPaths.join(', ') || '(none)'}`);
  return parts.join('; ');
}

function reportStartupError(err: unknown): number {
  if (err instanceof ConfigValidationError) {
    process.stderr.write(`${err.message}\n`);
    return EXIT_USAGE;
  }
  process.stderr.write(`nodemeter: ${err instanceof Error ? err.message : String(err)}\n`);
  return EXIT_FAILURE;
}
