/**
 * What the proxy serves, read from Services and their Endpoints as upstream's service and endpoints
 * change trackers do: one entry per service port ("namespace/name:portName"), with the addresses it
 * listens on and the ready endpoints behind it. ExternalName and headless services (clusterIP None)
 * have no virtual address and are not proxied, as upstream.
 */
import type { EndpointPort, EndpointSubset, Endpoints, Service, ServicePort } from 'kubernetes-types/core/v1.js';
import type { EndpointSlice } from 'kubernetes-types/discovery/v1.js';
import type { Endpoint } from './balancer.js';

export type Protocol = 'TCP' | 'UDP';

/** upstream's default sessionAffinityConfig.clientIP.timeoutSeconds: 3 hours. */
export const DEFAULT_AFFINITY_SECONDS = 10_800;

export interface ServicePortEntry {
  key: string;
  protocol: Protocol;
  clusterIPs: string[];
  port: number;
  nodePort?: number;
  affinitySeconds: number;
  /** internalTrafficPolicy Local: ClusterIP traffic only to endpoints on this machine's nodes. */
  internalLocal: boolean;
  /** externalTrafficPolicy Local: NodePort traffic only to endpoints on this machine's nodes. */
  externalLocal: boolean;
  endpoints: Endpoint[];
}

export const serviceKey = (namespace: string, name: string) => `${namespace}/${name}`;

function virtualIPs(spec: NonNullable<Service['spec']>): string[] {
  const ips = spec.clusterIPs?.length ? spec.clusterIPs : spec.clusterIP ? [spec.clusterIP] : [];
  return ips.filter((ip) => ip && ip !== 'None');
}

/** The ports of an Endpoints subset matching a service port: by name; an only, unnamed port matches an only port. */
function matchingPort(subset: EndpointSubset, port: ServicePort): EndpointPort | undefined {
  const protocol = port.protocol ?? 'TCP';
  return (subset.ports ?? []).find((p) => (p.name ?? '') === (port.name ?? '') && (p.protocol ?? 'TCP') === protocol);
}

export function readyEndpoints(endpoints: Endpoints | undefined, port: ServicePort): Endpoint[] {
  const out: Endpoint[] = [];
  for (const subset of endpoints?.subsets ?? []) {
    const p = matchingPort(subset, port);
    if (!p?.port) continue;
    for (const address of subset.addresses ?? []) {
      out.push({ ip: address.ip, port: p.port, ...(address.nodeName ? { nodeName: address.nodeName } : {}) });
    }
  }
  return out;
}

/**
 * From a Service's EndpointSlices, as upstream's kube-proxy reads them: the ready endpoints (a
 * missing `ready` counts as ready); when none is ready, those still serving while terminating
 * (upstream's ProxyTerminatingEndpoints), so a rolling update does not drop connections.
 */
export function sliceEndpoints(slices: readonly EndpointSlice[], port: ServicePort): Endpoint[] {
  const protocol = port.protocol ?? 'TCP';
  const ready: Endpoint[] = [];
  const terminating: Endpoint[] = [];
  for (const slice of slices) {
    if (slice.addressType !== 'IPv4') continue;
    const p = (slice.ports ?? []).find(
      (x) => (x.name ?? '') === (port.name ?? '') && (x.protocol ?? 'TCP') === protocol,
    );
    if (!p?.port) continue;
    for (const e of slice.endpoints ?? []) {
      const ip = e.addresses[0];
      if (!ip) continue;
      const endpoint = { ip, port: p.port, ...(e.nodeName ? { nodeName: e.nodeName } : {}) };
      const c = e.conditions ?? {};
      if (c.ready !== false) ready.push(endpoint);
      else if (c.serving === true && c.terminating === true) terminating.push(endpoint);
    }
  }
  return ready.length ? ready : terminating;
}

/** The endpoints behind one service port: from its EndpointSlices when it has any, else its Endpoints. */
export interface EndpointSource {
  endpoints?: Endpoints;
  slices?: readonly EndpointSlice[];
}

export function servicePorts(service: Service, { endpoints, slices }: EndpointSource): ServicePortEntry[] {
  const spec = service.spec ?? {};
  if (spec.type === 'ExternalName') return [];
  const clusterIPs = virtualIPs(spec);
  const hasNodePorts = spec.type === 'NodePort' || spec.type === 'LoadBalancer';
  if (!clusterIPs.length && !hasNodePorts) return [];
  const affinitySeconds =
    spec.sessionAffinity === 'ClientIP'
      ? (spec.sessionAffinityConfig?.clientIP?.timeoutSeconds ?? DEFAULT_AFFINITY_SECONDS)
      : 0;
  const base = serviceKey(service.metadata?.namespace ?? 'default', service.metadata?.name ?? '');
  return (spec.ports ?? [])
    .filter((p) => (p.protocol ?? 'TCP') === 'TCP' || p.protocol === 'UDP')
    .map((port) => ({
      key: `${base}:${port.name ?? ''}`,
      protocol: (port.protocol ?? 'TCP') as Protocol,
      clusterIPs,
      port: port.port,
      ...(hasNodePorts && port.nodePort ? { nodePort: port.nodePort } : {}),
      affinitySeconds,
      internalLocal: spec.internalTrafficPolicy === 'Local',
      externalLocal: spec.externalTrafficPolicy === 'Local',
      endpoints: slices?.length ? sliceEndpoints(slices, port) : readyEndpoints(endpoints, port),
    }));
}
