import type { ObjectMetaInfo } from '../../kube/types.ts';
import type { ExtractRule, MetadataSource } from './config.ts';
import { sanitizeLabelName } from './label-names.ts';

/** Extraction rules compiled once: a fixed key, or a regexp with a `$n` tag template. */
export class CompiledExtractRule {
  readonly from: MetadataSource;
  readonly #field: 'labels' | 'annotations';
  readonly #key: string | undefined;
  readonly #regex: RegExp | undefined;
  readonly #tag: string;

  constructor(rule: ExtractRule, field: 'labels' | 'annotations') {
    this.from = rule.from;
    this.#field = field;
    this.#key = rule.key;
    this.#regex = rule.key_regex !== undefined ? new RegExp(`^(?:${rule.key_regex})$`) : undefined;
    const kind = field === 'labels' ? 'label' : 'annotation';
    // Default tag names follow kube-state-metrics: label_<key> for the pod, <from>_label_<key> otherwise.
    this.#tag = rule.tag_name ?? `${rule.from === 'pod' ? '' : `${rule.from}_`}${kind}_${rule.key ?? '$1'}`;
  }

  apply(object: ObjectMetaInfo, into: Record<string, string>): void {
    const source = object[this.#field];
    if (this.#key !== undefined) {
      const value = source[this.#key];
      if (value !== undefined) into[sanitizeLabelName(this.#tag.replace(/\$1/g, this.#key))] = value;
      return;
    }
    const regex = this.#regex;
    if (!regex) return;
    for (const [key, value] of Object.entries(source)) {
      const match = regex.exec(key);
      if (!match) continue;
      const tag = this.#tag.replace(/\$(\d)/g, (_, group: string) => match[Number(group)] ?? '');
      into[sanitizeLabelName(tag)] = value;
    }
  }
}
