/** The config file's shape. Strict: an unknown key is far more often a typo than a wish. */
import { z } from 'zod';

export const pluginEntrySchema = z
  .object({
    enabled: z.boolean().default(true),
    /** A third-party plugin: a folder (index.ts / index.js) or a file, relative to the config file. */
    path: z.string().min(1).optional(),
    /** A third-party plugin published as an npm package. */
    package: z.string().min(1).optional(),
    config: z.record(z.string(), z.unknown()).optional(),
    /** For the plugin's admission work: Fail rejects the request when the plugin throws, hangs or
     * answers garbage; Ignore logs it and goes on (upstream's webhook failurePolicy). */
    failurePolicy: z.enum(['Fail', 'Ignore']).default('Fail'),
    /** How long one admission call of the plugin may take before it counts as failed. */
    timeoutSeconds: z.number().positive().max(30).default(10),
  })
  .strict()
  .refine((e) => !(e.path && e.package), { message: 'give either path or package, not both' });

export type PluginEntry = z.infer<typeof pluginEntrySchema>;

/** A port: 0 turns the listener off (as upstream's flags), "auto" picks a free one (tests, demos). */
export const portSchema = z.union([z.number().int().min(0).max(65535), z.literal('auto')]);
export type Port = z.infer<typeof portSchema>;

export const serverSchema = z
  .object({
    dataDir: z.string().min(1).default('./data'),
    /** HTTPS for every client (upstream --bind-address / --secure-port). */
    bindAddress: z.string().min(1).default('127.0.0.1'),
    securePort: portSchema.default(6443),
    /** Serving certificate and key (upstream --tls-cert-file / --tls-private-key-file); default:
     * generated under <dataDir>/pki on first start. */
    tlsCertFile: z.string().min(1).optional(),
    tlsPrivateKeyFile: z.string().min(1).optional(),
    /** Lowest TLS version served (upstream --tls-min-version: VersionTLS10 ... VersionTLS13); default
     * VersionTLS12, Go's default for servers. */
    tlsMinVersion: z.string().min(1).optional(),
    /** TLS 1.2 cipher suites, by IANA name (upstream --tls-cipher-suites); default: Go's (ECDHE only). */
    tlsCipherSuites: z.array(z.string().min(1)).min(1).optional(),
    /** Plain HTTP where every request is an unrestricted admin: off unless asked for, loopback only. */
    insecureBindAddress: z.string().min(1).default('127.0.0.1'),
    insecurePort: portSchema.default(0),
    storageBackend: z.string().min(1).default('sqlite'),
    maxRequestBodyBytes: z
      .number()
      .int()
      .positive()
      .default(3 * 1024 * 1024),
    /** Read-only requests served at once, long-running ones (watch, proxy, exec, ...) apart; beyond →
     * 429 (upstream --max-requests-inflight). 0 = no limit. */
    maxRequestsInflight: z.number().int().min(0).default(400),
    /** Mutating requests served at once (upstream --max-mutating-requests-inflight). 0 = no limit. */
    maxMutatingRequestsInflight: z.number().int().min(0).default(200),
    /** Request-body bytes all requests may hold at once; beyond → 429. 0 = no limit. */
    maxInflightBodyBytes: z
      .number()
      .int()
      .min(0)
      .default(32 * 1024 * 1024),
    /** A connection must finish its TLS handshake, and each request its headers, within this time
     * (upstream: Go's ReadHeaderTimeout, 32 s, which also bounds the handshake). */
    requestHeaderTimeoutSeconds: z.number().positive().max(3600).default(32),
    /** A keep-alive connection with no request for this long is closed (upstream's IdleTimeout). */
    idleTimeoutSeconds: z.number().positive().max(3600).default(90),
    shutdownTimeoutSeconds: z.number().positive().default(30),
  })
  .strict()
  .refine((s) => s.maxInflightBodyBytes === 0 || s.maxInflightBodyBytes >= s.maxRequestBodyBytes, {
    message: 'must be 0 (no limit) or at least maxRequestBodyBytes, or no body of the largest size could be read',
    path: ['maxInflightBodyBytes'],
  });

export const fileSchema = z
  .object({
    server: serverSchema.default(serverSchema.parse({})),
    plugins: z
      .record(
        z.string(),
        pluginEntrySchema.nullable().transform((e) => e ?? pluginEntrySchema.parse({})),
      )
      .default({}),
  })
  .strict();
