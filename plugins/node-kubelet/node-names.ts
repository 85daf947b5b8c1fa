/** Node names and identities: local nodes are named after this host; each acts as system:node:<name>. */
import { hostname } from 'node:os';
import type { UserInfo } from 'skiff/sdk';

/** A DNS-1123 subdomain made of the host name: lower case, other characters as '-'. */
export function hostNodeName(name = hostname()): string {
  const cleaned = name
    .toLowerCase()
    .replace(/[^a-z0-9.-]/g, '-')
    .replace(/^[^a-z0-9]+|[^a-z0-9]+$/g, '');
  return cleaned || 'node';
}

/**
 * The nodes of one `skiff kubelet --nodes N` process: `<prefix>0` … `<prefix>N-1` (ordinals from 0,
 * as a StatefulSet names its pods); without a prefix, one node keeps its own name and several are
 * `<name>-0` … `<name>-N-1`.
 */
export function simulatedNodeNames(count: number, prefix: string | undefined, name: string): string[] {
  if (prefix === undefined && count === 1) return [name];
  const base = prefix ?? `${name}-`;
  return Array.from({ length: count }, (_, i) => `${base}${i}`);
}

export function nodeUser(nodeName: string): UserInfo {
  return { name: `system:node:${nodeName}`, groups: ['system:nodes', 'system:authenticated'] };
}
