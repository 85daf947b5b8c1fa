/** dns-cluster's config block (after the kubelet's --cluster-domain/--cluster-dns and CoreDNS's Corefile). */
import { isIP } from 'node:net';
import { z } from 'zod';

const hostPort = z.string().refine((v) => isIP(v) !== 0 || /^[0-9.]+:\d{1,5}$/.test(v), {
  error: 'must be an address, or address:port (e.g. 192.0.2.53 or 127.0.0.1:5353)',
});

export const dnsConfigSchema = z
  .object({
    /** The cluster's domain (upstream --cluster-domain). */
    clusterDomain: z
      .string()
      .regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/)
      .default('cluster.local'),
    /** The kube-dns service's ClusterIP (upstream --cluster-dns); default: the 10th address of the service range. */
    clusterIP: z
      .string()
      .refine((v) => isIP(v) === 4, { error: 'must be an IPv4 address' })
      .optional(),
    /** Where the server listens (the kube-dns Endpoints point there); the proxy carries the ClusterIP to it. */
    bindAddress: z
      .string()
      .refine((v) => isIP(v) === 4, { error: 'must be an IPv4 address' })
      .default('127.0.0.1'),
    /** Its port (UDP and TCP); 0: a free one. */
    port: z.number().int().min(0).max(65535).default(0),
    /** Resolvers for names outside the cluster domain; empty: this host's (its /etc/resolv.conf). */
    upstreams: z.array(hostPort).default([]),
    /** TTL of the cluster's records, in seconds (CoreDNS's kubernetes plugin: 5). */
    ttl: z.number().int().min(0).max(3600).default(5),
  })
  .strict();

export type DnsConfig = z.infer<typeof dnsConfigSchema>;
