/**
 * Upstream's EndpointSlice controller (pkg/controller/endpointslice): for each Service with a
 * selector, EndpointSlices of at most --max-endpoints-per-slice endpoints each, labelled
 * kubernetes.io/service-name and endpointslice.kubernetes.io/managed-by, owned by the Service.
 * Services without a selector get theirs from the mirroring controller.
 */
import { CORE_V1, type ControllerContext, Informer, type KubeObject, objectKey } from 'skiff/sdk';
import type { OwnerReference } from 'skiff/sdk/api';
import {
  ControllerQueue,
  newControllerRef,
  ServicePodIndex,
  serviceIPFamily,
  serviceSelector,
  TriggerTimeTracker,
  waitForCacheSync,
} from 'skiff/sdk/controller';
import { planSlices } from './plan.js';
import { desiredGroups, ZONE_LABEL } from './pod-endpoints.js';
import { SliceIndex } from './slice-index.js';
import {
  canonical,
  MANAGED_BY_LABEL,
  rfc3339Nano,
  SERVICE_NAME_LABEL,
  SLICE_CONTROLLER,
  SLICES,
  type Slice,
  slicePrefix,
  TRIGGER_TIME,
} from './slices.js';
import { SliceTracker } from './tracker.js';
import { applyPlan, deleteSlice, type SliceMetadata } from './writer.js';

const HEADLESS_LABEL = 'service.kubernetes.io/headless';
const RESERVED = new Set([SERVICE_NAME_LABEL, MANAGED_BY_LABEL, HEADLESS_LABEL]);

export interface SliceControllerOptions {
  workers: number;
  batchMs: number;
  maxPerSlice: number;
}

/** Upstream's setEndpointSliceLabels: the service's labels (reserved keys aside) and the controller's. */
function sliceLabels(service: KubeObject): Record<string, string> {
  const labels: Record<string, string> = {};
  for (const [k, v] of Object.entries(service.metadata.labels ?? {})) if (!RESERVED.has(k)) labels[k] = v;
  labels[SERVICE_NAME_LABEL] = service.metadata.name ?? '';
  labels[MANAGED_BY_LABEL] = SLICE_CONTROLLER;
  if ((service.spec as { clusterIP?: string } | undefined)?.clusterIP === 'None') labels[HEADLESS_LABEL] = '';
  return labels;
}

const ownedBy = (slice: Slice, ref: OwnerReference) =>
  (slice.metadata.ownerReferences ?? []).some((r) => r.uid === ref.uid && r.controller === true);

export class EndpointSliceController {
  private readonly services: Informer;
  private readonly pods: Informer;
  private readonly nodes: Informer;
  private readonly slices: Informer;
  private readonly index = new ServicePodIndex();
  private readonly owned = new SliceIndex(SLICE_CONTROLLER);
  private readonly tracker = new SliceTracker((ns, name) => this.slices.items.get(`${ns}/${name}`));
  private readonly triggers = new TriggerTimeTracker();
  private readonly queue = new ControllerQueue();

  constructor(
    private readonly c: ControllerContext,
    private readonly options: SliceControllerOptions,
  ) {
    this.services = new Informer(c.client, CORE_V1('services'), c.logger);
    this.pods = new Informer(c.client, CORE_V1('pods'), c.logger);
    this.nodes = new Informer(c.client, CORE_V1('nodes'), c.logger);
    this.slices = new Informer(c.client, SLICES, c.logger);
  }

  async run(signal: AbortSignal): Promise<void> {
    const informers = [
      this.services.run(signal, (type, svc) => {
        if (type === 'DELETED') this.index.selectors.delete(svc);
        else this.index.selectors.set(svc);
        this.queue.add(objectKey(svc));
      }),
      this.pods.run(signal, (type, pod) => {
        for (const key of this.index.podChanged(type, pod)) this.queue.addAfter(key, this.options.batchMs);
      }),
      this.nodes.run(signal, () => {}),
      this.slices.run(signal, (type, slice) => {
        for (const owner of this.owned.changed(type, slice)) {
          if (this.tracker.observe(owner, type, slice)) this.queue.add(owner);
        }
      }),
    ];
    if (await waitForCacheSync([this.services, this.pods, this.nodes, this.slices], signal)) {
      informers.push(this.queue.run(signal, this.options.workers, (key) => this.sync(key), this.c.logger));
    }
    await Promise.all(informers);
  }

  private zoneOf = (node: string) => this.nodes.items.get(`/${node}`)?.metadata.labels?.[ZONE_LABEL];

  private async sync(key: string): Promise<void> {
    const service = this.services.items.get(key);
    if (!service) return this.serviceGone(key);
    if ((service.spec as { type?: string } | undefined)?.type === 'ExternalName' || !serviceSelector(service)) return;
    if (this.tracker.isStale(key))
      throw new Error(`the EndpointSlice informer has not caught up with the writes for ${key}`);
    const pods = this.index.podsOf(service);
    const triggerTime = this.triggers.compute(service, pods);
    const labels = sliceLabels(service);
    const ownerRef = newControllerRef(service, { apiVersion: 'v1', kind: 'Service' });
    const plan = planSlices(this.owned.of(key), desiredGroups(service, pods, this.zoneOf), {
      maxPerSlice: this.options.maxPerSlice,
      metadataCurrent: (s) => canonical(s.metadata.labels ?? {}) === canonical(labels) && ownedBy(s, ownerRef),
      placeholderType: serviceIPFamily(service),
    });
    if (!plan.create.length && !plan.update.length && !plan.delete.length) return;
    const meta: SliceMetadata = {
      namespace: service.metadata.namespace ?? '',
      generateName: slicePrefix(service.metadata.name ?? ''),
      labels,
      annotations: triggerTime ? { [TRIGGER_TIME]: rfc3339Nano(triggerTime) } : {},
      ownerReferences: [ownerRef],
    };
    await applyPlan(this.c.client, key, plan, meta, this.tracker, !service.metadata.deletionTimestamp);
  }

  /** Upstream leaves the slices of a deleted Service to the garbage collector; they go here at once too. */
  private async serviceGone(key: string): Promise<void> {
    for (const slice of this.owned.of(key)) await deleteSlice(this.c.client, key, slice, this.tracker);
    const [namespace = '', name = ''] = key.split('/');
    this.triggers.forget(namespace, name);
  }
}
