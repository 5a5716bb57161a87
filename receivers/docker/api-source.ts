import { sampleFromStats } from './api-sample.ts';
import type { ContainerInfo } from './container-info.ts';
import type { EngineClient } from './engine-client.ts';
import type { SampleSource } from './stats-rounds.ts';

/** Usage from the Engine API: one `stats?stream=false&one-shot=true` request per container. */
export class ApiSampleSource implements SampleSource {
  readonly name = 'api';
  readonly #client: EngineClient;

  constructor(client: EngineClient) {
    this.#client = client;
  }

  async read(info: ContainerInfo, signal: AbortSignal): ReturnType<SampleSource['read']> {
    return sampleFromStats(await this.#client.stats(info.id, signal), info.memoryLimitBytes);
  }
}
