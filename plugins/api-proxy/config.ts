/** api-proxy's config and the upstream flags that set it. */
import type { FlagSpec } from 'skiff/sdk/cli';
import { z } from 'zod';

/** Upstream's default --kubelet-preferred-address-types. */
export const DEFAULT_ADDRESS_TYPES = ['Hostname', 'InternalDNS', 'InternalIP', 'ExternalDNS', 'ExternalIP'];

export const configSchema = z
  .object({
    kubeletClientCertificate: z.string().min(1).optional(),
    kubeletClientKey: z.string().min(1).optional(),
    kubeletCertificateAuthority: z.string().min(1).optional(),
    kubeletPreferredAddressTypes: z
      .array(z.string().min(1))
      .min(1)
      .default(['InternalIP', ...DEFAULT_ADDRESS_TYPES.filter((t) => t !== 'InternalIP')]),
    /** Dialling a backend (TCP and TLS) must finish within this (upstream's proxy dialer: 30 s). */
    dialTimeoutSeconds: z.number().positive().default(30),
    /** A backend must start its answer (headers, or its upgrade answer) within this. */
    responseHeaderTimeoutSeconds: z.number().positive().default(60),
    /** Upgraded connections and followed logs through the proxy at once, in all (more: 429). */
    maxStreams: z.number().int().positive().default(1000),
    /** … and per user. */
    maxStreamsPerUser: z.number().int().positive().default(100),
  })
  .strict();

export type ApiProxyConfig = z.infer<typeof configSchema>;

const file = (flag: string, help: string, key: keyof ApiProxyConfig): FlagSpec => ({
  flag: `${flag} <file>`,
  help,
  toConfig: (value) => ({ [key]: value }),
});

export const FLAGS: FlagSpec[] = [
  file(
    '--kubelet-client-certificate',
    'client certificate the API server presents to kubelets (PEM)',
    'kubeletClientCertificate',
  ),
  file('--kubelet-client-key', 'its private key (PEM)', 'kubeletClientKey'),
  file(
    '--kubelet-certificate-authority',
    "CA bundle that verifies kubelets' serving certificates (default: not verified)",
    'kubeletCertificateAuthority',
  ),
  {
    flag: '--kubelet-preferred-address-types <types>',
    help: 'node address types to dial kubelets at, in order (default InternalIP,Hostname,InternalDNS,ExternalDNS,ExternalIP)',
    toConfig: (value) => ({
      kubeletPreferredAddressTypes: String(value)
        .split(',')
        .map((t) => t.trim())
        .filter(Boolean),
    }),
  },
];
