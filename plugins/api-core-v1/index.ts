/**
 * api-core-v1: the built-in core/v1 kinds (pods, services, namespaces, ...), their strategies and
 * subresources, the ClusterIP and NodePort allocators, and the bootstrap of the default namespaces
 * and the `kubernetes` service. See README.md.
 */
import { asValue } from 'awilix';
import { z } from 'zod';
import type { KubeObject, ObjectStore } from '../../core/api/types.js';
import type { ApiClient } from '../../core/client/types.js';
import { errors } from '../../core/errors.js';
import { definePlugin, type PluginContext } from '../../core/plugins/contract.js';
import type { Storage } from '../../core/storage/types.js';
import { advertisedAddress, ensureDefaultNamespaces, ensureKubernetesService } from './bootstrap.js';
import { ClusterIPAllocator, NodePortAllocator, parseIPv4Cidr } from './cluster-ip-allocator.js';
import { coreV1Definitions } from './kinds.js';
import { CLUSTER_IP_ALLOCATOR, NODE_PORT_ALLOCATOR } from './services.js';

const SERVICES_PREFIX = '/registry/services/specs/';

const ipv4Range = (v: string) => {
  const parsed = parseIPv4Cidr(v);
  return parsed !== undefined && parsed.prefix <= 30;
};

function parsePortRange(v: string): { first: number; last: number } | undefined {
  const m = /^(\d{1,5})-(\d{1,5})$/.exec(v);
  const [first, last] = m ? [Number(m[1]), Number(m[2])] : [0, 0];
  return m && first >= 1 && first <= last && last <= 65535 ? { first, last } : undefined;
}

const configSchema = z
  .object({
    /** kube-apiserver's --service-cluster-ip-range: an IPv4 CIDR with room for at least 2 addresses. */
    serviceClusterIPRange: z
      .string()
      .refine(ipv4Range, {
        error: 'must be an IPv4 CIDR of at most /30 (e.g. 127.96.0.0/16); IPv6 and dual-stack are not supported',
      })
      .default('127.96.0.0/16'),
    /** kube-apiserver's --service-node-port-range. */
    serviceNodePortRange: z
      .string()
      .refine((v) => parsePortRange(v) !== undefined, { error: 'must be a port range "first-last" (e.g. 30000-32767)' })
      .default('30000-32767'),
  })
  .strict();

export type ApiCoreV1Config = z.infer<typeof configSchema>;

/** The stored services, read straight from storage (which opens after setup, hence lazily). */
function serviceLister(ctx: PluginContext<ApiCoreV1Config>) {
  return async (): Promise<KubeObject[]> => {
    const storage = ctx.container.resolve<Storage>('storage');
    const { items } = await storage.list(SERVICES_PREFIX);
    return items.map((kv) => JSON.parse(kv.value) as KubeObject);
  };
}

/** The virtual bindings resource has no store; it binds through the pods' store. */
function podStore(ctx: PluginContext<ApiCoreV1Config>) {
  return (): ObjectStore => {
    const api = ctx.container.resolve<{ storeFor(g: string, v: string, p: string): ObjectStore | undefined }>('api');
    const store = api.storeFor('', 'v1', 'pods');
    if (!store) throw errors.internal('pods are not served');
    return store;
  };
}

export default definePlugin<ApiCoreV1Config>({
  name: 'api-core-v1',
  description: 'The core/v1 kinds (pods, services, namespaces, ...), their subresources and the default namespaces.',
  config: configSchema,
  setup(ctx) {
    const listServices = serviceLister(ctx);
    const clusterIPs = new ClusterIPAllocator(ctx.config.serviceClusterIPRange, listServices);
    const ports = parsePortRange(ctx.config.serviceNodePortRange)!;
    const nodePorts = new NodePortAllocator(ports.first, ports.last, listServices);
    ctx.container.register({
      [CLUSTER_IP_ALLOCATOR]: asValue(clusterIPs),
      [NODE_PORT_ALLOCATOR]: asValue(nodePorts),
    });
    for (const def of coreV1Definitions(podStore(ctx))) ctx.provide.resource(def);

    // The port is only known after listen() when the server binds port 0, so the kubernetes
    // service is (re)conciled once more when the server is ready.
    let client: ApiClient | undefined;
    // A missing kubernetes service degrades in-cluster clients but must not keep the server down.
    const reconcileService = async () => {
      if (!client || ctx.server.advertisePort <= 0) return;
      const endpoint = { address: advertisedAddress(ctx.server.advertiseAddress), port: ctx.server.advertisePort };
      try {
        await ensureKubernetesService(client, clusterIPs.kubernetesServiceIP, endpoint);
      } catch (err) {
        ctx.logger.warn({ err }, 'could not reconcile the kubernetes service and its endpoints');
      }
    };
    ctx.provide.bootstrap('default-namespaces', async (c) => {
      client = c;
      await ensureDefaultNamespaces(c);
      await reconcileService();
    });
    ctx.hooks.ready.tapPromise('api-core-v1', reconcileService);
    ctx.logger.debug(
      { serviceClusterIPRange: clusterIPs.cidr, serviceNodePortRange: nodePorts.range },
      'core/v1 ready',
    );
  },
});
