/**
 * `skiff up --nodes N`: N kubelets inside the all-in-one process, named after this host plus an
 * index (`<host>-1` … `<host>-N`, or `<--hostname-override>-<i>`), each with an in-process client
 * acting as `system:node:<name>` in `system:nodes` (authorized and admitted like a kubelet over
 * HTTPS), its own root dir, a share of the machine and its own pod range. Stopping `skiff up`
 * stops their pods and removes everything the runtime made. With `--runtime simulated` they are
 * simulated nodes sharing one pod watch and one timer (multi/host.ts).
 */
import { join } from 'node:path';
import type { PluginContext } from 'skiff/sdk';
import { PKI } from 'skiff/sdk/auth';
import { type RuntimeProvider, runtimeKey } from 'skiff/sdk/runtime';
import type { KubeletConfig } from './config.js';
import { Kubelet } from './kubelet.js';
import { SimulatedNodes } from './multi/host.js';
import { hostNodeName, nodeUser } from './node-names.js';
import { KUBELET_AGENT } from './node-status.js';
import { prepareServingPair, servingPairOptions } from './server/tls.js';

/** The config node i of `skiff up` runs with: its own port when the kubelet serves one. */
function nodeConfig(config: KubeletConfig, index: number): KubeletConfig {
  const port = typeof config.port === 'number' && config.port > 0 ? config.port + index : config.port;
  return { ...config, port };
}

export function runLocalNodes(ctx: PluginContext<KubeletConfig>): void {
  const config = ctx.config;
  const kubelets: Kubelet[] = [];
  let simulated: SimulatedNodes | undefined;
  const base = config.hostnameOverride ?? hostNodeName();
  const rootDir = config.rootDir ?? join(ctx.server.dataDir, 'kubelet');
  if (config.runtime !== 'simulated' && config.port !== 0) {
    for (let i = 1; i <= config.nodes; i++) {
      const nodeName = `${base}-${i}`;
      prepareServingPair(servingPairOptions(nodeConfig(config, i - 1), nodeName, join(rootDir, nodeName)));
    }
  }
  ctx.onReady(async () => {
    const provider: RuntimeProvider = ctx.use(runtimeKey(config.runtime));
    if (config.runtime === 'simulated') {
      simulated = await startSimulatedNodes(ctx, provider);
      return;
    }
    const clientCA = clusterCA(ctx);
    for (let i = 1; i <= config.nodes; i++) {
      const nodeName = `${base}-${i}`;
      const kubelet = new Kubelet({
        nodeName,
        client: ctx.api.client(nodeUser(nodeName), KUBELET_AGENT),
        runtime: provider,
        config: nodeConfig(config, i - 1),
        rootDir: join(rootDir, nodeName),
        logger: ctx.logger.child({ node: nodeName }),
        localIndex: i,
        localCount: config.nodes,
        clientCA,
      });
      kubelets.push(kubelet);
      await kubelet.start();
    }
  });
  ctx.onShutdown(async () => {
    await Promise.all(kubelets.map((k) => k.stop({ stopPods: true })));
    await simulated?.stop({ stopPods: true });
  });
}

/** `--runtime simulated`: the local nodes share one pod watch and one timer (multi/host.ts), each as its own system:node user. */
async function startSimulatedNodes(
  ctx: PluginContext<KubeletConfig>,
  provider: RuntimeProvider,
): Promise<SimulatedNodes> {
  const { config } = ctx;
  const base = config.hostnameOverride ?? hostNodeName();
  const host = new SimulatedNodes({
    names: Array.from({ length: config.nodes }, (_, i) => `${base}-${i + 1}`),
    provider,
    config,
    rootDir: config.rootDir ?? join(ctx.server.dataDir, 'kubelet'),
    clientFor: (name) => ctx.api.client(nodeUser(name), KUBELET_AGENT),
    watcher: ctx.api.client(),
    logger: ctx.logger.child({ runtime: 'simulated' }),
  });
  await host.start();
  return host;
}

/** The cluster CA (the PKI's), which signs the API server's kubelet client certificate: what the kubelets' servers trust. */
function clusterCA(ctx: PluginContext<KubeletConfig>): string | undefined {
  try {
    return ctx.use(PKI).caCertificate();
  } catch {
    return undefined;
  }
}
