/**
 * Shared set-up for the simulated runtime's tests: a real API server (in-memory storage) with the
 * Node authorizer, NodeRestriction and the bootstrap roles, runtime-simulated with a short start
 * delay, and simulated nodes hosted in the test's process, each writing as its own
 * system:node:<name> through an in-process client, all sharing one pod watch.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Pod } from 'kubernetes-types/core/v1.js';
import { pino } from 'pino';
import type { KubeObject } from 'skiff/sdk';
import { type ApiClient, CORE_V1 } from 'skiff/sdk/client';
import { runtimeKey } from 'skiff/sdk/runtime';
import { type KubeletConfig, kubeletConfigSchema } from '../../../plugins/node-kubelet/config.js';
import { SimulatedNodes } from '../../../plugins/node-kubelet/multi/host.js';
import { nodeUser } from '../../../plugins/node-kubelet/node-names.js';
import { startTestServer, type TestServer } from '../../helpers/server.js';

export const PODS = CORE_V1('pods');
export const NODES = CORE_V1('nodes');
export const EVENTS = CORE_V1('events');
export const LEASES = { group: 'coordination.k8s.io', version: 'v1', resource: 'leases' };

/** Short periods through the config's knobs, never by waiting longer. */
export const FAST: Partial<KubeletConfig> = {
  relistPeriod: 0.1,
  nodeLeaseDurationSeconds: 4,
  crashLoopBackOff: { initialSeconds: 1, maxContainerRestartPeriod: 2 },
  port: 0,
};

export interface SimHarness {
  server: TestServer;
  admin: ApiClient;
  /** How many watches the nodes' shared client opened. */
  watches(): number;
  /** Starts simulated nodes `names` in one host; stopped by close(). */
  nodes(names: string[], config?: Partial<KubeletConfig>): Promise<SimulatedNodes>;
  close(): Promise<void>;
}

/** The watcher client, counting the watches it opens (frozen in-process ones included). */
function counting(client: ApiClient, count: { n: number }): ApiClient {
  const frozen = (client as { watchFrozen?: (...args: unknown[]) => unknown }).watchFrozen;
  const wrapper = Object.create(client) as ApiClient & { watchFrozen?: (...args: unknown[]) => unknown };
  wrapper.watch = (...args) => {
    count.n++;
    return client.watch(...args);
  };
  if (frozen) {
    wrapper.watchFrozen = (...args: unknown[]) => {
      count.n++;
      return frozen.apply(client, args);
    };
  }
  return wrapper;
}

export async function startSimHarness(runtimeConfig: Record<string, unknown> = {}): Promise<SimHarness> {
  const server = await startTestServer({
    plugins: {
      'authz-node': {},
      'authz-bootstrap-roles': {},
      'admission-node-restriction': {},
      'runtime-simulated': { config: { startDelaySeconds: 0.05, ...runtimeConfig } },
      'node-kubelet': { config: { nodes: 0 } },
    },
  });
  const hosts: SimulatedNodes[] = [];
  const root = mkdtempSync(join(tmpdir(), 'skiff-sim-'));
  const logger = pino({ level: process.env.SKIFF_TEST_LOG ?? 'silent' });
  const count = { n: 0 };
  return {
    server,
    admin: server.server.client(),
    watches: () => count.n,
    async nodes(names, config = {}) {
      const host = new SimulatedNodes({
        names,
        provider: server.server.use(runtimeKey('simulated')),
        config: kubeletConfigSchema.parse({ ...FAST, ...config }),
        rootDir: root,
        clientFor: (name) => server.server.client(nodeUser(name)),
        watcher: counting(server.server.client(), count),
        logger,
      });
      hosts.push(host);
      await host.start();
      return host;
    },
    async close() {
      await Promise.allSettled(hosts.map((h) => h.stop({ stopPods: true })));
      await server.close();
      rmSync(root, { recursive: true, force: true });
    },
  };
}

/** A pod bound to `node`: one container `main`, the given annotations and spec fields. */
export function simPod(
  name: string,
  node: string,
  annotations: Record<string, string> = {},
  spec: object = {},
): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: 'default', annotations },
    spec: {
      nodeName: node,
      containers: [{ name: 'main', image: 'busybox' }],
      terminationGracePeriodSeconds: 1,
      ...spec,
    },
  } as KubeObject;
}

export async function waitFor<T>(what: string, read: () => Promise<T>, ok: (v: T) => boolean, ms = 10_000): Promise<T> {
  const deadline = Date.now() + ms;
  let last: T | undefined;
  for (;;) {
    try {
      last = await read();
      if (ok(last)) return last;
    } catch {}
    if (Date.now() > deadline)
      throw new Error(`timed out waiting for ${what}; last: ${JSON.stringify(last)?.slice(0, 1500)}`);
    await new Promise((r) => setTimeout(r, 30));
  }
}

export const getPod = (h: SimHarness, name: string) =>
  h.admin.get(PODS, 'default', name) as Promise<unknown> as Promise<Pod>;

export function condition(pod: Pod, type: string): string | undefined {
  return pod.status?.conditions?.find((c) => c.type === type)?.status;
}

/** Whether `ip` lies in the IPv4 range `cidr`. */
export function inCidr(ip: string, cidr: string): boolean {
  const toNumber = (a: string) => a.split('.').reduce((n, o) => n * 256 + Number(o), 0);
  const [base, bits] = cidr.split('/');
  const size = 2 ** (32 - Number(bits));
  return Math.floor(toNumber(ip) / size) === Math.floor(toNumber(base!) / size);
}
