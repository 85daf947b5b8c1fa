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
    /** Plain HTTP where every request is an unrestricted admin: off unless asked for, loopback only. */
    insecureBindAddress: z.string().min(1).default('127.0.0.1'),
    insecurePort: portSchema.default(0),
    storageBackend: z.string().min(1).default('sqlite'),
    maxRequestBodyBytes: z
      .number()
      .int()
      .positive()
      .default(3 * 1024 * 1024),
    shutdownTimeoutSeconds: z.number().positive().default(30),
    /** Events kept per resource for watch replay (upstream: --default-watch-cache-size). Older
     * resourceVersions are replayed from storage history, or get 410 Expired once compacted. */
    watchCacheSize: z.number().int().min(1).default(1000),
  })
  .strict();

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
