import { createNoopMeter } from '@opentelemetry/api';
import pino from 'pino';
import type { ComponentKind, ComponentSettings, HttpHandler, HttpRouter } from './component.ts';

/** An in-memory router for tests: records routes so a test can call a handler directly. */
export class MemoryRouter implements HttpRouter {
  readonly routes = new Map<string, { description: string; handler: HttpHandler }>();

  route(path: string, description: string, handler: HttpHandler): () => void {
    if (this.routes.has(path)) throw new Error(`HTTP path ${path} is already served`);
    this.routes.set(path, { description, handler });
    return () => {
      if (this.routes.get(path)?.handler === handler) this.routes.delete(path);
    };
  }
}

/** Component settings for unit tests: silent logger, no-op meter, in-memory router. */
export function testSettings(id: string, kind: ComponentKind, overrides: Partial<ComponentSettings> = {}): ComponentSettings {
  return {
    id,
    kind,
    logger: pino({ level: 'silent' }),
    meter: createNoopMeter(),
    agent: { nodeName: 'test-node', version: '0.0.0-test' },
    http: new MemoryRouter(),
    ...overrides,
  };
}
