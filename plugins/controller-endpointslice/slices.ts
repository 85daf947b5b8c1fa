/**
 * EndpointSlice shapes shared by the two controllers: the labels that tie a slice to its Service
 * and its manager, the key that groups endpoints by address type and ports, endpoint identity and
 * comparison, and the write of a planned slice.
 */
import type { Endpoint, EndpointPort, EndpointSlice } from 'kubernetes-types/discovery/v1.js';
import type { KubeObject } from 'skiff/sdk';

export const SLICES = { group: 'discovery.k8s.io', version: 'v1', resource: 'endpointslices' };
export const SERVICE_NAME_LABEL = 'kubernetes.io/service-name';
export const MANAGED_BY_LABEL = 'endpointslice.kubernetes.io/managed-by';
export const SKIP_MIRROR_LABEL = 'endpointslice.kubernetes.io/skip-mirror';
export const TRIGGER_TIME = 'endpoints.kubernetes.io/last-change-trigger-time';
export const SLICE_CONTROLLER = 'endpointslice-controller.k8s.io';
export const MIRRORING_CONTROLLER = 'endpointslicemirroring-controller.k8s.io';

export type Slice = EndpointSlice & KubeObject;

/** JSON with sorted keys: objects that differ only in key order compare equal. */
export function canonical(value: unknown): string {
  return JSON.stringify(value, (_k, v) =>
    v && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : 1)))
      : v,
  );
}

const portText = (p: EndpointPort) => `${p.name ?? ''}/${p.port ?? ''}/${p.protocol ?? 'TCP'}/${p.appProtocol ?? ''}`;

/** Upstream's addrTypePortMapKey: the address type and the set of ports (order does not count). */
export function groupKey(addressType: string, ports: readonly EndpointPort[] | undefined): string {
  return `${addressType}#${(ports ?? []).map(portText).sort().join(',')}`;
}

/** An endpoint's identity: the pod it stands for, else its addresses. */
export function endpointKey(ep: Endpoint): string {
  return ep.targetRef?.uid ? `uid:${ep.targetRef.uid}` : `ip:${ep.addresses.join(',')}`;
}

/** Endpoints compared without the pod's resourceVersion (upstream's EndpointsEqualBeyondHash). */
export function sameEndpoint(a: Endpoint, b: Endpoint): boolean {
  const strip = (e: Endpoint) => ({
    ...e,
    targetRef: e.targetRef ? { ...e.targetRef, resourceVersion: undefined } : undefined,
  });
  return canonical(strip(a)) === canonical(strip(b));
}

/** The service (or Endpoints) key a slice belongs to: `namespace/<kubernetes.io/service-name>`. */
export function ownerKeyOf(slice: KubeObject): string | undefined {
  const name = slice.metadata.labels?.[SERVICE_NAME_LABEL];
  return name ? `${slice.metadata.namespace ?? ''}/${name}` : undefined;
}

export const managedBy = (slice: KubeObject) => slice.metadata.labels?.[MANAGED_BY_LABEL];

/** Upstream's getEndpointSlicePrefix: `<service>-`, the base of generated slice names. */
export const slicePrefix = (serviceName: string) => `${serviceName}-`;

/** Go's time.Format(RFC3339Nano). */
export function rfc3339Nano(at: Date): string {
  return at
    .toISOString()
    .replace(/(\.\d*?)0+Z$/, '$1Z')
    .replace('.Z', 'Z');
}
