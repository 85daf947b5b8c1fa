/**
 * Upstream's endpoints controller (pkg/controller/endpoint, the seed's 3.2.5): for each Service
 * with a selector, an Endpoints object of the same name listing its pods' addresses and ports,
 * written when the pods, their readiness or the Service change. Services without a selector are
 * left alone (their Endpoints are written by users, or by the API server for `default/kubernetes`);
 * when a Service goes, its Endpoints go too.
 */
import type { EndpointSubset } from 'kubernetes-types/core/v1.js';
import { CORE_V1, type ControllerContext, Informer, isStatusError, type KubeObject, objectKey } from 'skiff/sdk';
import {
  ControllerQueue,
  type EventRecorder,
  eventRecorder,
  ServicePodIndex,
  serviceSelector,
  TriggerTimeTracker,
  waitForCacheSync,
} from 'skiff/sdk/controller';
import { desiredSubsets, truncate } from './subsets.js';

const ENDPOINTS = CORE_V1('endpoints');
export const HEADLESS_LABEL = 'service.kubernetes.io/headless';
export const TRIGGER_TIME = 'endpoints.kubernetes.io/last-change-trigger-time';
export const OVER_CAPACITY = 'endpoints.kubernetes.io/over-capacity';
/** Leader-election records lived on Endpoints once; they have no Service and must stay. */
const LEADER_ANNOTATION = 'control-plane.alpha.kubernetes.io/leader';

export interface EndpointsOptions {
  workers: number;
  /** Upstream's --endpoint-updates-batch-period: pod changes wait this long, so bursts make one write. */
  batchMs: number;
}

type Obj = Record<string, unknown>;
const specOf = (o: KubeObject): Obj => (o.spec ?? {}) as Obj;

/** JSON with sorted keys, so objects that differ only in key order compare equal. */
export function canonical(value: unknown): string {
  return JSON.stringify(value, (_k, v) =>
    v && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : 1)))
      : v,
  );
}

/** Go's time.Format(RFC3339Nano): trailing zeros of the fraction dropped. */
export function rfc3339Nano(at: Date): string {
  return at
    .toISOString()
    .replace(/(\.\d*?)0+Z$/, '$1Z')
    .replace('.Z', 'Z');
}

export class EndpointsController {
  private readonly services: Informer;
  private readonly pods: Informer;
  private readonly endpoints: Informer;
  private readonly index = new ServicePodIndex();
  private readonly queue = new ControllerQueue();
  private readonly triggers = new TriggerTimeTracker();
  /** Endpoints resourceVersions this controller wrote over: the informer holding one is behind. */
  private readonly stale = new Map<string, string>();
  private readonly recorder: EventRecorder;

  constructor(
    private readonly c: ControllerContext,
    private readonly options: EndpointsOptions,
  ) {
    this.services = new Informer(c.client, CORE_V1('services'), c.logger);
    this.pods = new Informer(c.client, CORE_V1('pods'), c.logger);
    this.endpoints = new Informer(c.client, ENDPOINTS, c.logger);
    this.recorder = eventRecorder(c.client, 'endpoint-controller', c.logger);
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
      this.endpoints.run(signal, (type, ep) => {
        if (type === 'DELETED') this.queue.add(objectKey(ep));
      }),
    ];
    if (await waitForCacheSync([this.services, this.pods, this.endpoints], signal)) {
      this.checkLeftoverEndpoints();
      informers.push(this.queue.run(signal, this.options.workers, (key) => this.sync(key), this.c.logger));
    }
    await Promise.all(informers);
  }

  /** Upstream's checkLeftoverEndpoints: Endpoints whose Service went while this controller was down go too. */
  private checkLeftoverEndpoints(): void {
    for (const [key, ep] of this.endpoints.items) {
      if (!ep.metadata.annotations?.[LEADER_ANNOTATION]) this.queue.add(key);
    }
  }

  private async sync(key: string): Promise<void> {
    const [namespace = '', name = ''] = key.split('/');
    const service = this.services.items.get(key);
    if (!service) return this.deleteEndpoints(namespace, name);
    if (specOf(service).type === 'ExternalName') return;
    if (!serviceSelector(service)) return;
    const pods = this.index.podsOf(service);
    const triggerTime = this.triggers.compute(service, pods);
    const subsets = desiredSubsets(service, pods);
    const current = this.endpoints.items.get(key);
    if (current && this.stale.get(key) === current.metadata.resourceVersion) {
      throw new Error(
        `endpoints informer cache is out of date: ${key} at ${current.metadata.resourceVersion} was replaced`,
      );
    }
    if (current && this.upToDate(current, service, subsets)) return;
    await this.write(service, current, subsets, triggerTime);
  }

  private async deleteEndpoints(namespace: string, name: string): Promise<void> {
    try {
      await this.c.client.delete(ENDPOINTS, namespace, name);
    } catch (err) {
      if (!isStatusError(err) || err.code !== 404) throw err;
    }
    this.triggers.forget(namespace, name);
    this.stale.delete(`${namespace}/${name}`);
  }

  /** Same subsets, the service's labels, and the over-capacity annotation as it should be. */
  private upToDate(current: KubeObject, service: KubeObject, subsets: EndpointSubset[]): boolean {
    const { [HEADLESS_LABEL]: _, ...labels } = current.metadata.labels ?? {};
    const count = (current.subsets as EndpointSubset[] | undefined)?.reduce(
      (n, s) => n + (s.addresses?.length ?? 0) + (s.notReadyAddresses?.length ?? 0),
      0,
    );
    const capacityOk = (count ?? 0) <= 1000 && !current.metadata.annotations?.[OVER_CAPACITY];
    return (
      capacityOk &&
      canonical(current.subsets ?? []) === canonical(subsets) &&
      canonical(labels) === canonical(service.metadata.labels ?? {})
    );
  }

  private async write(
    service: KubeObject,
    current: KubeObject | undefined,
    subsets: EndpointSubset[],
    triggerTime: Date | undefined,
  ): Promise<void> {
    const { namespace = '', name = '' } = service.metadata;
    const annotations: Record<string, string> = { ...current?.metadata.annotations };
    if (triggerTime) annotations[TRIGGER_TIME] = rfc3339Nano(triggerTime);
    else delete annotations[TRIGGER_TIME];
    if (truncate(subsets)) annotations[OVER_CAPACITY] = 'truncated';
    else delete annotations[OVER_CAPACITY];
    const labels: Record<string, string> = { ...service.metadata.labels };
    const clusterIP = specOf(service).clusterIP;
    if (!clusterIP || clusterIP === 'None') labels[HEADLESS_LABEL] = '';
    const metadata = { ...(current?.metadata ?? { name, namespace }), labels, annotations };
    const endpoints: KubeObject = { apiVersion: 'v1', kind: 'Endpoints', metadata, subsets };
    try {
      if (!current) await this.c.client.create(ENDPOINTS, namespace, endpoints);
      else {
        const updated = await this.c.client.update(ENDPOINTS, namespace, endpoints);
        if (updated.metadata.resourceVersion !== current.metadata.resourceVersion) {
          this.stale.set(`${namespace}/${name}`, current.metadata.resourceVersion ?? '');
        }
      }
    } catch (err) {
      // A namespace being deleted refuses new objects; nothing to retry.
      if (!current && isStatusError(err) && err.code === 403 && /terminat/i.test(err.message)) return;
      const [reason, message] = current
        ? ['FailedToUpdateEndpoint', `Failed to update endpoint ${namespace}/${name}: ${(err as Error).message}`]
        : [
            'FailedToCreateEndpoint',
            `Failed to create endpoint for service ${namespace}/${name}: ${(err as Error).message}`,
          ];
      this.recorder.event(endpoints, 'Warning', reason, message);
      throw err;
    }
  }
}
