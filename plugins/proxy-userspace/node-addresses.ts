/**
 * Which nodes are "this machine's" (for the Local traffic policies) and where NodePorts are served.
 * `skiff up` runs every local node in one process on one host, so the proxy of that host stands for
 * all of them: a node is local when its InternalIP is an address of this host (or loopback), or
 * when it is the node named by --hostname-override. NodePorts are served on 127.0.0.1 and on each
 * local node's InternalIP (the address cloud-local's balancers and pods dial), as the userspace
 * proxy served them on every address; --nodeport-addresses narrows that to this host's addresses
 * inside the CIDRs given.
 */
import { networkInterfaces } from 'node:os';
import type { Node } from 'kubernetes-types/core/v1.js';
import { type Cidr, containsIp, LOOPBACK } from './cidr.js';

/** This host's IPv4 addresses now. */
export type LocalAddresses = () => Set<string>;

export const hostAddresses: LocalAddresses = () => {
  const out = new Set<string>();
  for (const list of Object.values(networkInterfaces())) {
    for (const a of list ?? []) if (a.family === 'IPv4') out.add(a.address);
  }
  return out;
};

function internalIP(node: Node): string | undefined {
  return node.status?.addresses?.find((a) => a.type === 'InternalIP')?.address;
}

interface Options {
  nodeName?: string;
  addresses: LocalAddresses;
  nodePortCIDRs: Cidr[];
}

export function localNodeNames(nodes: Iterable<Node>, options: Options): Set<string> {
  const mine = options.addresses();
  const out = new Set<string>();
  for (const node of nodes) {
    const name = node.metadata?.name;
    if (!name) continue;
    const ip = internalIP(node);
    if (name === options.nodeName || (ip && (mine.has(ip) || containsIp(LOOPBACK, ip)))) out.add(name);
  }
  return out;
}

export function nodePortAddresses(nodes: Iterable<Node>, local: Set<string>, options: Options): string[] {
  if (options.nodePortCIDRs.length) {
    return [...options.addresses()].filter((ip) => options.nodePortCIDRs.some((c) => containsIp(c, ip)));
  }
  const out = new Set(['127.0.0.1']);
  for (const node of nodes) {
    const ip = internalIP(node);
    if (ip && local.has(node.metadata?.name ?? '') && (options.addresses().has(ip) || containsIp(LOOPBACK, ip))) {
      out.add(ip);
    }
  }
  return [...out];
}
