/**
 * A free TCP port on 127.0.0.1, for servers that cannot report a port they chose
 * themselves (Prometheus: `--web.listen-address=127.0.0.1:0` never says which port it
 * got). The port is free when returned; callers retry on "address already in use".
 * Prefer `--listen-port 0` wherever the server reports its port (the agent does).
 */
import { createServer } from 'node:net';

export function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, host, () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => (port ? resolve(port) : reject(new Error('no port assigned'))));
    });
  });
}
