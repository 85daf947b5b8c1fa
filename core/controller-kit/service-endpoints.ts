/**
 * What the endpoints and EndpointSlice controllers share, after upstream's k8s.io/endpointslice
 * util and podutil: which pods belong in a Service's endpoints, the address and port each pod
 * offers, the pod's DNS hostname, which Services select a pod (an index by namespace), and the
 * `endpoints.kubernetes.io/last-change-trigger-time` tracker.
 */
import type { KubeObject } from '../api/types.js';
import { type ChangeType, objectKey } from '../client/informer.js';
import { isPodReady, podPhase } from './pods.js';

type Obj = Record<string, unknown>;
const obj = (v: unknown): Obj => (v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Obj) : {});
const objects = (v: unknown): Obj[] => (Array.isArray(v) ? v.map(obj) : []);

/** A Service's selector: undefined when it has none (null or absent), which is not the same as `{}`. */
export function serviceSelector(service: KubeObject): Record<string, string> | undefined {
  const selector = obj(service.spec).selector;
  if (selector === undefined || selector === null || typeof selector !== 'object') return undefined;
  return selector as Record<string, string>;
}

/** Upstream's labels.Set(selector).AsSelector().Matches: every key equal (`{}` selects everything). */
export function selectsLabels(selector: Record<string, string>, labels: Record<string, string> | undefined): boolean {
  for (const key in selector) if (labels?.[key] !== selector[key]) return false;
  return true;
}

/** The pod's IPs: status.podIPs, else status.podIP. */
export function podIPs(pod: KubeObject): string[] {
  const status = obj(pod.status);
  const ips = objects(status.podIPs).flatMap((p) => (typeof p.ip === 'string' && p.ip ? [p.ip] : []));
  if (ips.length) return ips;
  return typeof status.podIP === 'string' && status.podIP ? [status.podIP] : [];
}

/** Upstream's IsPodTerminal: Succeeded or Failed. */
export function isPodTerminal(pod: KubeObject): boolean {
  const phase = podPhase(pod);
  return phase === 'Succeeded' || phase === 'Failed';
}

/**
 * Upstream's ShouldPodBeInEndpoints: not terminal, with an IP, and (unless terminating pods are
 * wanted: publishNotReadyAddresses, or EndpointSlices) not being deleted.
 */
export function shouldPodBeInEndpoints(pod: KubeObject, includeTerminating: boolean): boolean {
  if (isPodTerminal(pod)) return false;
  if (podIPs(pod).length === 0) return false;
  return includeTerminating || !pod.metadata.deletionTimestamp;
}

const isIPv6 = (ip: string) => ip.includes(':');

/** The service's IP family: spec.ipFamilies[0], else its cluster IP's, else the pod's first IP's. */
export function serviceIPFamily(service: KubeObject, pod?: KubeObject): 'IPv4' | 'IPv6' {
  const spec = obj(service.spec);
  const families = Array.isArray(spec.ipFamilies) ? spec.ipFamilies : [];
  if (families[0] === 'IPv6' || families[0] === 'IPv4') return families[0];
  const clusterIP = typeof spec.clusterIP === 'string' ? spec.clusterIP : '';
  if (clusterIP && clusterIP !== 'None') return isIPv6(clusterIP) ? 'IPv6' : 'IPv4';
  return pod && isIPv6(podIPs(pod)[0] ?? '') ? 'IPv6' : 'IPv4';
}

/** The pod's IP of the service's family, or undefined (a single-stack pod of the other family). */
export function podIPForService(service: KubeObject, pod: KubeObject): string | undefined {
  const family = serviceIPFamily(service, pod);
  return podIPs(pod).find((ip) => isIPv6(ip) === (family === 'IPv6'));
}

/** Upstream's ShouldSetHostname: the pod names a hostname and the service as its subdomain. */
export function shouldSetHostname(pod: KubeObject, service: KubeObject): boolean {
  const spec = obj(pod.spec);
  return (
    typeof spec.hostname === 'string' &&
    spec.hostname !== '' &&
    spec.subdomain === service.metadata.name &&
    pod.metadata.namespace === service.metadata.namespace
  );
}

/**
 * Upstream's podutil.FindPort: a numeric targetPort is the port; a named one is the container port
 * of that name and the service port's protocol (app containers, then restartable init containers).
 * Undefined when the pod has no such port. A missing targetPort means the service port.
 */
export function findPort(pod: KubeObject, servicePort: Obj): number | undefined {
  const target = servicePort.targetPort ?? servicePort.port;
  if (typeof target === 'number') return target;
  if (typeof target !== 'string') return undefined;
  const protocol = servicePort.protocol ?? 'TCP';
  const spec = obj(pod.spec);
  const sidecars = objects(spec.initContainers).filter((c) => c.restartPolicy === 'Always');
  for (const container of [...objects(spec.containers), ...sidecars]) {
    for (const port of objects(container.ports)) {
      if (port.name === target && (port.protocol ?? 'TCP') === protocol && typeof port.containerPort === 'number') {
        return port.containerPort;
      }
    }
  }
  return undefined;
}

/**
 * Which Services (with a selector) of each namespace select a pod: upstream's
 * GetPodServiceMemberships, kept as an index the controllers feed from their Service informer.
 */
export class ServiceSelectorIndex {
  private readonly byNamespace = new Map<string, Map<string, Record<string, string>>>();

  /** Records (or forgets, when it has no selector) a service's selector. */
  set(service: KubeObject): void {
    const { namespace = '', name = '' } = service.metadata;
    const selector = serviceSelector(service);
    let services = this.byNamespace.get(namespace);
    if (!selector) {
      services?.delete(name);
      return;
    }
    if (!services) {
      services = new Map();
      this.byNamespace.set(namespace, services);
    }
    services.set(name, selector);
  }

  delete(service: KubeObject): void {
    this.byNamespace.get(service.metadata.namespace ?? '')?.delete(service.metadata.name ?? '');
  }

  /** The `namespace/name` keys of the services whose selector matches these labels. */
  servicesFor(namespace: string, labels: Record<string, string> | undefined): string[] {
    const keys: string[] = [];
    for (const [name, selector] of this.byNamespace.get(namespace) ?? []) {
      if (selectsLabels(selector, labels)) keys.push(`${namespace}/${name}`);
    }
    return keys;
  }
}

/** When the pod last changed readiness (its Ready condition's lastTransitionTime), in ms, or undefined. */
function podTriggerTime(pod: KubeObject): number | undefined {
  const ready = objects(obj(pod.status).conditions).find((c) => c.type === 'Ready');
  const at = typeof ready?.lastTransitionTime === 'string' ? Date.parse(ready.lastTransitionTime) : Number.NaN;
  return Number.isNaN(at) ? undefined : at;
}

/**
 * Upstream's TriggerTimeTracker: the value of `endpoints.kubernetes.io/last-change-trigger-time`,
 * the earliest time one of the changes a sync reflects happened: a pod's readiness changing or the
 * service being created. Undefined when nothing changed since the last sync (the annotation is
 * then removed).
 */
export class TriggerTimeTracker {
  private readonly states = new Map<string, { pods: Map<string, number>; service: number }>();

  compute(service: KubeObject, pods: readonly KubeObject[]): Date | undefined {
    const key = `${service.metadata.namespace}/${service.metadata.name}`;
    const state = this.states.get(key);
    const serviceTime = Date.parse(service.metadata.creationTimestamp ?? '') || 0;
    let earliest: number | undefined;
    const podTimes = new Map<string, number>();
    for (const pod of pods) {
      const at = podTriggerTime(pod);
      if (at === undefined) continue;
      podTimes.set(pod.metadata.name ?? '', at);
      if (at > (state?.pods.get(pod.metadata.name ?? '') ?? 0)) earliest = Math.min(earliest ?? at, at);
    }
    if (serviceTime > (state?.service ?? 0)) earliest = Math.min(earliest ?? serviceTime, serviceTime);
    this.states.set(key, { pods: podTimes, service: serviceTime });
    if (!state) earliest = serviceTime;
    return earliest ? new Date(earliest) : undefined;
  }

  forget(namespace: string, name: string): void {
    this.states.delete(`${namespace}/${name}`);
  }
}

/** Whether a pod's endpoint-relevant parts differ (upstream's podEndpointsChanged, plus the ready time). */
export function endpointFingerprint(pod: KubeObject): string {
  const spec = obj(pod.spec);
  return JSON.stringify([
    podIPs(pod),
    isPodReady(pod),
    podTriggerTime(pod),
    Boolean(pod.metadata.deletionTimestamp),
    isPodTerminal(pod),
    spec.hostname,
    spec.subdomain,
    spec.nodeName,
  ]);
}

interface SeenPod {
  labels: Record<string, string> | undefined;
  labelsText: string;
  fingerprint: string;
}

/**
 * The pods of each namespace and the selectors of its Services, fed by a controller's informers:
 * which pods a Service selects, and which Services a pod change concerns (upstream's
 * GetServicesToUpdateOnPodChange): those selecting the pod now, plus those that selected it before
 * when its labels changed. A change endpoints do not show (an annotation, a restart count)
 * concerns none.
 */
export class ServicePodIndex {
  readonly selectors = new ServiceSelectorIndex();
  private readonly pods = new Map<string, Map<string, KubeObject>>();
  private readonly seen = new Map<string, SeenPod>();

  /** The pods a service's selector matches (none when it has no selector). */
  podsOf(service: KubeObject): KubeObject[] {
    const selector = serviceSelector(service);
    if (!selector) return [];
    const pods = this.pods.get(service.metadata.namespace ?? '')?.values() ?? [];
    return [...pods].filter((p) => selectsLabels(selector, p.metadata.labels));
  }

  /** Records a pod change; returns the `namespace/name` keys of the services to sync. */
  podChanged(type: ChangeType, pod: KubeObject): string[] {
    const namespace = pod.metadata.namespace ?? '';
    const key = objectKey(pod);
    const before = this.seen.get(key);
    if (type === 'DELETED') {
      this.pods.get(namespace)?.delete(pod.metadata.name ?? '');
      this.seen.delete(key);
      return this.selectors.servicesFor(namespace, before?.labels ?? pod.metadata.labels);
    }
    let pods = this.pods.get(namespace);
    if (!pods) {
      pods = new Map();
      this.pods.set(namespace, pods);
    }
    pods.set(pod.metadata.name ?? '', pod);
    const labels = pod.metadata.labels;
    const now = { labels, labelsText: JSON.stringify(labels ?? {}), fingerprint: endpointFingerprint(pod) };
    this.seen.set(key, now);
    if (before && before.labelsText === now.labelsText && before.fingerprint === now.fingerprint) return [];
    const keys = this.selectors.servicesFor(namespace, labels);
    if (before && before.labelsText !== now.labelsText) {
      for (const k of this.selectors.servicesFor(namespace, before.labels)) if (!keys.includes(k)) keys.push(k);
    }
    return keys;
  }
}
