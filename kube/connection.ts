import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import http from 'node:http';
import https from 'node:https';
import { isIPv6 } from 'node:net';
import path from 'node:path';
import type { KubeConfig } from '@kubernetes/client-node';
import { NodemeterError, errorMessage } from '../pipeline/errors.ts';

/** Where the agent learns how to reach the API server; the first that is set wins. */
export interface KubeConnectionSettings {
  /** Explicit API server URL (tests: plain `http://127.0.0.1:port`). */
  readonly api_url?: string;
  /** Bearer token file sent with `api_url` requests; re-read every minute. */
  readonly token_file?: string;
  /** kubeconfig path(s) (`--kubeconfig` / `KUBECONFIG`; several joined by `:` are merged). */
  readonly kubeconfig?: string;
}

export type KubeConnectionSource = 'api_url' | 'kubeconfig' | 'in-cluster';

/** Everything the HTTP client needs to talk to one API server. */
export interface KubeConnection {
  readonly source: KubeConnectionSource;
  /** Base URL without a trailing slash, e.g. `https://10.96.0.1:443`. */
  readonly server: string;
  /** The client-node KubeConfig, for kubeconfig files only (see docs/kubernetes.md on memory). */
  readonly kubeConfig?: KubeConfig;
  /**
   * Options for `http(s).request`: agent (TLS material), auth headers. Called per request
   * because tokens rotate (bound service-account tokens, exec plugins).
   */
  requestOptions(): Promise<http.RequestOptions>;
}

const SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

/** Error code when a kubeconfig is named but cannot be used. */
export const KUBECONFIG_INVALID = 'NM_KUBECONFIG_INVALID';

/** How often token files are re-read (client-go re-reads every minute too). */
const TOKEN_REREAD_MS = 60_000;

/**
 * Picks the connection, in order: explicit `api_url`, a kubeconfig, the in-cluster service
 * account (`KUBERNETES_SERVICE_HOST` and the mounted token). Returns undefined when none
 * applies: the agent then runs without Kubernetes. Throws a {@link NodemeterError}
 * (`NM_KUBECONFIG_INVALID`) when a kubeconfig is named but cannot be read or has no current
 * cluster — a misconfiguration the operator must see, not a silent fallback.
 */
export async function resolveKubeConnection(
  settings: KubeConnectionSettings,
  env: NodeJS.ProcessEnv = process.env,
  serviceAccountDir: string = SERVICE_ACCOUNT_DIR,
): Promise<KubeConnection | undefined> {
  if (settings.api_url) return urlConnection(settings.api_url, settings.token_file);
  if (settings.kubeconfig) return kubeconfigConnection(settings.kubeconfig);
  const host = env['KUBERNETES_SERVICE_HOST'];
  if (host) return inClusterConnection(host, env['KUBERNETES_SERVICE_PORT'] ?? '443', serviceAccountDir);
  return undefined;
}

function trimmedServer(url: string): string {
  return url.replace(/\/+$/, '');
}

/**
 * Request options for a bearer-token connection: `agent`, and the token from `tokenFile`
 * (if any), re-read asynchronously at most once a minute. A missing file means no token, not
 * an error; a read error keeps the last good token (the kubelet rewrites the file atomically,
 * but a transient error must not drop authentication).
 */
function bearerOptions(agent: http.Agent, tokenFile: string | undefined): () => Promise<http.RequestOptions> {
  let token: string | undefined;
  let reading: Promise<void> | undefined;
  let readAt = -Infinity;
  return async () => {
    if (tokenFile !== undefined && Date.now() - readAt > TOKEN_REREAD_MS) {
      // Concurrent requests at the minute share one read.
      reading ??= (async () => {
        try {
          token = (await readFile(tokenFile, 'utf8')).trim() || undefined;
        } catch {
          // keep the last good token
        }
        readAt = Date.now();
        reading = undefined;
      })();
      await reading;
    }
    return { agent, headers: token ? { authorization: `Bearer ${token}` } : {} };
  };
}

function urlConnection(apiUrl: string, tokenFile?: string): KubeConnection {
  let url: URL;
  try {
    url = new URL(apiUrl);
  } catch (err) {
    throw new NodemeterError(KUBECONFIG_INVALID, `api_url "${apiUrl}" is not a URL: ${errorMessage(err)}`);
  }
  const agent = url.protocol === 'https:' ? new https.Agent({ keepAlive: true }) : new http.Agent({ keepAlive: true });
  return { source: 'api_url', server: trimmedServer(url.toString()), requestOptions: bearerOptions(agent, tokenFile || undefined) };
}

function inClusterConnection(host: string, port: string, dir: string): KubeConnection {
  const hostPart = isIPv6(host) ? `[${host}]` : host;
  let ca: Buffer | undefined;
  try {
    ca = readFileSync(path.join(dir, 'ca.crt'));
  } catch {
    // Without the CA file the system roots are used; the TLS error then says what is wrong.
  }
  const agent = new https.Agent({ keepAlive: true, ca });
  return { source: 'in-cluster', server: `https://${hostPart}:${port}`, requestOptions: bearerOptions(agent, path.join(dir, 'token')) };
}

async function kubeconfigConnection(paths: string): Promise<KubeConnection> {
  const files = paths.split(path.delimiter).filter((f) => f !== '');
  // Imported only here: @kubernetes/client-node costs ~80 MiB RSS and ~0.4 s to load (its
  // generated API), which in-cluster agents never need.
  const { KubeConfig } = await import('@kubernetes/client-node');
  const kc = new KubeConfig();
  for (const [index, file] of files.entries()) {
    try {
      if (index === 0) kc.loadFromFile(file);
      else {
        const more = new KubeConfig();
        more.loadFromFile(file);
        kc.mergeConfig(more, true);
      }
    } catch (err) {
      throw new NodemeterError(KUBECONFIG_INVALID, `kubeconfig ${file} cannot be read: ${errorMessage(err)}`, { cause: err });
    }
  }
  // client-node refuses http:// servers unless insecure-skip-tls-verify is set, though plain
  // http has no TLS to verify (kubectl accepts it): mark them so, for local test servers.
  kc.clusters = kc.clusters.map((c) => (c.server.startsWith('http:') ? { ...c, skipTLSVerify: true } : c));
  const cluster = kc.getCurrentCluster();
  if (!cluster) {
    throw new NodemeterError(
      KUBECONFIG_INVALID,
      `kubeconfig ${files.join(path.delimiter)} has no usable current context (current-context "${kc.getCurrentContext() ?? ''}")`,
    );
  }
  // Auth plugins (exec, OIDC, token files) fail here, at start-up, rather than in the loop.
  try {
    await kc.applyToHTTPSOptions({});
  } catch (err) {
    throw new NodemeterError(KUBECONFIG_INVALID, `kubeconfig ${files.join(path.delimiter)}: ${errorMessage(err)}`, { cause: err });
  }
  return {
    source: 'kubeconfig',
    server: trimmedServer(cluster.server),
    kubeConfig: kc,
    requestOptions: async () => {
      const opts: https.RequestOptions = {};
      await kc.applyToHTTPSOptions(opts);
      return opts;
    },
  };
}
