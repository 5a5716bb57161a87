import { createHash } from 'node:crypto';
import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import { FileSnapshots } from '../../pipeline/file-snapshots.ts';

/** How a https target is verified. Ignored for http targets. */
export interface ScrapeTlsOptions {
  /** PEM bundle of the CAs to trust instead of the system store (Prometheus' `ca_file`). */
  readonly caFile?: string;
  /** Accept any certificate for any name (the aggregator's `tls-verify: false`). The CA file is then not read. */
  readonly insecureSkipVerify?: boolean;
  /** Name sent as SNI and checked against the certificate, instead of the URL's host. */
  readonly serverName?: string;
}

/** Connection limits, the same for every agent. */
export interface ScrapeAgentLimits {
  /** Connections open to one target (host:port) at a time; further scrapes of it wait. */
  readonly maxSocketsPerTarget: number;
  /** Idle keep-alive connections kept per target. */
  readonly maxFreeSocketsPerTarget: number;
  /** Connections open through one agent (one TLS configuration) at a time. */
  readonly maxTotalSockets: number;
  /** An idle keep-alive connection is closed after this long. */
  readonly idleSocketTimeoutMs: number;
}

/** A CA file that cannot be read; the client reports it with reason `ca_file`. */
export class CaFileError extends Error {}

/** The agent to use for one TLS configuration, as resolved by {@link ScrapeAgents.resolve}. */
export interface AgentKey {
  /** `http`, `insecure`, `system` or `ca:<sha256 of the CA file>`. */
  readonly key: string;
  readonly ca: Buffer | undefined;
}

/** An agent held for one request; `release()` once the request is over. */
export interface AgentLease {
  readonly agent: HttpAgent;
  release(): void;
}

interface Entry {
  readonly agent: HttpAgent;
  leases: number;
  /** No longer the agent for any configuration: destroyed once its last lease is released. */
  retired: boolean;
}

/** CA bundles are a few KiB; a multi-megabyte "CA file" is a mistake, not something to load. */
const MAX_CA_FILE_BYTES = 4 * 1024 * 1024;

/**
 * Keep-alive agents, one per distinct TLS configuration (CA file contents + verify flag),
 * all with the same bounded pools. An agent serves every target with that configuration;
 * Node keys its pooled connections by host, port and SNI name inside it. When a CA file's
 * contents change, later scrapes get a new agent and the old one is destroyed once no scrape
 * still uses it.
 */
export class ScrapeAgents {
  readonly #limits: ScrapeAgentLimits;
  readonly #entries = new Map<string, Entry>();
  readonly #caFiles = new FileSnapshots(MAX_CA_FILE_BYTES);
  /** CA file path → key of its current contents. */
  readonly #caKeys = new Map<string, string>();

  constructor(limits: ScrapeAgentLimits) {
    this.#limits = limits;
  }

  /**
   * The agent key for a URL's scheme and TLS options, reading the CA file when it is new or
   * changed. Rejects with {@link CaFileError}. Has no effect on the pool, so a caller that gives
   * up while this runs leaves nothing behind.
   */
  async resolve(protocol: 'http:' | 'https:', tls: ScrapeTlsOptions | undefined): Promise<AgentKey> {
    if (protocol === 'http:') return { key: 'http', ca: undefined };
    if (tls?.insecureSkipVerify === true) return { key: 'insecure', ca: undefined };
    const caFile = tls?.caFile;
    if (caFile === undefined || caFile === '') return { key: 'system', ca: undefined };
    let contents: Buffer;
    try {
      ({ contents } = await this.#caFiles.read(caFile));
    } catch (err) {
      throw new CaFileError((err as Error).message, { cause: err });
    }
    const key = `ca:${createHash('sha256').update(contents).digest('hex')}`;
    const previous = this.#caKeys.get(caFile);
    if (previous !== key) {
      this.#caKeys.set(caFile, key);
      if (previous !== undefined) this.#retireUnlessUsed(previous);
    }
    return { key, ca: contents };
  }

  /** Takes the agent for `key`, creating it on first use. */
  lease(key: AgentKey): AgentLease {
    let entry = this.#entries.get(key.key);
    if (entry === undefined) {
      entry = { agent: this.#create(key), leases: 0, retired: false };
      // A key whose CA file changed between resolve() and here gets a one-off agent.
      if (key.key.startsWith('ca:') && !this.#isCurrentCa(key.key)) entry.retired = true;
      else this.#entries.set(key.key, entry);
    }
    const held = entry;
    held.leases += 1;
    let released = false;
    return {
      agent: held.agent,
      release: () => {
        if (released) return;
        released = true;
        held.leases -= 1;
        if (held.retired && held.leases === 0) held.agent.destroy();
      },
    };
  }

  /** Closes every connection, idle or busy. */
  destroy(): void {
    for (const entry of this.#entries.values()) entry.agent.destroy();
    this.#entries.clear();
    this.#caKeys.clear();
  }

  #create(key: AgentKey): HttpAgent {
    const options = {
      keepAlive: true,
      maxSockets: this.#limits.maxSocketsPerTarget,
      maxFreeSockets: this.#limits.maxFreeSocketsPerTarget,
      maxTotalSockets: this.#limits.maxTotalSockets,
      // Also applies to idle pooled sockets: the agent closes them when it fires.
      timeout: this.#limits.idleSocketTimeoutMs,
      scheduling: 'lifo' as const,
    };
    if (key.key === 'http') return new HttpAgent(options);
    return new HttpsAgent({ ...options, rejectUnauthorized: key.key !== 'insecure', ca: key.ca });
  }

  #isCurrentCa(key: string): boolean {
    for (const current of this.#caKeys.values()) if (current === key) return true;
    return false;
  }

  #retireUnlessUsed(key: string): void {
    if (this.#isCurrentCa(key)) return;
    const entry = this.#entries.get(key);
    if (entry === undefined) return;
    this.#entries.delete(key);
    entry.retired = true;
    if (entry.leases === 0) entry.agent.destroy();
  }
}
