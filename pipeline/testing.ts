import { createNoopMeter } from '@opentelemetry/api';
import pino from 'pino';
import type { ComponentKind, ComponentSettings } from './component.ts';
import { RouteTable } from './route-table.ts';

/** Component settings for unit tests: silent logger, no-op meter, in-memory router. */
export function testSettings(id: string, kind: ComponentKind, overrides: Partial<ComponentSettings> = {}): ComponentSettings {
  return {
    id,
    kind,
    logger: pino({ level: 'silent' }),
    meter: createNoopMeter(),
    agent: { nodeName: 'test-node', version: '0.0.0-test' },
    http: new RouteTable(),
    ...overrides,
  };
}
