/**
 * proxy-userspace: the kube-proxy role in upstream's userspace mode (the seed's era). It makes the
 * service range local to this host, listens on every ClusterIP:port and NodePort itself and
 * splices each connection to a ready endpoint, round robin. It runs inside `skiff up` as
 * system:kube-proxy and on its own with `skiff proxy`. See README.md.
 */
import { definePlugin, type PluginContext } from 'skiff/sdk';
import { SERVICE_NETWORK } from 'skiff/sdk/network';
import { proxyCommand } from './command.js';
import { KUBE_PROXY_AGENT, PROXY_FLAGS, type ProxyConfig, proxyConfigSchema } from './config.js';
import type { ProxyRole } from './proxy-role.js';

export type { ProxyConfig } from './config.js';

/** The identity the proxy acts as in-process: upstream binds system:node-proxier to it. */
export const KUBE_PROXY_USER = { name: 'system:kube-proxy', groups: ['system:authenticated'] };

/** The range to make local: the block's own, else the API server's (api-core-v1 in the same process). */
function serviceRange(ctx: PluginContext<ProxyConfig>): string {
  if (ctx.config.serviceClusterIPRange) return ctx.config.serviceClusterIPRange;
  return ctx.use(SERVICE_NETWORK).serviceClusterIPRange;
}

function runInProcess(ctx: PluginContext<ProxyConfig>): void {
  let role: ProxyRole | undefined;
  ctx.onReady(async () => {
    const { startProxyRole } = await import('./proxy-role.js');
    const config = { ...ctx.config, serviceClusterIPRange: serviceRange(ctx) };
    role = await startProxyRole(ctx.api.client(KUBE_PROXY_USER, KUBE_PROXY_AGENT), config, ctx.logger);
  });
  ctx.onShutdown(async () => {
    await role?.stop();
    role = undefined;
  });
}

export default definePlugin<ProxyConfig>({
  name: 'proxy-userspace',
  description:
    'The kube-proxy role (userspace mode): ClusterIPs and NodePorts served on this host, round robin to ready endpoints.',
  dependencies: ['api-core-v1'],
  config: proxyConfigSchema,
  roles: ['up', 'proxy'],
  flags: PROXY_FLAGS,
  commands: [{ name: 'proxy', build: proxyCommand }],
  setup(ctx) {
    if (ctx.server.role === 'up') runInProcess(ctx);
  },
});
