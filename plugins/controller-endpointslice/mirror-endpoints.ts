/**
 * What upstream's EndpointSlice mirroring controller takes from an Endpoints object: one endpoint
 * per address (ready from `addresses`, not ready from `notReadyAddresses`), its address type read
 * from the IP, grouped by the subset's ports; at most `maxPerSubset` addresses of each subset, and
 * addresses that are not IPs are skipped (both counted, for the controller's events).
 */
import type { EndpointAddress, EndpointSubset } from 'kubernetes-types/core/v1.js';
import type { Endpoint, EndpointPort } from 'kubernetes-types/discovery/v1.js';
import type { DesiredGroup } from './plan.js';
import { groupKey } from './slices.js';

const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;

function addressType(ip: string): 'IPv4' | 'IPv6' | undefined {
  if (IPV4.test(ip)) return 'IPv4';
  if (!ip.includes(':')) return undefined;
  try {
    return new URL(`http://[${ip}]/`).hostname ? 'IPv6' : undefined;
  } catch {
    return undefined;
  }
}

function toEndpoint(address: EndpointAddress, ready: boolean): Endpoint {
  const ep: Endpoint = { addresses: [address.ip], conditions: { ready } };
  if (address.hostname) ep.hostname = address.hostname;
  if (address.nodeName) ep.nodeName = address.nodeName;
  if (address.targetRef) ep.targetRef = address.targetRef;
  return ep;
}

/** Upstream's epPortsToEpsPorts. */
function toPorts(subset: EndpointSubset): EndpointPort[] {
  return (subset.ports ?? []).map((p) => {
    const port: EndpointPort = { name: p.name ?? '', port: p.port, protocol: p.protocol ?? 'TCP' };
    if (p.appProtocol) port.appProtocol = p.appProtocol;
    return port;
  });
}

export interface Mirrored {
  groups: DesiredGroup[];
  invalid: number;
  /** Addresses left out because a subset had more than maxPerSubset. */
  skipped: number;
}

export function mirrorSubsets(subsets: readonly EndpointSubset[], maxPerSubset: number): Mirrored {
  const groups = new Map<string, DesiredGroup>();
  let invalid = 0;
  let skipped = 0;
  for (const subset of subsets) {
    const ports = toPorts(subset);
    const all = [
      ...(subset.addresses ?? []).map((a) => [a, true] as const),
      ...(subset.notReadyAddresses ?? []).map((a) => [a, false] as const),
    ];
    let added = 0;
    for (const [address, ready] of all) {
      if (added >= maxPerSubset) break;
      const type = addressType(address.ip ?? '');
      if (!type) {
        invalid++;
        continue;
      }
      const key = groupKey(type, ports);
      let group = groups.get(key);
      if (!group) {
        group = { addressType: type, ports, endpoints: [] };
        groups.set(key, group);
      }
      group.endpoints.push(toEndpoint(address, ready));
      added++;
    }
    skipped += all.length - added;
  }
  return { groups: [...groups.values()], invalid, skipped: skipped - invalid };
}
