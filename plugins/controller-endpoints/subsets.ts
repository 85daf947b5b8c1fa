/**
 * The Endpoints a Service should have, after upstream's endpoints controller: each selected pod's
 * address, ready or not (publishNotReadyAddresses counts every pod ready), once per service port
 * the pod offers; then repacked into upstream's canonical form (addresses sharing the same ports
 * in one subset, de-duplicated by IP and pod uid, "not ready" winning over "ready"), and cut to
 * 1000 addresses with ready ones kept first.
 */
import type { EndpointAddress, EndpointPort, EndpointSubset } from 'kubernetes-types/core/v1.js';
import type { KubeObject } from 'skiff/sdk';
import { findPort, isPodReady, podIPForService, shouldPodBeInEndpoints, shouldSetHostname } from 'skiff/sdk/controller';

/** Upstream's maxCapacity of an Endpoints object. */
export const MAX_ADDRESSES = 1000;

type Obj = Record<string, unknown>;
const obj = (v: unknown): Obj => (v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Obj) : {});
const objects = (v: unknown): Obj[] => (Array.isArray(v) ? v.map(obj) : []);

interface Entry {
  address: EndpointAddress;
  /** Undefined: a headless service without ports (the address stands alone). */
  port?: EndpointPort;
  ready: boolean;
}

function addressOf(service: KubeObject, pod: KubeObject, ip: string): EndpointAddress {
  const spec = obj(pod.spec);
  const { namespace, name, uid } = pod.metadata;
  const address: EndpointAddress = { ip };
  if (shouldSetHostname(pod, service)) address.hostname = String(spec.hostname);
  if (typeof spec.nodeName === 'string' && spec.nodeName) address.nodeName = spec.nodeName;
  address.targetRef = { kind: 'Pod', namespace, name, uid };
  return address;
}

function portOf(servicePort: Obj, port: number): EndpointPort {
  const name = typeof servicePort.name === 'string' && servicePort.name ? { name: servicePort.name } : {};
  const out: EndpointPort = { ...name, port, protocol: String(servicePort.protocol ?? 'TCP') };
  if (typeof servicePort.appProtocol === 'string') out.appProtocol = servicePort.appProtocol;
  return out;
}

/** Every (address, port, readiness) the service's pods offer. */
function entriesOf(service: KubeObject, pods: readonly KubeObject[]): Entry[] {
  const spec = obj(service.spec);
  const publish = spec.publishNotReadyAddresses === true;
  const servicePorts = objects(spec.ports);
  const entries: Entry[] = [];
  for (const pod of pods) {
    if (!shouldPodBeInEndpoints(pod, publish)) continue;
    const ip = podIPForService(service, pod);
    if (!ip) continue;
    const address = addressOf(service, pod, ip);
    const ready = publish || isPodReady(pod);
    if (servicePorts.length === 0) {
      // A headless service may have no ports: its addresses stand alone.
      if (spec.clusterIP === 'None') entries.push({ address, ready });
      continue;
    }
    for (const servicePort of servicePorts) {
      const port = findPort(pod, servicePort);
      if (port !== undefined) entries.push({ address, port: portOf(servicePort, port), ready });
    }
  }
  return entries;
}

const addressKey = (a: EndpointAddress) => `${a.ip}\u0000${a.targetRef?.uid ?? ''}`;
const portKey = (p: EndpointPort | undefined) => (p ? `${p.name ?? ''}\u0000${p.port}\u0000${p.protocol}` : '');

/** Upstream's LessEndpointAddress: by IP (as text), then by pod uid. */
function compareAddresses(a: EndpointAddress, b: EndpointAddress): number {
  if (a.ip !== b.ip) return a.ip < b.ip ? -1 : 1;
  const ua = a.targetRef?.uid ?? '';
  const ub = b.targetRef?.uid ?? '';
  return ua < ub ? -1 : ua > ub ? 1 : 0;
}

/** Upstream's RepackSubsets, with a stable order (upstream sorts ports and subsets by hash). */
export function repack(entries: readonly Entry[]): EndpointSubset[] {
  const addresses = new Map<string, EndpointAddress>();
  const byPort = new Map<string, { port?: EndpointPort; ready: Map<string, boolean> }>();
  for (const { address, port, ready } of entries) {
    const key = addressKey(address);
    if (!addresses.has(key)) addresses.set(key, address);
    const pk = portKey(port);
    let group = byPort.get(pk);
    if (!group) {
      group = { port, ready: new Map() };
      byPort.set(pk, group);
    }
    // Not ready wins: an address ready on one port and not on another is not ready.
    if (group.ready.get(key) !== false) group.ready.set(key, ready);
  }
  const bySet = new Map<string, { ports: EndpointPort[]; ready: Map<string, boolean> }>();
  for (const { port, ready } of byPort.values()) {
    const signature = [...ready].sort(([a], [b]) => (a < b ? -1 : 1)).join('|');
    let subset = bySet.get(signature);
    if (!subset) {
      subset = { ports: [], ready };
      bySet.set(signature, subset);
    }
    if (port) subset.ports.push(port);
  }
  const subsets = [...bySet.values()].map(({ ports, ready }) => toSubset(ports, ready, addresses));
  return subsets.sort((a, b) => (subsetKey(a) < subsetKey(b) ? -1 : 1));
}

function toSubset(
  ports: EndpointPort[],
  ready: Map<string, boolean>,
  all: Map<string, EndpointAddress>,
): EndpointSubset {
  const readyAddresses: EndpointAddress[] = [];
  const notReady: EndpointAddress[] = [];
  for (const [key, isReady] of ready) (isReady ? readyAddresses : notReady).push(all.get(key)!);
  const subset: EndpointSubset = {};
  if (readyAddresses.length) subset.addresses = readyAddresses.sort(compareAddresses);
  if (notReady.length) subset.notReadyAddresses = notReady.sort(compareAddresses);
  if (ports.length) subset.ports = ports.sort((a, b) => (portKey(a) < portKey(b) ? -1 : 1));
  return subset;
}

const subsetKey = (s: EndpointSubset) =>
  `${(s.ports ?? []).map(portKey).join('|')}#${addressKey((s.addresses ?? s.notReadyAddresses ?? [])[0] ?? { ip: '' })}`;

export function desiredSubsets(service: KubeObject, pods: readonly KubeObject[]): EndpointSubset[] {
  return repack(entriesOf(service, pods));
}

export function countAddresses(subsets: readonly EndpointSubset[]): { ready: number; notReady: number } {
  let ready = 0;
  let notReady = 0;
  for (const s of subsets) {
    ready += s.addresses?.length ?? 0;
    notReady += s.notReadyAddresses?.length ?? 0;
  }
  return { ready, notReady };
}

/**
 * Upstream's truncateEndpoints: over 1000 addresses, keep 1000, shared among the subsets in
 * proportion to their size (rounded up, the last ones getting what is left), ready addresses first:
 * not-ready ones are cut before any ready one. Returns whether anything was cut.
 */
export function truncate(subsets: EndpointSubset[]): boolean {
  const { ready, notReady } = countAddresses(subsets);
  if (ready + notReady <= MAX_ADDRESSES) return false;
  const cutReady = ready > MAX_ADDRESSES;
  const max = cutReady ? MAX_ADDRESSES : MAX_ADDRESSES - ready;
  const total = cutReady ? ready : notReady;
  let room = max;
  for (const subset of subsets) {
    const inSubset = (cutReady ? subset.addresses : subset.notReadyAddresses)?.length ?? 0;
    const share = Math.min(Math.ceil((inSubset / total) * max), room);
    if (cutReady) {
      subset.addresses = subset.addresses?.slice(0, share);
      delete subset.notReadyAddresses;
      room -= subset.addresses?.length ?? 0;
    } else if (subset.notReadyAddresses) {
      subset.notReadyAddresses = subset.notReadyAddresses.slice(0, share);
      room -= subset.notReadyAddresses.length;
    }
    // Empty lists are left out, as Go's omitempty does.
    if (!subset.addresses?.length) delete subset.addresses;
    if (!subset.notReadyAddresses?.length) delete subset.notReadyAddresses;
  }
  // A subset left without addresses would be invalid: it goes (upstream would fail the write).
  const kept = subsets.filter((s) => s.addresses || s.notReadyAddresses);
  subsets.splice(0, subsets.length, ...kept);
  return true;
}
