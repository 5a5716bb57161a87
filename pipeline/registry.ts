import type { ComponentKind, Factory } from './component.ts';

/** The component types the config may name, by kind. */
export class FactoryRegistry {
  readonly #factories = new Map<string, Factory>();

  register(factory: Factory): this {
    const key = `${factory.kind}:${factory.type}`;
    if (this.#factories.has(key)) throw new Error(`${factory.kind} type "${factory.type}" is registered twice`);
    this.#factories.set(key, factory);
    return this;
  }

  get<K extends ComponentKind>(kind: K, type: string): Factory<K> | undefined {
    return this.#factories.get(`${kind}:${type}`) as Factory<K> | undefined;
  }

  types(kind: ComponentKind): string[] {
    return [...this.#factories.values()].filter((f) => f.kind === kind).map((f) => f.type).sort();
  }

  all(): Factory[] {
    return [...this.#factories.values()];
  }
}
