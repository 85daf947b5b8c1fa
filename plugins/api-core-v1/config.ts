/** api-core-v1's configuration: kube-apiserver's service ranges and the API server endpoint timings. */
import { z } from 'zod';
import { formatIPv4, parseIPv4Cidr } from './cluster-ip-allocator.js';

const ipv4Range = (v: string) => {
  const parsed = parseIPv4Cidr(v);
  return parsed !== undefined && parsed.prefix <= 30;
};

/** "first-last", e.g. 30000-32767; undefined when malformed or out of order. */
export function parsePortRange(v: string): { first: number; last: number } | undefined {
  const m = /^(\d{1,5})-(\d{1,5})$/.exec(v);
  const [first, last] = m ? [Number(m[1]), Number(m[2])] : [0, 0];
  return m && first >= 1 && first <= last && last <= 65535 ? { first, last } : undefined;
}

/**
 * The first host address of the range's network, which the kubernetes service takes:
 * 127.96.0.0/16 → 127.96.0.1, and 10.96.0.5/12 → 10.96.0.1 too (upstream masks the range first).
 */
export function firstServiceIP(cidr: string): string | undefined {
  const parsed = parseIPv4Cidr(cidr);
  return parsed && formatIPv4(parsed.base + 1);
}

export const configSchema = z
  .object({
    /** kube-apiserver's --service-cluster-ip-range: an IPv4 CIDR with room for at least 2 addresses. */
    serviceClusterIPRange: z
      .string()
      .refine(ipv4Range, {
        error: 'must be an IPv4 CIDR of at most /30 (e.g. 127.96.0.0/16); IPv6 and dual-stack are not supported',
      })
      .default('127.96.0.0/16'),
    /** kube-apiserver's --service-node-port-range. */
    serviceNodePortRange: z
      .string()
      .refine((v) => parsePortRange(v) !== undefined, { error: 'must be a port range "first-last" (e.g. 30000-32767)' })
      .default('30000-32767'),
    /**
     * Claim every cluster IP and node port in storage so that API servers sharing it never hand out
     * the same one. auto: when the backend is shared by several servers (Storage.shared, as etcd).
     */
    allocationClaims: z.enum(['auto', 'always', 'never']).default('auto'),
    /** How long an API server's identity lease lasts unrenewed (upstream's master lease TTL). */
    apiServerLeaseDurationSeconds: z.number().int().min(1).max(3600).default(15),
    /** How often each API server renews its lease and reconciles the kubernetes endpoints. */
    endpointReconcileIntervalSeconds: z.number().positive().max(3600).default(10),
    /** kube-apiserver's --event-ttl: an event not written for this long is deleted; 0 keeps events forever. */
    eventTTLSeconds: z.number().min(0).default(3600),
  })
  .strict()
  .refine((c) => c.endpointReconcileIntervalSeconds < c.apiServerLeaseDurationSeconds, {
    path: ['endpointReconcileIntervalSeconds'],
    error: 'must be shorter than apiServerLeaseDurationSeconds, or every lease expires before it is renewed',
  });

export type ApiCoreV1Config = z.infer<typeof configSchema>;
