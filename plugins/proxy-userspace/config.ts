/**
 * proxy-userspace's config block (keys after upstream's KubeProxyConfiguration, durations in
 * seconds) and the upstream kube-proxy flags that set them on `skiff proxy`.
 */
import { type FlagSpec, goDurationSeconds, InvalidArgumentError } from 'skiff/sdk/cli';
import { z } from 'zod';
import { parseCidr } from './cidr.js';

const cidr = z
  .string()
  .refine((v) => parseCidr(v) !== undefined, { error: 'must be an IPv4 CIDR such as 10.96.0.0/16' });

/** "host:port" with port 0 for a free one, or "" for off. */
const hostPort = z.string().regex(/^$|^[0-9.]+:\d{1,5}$/, 'must be host:port (e.g. 127.0.0.1:10256) or "" for off');

export const proxyConfigSchema = z
  .object({
    /** The range to make local and serve ClusterIPs in; default: the API server's (inside skiff up). */
    serviceClusterIPRange: cidr.optional(),
    /** upstream nodePortAddresses: CIDRs of this host's addresses to serve NodePorts on (empty: its nodes' and 127.0.0.1). */
    nodePortAddresses: z.array(cidr).default([]),
    /** The node this proxy runs on, for the Local traffic policies (upstream hostnameOverride). */
    hostnameOverride: z.string().min(1).optional(),
    /** upstream --udp-timeout: how long an idle UDP session keeps its endpoint. */
    udpIdleTimeout: z.number().positive().max(3600).default(0.25),
    /** upstream healthzBindAddress: /healthz; "" (the default inside skiff up): off. */
    healthzBindAddress: hostPort.default(''),
    /** upstream metricsBindAddress: /metrics; "" (the default inside skiff up): off. */
    metricsBindAddress: hostPort.default(''),
  })
  .strict();

export type ProxyConfig = z.infer<typeof proxyConfigSchema>;

function cidrList(raw: string): string[] {
  const list = raw
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  for (const c of list) if (!parseCidr(c)) throw new InvalidArgumentError(`"${c}" is not an IPv4 CIDR`);
  return list;
}

function hostPortValue(raw: string): string {
  if (!hostPort.safeParse(raw).success) throw new InvalidArgumentError('expected host:port, e.g. 127.0.0.1:10256');
  return raw;
}

const flag = (text: string, help: string, key: keyof ProxyConfig, parse?: (raw: string) => unknown): FlagSpec => ({
  flag: text,
  help,
  parse,
  roles: ['proxy'],
  toConfig: (value) => ({ [key]: value }),
});

/** kube-proxy's flags that map onto the config block (--kubeconfig and --proxy-mode are the command's own). */
export const PROXY_FLAGS: readonly FlagSpec[] = [
  flag(
    '--nodeport-addresses <cidrs>',
    "serve NodePorts on this host's addresses in these CIDRs (comma-separated)",
    'nodePortAddresses',
    cidrList,
  ),
  flag(
    '--hostname-override <name>',
    'the node this proxy runs on (for the Local traffic policies)',
    'hostnameOverride',
  ),
  flag(
    '--udp-timeout <duration>',
    'how long an idle UDP session lasts (default 250ms)',
    'udpIdleTimeout',
    goDurationSeconds,
  ),
  flag(
    '--healthz-bind-address <host:port>',
    '/healthz address (default 0.0.0.0:10256; "" off)',
    'healthzBindAddress',
    hostPortValue,
  ),
  flag(
    '--metrics-bind-address <host:port>',
    '/metrics address (default 127.0.0.1:10249; "" off)',
    'metricsBindAddress',
    hostPortValue,
  ),
  flag(
    '--service-cluster-ip-range <cidr>',
    "the API server's service range, made local to this host (default: the Skiff config's api-core-v1 block)",
    'serviceClusterIPRange',
  ),
];

/** The proxy's User-Agent, in-process or as `skiff proxy`: the field manager of its writes. */
export const KUBE_PROXY_AGENT = 'skiff-proxy';
