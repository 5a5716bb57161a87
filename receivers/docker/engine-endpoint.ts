/** Where the Docker Engine API listens: a unix socket or a plain-HTTP TCP address. */
export type EngineEndpoint = { readonly kind: 'unix'; readonly socketPath: string } | { readonly kind: 'tcp'; readonly host: string; readonly port: number };

/** Docker's own default, used when neither the config nor DOCKER_HOST names an endpoint. */
export const DEFAULT_DOCKER_ENDPOINT = 'unix:///var/run/docker.sock';

/** The endpoint the receiver uses: the configured one, else DOCKER_HOST, else Docker's default. */
export function resolveEndpointUrl(configured: string, env: NodeJS.ProcessEnv = process.env): string {
  if (configured !== '') return configured;
  const fromEnv = env.DOCKER_HOST?.trim();
  return fromEnv ? fromEnv : DEFAULT_DOCKER_ENDPOINT;
}

/**
 * Parses `unix:///path`, `tcp://host:port` or `http://host:port` (Docker's DOCKER_HOST forms).
 * TLS (`https://`, DOCKER_TLS_VERIFY) is not supported: the node's own socket is the usual
 * endpoint. Throws an Error that names the value and what is wrong.
 */
export function parseEndpoint(url: string): EngineEndpoint {
  if (url.startsWith('unix://')) {
    const socketPath = url.slice('unix://'.length);
    if (!socketPath.startsWith('/')) throw new Error(`docker endpoint "${url}": a unix socket path must be absolute (unix:///var/run/docker.sock)`);
    return { kind: 'unix', socketPath };
  }
  const match = /^(tcp|http):\/\/(\[[0-9a-fA-F:.]+\]|[^/:]+)(?::(\d+))?\/?$/.exec(url);
  if (!match) {
    const scheme = /^([a-z]+):\/\//.exec(url)?.[1];
    if (scheme === 'https' || scheme === 'ssh' || scheme === 'npipe' || scheme === 'fd') {
      throw new Error(`docker endpoint "${url}": the ${scheme} scheme is not supported; use unix:///path or tcp://host:port`);
    }
    throw new Error(`docker endpoint "${url}": expected unix:///path, tcp://host:port or http://host:port`);
  }
  const host = (match[2] as string).replace(/^\[(.*)\]$/, '$1');
  const port = match[3] === undefined ? 2375 : Number(match[3]);
  if (!(port > 0 && port < 65536)) throw new Error(`docker endpoint "${url}": port ${match[3]} is out of range`);
  return { kind: 'tcp', host, port };
}

export function describeEndpoint(endpoint: EngineEndpoint): string {
  return endpoint.kind === 'unix' ? `unix://${endpoint.socketPath}` : `tcp://${endpoint.host}:${endpoint.port}`;
}
