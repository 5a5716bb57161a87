import '../../config/formats.ts';
import convict from 'convict';
import { nonEmptyString, objectList, oneOf, onlyKeys } from '../../config/object-list.ts';

export type ResourceAction = 'insert' | 'update' | 'upsert' | 'delete';

/** One change to the resource, applied in list order. */
export interface ResourceAttributeAction {
  readonly key: string;
  /** Required for insert, update and upsert; not allowed for delete. */
  readonly value?: string | number | boolean;
  readonly action: ResourceAction;
}

export interface ResourceConfig {
  readonly attributes: readonly ResourceAttributeAction[];
}

export const ACTIONS: readonly ResourceAction[] = ['insert', 'update', 'upsert', 'delete'];

// Module code runs once, so each format is registered once.
convict.addFormat({
  name: 'resource-attribute-actions',
  validate: objectList('resource attribute actions', (item, at) => {
    onlyKeys(item, at, ['key', 'value', 'action']);
    nonEmptyString(item, at, 'key', true);
    oneOf(item, at, 'action', ACTIONS);
    const value = item['value'];
    if (item['action'] === 'delete') {
      if (value !== undefined) throw new Error(`${at}: "value" is not allowed with action delete`);
      return;
    }
    if (typeof value !== 'string' && typeof value !== 'number' && typeof value !== 'boolean') {
      throw new Error(`${at}: "value" must be a string, number or boolean for action ${String(item['action'])}`);
    }
  }),
});

export const schema = {
  attributes: {
    doc: 'Resource attribute changes, applied in order: {key, value, action}. insert adds a missing key, update changes an existing one, upsert does either, delete removes it (no value).',
    format: 'resource-attribute-actions',
    default: [] as ResourceAttributeAction[],
  },
};

export function createDefaultConfig(): ResourceConfig {
  return { attributes: [] };
}
