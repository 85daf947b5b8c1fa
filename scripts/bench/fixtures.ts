/** Shared set-up for the benchmarks: a server on loopback with a fresh SQLite data dir, and pods. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import type { KubeObject } from '../../core/api/types.js';
import { CORE_V1 } from '../../core/client/types.js';
import { loadConfigFromObject } from '../../core/config/load.js';
import { createServer, type SkiffServer } from '../../core/server/server.js';

export interface BenchServer {
  url: string;
  server: SkiffServer;
  close(): Promise<void>;
}

/** What a bench server stores in: SQLite by default, or storage-etcd with this plugin config. */
export interface BenchStorage {
  backend: 'sqlite' | 'etcd';
  config?: Record<string, unknown>;
}

/** `extraPlugins` are added after storage and the core kinds; `role: 'up'` also runs controllers. */
export async function startBenchServer(
  extraPlugins: Record<string, unknown> = {},
  role: 'apiserver' | 'up' = 'apiserver',
  storage: BenchStorage = { backend: 'sqlite' },
): Promise<BenchServer> {
  const dataDir = mkdtempSync(join(tmpdir(), 'skiff-bench-'));
  const storagePlugin = { [`storage-${storage.backend}`]: storage.config ? { config: storage.config } : {} };
  const config = await loadConfigFromObject(
    {
      server: { dataDir, insecurePort: 'auto', securePort: 0, storageBackend: storage.backend },
      plugins: {
        ...storagePlugin,
        'api-watch-cache': {},
        'api-core-v1': {},
        'api-coordination-v1': {},
        'api-server-side-apply': {},
        'api-patch-json': {},
        'api-patch-strategic-merge': {},
        // As the default config: every request is counted, so the figures include what that costs.
        'metrics-prometheus': {},
        // Runs the extra controller plugins' controllers when role is 'up' (nothing otherwise).
        'controller-manager': {},
        ...extraPlugins,
      },
    },
    '(bench)',
  );
  const server = await createServer({ config, role, logger: pino({ level: 'warn' }) });
  const { insecure } = await server.listen();
  return {
    url: `http://127.0.0.1:${insecure!.port}`,
    server,
    async close() {
      await server.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

export function pod(name: string, namespace: string): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace, labels: { app: 'bench', tier: 'web' }, annotations: { 'bench/owner': 'skiff' } },
    spec: {
      containers: [
        {
          name: 'web',
          image: 'kubeguide/tomcat-app:v1',
          ports: [{ containerPort: 8080 }],
          env: [{ name: 'MYSQL_SERVICE_HOST', value: 'mysql' }],
          resources: { requests: { cpu: '100m', memory: '128Mi' } },
        },
      ],
    },
  };
}

/** Create `count` pods through the in-process client, many at a time (group commit batches them). */
export async function createPods(s: BenchServer, namespace: string, count: number, prefix = 'pod'): Promise<void> {
  const client = s.server.client();
  await client.create(CORE_V1('namespaces'), '', { metadata: { name: namespace } }).catch(() => undefined);
  const batch = 200;
  for (let i = 0; i < count; i += batch) {
    const n = Math.min(batch, count - i);
    await Promise.all(
      Array.from({ length: n }, (_, j) =>
        client.create(CORE_V1('pods'), namespace, pod(`${prefix}-${i + j}`, namespace)),
      ),
    );
  }
}

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}
