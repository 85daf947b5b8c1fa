/**
 * Which addresses the API server may dial: only those the cluster assigned (CVE-2020-8559,
 * CVE-2022-3294). Upstream refuses loopback and link-local addresses outright (IsProxyableIP:
 * "address not allowed"); on one machine Skiff's nodes and, without network namespaces, its pods
 * live on such addresses, so one of those is allowed only when it is a Node's own address or lies
 * in a Node's pod CIDR. Anything else special (unspecified, multicast) never is.
 */
import { BlockList, isIP } from 'node:net';
import { networkInterfaces } from 'node:os';
import { errors, type KubeObject } from 'skiff/sdk/api';

const SPECIAL = new BlockList();
SPECIAL.addSubnet('127.0.0.0', 8, 'ipv4');
SPECIAL.addSubnet('169.254.0.0', 16, 'ipv4');
SPECIAL.addSubnet('224.0.0.0', 4, 'ipv4');
SPECIAL.addAddress('0.0.0.0', 'ipv4');
SPECIAL.addAddress('::1', 'ipv6');
SPECIAL.addAddress('::', 'ipv6');
SPECIAL.addSubnet('fe80::', 10, 'ipv6');
SPECIAL.addSubnet('ff00::', 8, 'ipv6');

const family = (ip: string) => (isIP(ip) === 6 ? 'ipv6' : 'ipv4');

/**
 * Throws upstream's 400 "address not allowed" for an address the cluster did not assign. The
 * Nodes are read only for a loopback or link-local address (a pod network's addresses never
 * need them, so a cluster of a thousand nodes costs nothing per request).
 */
export async function checkAssigned(ip: string, nodes: () => readonly KubeObject[] | Promise<readonly KubeObject[]>) {
  if (!isIP(ip)) throw errors.badRequest(`address not allowed: "${ip}" is not an IP address`);
  if (!SPECIAL.check(ip, family(ip))) return;
  if (!assignedByNodes(ip, await nodes())) throw errors.badRequest('address not allowed');
}

/** A Node's own address, or inside a Node's pod CIDR. */
function assignedByNodes(ip: string, nodes: readonly KubeObject[]): boolean {
  for (const node of nodes) {
    if (nodeAddresses(node).some((a) => a.address === ip)) return true;
    const spec = (node.spec ?? {}) as { podCIDR?: string; podCIDRs?: string[] };
    const ranges = new BlockList();
    for (const cidr of new Set([spec.podCIDR, ...(spec.podCIDRs ?? [])])) addRange(ranges, cidr);
    if (ranges.check(ip, family(ip))) return true;
  }
  return false;
}

/**
 * Upstream's IsProxyableIP, with no exception: for a node's ports other than its kubelet's, which
 * the API server would otherwise reach on its own loopback (CVE-2022-3294).
 */
export function checkProxyable(ip: string): void {
  if (isIP(ip) && SPECIAL.check(ip, family(ip))) throw errors.badRequest('address not allowed');
}

export function nodeAddresses(node: KubeObject): { type: string; address: string }[] {
  return ((node.status as { addresses?: { type: string; address: string }[] } | undefined)?.addresses ?? []).filter(
    (a) => typeof a?.address === 'string',
  );
}

function addRange(list: BlockList, cidr: string | undefined): void {
  const [base, bits] = cidr?.split('/') ?? [];
  if (!base || !isIP(base) || bits === undefined) return;
  list.addSubnet(base, Number(bits), family(base));
}

/** This machine's own addresses (a kubelet on one of them is on this host). */
export function isOwnAddress(ip: string): boolean {
  if (SPECIAL.check(ip, family(ip)) && (ip.startsWith('127.') || ip === '::1')) return true;
  return Object.values(networkInterfaces()).some((list) => list?.some((i) => i.address === ip));
}
