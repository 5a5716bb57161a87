/**
 * An include/exclude pair of regexps, each searched as given (node_exporter's Go semantics:
 * unanchored unless the pattern anchors itself). Empty include selects everything; empty
 * exclude rejects nothing; when both are set, both apply.
 */
export class RegexFilter {
  readonly #include: RegExp | undefined;
  readonly #exclude: RegExp | undefined;

  constructor(include: string, exclude: string) {
    this.#include = include === '' ? undefined : new RegExp(include);
    this.#exclude = exclude === '' ? undefined : new RegExp(exclude);
  }

  accepts(value: string): boolean {
    if (this.#include && !this.#include.test(value)) return false;
    return !(this.#exclude && this.#exclude.test(value));
  }
}
