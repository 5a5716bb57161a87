import { readContainerSample } from './cgroup-reader.ts';
import { locateContainerCgroup, type ContainerCgroup } from './cgroup-paths.ts';
import type { ContainerInfo } from './container-info.ts';
import type { SampleSource } from './stats-rounds.ts';

export interface CgroupSourceOptions {
  readonly cgroupRoot: string;
  readonly procRoot: string;
}

/**
 * Usage straight from each container's cgroup files and its main process's /proc/<pid>/net/dev:
 * no request to the daemon per container. Where a container's cgroup is gets found once per
 * container and process (a restart changes the pid) and kept.
 */
export class CgroupSampleSource implements SampleSource {
  readonly name = 'cgroup';
  readonly #opts: CgroupSourceOptions;
  readonly #located = new Map<string, { pid: number; cgroup: ContainerCgroup }>();

  constructor(options: CgroupSourceOptions) {
    this.#opts = options;
  }

  read(info: ContainerInfo): ReturnType<SampleSource['read']> {
    let known = this.#located.get(info.id);
    if (!known || known.pid !== info.pid) {
      const cgroup = locateContainerCgroup(this.#opts, info.id, info.pid > 0 ? info.pid : undefined);
      if (!cgroup) return Promise.reject(new Error(`no cgroup found for container ${info.name} (${info.id.slice(0, 12)}) under ${this.#opts.cgroupRoot}`));
      known = { pid: info.pid, cgroup };
      this.#located.set(info.id, known);
    }
    return Promise.resolve(readContainerSample(known.cgroup, { procRoot: this.#opts.procRoot }, info.pid > 0 ? info.pid : undefined));
  }

  retain(ids: ReadonlySet<string>): void {
    for (const id of this.#located.keys()) if (!ids.has(id)) this.#located.delete(id);
  }
}
