import type { Attributes, Counter } from '@opentelemetry/api';
import type { MetricData, ResourceMetrics } from '@opentelemetry/sdk-metrics';
import type { KubeLookup } from '../../kube/lookup.ts';
import type { KindName, ObjectMetaInfo, PersistentVolumeClaimInfo, PersistentVolumeInfo, PodInfo } from '../../kube/types.ts';
import type { ComponentSettings, Processor } from '../../pipeline/component.ts';
import type { K8sAttributesConfig, MetadataSource } from './config.ts';
import { CompiledExtractRule } from './extract.ts';
import { legacyLabelSuffix } from './label-names.ts';
import { ownerWorkload } from './owner.ts';

/** A data point is a volume series when its receiver says which plugin mounted it. */
const VOLUME_PLUGIN = 'volume_plugin';

type Outcome = 'enriched' | 'unmatched' | 'dropped';

/**
 * Adds Kubernetes names to data points from the shared watch cache: the pod (by UID, IP,
 * container ID or name, first rule that matches), its namespace, node and owning workload;
 * for volumes the claim, the volume, the storage class and the volume source; and the
 * labels/annotations the extraction rules ask for. Volume series of plugins that are not
 * PVC-backed are dropped unless kept. Without an API server it passes data through, so
 * PV-backed volumes keep the labels their mount path gave them.
 */
export class K8sAttributesProcessor implements Processor {
  readonly #settings: ComponentSettings;
  readonly #config: K8sAttributesConfig;
  readonly #lookup: KubeLookup | undefined;
  readonly #rules: CompiledExtractRule[];
  readonly #nonPvcPlugins: Set<string>;
  #points: Counter | undefined;

  constructor(settings: ComponentSettings, config: K8sAttributesConfig) {
    this.#settings = settings;
    this.#config = config;
    this.#rules = [
      ...config.extract.labels.map((rule) => new CompiledExtractRule(rule, 'labels')),
      ...config.extract.annotations.map((rule) => new CompiledExtractRule(rule, 'annotations')),
    ];
    this.#nonPvcPlugins = new Set(config.non_pvc_volume_plugins);
    const kinds = new Set<KindName>(['pods', 'persistentvolumes', 'persistentvolumeclaims']);
    for (const rule of this.#rules) {
      if (rule.from === 'namespace') kinds.add('namespaces');
      if (rule.from === 'node') kinds.add('nodes');
    }
    this.#lookup = settings.kube?.require([...kinds]);
  }

  start(): Promise<void> {
    this.#points = this.#settings.meter.createCounter('nodemeter_k8sattributes_points_total', {
      description: 'Data points seen by a k8sattributes processor, by outcome (enriched, unmatched, dropped).',
    });
    if (!this.#lookup) this.#settings.logger.warn('no Kubernetes API server configured: data points pass through without Kubernetes names');
    return Promise.resolve();
  }

  shutdown(): Promise<void> {
    return Promise.resolve();
  }

  process(batch: ResourceMetrics): ResourceMetrics {
    // Receivers reuse one attributes object for every family of a series: enrich it once.
    const memo = new Map<Attributes, Attributes | null>();
    const counts: Record<Outcome, number> = { enriched: 0, unmatched: 0, dropped: 0 };
    const scopeMetrics = batch.scopeMetrics.map((scope) => ({
      scope: scope.scope,
      metrics: scope.metrics
        .map((metric) => {
          const dataPoints = [];
          for (const point of metric.dataPoints) {
            let attributes = memo.get(point.attributes);
            if (attributes === undefined) {
              const [result, outcome] = this.#enrich(point.attributes);
              attributes = result;
              memo.set(point.attributes, attributes);
              counts[outcome]++;
            }
            if (attributes !== null) dataPoints.push({ ...point, attributes });
          }
          return { ...metric, dataPoints } as MetricData;
        })
        .filter((metric) => metric.dataPoints.length > 0),
    }));
    for (const outcome of ['enriched', 'unmatched', 'dropped'] as const) {
      if (counts[outcome] > 0) this.#points?.add(counts[outcome], { processor: this.#settings.id, outcome });
    }
    return { resource: batch.resource, scopeMetrics };
  }

  #enrich(attributes: Attributes): [Attributes | null, Outcome] {
    const plugin = attributes[VOLUME_PLUGIN];
    const isVolume = typeof plugin === 'string';
    if (isVolume && this.#nonPvcPlugins.has(plugin) && !this.#config.keep_non_pvc_volumes) return [null, 'dropped'];
    const lookup = this.#lookup;
    if (!lookup) return [attributes, 'unmatched'];
    const pod = this.#findPod(lookup, attributes);
    const { pv, pvc } = isVolume ? this.#findVolume(lookup, attributes, pod) : { pv: undefined, pvc: undefined };
    if (!pod && !pv && !pvc) return [attributes, 'unmatched'];

    const out: Record<string, string | number | boolean> = { ...(attributes as Record<string, string>) };
    const podLabels = pod !== undefined && (!isVolume || this.#config.volume_pod_labels || !(pv || pvc));
    if (pod) {
      out['namespace'] = pod.namespace;
      out['node'] ??= pod.nodeName;
      if (podLabels) {
        out['pod'] = pod.name;
        out['pod_uid'] = pod.uid;
        if (this.#config.owner_workload) Object.assign(out, ownerWorkload(pod));
      }
    }
    if (pvc) {
      out['namespace'] = pvc.namespace;
      out['persistentvolumeclaim'] = pvc.name;
      if (pvc.storageClass) out['storageclass'] = pvc.storageClass;
    }
    if (pv) {
      out['persistentvolume'] = pv.name;
      if (!out['storageclass'] && pv.storageClass) out['storageclass'] = pv.storageClass;
      out['volume_source'] = pv.sourceType;
    } else if (isVolume && !pvc && typeof out['persistentvolume'] === 'string' && lookup.synced) {
      // The path named a volume no PV has: an inline (ephemeral) volume, not a PersistentVolume.
      delete out['persistentvolume'];
    }
    this.#extract(lookup, out, pod, pv, pvc);
    if (this.#config.preset === 'pv_disk_usage') presetPvDiskUsage(out, pv, pvc);
    return [out, 'enriched'];
  }

  #findPod(lookup: KubeLookup, attributes: Attributes): PodInfo | undefined {
    for (const rule of this.#config.pod_association) {
      const value = attributes[rule.attribute];
      if (typeof value !== 'string' || value === '') continue;
      let pod: PodInfo | undefined;
      switch (rule.from) {
        case 'pod_uid':
          pod = lookup.podByUid(value);
          break;
        case 'pod_ip':
          pod = lookup.podByIp(value);
          break;
        case 'container_id':
          pod = lookup.podByContainerId(value.replace(/^[a-z]+:\/\//, ''));
          break;
        case 'pod_name': {
          const namespace = attributes[rule.namespace_attribute ?? 'namespace'];
          if (typeof namespace === 'string') pod = lookup.pod(namespace, value);
          break;
        }
      }
      if (pod) return pod;
    }
    return undefined;
  }

  #findVolume(lookup: KubeLookup, attributes: Attributes, pod: PodInfo | undefined): { pv?: PersistentVolumeInfo; pvc?: PersistentVolumeClaimInfo } {
    for (const rule of this.#config.volume_association) {
      const value = attributes[rule.attribute];
      if (typeof value !== 'string' || value === '') continue;
      if (rule.from === 'pv_name') {
        const pv = lookup.persistentVolume(value);
        if (pv) return { pv, pvc: pv.claimRef ? lookup.persistentVolumeClaim(pv.claimRef.namespace, pv.claimRef.name) : undefined };
      } else {
        const namespace = attributes[rule.namespace_attribute ?? 'namespace'];
        const pvc = typeof namespace === 'string' ? lookup.persistentVolumeClaim(namespace, value) : undefined;
        if (pvc) return { pvc, pv: pvc.volumeName ? lookup.persistentVolume(pvc.volumeName) : undefined };
      }
    }
    // A pod volume directory is named after the pod's volume; its claim is in the pod spec.
    const volume = attributes['volume'];
    const claim = pod && typeof volume === 'string' ? pod.claims[volume] : undefined;
    if (pod && claim) {
      const pvc = lookup.persistentVolumeClaim(pod.namespace, claim);
      return { pvc, pv: pvc?.volumeName ? lookup.persistentVolume(pvc.volumeName) : undefined };
    }
    return {};
  }

  #extract(
    lookup: KubeLookup,
    out: Record<string, string | number | boolean>,
    pod: PodInfo | undefined,
    pv: PersistentVolumeInfo | undefined,
    pvc: PersistentVolumeClaimInfo | undefined,
  ): void {
    if (this.#rules.length === 0) return;
    const extracted: Record<string, string> = {};
    const namespaceName = pvc?.namespace ?? pod?.namespace;
    const nodeName = pod?.nodeName ?? (typeof out['node'] === 'string' ? out['node'] : undefined);
    const sources: Record<MetadataSource, ObjectMetaInfo | undefined> = {
      pod,
      pv,
      pvc,
      namespace: namespaceName !== undefined ? lookup.namespace(namespaceName) : undefined,
      node: nodeName !== undefined ? lookup.node(nodeName) : undefined,
    };
    for (const rule of this.#rules) {
      const source = sources[rule.from];
      if (source) rule.apply(source, extracted);
    }
    // Identifying labels set above win over extracted ones of the same name.
    for (const [key, value] of Object.entries(extracted)) out[key] ??= value;
  }
}

function presetPvDiskUsage(out: Record<string, string | number | boolean>, pv: PersistentVolumeInfo | undefined, pvc: PersistentVolumeClaimInfo | undefined): void {
  if (pv) {
    out['pv_name'] = pv.name;
    for (const [key, value] of Object.entries(pv.labels)) out[`pv_${legacyLabelSuffix(key)}`] ??= value;
  }
  if (pvc) {
    out['pvc_name'] = pvc.name;
    for (const [key, value] of Object.entries(pvc.labels)) out[`pvc_${legacyLabelSuffix(key)}`] ??= value;
  }
}
