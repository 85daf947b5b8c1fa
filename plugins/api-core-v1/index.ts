/**
 * api-core-v1: the built-in core/v1 kinds (pods, services, namespaces, ...), their strategies and
 * subresources, the ClusterIP and NodePort allocators, the bootstrap of the default namespaces and
 * the `kubernetes` service, and that service's endpoints (every live API server). See README.md.
 */
import { definePlugin, type PluginContext, serviceKey } from 'skiff/sdk';
import type { ObjectStore } from 'skiff/sdk/api';
import { goDurationSeconds, InvalidArgumentError } from 'skiff/sdk/cli';
import type { ApiClient } from 'skiff/sdk/client';
import { SERVICE_NETWORK } from 'skiff/sdk/network';
import { serviceAllocators } from './allocators.js';
import { ApiServerEndpoints, LEASES } from './apiserver-endpoints.js';
import { advertisedAddress, ensureDefaultNamespaces, ensureKubernetesService } from './bootstrap.js';
import { type ApiCoreV1Config, configSchema, firstServiceIP, parsePortRange } from './config.js';
import { EventExpiry } from './event-ttl.js';
import { coreV1Definitions } from './kinds.js';

export type { ApiCoreV1Config } from './config.js';

/**
 * This server's API server identity and endpoint reconciler, once it is ready. A typed service
 * rather than an internal: the identity (the Lease name, the holder) is the server's own, which
 * whoever embeds the server may need, and halting the reconciler is how a test plays a server that
 * died without killing its process. Nothing else in the plugin goes through services.
 */
export const API_SERVER_ENDPOINTS = serviceKey<ApiServerEndpoints>(
  'apiServerEndpoints',
  "the API server's own endpoints",
);

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
  provides: [SERVICE_NETWORK, API_SERVER_ENDPOINTS],
  config: configSchema,
  // The kubernetes service takes the first address of the service range; the serving certificate names it.
  kubernetesServiceIP: (config) => firstServiceIP(config.serviceClusterIPRange),
  flags: [
    {
      flag: '--service-node-port-range <first-last>',
      help: 'the ports NodePort and LoadBalancer services get node ports from (default 30000-32767)',
      parse: (raw: string) => {
        if (!parsePortRange(raw)) throw new InvalidArgumentError('expected a port range first-last, e.g. 30000-32767');
        return raw;
      },
      toConfig: (serviceNodePortRange) => ({ serviceNodePortRange }),
    },
    {
      flag: '--event-ttl <duration>',
      help: 'how long an event is kept after its last write, e.g. 1h0m0s (default 1h; 0s keeps events forever)',
      parse: goDurationSeconds,
      toConfig: (eventTTLSeconds) => ({ eventTTLSeconds }),
    },
  ],
  setup(ctx) {
    const allocators = serviceAllocators(ctx.config, () => ctx.api.storage());
    for (const def of coreV1Definitions({ podStore: podStore(ctx), allocators })) ctx.provide.resource(def);
    const { clusterIPs, nodePorts } = allocators;
    // The service proxy in the same process makes this range local to the host.
    ctx.provide.service(SERVICE_NETWORK, {
      serviceClusterIPRange: clusterIPs.cidr,
      serviceNodePortRange: nodePorts.range,
    });

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
    let expiry: EventExpiry | undefined;
    ctx.onReady(async () => {
      if (client && ctx.config.eventTTLSeconds > 0) {
        expiry = new EventExpiry(client, ctx.config.eventTTLSeconds, ctx.logger);
        expiry.start();
      }
      await reconcileService();
      if (!client || ctx.server.advertisePort <= 0) return;
      endpoints = endpointReconciler(ctx, client);
      ctx.provide.service(API_SERVER_ENDPOINTS, endpoints);
      await endpoints.start();
    });
    ctx.onShutdown(async () => {
      await expiry?.stop();
      await endpoints?.stop();
    });
    ctx.logger.debug(
      { serviceClusterIPRange: clusterIPs.cidr, serviceNodePortRange: nodePorts.range },
      'core/v1 ready',
    );
  },
});
