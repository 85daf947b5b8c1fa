/**
 * The kube-proxy role, shared by `skiff up` (in-process client as system:kube-proxy) and `skiff
 * proxy` (HTTPS client): make the service range local, run the proxier, serve /healthz and
 * /metrics when asked; `stop` undoes all of it, the route last (after nothing listens on it).
 */
import type { Server } from 'node:http';
import type { Logger } from 'pino';
import { type ApiClient, SkiffError } from 'skiff/sdk';
import { parseCidr } from './cidr.js';
import type { ProxyConfig } from './config.js';
import { LocalServiceRange } from './local-range.js';
import { hostAddresses } from './node-addresses.js';
import { Proxier } from './proxier.js';
import { serve } from './serving.js';

export interface ProxyRole {
  proxier: Proxier;
  range: LocalServiceRange;
  /** Bound ports of /healthz and /metrics (when served). */
  ports: { healthz?: number; metrics?: number };
  stop(): Promise<void>;
}

/** Makes the range local; without root, ClusterIPs are not served (NodePorts still are), said once. */
async function acquireRange(range: LocalServiceRange, logger: Logger): Promise<boolean> {
  try {
    await range.acquire();
    logger.info(
      { serviceClusterIPRange: range.range.text, loopback: range.loopback },
      'service range local to this host',
    );
    return true;
  } catch (err) {
    if (!(err instanceof SkiffError) || err.code !== 'SKIFF_PROXY_RANGE_NOT_LOCAL') throw err;
    logger.warn({ code: err.code, fix: err.fix }, `${err.message}: ClusterIPs are not served, NodePorts are`);
    return false;
  }
}

export async function startProxyRole(
  client: ApiClient,
  config: ProxyConfig & { serviceClusterIPRange: string },
  logger: Logger,
): Promise<ProxyRole> {
  const range = new LocalServiceRange(config.serviceClusterIPRange);
  const local = await acquireRange(range, logger);
  const proxier = new Proxier({
    client,
    logger,
    serviceRange: local ? range.range : undefined,
    nodePortCIDRs: config.nodePortAddresses.map((c) => parseCidr(c)!),
    nodeName: config.hostnameOverride,
    udpIdleMs: config.udpIdleTimeout * 1000,
    addresses: hostAddresses,
  });
  const servers: Server[] = [];
  const ports: ProxyRole['ports'] = {};
  const stop = async () => {
    for (const s of servers) s.close();
    await proxier.stop();
    await range.release();
  };
  try {
    proxier.start();
    for (const what of ['healthz', 'metrics'] as const) {
      const address = what === 'healthz' ? config.healthzBindAddress : config.metricsBindAddress;
      if (!address) continue;
      const served = await serve(address, what, proxier);
      servers.push(served.server);
      ports[what] = served.port;
    }
  } catch (err) {
    await stop();
    throw err;
  }
  logger.info({ listeners: proxier.served().length }, 'proxy started');
  return { proxier, range, ports, stop };
}
