// The 50,000 series the exposition benchmark has every server hold: target bodies from
// exposition-payload.ts, their Go runtime and process families renamed `app_go_*`/`app_process_*`
// (each peer exposes its own go_*/process_* families, and a pushed or text-file family of the same
// name with another HELP text would be refused), plus the helpers that put them in each server's
// form: one HTTP server per target for the agent to scrape, a label for node_exporter's files.
import { createServer, type Server } from 'node:http';

import { generateTargetExposition } from './exposition-payload.ts';

export interface TargetBody {
  text: string;
  samples: number;
}

const RUNTIME_FAMILY = /^(# (?:HELP|TYPE) )?(go_|process_)/;

export function targetBody(index: number, series: number): TargetBody {
  const { text, samples } = generateTargetExposition(index, series);
  return { text: text.split('\n').map((line) => line.replace(RUNTIME_FAMILY, (_m, prefix: string | undefined, name: string) => `${prefix ?? ''}app_${name}`)).join('\n'), samples };
}

/** The metric names of every sample line of `bodies` (a sample elsewhere with one of them is payload). */
export function sampleNames(bodies: readonly TargetBody[]): Set<string> {
  const names = new Set<string>();
  for (const b of bodies) {
    for (const line of b.text.split('\n')) if (line !== '' && !line.startsWith('#')) names.add(metricName(line));
  }
  return names;
}

function metricName(line: string): string {
  const end = line.search(/[{ ]/);
  return end === -1 ? line : line.slice(0, end);
}

/** Sample lines in an exposition, and those whose name is in `payload`. */
export function countSamples(text: string, payload: ReadonlySet<string>): { samples: number; payload: number } {
  let samples = 0;
  let ours = 0;
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    samples++;
    if (payload.has(metricName(line))) ours++;
  }
  return { samples, payload: ours };
}

/** Every sample line with one more label: node_exporter's text files must not repeat a series. */
export function withLabel(text: string, name: string, value: string): string {
  return text
    .split('\n')
    .map((line) => {
      if (line === '' || line.startsWith('#')) return line;
      const space = line.indexOf(' ');
      const brace = line.indexOf('{');
      if (brace !== -1 && brace < space) return `${line.slice(0, brace + 1)}${name}="${value}",${line.slice(brace + 1)}`;
      return `${line.slice(0, space)}{${name}="${value}"}${line.slice(space)}`;
    })
    .join('\n');
}

export interface ServedTargets {
  ports: number[];
  /** Requests answered since start. */
  requests: () => number;
  close: () => Promise<void>;
}

/** One HTTP server per body on 127.0.0.1 (a port each, like pods); in this process, as they are only scraped before timing. */
export async function serveTargets(bodies: readonly TargetBody[]): Promise<ServedTargets> {
  let requests = 0;
  const servers: Server[] = [];
  const ports: number[] = [];
  for (const body of bodies) {
    const payload = Buffer.from(body.text, 'utf8');
    const server = createServer((req, res) => {
      requests++;
      if (req.method !== 'GET' || (req.url ?? '').split('?')[0] !== '/metrics') {
        res.writeHead(404).end();
        return;
      }
      res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8', 'content-length': String(payload.length) }).end(payload);
    });
    servers.push(server);
    ports.push(
      await new Promise<number>((resolve, reject) => {
        server.once('error', reject);
        server.listen(0, '127.0.0.1', () => {
          const address = server.address();
          if (address === null || typeof address === 'string') reject(new Error('target server: no port assigned'));
          else resolve(address.port);
        });
      }),
    );
  }
  return {
    ports,
    requests: () => requests,
    close: async () => {
      await Promise.all(
        servers.map(
          (s) =>
            new Promise<void>((resolve) => {
              s.close(() => resolve());
              s.closeAllConnections();
            }),
        ),
      );
    },
  };
}
