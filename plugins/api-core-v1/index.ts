/**
 * api-core-v1: the built-in core/v1 kinds (pods, services, namespaces, ...), their strategies and
 * subresources, the ClusterIP and NodePort allocators, the bootstrap of the default namespaces and
 * the `kubernetes` service, and that service's endpoints (every live API server). See README.md.
 */
import { definePlugin, type PluginContext, serviceKey } from 'skiff/sdk';
import { z } from 'zod';
import type { KubeObject, ObjectStore } from '../../core/api/types.js';
import type { ApiClient } from '../../core/client/types.js';
import type { Storage } from '../../core/storage/types.js';
import { ApiServerEndpoints, LEASES } from './apiserver-endpoints.js';
import { advertisedAddress, ensureDefaultNamespaces, ensureKubernetesService } from './bootstrap.js';
import { ClusterIPAllocator, NodePortAllocator, parseIPv4Cidr } from './cluster-ip-allocator.js';
import { coreV1Definitions } from './kinds.js';
import { CLUSTER_IP_ALLOCATOR, NODE_PORT_ALLOCATOR } from './services.js';

const SERVICES_PREFIX = '/registry/services/specs/';
/** The endpoint reconciler of this server, provided once it is ready (tests halt it to play a dead server). */
export const API_SERVER_ENDPOINTS = serviceKey<ApiServerEndpoints>('apiServerEndpoints', 'api-core-v1');

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
    /**
     * Claim every cluster IP and node port in storage so that API servers sharing it never hand out
     * the same one. auto: when the backend is shared by several servers (Storage.shared, as etcd).
     */
    allocationClaims: z.enum(['auto', 'always', 'never']).default('auto'),
    /** How long an API server's identity lease lasts unrenewed (upstream's master lease TTL). */
    apiServerLeaseDurationSeconds: z.number().int().min(1).max(3600).default(15),
    /** How often each API server renews its lease and reconciles the kubernetes endpoints. */
    endpointReconcileIntervalSeconds: z.number().positive().max(3600).default(10),
  })
  .strict()
  .refine((c) => c.endpointReconcileIntervalSeconds < c.apiServerLeaseDurationSeconds, {
    path: ['endpointReconcileIntervalSeconds'],
    error: 'must be shorter than apiServerLeaseDurationSeconds, or every lease expires before it is renewed',
  });

export type ApiCoreV1Config = z.infer<typeof configSchema>;

/** The first host address of an IPv4 CIDR: 127.96.0.0/16 → 127.96.0.1. */
function firstHost(cidr: string): string | undefined {
  const base = cidr.split('/')[0];
  if (!base || !/^\d+\.\d+\.\d+\.\d+$/.test(base)) return undefined;
  const parts = base.split('.').map(Number);
  parts[3] = parts[3]! + 1;
  return parts.join('.');
}

/** A store one server owns alone needs no claims: they would only cost writes. */
function claimsWanted(setting: ApiCoreV1Config['allocationClaims'], storage: Storage): boolean {
  return setting === 'always' || (setting === 'auto' && storage.shared === true);
}

/** The stored services, read straight from storage (which opens after setup, hence lazily). */
function serviceLister(storage: () => Storage) {
  return async (revision?: number): Promise<KubeObject[]> => {
    const { items } = await storage().list(SERVICES_PREFIX, { revision });
    return items.map((kv) => JSON.parse(kv.value) as KubeObject);
  };
}

/** The virtual bindings resource has no store; it binds through the pods' store. */
function podStore(ctx: PluginContext<ApiCoreV1Config>) {
  return (): ObjectStore => ctx.api.store('', 'v1', 'pods');
}

function endpointReconciler(ctx: PluginContext<ApiCoreV1Config>, client: ApiClient): ApiServerEndpoints {
  const leases = ctx.api.registry.find(LEASES.group, LEASES.version, LEASES.resource) !== undefined;
  if (!leases) ctx.logger.info('api-coordination-v1 is off: the kubernetes endpoints list this server alone');
  return new ApiServerEndpoints({
    client,
    endpoint: { address: advertisedAddress(ctx.server.advertiseAddress), port: ctx.server.advertisePort },
    leaseDurationSeconds: ctx.config.apiServerLeaseDurationSeconds,
    intervalSeconds: ctx.config.endpointReconcileIntervalSeconds,
    logger: ctx.logger,
    leases,
  });
}

export default definePlugin<ApiCoreV1Config>({
  name: 'api-core-v1',
  description: 'The core/v1 kinds (pods, services, namespaces, ...), their subresources and the default namespaces.',
  config: configSchema,
  // The kubernetes service takes the first address of the service range; the serving certificate names it.
  kubernetesServiceIP: (config) => firstHost(config.serviceClusterIPRange),
  setup(ctx) {
    const storage = () => ctx.api.storage();
    const listServices = serviceLister(storage);
    const claimIn = () => (claimsWanted(ctx.config.allocationClaims, storage()) ? storage() : undefined);
    const clusterIPs = new ClusterIPAllocator(ctx.config.serviceClusterIPRange, listServices, { storage: claimIn });
    const ports = parsePortRange(ctx.config.serviceNodePortRange)!;
    const nodePorts = new NodePortAllocator(ports.first, ports.last, listServices, { storage: claimIn });
    ctx.provide.service(CLUSTER_IP_ALLOCATOR, clusterIPs);
    ctx.provide.service(NODE_PORT_ALLOCATOR, nodePorts);
    for (const def of coreV1Definitions(podStore(ctx))) ctx.provide.resource(def);

    // The port is only known after listen() when the server binds port 0, so the kubernetes
    // service is (re)conciled once more when the server is ready.
    let client: ApiClient | undefined;
    // A missing kubernetes service degrades in-cluster clients but must not keep the server down.
    const reconcileService = async () => {
      if (!client || ctx.server.advertisePort <= 0) return;
      try {
        await ensureKubernetesService(client, clusterIPs.kubernetesServiceIP, ctx.server.advertisePort);
      } catch (err) {
        ctx.logger.warn({ err }, 'could not reconcile the kubernetes service');
      }
    };
    ctx.provide.bootstrap('default-namespaces', async (c) => {
      client = c;
      await ensureDefaultNamespaces(c);
      await reconcileService();
    });
    let endpoints: ApiServerEndpoints | undefined;
    ctx.onReady(async () => {
      await reconcileService();
      if (!client || ctx.server.advertisePort <= 0) return;
      endpoints = endpointReconciler(ctx, client);
      ctx.provide.service(API_SERVER_ENDPOINTS, endpoints);
      await endpoints.start();
    });
    ctx.onShutdown(async () => endpoints?.stop());
    ctx.logger.debug(
      { serviceClusterIPRange: clusterIPs.cidr, serviceNodePortRange: nodePorts.range },
      'core/v1 ready',
    );
  },
});
