/**
 * storage-etcd: the storage contract on a real etcd (3.4+), so several Skiff servers can share one
 * store. Offers the backend "etcd" (server.storageBackend / --storage-backend etcd, or just
 * --etcd-servers). Setup only offers it: nothing connects until the server opens the chosen backend.
 */

import { definePlugin, type FlagSpec } from 'skiff/sdk';
import { DEFAULT_COMPACTION_INTERVAL_SECONDS, DEFAULT_COMPACTION_WINDOW_SECONDS } from 'skiff/sdk/storage';
import { z } from 'zod';
import { DEFAULT_MAX_REQUEST_BYTES } from './errors.js';

const serverUrl = z
  .string()
  .regex(/^https?:\/\/[^/\s]+\/?$/, 'expected a client URL such as http://127.0.0.1:2379 or https://etcd-1:2379');

const configSchema = z
  .object({
    /** etcd's client URLs (--etcd-servers). */
    servers: z.array(serverUrl).min(1).default(['http://127.0.0.1:2379']),
    /** Takes the place of the API's leading "/registry" in etcd (--etcd-prefix). */
    prefix: z
      .string()
      .transform((p) => p.replace(/\/+$/, ''))
      .pipe(z.string().regex(/^(\/[^/]+)*$/, 'expected "" or a path such as /registry or /skiff/cluster-a'))
      .default('/registry'),
    /** PEM files for TLS to etcd (--etcd-cafile, --etcd-certfile, --etcd-keyfile). */
    caFile: z.string().min(1).optional(),
    certFile: z.string().min(1).optional(),
    keyFile: z.string().min(1).optional(),
    compactionWindowSeconds: z.number().int().positive().default(DEFAULT_COMPACTION_WINDOW_SECONDS),
    compactionIntervalSeconds: z.number().int().positive().default(DEFAULT_COMPACTION_INTERVAL_SECONDS),
    dialTimeoutSeconds: z.number().positive().default(20),
    requestTimeoutSeconds: z.number().positive().default(10),
    /** etcd's --max-request-bytes, as reported to clients that send too much. */
    maxRequestBytes: z.number().int().positive().default(DEFAULT_MAX_REQUEST_BYTES),
    /** 1 keeps revisions in issue order; more let etcd batch concurrent writes (see README). */
    maxWritesInFlight: z.number().int().min(1).max(1000).default(1),
  })
  .strict()
  .superRefine((c, ctx) => {
    const tls = c.servers.filter((s) => s.startsWith('https:')).length;
    if (tls && tls < c.servers.length) {
      ctx.addIssue({ code: 'custom', path: ['servers'], message: 'use https:// for all servers or for none' });
    }
    if (!tls && (c.caFile || c.certFile || c.keyFile)) {
      ctx.addIssue({
        code: 'custom',
        path: ['servers'],
        message: 'caFile, certFile and keyFile need https:// servers',
      });
    }
    if (!c.certFile !== !c.keyFile) {
      ctx.addIssue({
        code: 'custom',
        path: [c.certFile ? 'keyFile' : 'certFile'],
        message: 'give certFile and keyFile together',
      });
    }
  });

export type EtcdStorageConfig = z.infer<typeof configSchema>;

/** Upstream's --etcd-* flags: each configures (and turns on) this plugin; naming servers picks the backend. */
const flags: FlagSpec[] = [
  {
    flag: '--etcd-servers <urls>',
    help: 'comma-separated etcd client URLs; selects the etcd backend (storage-etcd)',
    toConfig: (urls) => {
      const servers = String(urls)
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean);
      return servers.length ? { servers } : undefined;
    },
    enables: true,
    serverDefaults: (urls) => (urls ? { storageBackend: 'etcd' } : {}),
  },
  {
    flag: '--etcd-prefix <prefix>',
    help: "where the API's /registry keys live in etcd (default: /registry)",
    toConfig: (prefix) => ({ prefix }),
    enables: true,
  },
  {
    flag: '--etcd-cafile <file>',
    help: "CA certificate that signed the etcd servers' certificates",
    toConfig: (caFile) => (caFile ? { caFile } : undefined),
    enables: true,
  },
  {
    flag: '--etcd-certfile <file>',
    help: 'client certificate for etcd',
    toConfig: (certFile) => (certFile ? { certFile } : undefined),
    enables: true,
  },
  {
    flag: '--etcd-keyfile <file>',
    help: 'key of the etcd client certificate',
    toConfig: (keyFile) => (keyFile ? { keyFile } : undefined),
    enables: true,
  },
];

export default definePlugin<EtcdStorageConfig>({
  name: 'storage-etcd',
  description: 'Storage on a real etcd (3.4+): revision-guarded transactions, watches with prevKv, TLS, compaction.',
  config: configSchema,
  flags,
  setup(ctx) {
    const c = ctx.config;
    // The etcd client is imported only when this backend is opened: the CLI reads this manifest
    // on every start, and most starts store elsewhere.
    ctx.provide.storageBackend('etcd', async () =>
      (await import('./etcd-storage.js')).EtcdStorage.open({
        servers: c.servers,
        prefix: c.prefix,
        caFile: c.caFile,
        certFile: c.certFile,
        keyFile: c.keyFile,
        dialTimeoutMs: c.dialTimeoutSeconds * 1000,
        requestTimeoutMs: c.requestTimeoutSeconds * 1000,
        compactionWindowSeconds: c.compactionWindowSeconds,
        compactionIntervalSeconds: c.compactionIntervalSeconds,
        maxRequestBytes: c.maxRequestBytes,
        maxWritesInFlight: c.maxWritesInFlight,
        logger: ctx.logger,
      }),
    );
  },
});
