import { readFileSync } from 'node:fs';
import { isMap, isSeq, Pair, parseDocument, Scalar } from 'yaml';

/** How messages name the embedded config. */
export const DEFAULT_CONFIG_SOURCE = 'embedded default config';

export interface DefaultConfigOptions {
  /** The agent can reach a Kubernetes API server: add the k8sattributes processor. */
  readonly kubernetes?: boolean;
  /** A Docker daemon answers at DOCKER_HOST or the default socket: add the docker receiver. */
  readonly docker?: boolean;
}

/** The YAML that runs when no --config is given; read beside this module so it ships as a plain file. */
export function defaultConfigText(options: DefaultConfigOptions = {}): string {
  const file = options.kubernetes ? './default-config-kubernetes.yaml' : './default-config.yaml';
  const text = readFileSync(new URL(file, import.meta.url), 'utf8');
  return options.docker ? withDockerReceiver(text) : text;
}

/** The config with the docker receiver added to its receivers and its metrics pipeline. */
function withDockerReceiver(text: string): string {
  const doc = parseDocument(text);
  const receivers = doc.get('receivers', true);
  const pipeline = doc.getIn(['service', 'pipelines', 'metrics', 'receivers'], true);
  if (!isMap(receivers) || !isSeq(pipeline)) throw new Error('the embedded default config has no receivers map or metrics pipeline receivers list');
  const key = new Scalar('docker');
  key.commentBefore =
    " Added because a Docker daemon answered at start ($DOCKER_HOST or /var/run/docker.sock): each\n" +
    " container's CPU, memory, network, block I/O and state with cAdvisor's names, from the Engine API.";
  receivers.add(new Pair(key, null));
  pipeline.add('docker');
  return doc.toString();
}
