/**
 * Where a proxy or streaming request goes, as upstream's ResourceLocation functions decide it: a
 * node's kubelet (its preferred address and the port in status.daemonEndpoints), a pod's IP and
 * port, or one ready endpoint of a service, and never an address the cluster did not assign.
 */
import { errors, type KubeObject } from 'skiff/sdk/api';
import { checkAssigned, checkProxyable, isOwnAddress, nodeAddresses } from './dialable.js';
import type { KubeletTransport } from './kubelet-transport.js';
import { type SchemeNamePort, splitSchemeNamePort } from './proxy-path.js';

export interface Backend {
  scheme: 'http' | 'https';
  /** The address dialled. */
  host: string;
  port: number;
  /** TLS settings: the kubelet's (client certificate, CA); undefined for plain backends. */
  tls?: KubeletTransport['tls'];
}

export interface Lookup {
  get(plural: string, namespace: string, name: string): KubeObject | undefined | Promise<KubeObject | undefined>;
  nodes(): KubeObject[] | Promise<KubeObject[]>;
}

interface LocationContext {
  lookup: Lookup;
  kubelet: () => KubeletTransport;
  preferredAddressTypes: readonly string[];
}

const resourceOf = (resource: string) => ({ group: '', resource });

async function required(ctx: LocationContext, plural: string, namespace: string, name: string): Promise<KubeObject> {
  const found = await ctx.lookup.get(plural, namespace, name);
  if (!found) throw errors.notFound(resourceOf(plural), name);
  return found;
}

/** The kubelet of a node: https on its port with the API server's client certificate. */
export async function kubeletOf(ctx: LocationContext, nodeName: string): Promise<Backend> {
  return nodeLocation(ctx, { scheme: '', name: nodeName, port: '' });
}

/** nodes/{[scheme:]name[:port]}/proxy: the kubelet's port gets the kubelet transport; another port a plain one. */
export async function nodeLocation(ctx: LocationContext, id: SchemeNamePort): Promise<Backend> {
  const node = await required(ctx, 'nodes', '', id.name);
  const kubeletPort = (node.status as { daemonEndpoints?: { kubeletEndpoint?: { Port?: number } } } | undefined)
    ?.daemonEndpoints?.kubeletEndpoint?.Port;
  const address = preferredAddress(node, ctx.preferredAddressTypes);
  if (id.port === '' || id.port === String(kubeletPort)) {
    if (!kubeletPort)
      throw errors.serviceUnavailable(`node "${id.name}" reports no kubelet port (status.daemonEndpoints)`);
    // A kubelet on this very machine may serve on loopback only (Skiff's default --address).
    const host = isOwnAddress(address) ? '127.0.0.1' : address;
    return { scheme: 'https', host, port: kubeletPort, tls: ctx.kubelet().tls };
  }
  checkProxyable(address);
  return { scheme: id.scheme || 'http', host: address, port: portNumber(id.port) };
}

function preferredAddress(node: KubeObject, types: readonly string[]): string {
  const addresses = nodeAddresses(node);
  for (const type of types) {
    const found = addresses.find((a) => a.type === type);
    if (found) return found.address;
  }
  throw errors.serviceUnavailable(
    `no preferred addresses found for node "${node.metadata.name}"; known addresses: ${JSON.stringify(addresses)}`,
  );
}

/** pods/{[scheme:]name[:port]}/proxy: the pod's IP; without a port, its first container port (else 80). */
export async function podLocation(ctx: LocationContext, namespace: string, id: SchemeNamePort): Promise<Backend> {
  const pod = await required(ctx, 'pods', namespace, id.name);
  const ip = (pod.status as { podIP?: string } | undefined)?.podIP;
  if (!ip) throw errors.badRequest(`address not allowed: pod "${id.name}" has no IP address yet`);
  await checkAssigned(ip, ctx.lookup.nodes);
  let port = id.port;
  if (!port) {
    const containers = (pod.spec as { containers?: { ports?: { containerPort?: number }[] }[] }).containers ?? [];
    port = String(containers.find((c) => c.ports?.length)?.ports?.[0]?.containerPort ?? 80);
  }
  return { scheme: id.scheme || 'http', host: ip, port: portNumber(port) };
}

interface EndpointAddress {
  ip: string;
  targetRef?: { kind?: string; name?: string; namespace?: string };
}
interface Subset {
  addresses?: EndpointAddress[];
  ports?: { name?: string; port: number }[];
}

/**
 * services/{[scheme:]name[:port]}/proxy: one ready endpoint, picked at random, of the named or
 * numbered port. As upstream, an endpoint counts only when it names a pod that has that IP (an
 * Endpoints object written by hand cannot send the API server elsewhere).
 */
export async function serviceLocation(ctx: LocationContext, namespace: string, id: SchemeNamePort): Promise<Backend> {
  const svc = await required(ctx, 'services', namespace, id.name);
  const spec = svc.spec as { type?: string; ports?: { name?: string; port: number }[] };
  if (spec.type === 'ExternalName')
    throw errors.badRequest(`service "${id.name}" is of type ExternalName and cannot be proxied`);
  const portName = servicePortName(spec.ports ?? [], id);
  const endpoints = await ctx.lookup.get('endpoints', namespace, id.name);
  const subsets = shuffled((endpoints?.subsets as Subset[] | undefined) ?? []);
  for (const subset of subsets) {
    const port = subset.ports?.find((p) => (p.name ?? '') === portName);
    if (!port) continue;
    for (const address of shuffled(subset.addresses ?? [])) {
      if (!(await isPodAddress(ctx, namespace, address))) continue;
      await checkAssigned(address.ip, ctx.lookup.nodes);
      return { scheme: id.scheme || 'http', host: address.ip, port: port.port };
    }
  }
  throw errors.serviceUnavailable(`no endpoints available for service "${id.name}"`);
}

function servicePortName(ports: { name?: string; port: number }[], id: SchemeNamePort): string {
  if (!/^\d+$/.test(id.port)) return id.port;
  const found = ports.find((p) => String(p.port) === id.port);
  if (!found) throw errors.serviceUnavailable(`no service port ${id.port} found for service "${id.name}"`);
  return found.name ?? '';
}

async function isPodAddress(ctx: LocationContext, namespace: string, address: EndpointAddress): Promise<boolean> {
  const ref = address.targetRef;
  if (ref?.kind !== 'Pod' || !ref.name) return false;
  const pod = await ctx.lookup.get('pods', ref.namespace || namespace, ref.name);
  const status = pod?.status as { podIP?: string; podIPs?: { ip: string }[] } | undefined;
  return !!status && (status.podIP === address.ip || !!status.podIPs?.some((p) => p.ip === address.ip));
}

function portNumber(port: string): number {
  const n = Number(port);
  if (!/^\d+$/.test(port) || n < 1 || n > 65535) throw errors.badRequest(`invalid port "${port}"`);
  return n;
}

function shuffled<T>(items: readonly T[]): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

export { splitSchemeNamePort };
