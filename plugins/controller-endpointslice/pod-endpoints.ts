/**
 * The endpoints a Service's pods give its EndpointSlices, after upstream's podToEndpoint: one per
 * pod with an IP of the service's family (terminating pods included), with the conditions
 * ready (serving and not terminating, or publishNotReadyAddresses), serving (the pod is Ready) and
 * terminating, its node and that node's zone, its hostname, and the pod as targetRef; grouped by
 * the ports the pod resolves (named target ports may differ from pod to pod).
 */
import type { Endpoint, EndpointPort } from 'kubernetes-types/discovery/v1.js';
import type { KubeObject } from 'skiff/sdk';
import {
  findPort,
  isPodReady,
  podIPForService,
  serviceIPFamily,
  shouldPodBeInEndpoints,
  shouldSetHostname,
} from 'skiff/sdk/controller';
import type { DesiredGroup } from './plan.js';
import { groupKey } from './slices.js';

type Obj = Record<string, unknown>;
const obj = (v: unknown): Obj => (v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Obj) : {});
const objects = (v: unknown): Obj[] => (Array.isArray(v) ? v.map(obj) : []);

export const ZONE_LABEL = 'topology.kubernetes.io/zone';

function endpointOf(
  service: KubeObject,
  pod: KubeObject,
  ip: string,
  zoneOf: (node: string) => string | undefined,
): Endpoint {
  const spec = obj(pod.spec);
  const serving = isPodReady(pod);
  const terminating = Boolean(pod.metadata.deletionTimestamp);
  const ready = obj(service.spec).publishNotReadyAddresses === true || (serving && !terminating);
  const { namespace, name, uid } = pod.metadata;
  const ep: Endpoint = {
    addresses: [ip],
    conditions: { ready, serving, terminating },
    targetRef: { kind: 'Pod', namespace, name, uid },
  };
  const nodeName = typeof spec.nodeName === 'string' ? spec.nodeName : '';
  if (nodeName) {
    ep.nodeName = nodeName;
    const zone = zoneOf(nodeName);
    if (zone) ep.zone = zone;
  }
  if (shouldSetHostname(pod, service)) ep.hostname = String(spec.hostname);
  return ep;
}

function portsOf(service: KubeObject, pod: KubeObject): EndpointPort[] {
  return objects(obj(service.spec).ports).flatMap((sp) => {
    const port = findPort(pod, sp);
    if (port === undefined) return [];
    const out: EndpointPort = {
      name: typeof sp.name === 'string' ? sp.name : '',
      port,
      protocol: String(sp.protocol ?? 'TCP'),
    };
    if (typeof sp.appProtocol === 'string') out.appProtocol = sp.appProtocol;
    return [out];
  });
}

export function desiredGroups(
  service: KubeObject,
  pods: readonly KubeObject[],
  zoneOf: (node: string) => string | undefined,
): DesiredGroup[] {
  const addressType = serviceIPFamily(service);
  const groups = new Map<string, DesiredGroup>();
  for (const pod of pods) {
    if (!shouldPodBeInEndpoints(pod, true)) continue;
    const ip = podIPForService(service, pod);
    if (!ip) continue;
    const ports = portsOf(service, pod);
    const key = groupKey(addressType, ports);
    let group = groups.get(key);
    if (!group) {
      group = { addressType, ports, endpoints: [] };
      groups.set(key, group);
    }
    group.endpoints.push(endpointOf(service, pod, ip, zoneOf));
  }
  return [...groups.values()];
}
