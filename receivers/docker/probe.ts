import { request } from 'node:http';
import { parseEndpoint, resolveEndpointUrl } from './engine-endpoint.ts';

/**
 * Whether a Docker daemon answers at DOCKER_HOST or the default socket (`GET /_ping` → 200
 * within `timeoutMs`), for the embedded default config. Never rejects: anything else is "no".
 */
export function dockerAnswers(env: NodeJS.ProcessEnv, timeoutMs = 1000): Promise<boolean> {
  let endpoint;
  try {
    endpoint = parseEndpoint(resolveEndpointUrl('', env));
  } catch {
    return Promise.resolve(false);
  }
  const target = endpoint.kind === 'unix' ? { socketPath: endpoint.socketPath } : { host: endpoint.host, port: endpoint.port };
  return new Promise((resolve) => {
    const req = request({ ...target, path: '/_ping', method: 'GET', signal: AbortSignal.timeout(timeoutMs) }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on('error', () => resolve(false));
    req.end();
  });
}
