/**
 * Upstream's EndpointSlice mirroring controller (pkg/controller/endpointslicemirroring): the
 * Endpoints of a Service without a selector (written by hand, or by another controller) are
 * mirrored into EndpointSlices managed by endpointslicemirroring-controller.k8s.io and owned by
 * the Endpoints, so that readers of slices (kube-proxy) see them too. Endpoints labelled
 * endpointslice.kubernetes.io/skip-mirror=true (the API server's `default/kubernetes`), those of
 * Services with a selector, and those without a Service are not mirrored.
 */
import type { EndpointSubset } from 'kubernetes-types/core/v1.js';
import { CORE_V1, type ControllerContext, Informer, type KubeObject, objectKey } from 'skiff/sdk';
import {
  ControllerQueue,
  type EventRecorder,
  eventRecorder,
  newControllerRef,
  serviceSelector,
  waitForCacheSync,
} from 'skiff/sdk/controller';
import { mirrorSubsets } from './mirror-endpoints.js';
import { planSlices } from './plan.js';
import { SliceIndex } from './slice-index.js';
import {
  canonical,
  MANAGED_BY_LABEL,
  MIRRORING_CONTROLLER,
  SERVICE_NAME_LABEL,
  SKIP_MIRROR_LABEL,
  SLICES,
  slicePrefix,
  TRIGGER_TIME,
} from './slices.js';
import { SliceTracker } from './tracker.js';
import { applyPlan, deleteSlice, type SliceMetadata } from './writer.js';

const LAST_APPLIED = 'kubectl.kubernetes.io/last-applied-configuration';
const LEADER_ANNOTATION = 'control-plane.alpha.kubernetes.io/leader';

export interface MirroringOptions {
  workers: number;
  batchMs: number;
  maxPerSubset: number;
}

/** Upstream's newEndpointSlice: the Endpoints' labels and annotations (two aside), and the controller's labels. */
function mirroredMetadata(endpoints: KubeObject): Pick<SliceMetadata, 'labels' | 'annotations'> {
  const labels = { ...endpoints.metadata.labels };
  labels[SERVICE_NAME_LABEL] = endpoints.metadata.name ?? '';
  labels[MANAGED_BY_LABEL] = MIRRORING_CONTROLLER;
  const { [TRIGGER_TIME]: _t, [LAST_APPLIED]: _l, ...annotations } = endpoints.metadata.annotations ?? {};
  return { labels, annotations };
}

export class EndpointSliceMirroringController {
  private readonly services: Informer;
  private readonly endpoints: Informer;
  private readonly slices: Informer;
  private readonly owned = new SliceIndex(MIRRORING_CONTROLLER);
  private readonly tracker = new SliceTracker((ns, name) => this.slices.items.get(`${ns}/${name}`));
  private readonly queue = new ControllerQueue();
  private readonly recorder: EventRecorder;

  constructor(
    private readonly c: ControllerContext,
    private readonly options: MirroringOptions,
  ) {
    this.services = new Informer(c.client, CORE_V1('services'), c.logger);
    this.endpoints = new Informer(c.client, CORE_V1('endpoints'), c.logger);
    this.slices = new Informer(c.client, SLICES, c.logger);
    this.recorder = eventRecorder(c.client, 'endpointslicemirroring-controller', c.logger);
  }

  async run(signal: AbortSignal): Promise<void> {
    const informers = [
      this.services.run(signal, (_type, svc) => this.queue.add(objectKey(svc))),
      this.endpoints.run(signal, (_type, ep) => this.queue.addAfter(objectKey(ep), this.options.batchMs)),
      this.slices.run(signal, (type, slice) => {
        for (const owner of this.owned.changed(type, slice)) {
          if (this.tracker.observe(owner, type, slice)) this.queue.add(owner);
        }
      }),
    ];
    if (await waitForCacheSync([this.services, this.endpoints, this.slices], signal)) {
      informers.push(this.queue.run(signal, this.options.workers, (key) => this.sync(key), this.c.logger));
    }
    await Promise.all(informers);
  }

  /** Whether these Endpoints are to be mirrored at all. */
  private mirrored(key: string): KubeObject | undefined {
    const service = this.services.items.get(key);
    const endpoints = this.endpoints.items.get(key);
    if (!service || !endpoints || serviceSelector(service)) return undefined;
    const meta = endpoints.metadata;
    if (meta.labels?.[SKIP_MIRROR_LABEL] === 'true' || meta.annotations?.[LEADER_ANNOTATION]) return undefined;
    return endpoints;
  }

  private async sync(key: string): Promise<void> {
    const endpoints = this.mirrored(key);
    if (!endpoints) {
      for (const slice of this.owned.of(key)) await deleteSlice(this.c.client, key, slice, this.tracker);
      return;
    }
    if (this.tracker.isStale(key))
      throw new Error(`the EndpointSlice informer has not caught up with the writes for ${key}`);
    const { groups, invalid, skipped } = mirrorSubsets(
      (endpoints.subsets ?? []) as EndpointSubset[],
      this.options.maxPerSubset,
    );
    this.reportSkipped(endpoints, invalid, skipped);
    const { labels, annotations } = mirroredMetadata(endpoints);
    const ownerRef = newControllerRef(endpoints, { apiVersion: 'v1', kind: 'Endpoints' });
    const plan = planSlices(this.owned.of(key), groups, {
      maxPerSlice: this.options.maxPerSubset,
      metadataCurrent: (s) =>
        canonical(s.metadata.labels ?? {}) === canonical(labels) &&
        canonical(s.metadata.annotations ?? {}) === canonical(annotations) &&
        (s.metadata.ownerReferences ?? []).some((r) => r.uid === ownerRef.uid),
    });
    if (!plan.create.length && !plan.update.length && !plan.delete.length) return;
    const meta: SliceMetadata = {
      namespace: endpoints.metadata.namespace ?? '',
      generateName: slicePrefix(endpoints.metadata.name ?? ''),
      labels,
      annotations,
      ownerReferences: [ownerRef],
    };
    await applyPlan(this.c.client, key, plan, meta, this.tracker, !endpoints.metadata.deletionTimestamp);
  }

  /** Upstream's InvalidIPAddress and TooManyAddressesToMirror Events on the Endpoints. */
  private reportSkipped(endpoints: KubeObject, invalid: number, skipped: number): void {
    if (invalid > 0) {
      const message = `Skipped ${invalid} invalid IP addresses when mirroring to EndpointSlices`;
      this.recorder.event(endpoints, 'Warning', 'InvalidIPAddress', message, { apiVersion: 'v1', kind: 'Endpoints' });
    }
    if (skipped > 0) {
      const message = `A max of ${this.options.maxPerSubset} addresses can be mirrored to EndpointSlices per Endpoints subset. ${skipped} addresses were skipped`;
      this.recorder.event(endpoints, 'Warning', 'TooManyAddressesToMirror', message, {
        apiVersion: 'v1',
        kind: 'Endpoints',
      });
    }
  }
}
