/** Start a real Skiff server on a random loopback port for a test, and tear it down after. */
import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { pino } from 'pino';
import { loadConfigFromObject } from '../../core/config/load.js';
import { createServer, type SkiffServer } from '../../core/server/server.js';
import { ensurePki, type PkiFiles } from '../../plugins/pki-local/layout.js';
import { tempDir } from './temp-dirs.js';

export interface TestServer {
  url: string;
  port: number;
  /** With `secure: true`: the HTTPS URL, the PKI, and an admin kubeconfig file. */
  secureUrl?: string;
  /** The PKI pki-local made (when something needed it: HTTPS, authn-x509, ...), read on first use. */
  readonly pki?: PkiFiles;
  kubeconfig?: string;
  server: SkiffServer;
  dataDir: string;
  close(options?: { keepData?: boolean }): Promise<void>;
}

export interface TestServerOptions {
  storage?: 'memory' | 'sqlite' | 'etcd';
  /** The storage plugin's config (e.g. storage-etcd's servers and prefix). */
  storageConfig?: Record<string, unknown>;
  /** Reuse a data directory (restart tests). */
  dataDir?: string;
  /** Listen on this port instead of a random one (restart tests keep the URL). */
  port?: number;
  /** Changes kept per resource in the watch cache (api-watch-cache's defaultWatchCacheSize). */
  watchCacheSize?: number;
  /** Per-resource watch cache sizes (api-watch-cache's watchCacheSizes). */
  watchCacheSizes?: Record<string, number>;
  /** Extra plugin entries, merged after the built-ins. */
  plugins?: Record<string, unknown>;
  /** Also serve HTTPS on a free port, with a PKI created in the data directory (as `skiff up`). */
  secure?: boolean;
  /** With `secure`: this HTTPS port instead of a free one (restart tests keep the URL). */
  securePort?: number;
  /** 'up' also runs the controllers of enabled controller plugins (default: 'apiserver'). */
  role?: 'apiserver' | 'up';
  /** More `server:` settings of the config file (e.g. tlsMinVersion), merged over the test's own. */
  server?: Record<string, unknown>;
}

export async function startTestServer(options: TestServerOptions = {}): Promise<TestServer> {
  const dataDir = options.dataDir ?? tempDir('skiff-test-');
  const storage = options.storage ?? 'memory';
  const config = await loadConfigFromObject(
    {
      server: {
        dataDir,
        insecureBindAddress: '127.0.0.1',
        insecurePort: options.port ?? 'auto',
        securePort: options.secure ? (options.securePort ?? 'auto') : 0,
        storageBackend: storage,
        shutdownTimeoutSeconds: 5,
        ...options.server,
      },
      plugins: {
        [`storage-${storage}`]: options.storageConfig ? { config: options.storageConfig } : {},
        'api-core-v1': {},
        'api-coordination-v1': {},
        'api-authentication-v1': {},
        'api-authorization-v1': {},
        'api-watch-cache': { config: watchCacheConfig(options) },
        'api-server-side-apply': {},
        'api-patch-json': {},
        'api-patch-strategic-merge': {},
        'wire-protobuf': {},
        'wire-openapi': {},
        'metrics-prometheus': {},
        // Makes nothing until asked (HTTPS, authn-x509, authn-service-account), as `skiff up`.
        'pki-local': {},
        // A service only, for the quota plugins a test enables.
        'quota-evaluator': {},
        // Runs the enabled controller plugins' controllers when role is 'up' (nothing otherwise).
        'controller-manager': {},
        ...options.plugins,
      },
    },
    '(test)',
  );
  const logger = pino({ level: process.env.SKIFF_TEST_LOG ?? 'silent' });
  const server = await createServer({ config, role: options.role ?? 'apiserver', logger });
  const addresses = await server.listen();
  const port = addresses.insecure!.port;
  const secureUrl = addresses.secure ? `https://127.0.0.1:${addresses.secure.port}` : undefined;
  let pki: PkiFiles | undefined;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    secureUrl,
    get pki() {
      if (!pki && existsSync(join(dataDir, 'pki', 'ca.crt'))) pki = ensurePki(dataDir);
      return pki;
    },
    // pki-local writes it once the server listens, with the address served.
    kubeconfig: secureUrl ? join(dataDir, 'kubeconfig') : undefined,
    server,
    dataDir,
    async close({ keepData = false } = {}) {
      await server.close();
      if (!keepData && !options.dataDir) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

function watchCacheConfig(options: TestServerOptions): Record<string, unknown> {
  const config: Record<string, unknown> = {};
  if (options.watchCacheSize !== undefined) config.defaultWatchCacheSize = options.watchCacheSize;
  if (options.watchCacheSizes) config.watchCacheSizes = options.watchCacheSizes;
  return config;
}

/** fetch() against the server that parses JSON answers. */
export async function api(
  base: string,
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: any; headers: Headers }> {
  const init: RequestInit = { method, headers: { ...headers } };
  if (body !== undefined) {
    init.body = typeof body === 'string' ? body : JSON.stringify(body);
    (init.headers as Record<string, string>)['Content-Type'] ??= 'application/json';
  }
  const res = await fetch(base + path, init);
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // not JSON (health endpoints): keep the text
  }
  return { status: res.status, body: parsed, headers: res.headers };
}
