/**
 * Containers made through the Docker Engine API on a {@link Dockerd}'s socket, without the
 * `docker` CLI: a CLI process costs tens of ms of CPU per call, too much for a soak that creates
 * and removes containers every second. What remains (dockerd, and for a started container
 * containerd, shim and runc) is the real cost of a container.
 */
import { request } from 'node:http';
import { TEST_IMAGE, type Dockerd } from './dockerd.ts';

export interface EngineResponse {
  status: number;
  body: string;
}

/** One Engine API request on the daemon's socket; rejects on a network error or after `timeoutMs`. */
export function engineRequest(dockerd: Dockerd, method: string, path: string, body?: object, timeoutMs = 30_000): Promise<EngineResponse> {
  const payload = body === undefined ? undefined : JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = request(
      {
        socketPath: dockerd.socketPath,
        method,
        path,
        headers: payload === undefined ? {} : { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(payload)) },
        timeout: timeoutMs,
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (text += chunk));
        res.on('error', reject);
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
      },
    );
    req.on('timeout', () => req.destroy(new Error(`docker engine ${method} ${path}: no answer after ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end(payload);
  });
}

async function expectStatus(dockerd: Dockerd, method: string, path: string, ok: readonly number[], body?: object): Promise<EngineResponse> {
  const res = await engineRequest(dockerd, method, path, body);
  if (!ok.includes(res.status)) throw new Error(`docker engine ${method} ${path} on ${dockerd.socketPath}: status ${res.status}: ${res.body.slice(0, 500)}`);
  return res;
}

export interface EngineContainerSpec {
  name: string;
  /** Shell command of the test image's sh; default `exec sleep 2147483647`. */
  command?: string;
  labels?: Record<string, string>;
  /** Start it (containerd, shim, runc: about a third of a CPU second) or only create it (stopped, cheap). */
  start: boolean;
}

/** Creates (and with `start`, starts) a container of the test image; resolves with its full id. Call `dockerd.ensureImage()` first. */
export async function engineCreateContainer(dockerd: Dockerd, spec: EngineContainerSpec): Promise<string> {
  const created = await expectStatus(dockerd, 'POST', `/containers/create?name=${encodeURIComponent(spec.name)}`, [201], {
    Image: TEST_IMAGE,
    Cmd: ['sh', '-c', spec.command ?? 'exec sleep 2147483647'],
    Labels: spec.labels ?? {},
    // sh as PID 1 ignores SIGTERM: stop at once rather than after Docker's 10 s.
    StopTimeout: 1,
    HostConfig: {},
  });
  const id = (JSON.parse(created.body) as { Id?: unknown }).Id;
  if (typeof id !== 'string' || !/^[0-9a-f]{64}$/.test(id)) throw new Error(`docker engine: container ${spec.name} created without a full id: ${created.body.slice(0, 300)}`);
  if (spec.start) await expectStatus(dockerd, 'POST', `/containers/${id}/start`, [204, 304]);
  return id;
}

/** Removes a container, running or not (force); an already removed one is fine. */
export async function engineRemoveContainer(dockerd: Dockerd, id: string): Promise<void> {
  await expectStatus(dockerd, 'DELETE', `/containers/${id}?force=1`, [204, 404]);
}
