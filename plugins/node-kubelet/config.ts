/**
 * The kubelet's settings: the config block `plugins.node-kubelet` (keys named after upstream's
 * KubeletConfiguration fields, durations in seconds) and the upstream flags that set them, on
 * `skiff kubelet` and on `skiff up` (which applies them to its local nodes).
 */
import { parseQuantity } from 'skiff/sdk';
import { bool, type FlagSpec, goDurationSeconds, InvalidArgumentError } from 'skiff/sdk/cli';
import { z } from 'zod';
import { SERVER_CONFIG_SHAPE, SERVER_FLAGS } from './server/config.js';

const TAINT_EFFECTS = ['NoSchedule', 'PreferNoSchedule', 'NoExecute'] as const;

const taint = z
  .object({ key: z.string().min(1), value: z.string().optional(), effect: z.enum(TAINT_EFFECTS) })
  .strict();

const port = z.union([z.number().int().min(0).max(65535), z.literal('auto')]);

export const kubeletConfigSchema = z
  .object({
    /** `skiff up`: how many kubelets run inside the all-in-one process (0: none). */
    nodes: z.number().int().min(0).max(1000).default(1),
    /** The node name (upstream --hostname-override); `skiff up` appends -<index> per local node. */
    hostnameOverride: z.string().min(1).optional(),
    registerNode: z.boolean().default(true),
    nodeLabels: z.record(z.string(), z.string()).default({}),
    registerWithTaints: z.array(taint).default([]),
    /** Static pods: a directory of manifests (upstream staticPodPath, the seed's --config dir). */
    staticPodPath: z.string().min(1).optional(),
    fileCheckFrequency: z.number().positive().default(20),
    /** Static pods: a URL serving manifests (upstream staticPodURL, --manifest-url). */
    staticPodURL: z.string().url().optional(),
    httpCheckFrequency: z.number().positive().default(20),
    /** Where pods' volumes, logs and the runtime's state live (default: <data-dir>/kubelet). */
    rootDir: z.string().min(1).optional(),
    /** The kubelet's own HTTPS server (issue 19 items 6–7); `skiff up` gives node i port+i. */
    port: port.default(10250),
    address: z.string().min(1).default('127.0.0.1'),
    readOnlyPort: port.default(0),
    enableDebuggingHandlers: z.boolean().default(true),
    maxPods: z.number().int().min(1).default(110),
    nodeStatusUpdateFrequency: z.number().positive().default(10),
    nodeStatusReportFrequency: z.number().positive().default(300),
    nodeLeaseDurationSeconds: z.number().int().positive().default(40),
    /** The node's pod range when nothing assigns one (no node IPAM yet); else derived, see README. */
    podCIDR: z.string().min(1).optional(),
    /** Which runtime plugin runs the pods: `process` (runtime-process), `simulated`, ... */
    runtime: z.string().min(1).default('process'),
    containerLogMaxSize: z
      .number()
      .int()
      .positive()
      .default(10 * 1024 * 1024),
    containerLogMaxFiles: z.number().int().min(2).default(5),
    /** How long pods get to stop when the node stops (`skiff up` or `skiff kubelet` exiting). */
    shutdownGracePeriod: z.number().min(0).default(5),
    /** Upstream's container restart back-off: 10 s doubling to 5 min. Shorter only for tests. */
    crashLoopBackOff: z
      .object({
        initialSeconds: z.number().positive().default(10),
        maxContainerRestartPeriod: z.number().positive().default(300),
      })
      .strict()
      .default({ initialSeconds: 10, maxContainerRestartPeriod: 300 }),
    /** How often the runtime is listed for containers that changed (upstream's PLEG relist). */
    relistPeriod: z.number().positive().default(1),
    /** How often every pod is synced even when nothing changed. */
    syncFrequency: z.number().positive().default(10),
    /** Nameservers of ClusterFirst pods (upstream clusterDNS, --cluster-dns); empty: pods use the host's. */
    clusterDNS: z.array(z.string().min(1)).default([]),
    /** The cluster's domain, for pods' DNS search path (upstream clusterDomain, --cluster-domain). */
    clusterDomain: z.string().min(1).default('cluster.local'),
    /** The kubelet's own server: TLS, authentication, authorization, streaming, stats (server/config.ts). */
    ...SERVER_CONFIG_SHAPE,
  })
  .strict();

export type KubeletConfig = z.infer<typeof kubeletConfigSchema>;

/** `a=b,c=d` (upstream --node-labels). */
export function parseLabels(raw: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const pair of raw.split(',').filter(Boolean)) {
    const [key, value, extra] = pair.split('=');
    if (!key || value === undefined || extra !== undefined) {
      throw new InvalidArgumentError(`"${pair}" is not key=value (e.g. --node-labels=disk=ssd,zone=a)`);
    }
    out[key.trim()] = value.trim();
  }
  return out;
}

/** `key=value:Effect,key:Effect` (upstream --register-with-taints). */
export function parseTaints(raw: string): KubeletConfig['registerWithTaints'] {
  return raw
    .split(',')
    .filter(Boolean)
    .map((spec) => {
      const m = /^([^=:]+)(?:=([^:]*))?:(NoSchedule|PreferNoSchedule|NoExecute)$/.exec(spec.trim());
      if (!m)
        throw new InvalidArgumentError(`"${spec}" is not key[=value]:Effect with Effect ${TAINT_EFFECTS.join('|')}`);
      return { key: m[1]!, ...(m[2] ? { value: m[2] } : {}), effect: m[3] as (typeof TAINT_EFFECTS)[number] };
    });
}

function quantityBytes(raw: string): number {
  const nano = parseQuantity(raw);
  if (nano === undefined || nano <= 0n) throw new InvalidArgumentError(`"${raw}" is not a quantity such as 10Mi`);
  return Number(nano / 1_000_000_000n);
}

function count(raw: string): number {
  if (!/^\d+$/.test(raw)) throw new InvalidArgumentError('expected a whole number');
  return Number(raw);
}

function portValue(raw: string): number | 'auto' {
  if (raw === 'auto') return 'auto';
  const n = count(raw);
  if (n > 65535) throw new InvalidArgumentError('expected a port from 0 to 65535, or auto');
  return n;
}

/** Optional-value booleans as upstream's: `--register-node` means true, `--register-node=false`. */
const boolFlag = (value: unknown) => (value === true ? true : bool(String(value)));

const ROLES = ['up', 'kubelet'] as const;

function flag(
  text: string,
  help: string,
  key: keyof KubeletConfig,
  parse?: (raw: string) => unknown,
  roles: readonly string[] = ROLES,
): FlagSpec {
  return { flag: text, help, parse, roles, toConfig: (value) => ({ [key]: value }) };
}

/** Upstream's kubelet flags (and `--nodes`, Skiff's, on `skiff up` only). */
export const KUBELET_FLAGS: readonly FlagSpec[] = [
  flag('--nodes <n>', 'kubelets run inside skiff up (default 1; 0: none)', 'nodes', count, ['up']),
  flag('--hostname-override <name>', 'the node name (default: this host; skiff up adds -<index>)', 'hostnameOverride'),
  {
    ...flag('--register-node [bool]', 'register the node with the API server (default true)', 'registerNode'),
    toConfig: (value) => ({ registerNode: boolFlag(value) }),
  },
  flag('--node-labels <labels>', 'labels to register the node with: key=value,...', 'nodeLabels', parseLabels),
  flag(
    '--register-with-taints <taints>',
    'taints to register the node with: key=value:Effect,...',
    'registerWithTaints',
    parseTaints,
  ),
  flag('--pod-manifest-path <dir>', 'directory of static pod manifests (YAML or JSON)', 'staticPodPath'),
  flag(
    '--file-check-frequency <duration>',
    'how often the manifest directory is read again (default 20s)',
    'fileCheckFrequency',
    goDurationSeconds,
  ),
  flag('--manifest-url <url>', 'URL serving static pod manifests', 'staticPodURL'),
  flag(
    '--http-check-frequency <duration>',
    'how often the manifest URL is fetched again (default 20s)',
    'httpCheckFrequency',
    goDurationSeconds,
  ),
  flag(
    '--root-dir <dir>',
    "pods' volumes, logs and runtime state: skiff kubelet's own (default <data-dir>/kubelet/<node>); skiff up's, a directory per node under it (default <data-dir>/kubelet)",
    'rootDir',
  ),
  flag('--port <port>', "the kubelet's HTTPS port (default 10250; skiff up: node i on port+i)", 'port', portValue),
  flag('--address <ip>', 'the address the kubelet serves on (default 127.0.0.1)', 'address'),
  flag('--read-only-port <port>', 'the read-only HTTP port (default 0: off)', 'readOnlyPort', portValue),
  {
    ...flag(
      '--enable-debugging-handlers [bool]',
      'serve exec, attach, port-forward, run (default true)',
      'enableDebuggingHandlers',
    ),
    toConfig: (value) => ({ enableDebuggingHandlers: boolFlag(value) }),
  },
  flag('--max-pods <n>', 'pods this node runs at most (default 110)', 'maxPods', count),
  flag(
    '--node-status-update-frequency <duration>',
    'how often node status is computed (default 10s)',
    'nodeStatusUpdateFrequency',
    goDurationSeconds,
  ),
  flag('--pod-cidr <cidr>', "the node's pod range when no controller assigns one", 'podCIDR'),
  flag('--runtime <name>', 'the container runtime plugin: process (default) or simulated', 'runtime'),
  flag(
    '--container-log-max-size <quantity>',
    "rotate a container's log at this size (default 10Mi)",
    'containerLogMaxSize',
    quantityBytes,
  ),
  flag('--container-log-max-files <n>', 'log files kept per container (default 5)', 'containerLogMaxFiles', count),
  flag('--cluster-dns <ips>', "nameservers of ClusterFirst pods' resolv.conf (comma-separated)", 'clusterDNS', (raw) =>
    raw.split(',').filter(Boolean),
  ),
  flag(
    '--cluster-domain <domain>',
    "the cluster's DNS domain, for pods' search path (default cluster.local)",
    'clusterDomain',
  ),
  ...SERVER_FLAGS,
];
