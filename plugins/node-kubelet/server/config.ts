/**
 * The settings of the kubelet's own server (issue 19 items 6–7), named after upstream's
 * KubeletConfiguration fields (durations in seconds), and the upstream flags that set them. They
 * join the `plugins.node-kubelet` block (config.ts spreads SERVER_CONFIG_SHAPE into its schema and
 * SERVER_FLAGS into its flags). `port`, `address`, `readOnlyPort` and `enableDebuggingHandlers`
 * stay in config.ts, where the first kubelet helper put them.
 */
import { bool, type FlagSpec, goDurationSeconds, InvalidArgumentError } from 'skiff/sdk/cli';
import { z } from 'zod';

export const AUTHORIZATION_MODES = ['Webhook', 'AlwaysAllow'] as const;

export const SERVER_CONFIG_SHAPE = {
  /** The serving certificate and key (--tls-cert-file); without them a self-signed pair under certDir, as upstream. */
  tlsCertFile: z.string().min(1).optional(),
  tlsPrivateKeyFile: z.string().min(1).optional(),
  /** Where the self-signed kubelet.crt/kubelet.key are kept (default <root-dir>/pki). */
  certDir: z.string().min(1).optional(),
  /** CAs whose client certificates authenticate (--client-ca-file); default: the cluster CA when Skiff knows it. */
  clientCAFile: z.string().min(1).optional(),
  /** Requests without credentials are system:anonymous (then authorized) instead of 401. */
  anonymousAuth: z.boolean().default(false),
  /** Bearer tokens are checked with a TokenReview against the API server. */
  authenticationTokenWebhook: z.boolean().default(true),
  authenticationTokenWebhookCacheTTL: z.number().min(0).default(120),
  authorizationMode: z.enum(AUTHORIZATION_MODES).default('Webhook'),
  authorizationWebhookCacheAuthorizedTTL: z.number().min(0).default(300),
  authorizationWebhookCacheUnauthorizedTTL: z.number().min(0).default(30),
  /** An exec, attach or port-forward connection with no traffic this long is closed (upstream: 4h). */
  streamingConnectionIdleTimeout: z
    .number()
    .positive()
    .default(4 * 3600),
  /** Streaming connections (exec, attach, port-forward) open at once on one kubelet. */
  streamingMaxConnections: z.number().int().positive().default(200),
  /** SPDY streams one streaming connection may open (port-forward opens two per forwarded connection). */
  streamingMaxStreamsPerConnection: z.number().int().positive().default(100),
  /** What /logs/ serves: default <root-dir>/logs (the pods' logs); never the host's /var/log unless given. */
  nodeLogDir: z.string().min(1).optional(),
  /** How often the stats provider samples the runtime and the host (cAdvisor's housekeeping). */
  housekeepingInterval: z.number().positive().default(10),
};

// Only `skiff kubelet`: in `skiff up` these names are the API server's own flags (--tls-cert-file,
// --client-ca-file, --anonymous-auth, --authorization-mode); local nodes take them from the config file.
const ROLES = ['kubelet'] as const;
const boolFlag = (value: unknown) => (value === true ? true : bool(String(value)));

function flag(text: string, help: string, key: keyof typeof SERVER_CONFIG_SHAPE, parse?: (raw: string) => unknown) {
  return { flag: text, help, parse, roles: ROLES, toConfig: (value: unknown) => ({ [key]: value }) } as FlagSpec;
}

function boolean(text: string, help: string, key: keyof typeof SERVER_CONFIG_SHAPE): FlagSpec {
  return { ...flag(text, help, key), toConfig: (value) => ({ [key]: boolFlag(value) }) };
}

function mode(raw: string): string {
  if (!(AUTHORIZATION_MODES as readonly string[]).includes(raw)) {
    throw new InvalidArgumentError(`must be one of ${AUTHORIZATION_MODES.join(', ')}`);
  }
  return raw;
}

export const SERVER_FLAGS: readonly FlagSpec[] = [
  flag(
    '--tls-cert-file <file>',
    "the kubelet's serving certificate (default: self-signed in --cert-dir)",
    'tlsCertFile',
  ),
  flag('--tls-private-key-file <file>', 'the key of --tls-cert-file', 'tlsPrivateKeyFile'),
  flag('--cert-dir <dir>', 'where the self-signed serving certificate is kept (default <root-dir>/pki)', 'certDir'),
  flag('--client-ca-file <file>', "CAs whose client certificates authenticate to the kubelet's server", 'clientCAFile'),
  boolean(
    '--anonymous-auth [bool]',
    'let requests without credentials through as system:anonymous (default false)',
    'anonymousAuth',
  ),
  boolean(
    '--authentication-token-webhook [bool]',
    'check bearer tokens with TokenReview (default true)',
    'authenticationTokenWebhook',
  ),
  flag(
    '--authentication-token-webhook-cache-ttl <duration>',
    'how long TokenReview answers are cached (default 2m)',
    'authenticationTokenWebhookCacheTTL',
    goDurationSeconds,
  ),
  flag(
    '--authorization-mode <mode>',
    "the kubelet server's authorization: Webhook (default) or AlwaysAllow",
    'authorizationMode',
    mode,
  ),
  flag(
    '--authorization-webhook-cache-authorized-ttl <duration>',
    'how long an allowed SubjectAccessReview is cached (default 5m)',
    'authorizationWebhookCacheAuthorizedTTL',
    goDurationSeconds,
  ),
  flag(
    '--authorization-webhook-cache-unauthorized-ttl <duration>',
    'how long a denied SubjectAccessReview is cached (default 30s)',
    'authorizationWebhookCacheUnauthorizedTTL',
    goDurationSeconds,
  ),
  flag(
    '--streaming-connection-idle-timeout <duration>',
    'close exec/attach/port-forward connections idle this long (default 4h)',
    'streamingConnectionIdleTimeout',
    goDurationSeconds,
  ),
  flag('--node-log-dir <dir>', 'what /logs/ serves (default <root-dir>/logs; /var/log only if given)', 'nodeLogDir'),
  flag(
    '--housekeeping-interval <duration>',
    'how often resource stats are sampled (default 10s)',
    'housekeepingInterval',
    goDurationSeconds,
  ),
];
