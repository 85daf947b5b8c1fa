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

export function nodeUser(nodeName: string): UserInfo {
  return { name: `system:node:${nodeName}`, groups: ['system:nodes', 'system:authenticated'] };
}
