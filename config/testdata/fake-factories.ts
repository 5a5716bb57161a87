import type { ComponentKind, Factory } from '../../pipeline/component.ts';
import { FactoryRegistry } from '../../pipeline/registry.ts';
import '../formats.ts';

// Small stand-ins for real factories: their schemas use every convict feature the loader must
// handle (nested groups, durations, regexes, lists, enums, ports, booleans, maps).

function fake<K extends ComponentKind>(kind: K, type: string, schema: Record<string, unknown>, validate?: Factory<K>['validate']): Factory<K> {
  return {
    type,
    kind,
    schema,
    createDefaultConfig: () => ({}),
    ...(validate ? { validate } : {}),
    create: () => {
      throw new Error('fake factories only take part in config tests');
    },
  };
}

export const fakeVolumes = fake(
  'receiver',
  'volumes',
  {
    root_path: { doc: 'Host root.', format: String, default: '' },
    api_version: { doc: 'A version string that looks like a number.', format: String, default: '1.41' },
    statfs_timeout: { doc: 'statfs deadline.', format: 'duration', default: '5s' },
    include_mounts: { doc: 'Mount points to report.', format: 'regex', default: '.*' },
    mount_points: { doc: 'Roots to look under.', format: 'string-array', default: ['/var/lib/kubelet'] },
    log_level: { doc: 'Verbosity.', format: ['debug', 'info', 'warn'], default: 'info' },
    enabled: { doc: 'On or off.', format: Boolean, default: true },
    ratio: { doc: 'A float.', format: Number, default: 0.5 },
    limits: {
      max_mounts: { doc: 'Upper bound.', format: 'nat', default: 1000 },
      concurrency: { doc: 'Workers.', format: 'int', default: 4 },
    },
  },
  (config) => {
    const limits = (config as { limits: { max_mounts: number; concurrency: number } }).limits;
    return limits.concurrency > limits.max_mounts ? [{ path: 'limits.concurrency', message: 'must not exceed limits.max_mounts' }] : [];
  },
);

export const fakeDocker = fake('receiver', 'dockerstats', {
  endpoint: { doc: 'Engine socket.', format: String, default: 'unix:///var/run/docker.sock' },
  collection_interval: { doc: 'Refresh period.', format: 'duration', default: '15s' },
});

export const fakeFilter = fake('processor', 'filter', {
  metrics: {
    include: { doc: 'Names to keep.', format: 'string-array', default: [] },
    exclude: { doc: 'Names to drop.', format: 'string-array', default: [] },
  },
});

export const fakeProm = fake('exporter', 'prom', {
  endpoint: {
    host: { doc: 'Listen host.', format: String, default: '0.0.0.0' },
    port: { doc: 'Listen port.', format: 'port', default: 9464 },
  },
  const_labels: { doc: 'Extra labels.', format: Object, default: {} },
});

export const fakePush = fake('exporter', 'push', {
  url: { doc: 'Gateway URL.', format: String, default: 'http://pushgateway:9091' },
  interval: { doc: 'Push period.', format: 'duration', default: '30s' },
});

export function fakeRegistry(): FactoryRegistry {
  const r = new FactoryRegistry();
  for (const f of [fakeVolumes, fakeDocker, fakeFilter, fakeProm, fakePush]) r.register(f);
  return r;
}
