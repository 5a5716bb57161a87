import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/** How often the device table may be read again because an unknown device turned up. */
const REREAD_AFTER_MS = 60_000;

/**
 * Block device names by major:minor from `<proc>/diskstats` (host-wide, not namespaced), for the
 * `device` label: `/dev/sda` as cAdvisor shows it. A device not in the table is labelled by its
 * numbers (`8:0`).
 */
export class BlockDevices {
  readonly #path: string;
  #names = new Map<string, string>();
  #readAtMs = -Infinity;

  constructor(procRoot: string) {
    this.#path = join(procRoot, 'diskstats');
  }

  name(major: number, minor: number): string {
    const key = `${major}:${minor}`;
    let name = this.#names.get(key);
    if (name === undefined && Date.now() - this.#readAtMs > REREAD_AFTER_MS) {
      this.#read();
      name = this.#names.get(key);
    }
    return name ?? key;
  }

  #read(): void {
    this.#readAtMs = Date.now();
    let text: string;
    try {
      text = readFileSync(this.#path, 'utf8');
    } catch {
      return;
    }
    const names = new Map<string, string>();
    for (const line of text.split('\n')) {
      const [major, minor, device] = line.trim().split(/\s+/);
      if (major && minor && device) names.set(`${major}:${minor}`, `/dev/${device}`);
    }
    this.#names = names;
  }
}
