import { EngineClient } from './engine-client.ts';
import { parseEndpoint, resolveEndpointUrl } from './engine-endpoint.ts';

/**
 * Whether a Docker daemon answers at DOCKER_HOST or the default socket (`GET /_ping` → 200
 * within `timeoutMs`), for the embedded default config. Never rejects: anything else is "no".
 */
export async function dockerAnswers(env: NodeJS.ProcessEnv, timeoutMs = 1000): Promise<boolean> {
  let client: EngineClient;
  try {
    client = new EngineClient({ endpoint: parseEndpoint(resolveEndpointUrl('', env)), timeoutMs, maxSockets: 1 });
  } catch {
    return false;
  }
  try {
    return await client.ping();
  } finally {
    client.destroy();
  }
}
