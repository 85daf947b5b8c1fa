/**
 * Shared set-up for the kubelet's tests: a real API server (in-memory storage) with the Node
 * authorizer, NodeRestriction and the bootstrap roles, runtime-process with its own prefix and
 * cluster range, and kubelets run in the test's process as `system:node:<name>` in-process clients.
 * Back-offs and periods are short through the config (the test-only knobs), never by waiting.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Pod } from 'kubernetes-types/core/v1.js';
import { pino } from 'pino';
import type { KubeObject } from 'skiff/sdk';
import { type ApiClient, CORE_V1 } from 'skiff/sdk/client';
import { type RuntimeProvider, runtimeKey } from 'skiff/sdk/runtime';
import { type KubeletConfig, kubeletConfigSchema } from '../../../plugins/node-kubelet/config.js';
import { Kubelet } from '../../../plugins/node-kubelet/kubelet.js';
import { nodeUser } from '../../../plugins/node-kubelet/node-names.js';
import { sweepProcessRuntime } from '../../../plugins/runtime-process/index.js';
import { startTestServer, type TestServer } from '../../helpers/server.js';
import { freeClusterCidr, isRoot, leftovers, processesOf, testPrefix } from '../runtime-process/helpers.js';

export { isRoot, leftovers, processesOf };
export const rootReason =
  'kubelet tests run real pods: runtime-process needs root (network namespaces, veths, cgroups)';

export const PODS = CORE_V1('pods');
export const NODES = CORE_V1('nodes');
export const EVENTS = CORE_V1('events');

/** Periods and back-offs short enough for tests (the knobs upstream's KubeletConfiguration has, shortened). */
export const FAST: Partial<KubeletConfig> = {
  relistPeriod: 0.2,
  syncFrequency: 2,
  nodeStatusUpdateFrequency: 1,
  crashLoopBackOff: { initialSeconds: 1, maxContainerRestartPeriod: 4 },
  shutdownGracePeriod: 2,
  // No HTTPS server (it listens on 10250 by default): its own tests (server-*.test.ts) turn it on.
  port: 0,
};

export interface KubeletHarness {
  server: TestServer;
  admin: ApiClient;
  provider: RuntimeProvider;
  runtimeConfig: { prefix: string; clusterCIDR: string; loopbackCIDR: string };
  /** Starts a kubelet named `name` (root dir of its own, unless given); stopped by close(). */
  kubelet(name: string, config?: Partial<KubeletConfig>, rootDir?: string): Promise<Kubelet>;
  roots: string[];
  /** Stops every kubelet (and its pods) and the server, sweeping nothing: what a test checks for leftovers. */
  stop(): Promise<void>;
  /** stop(), then the runtime's sweep of the prefix and the root dirs, whatever happened before. */
  close(): Promise<void>;
}

export async function startHarness(extraPlugins: Record<string, unknown> = {}): Promise<KubeletHarness> {
  const range = freeClusterCidr();
  const runtimeConfig = {
    prefix: testPrefix(),
    clusterCIDR: range.cluster,
    loopbackCIDR: `127.${range.second}.0.0/16`,
  };
  const server = await startTestServer({
    plugins: {
      'authz-node': {},
      'authz-bootstrap-roles': {},
      'admission-node-restriction': {},
      'runtime-process': { config: runtimeConfig },
      'node-kubelet': { config: { nodes: 0 } },
      ...extraPlugins,
    },
  });
  const kubelets: Kubelet[] = [];
  const roots: string[] = [];
  let stopped: Promise<void> | undefined;
  const stop = async () => {
    stopped ??= (async () => {
      await Promise.allSettled(kubelets.map((k) => k.stop({ stopPods: true })));
      await server.close();
    })();
    await stopped;
  };
  const logger = pino({ level: process.env.SKIFF_TEST_LOG ?? 'silent' });
  return {
    server,
    admin: server.server.client(),
    provider: server.server.use(runtimeKey('process')),
    runtimeConfig,
    roots,
    async kubelet(name, config = {}, rootDir) {
      const root = rootDir ?? mkdtempSync(join(tmpdir(), 'skiff-kubelet-'));
      if (!roots.includes(root)) roots.push(root);
      const kubelet = new Kubelet({
        nodeName: name,
        client: server.server.client(nodeUser(name)),
        runtime: server.server.use(runtimeKey('process')),
        config: kubeletConfigSchema.parse({ ...FAST, ...config }),
        rootDir: root,
        logger: logger.child({ node: name }),
        localIndex: kubelets.length + 1,
      });
      kubelets.push(kubelet);
      await kubelet.start();
      return kubelet;
    },
    stop,
    async close() {
      // Whatever fails on the way, the sweep runs: no process, namespace or link outlives the test.
      try {
        await stop();
      } finally {
        unmountUnder(roots);
        await sweepProcessRuntime(runtimeConfig, roots);
      }
    },
  };
}

/** Whatever a kubelet that failed to stop left mounted under its root (an emptyDir tmpfs). */
function unmountUnder(roots: string[]): void {
  const mounts = readFileSync('/proc/mounts', 'utf8')
    .split('\n')
    .map((l) => l.split(' ')[1] ?? '');
  for (const m of mounts.filter((m) => roots.some((r) => m.startsWith(`${r}/`))).reverse()) {
    spawnSync('umount', ['-l', m]);
  }
}

/** A pod bound to `node` with one container (name `main`) running `command`. */
export function podSpec(
  name: string,
  node: string,
  command: string[],
  extra: Record<string, unknown> = {},
): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: 'default' },
    spec: {
      nodeName: node,
      terminationGracePeriodSeconds: 2,
      containers: [{ name: 'main', image: 'node', command }],
      ...extra,
    },
  };
}

/** A Node HTTP server on 8080 that exits on SIGTERM (Node as PID 1 would ignore it otherwise). */
export const HTTP_SERVER = [
  'node',
  '-e',
  "process.on('SIGTERM',()=>process.exit(0));require('http').createServer((q,s)=>s.end('pod '+require('os').hostname())).listen(8080)",
];

export async function waitFor<T>(what: string, read: () => Promise<T>, ok: (v: T) => boolean, ms = 15_000): Promise<T> {
  const deadline = Date.now() + ms;
  let last: T | undefined;
  for (;;) {
    try {
      last = await read();
      if (ok(last)) return last;
    } catch {}
    if (Date.now() > deadline)
      throw new Error(`timed out waiting for ${what}; last: ${JSON.stringify(last)?.slice(0, 2000)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** GET a URL until it answers (a pod is Ready before its server listens when it has no readiness probe). */
export async function httpText(url: string, ms = 10_000): Promise<string> {
  const res = await waitFor(
    `${url} to answer`,
    () => fetch(url),
    (r) => r.ok,
    ms,
  );
  return res.text();
}

export const getPod = (h: KubeletHarness, name: string, namespace = 'default') =>
  h.admin.get(PODS, namespace, name) as Promise<Pod & KubeObject>;

export function condition(pod: Pod, type: string): string | undefined {
  return pod.status?.conditions?.find((c) => c.type === type)?.status;
}

/** Events about a pod (by name), oldest first. */
export async function eventsOf(h: KubeletHarness, pod: string, namespace = 'default'): Promise<KubeObject[]> {
  const list = await h.admin.list(EVENTS, namespace);
  return list.items.filter((e) => (e.involvedObject as { name?: string }).name === pod);
}

export const reasons = (events: KubeObject[]) => events.map((e) => `${e.reason}: ${e.message}`);
