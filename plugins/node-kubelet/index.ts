/**
 * node-kubelet: the kubelet (the seed's 3.4). Nodes that register and heartbeat, pods from the API,
 * a manifest directory and a URL run on a container runtime plugin by one worker per pod, probes.
 * `skiff up --nodes N` runs N of them in-process; `skiff kubelet` runs one in its own process over
 * HTTPS. See README.md.
 */
import { definePlugin, isStatusError } from 'skiff/sdk';
import { CORE_V1 } from 'skiff/sdk/client';
import { kubeletCommand } from './command.js';
import { KUBELET_FLAGS, type KubeletConfig, kubeletConfigSchema } from './config.js';
import { NODE_LEASE_NAMESPACE } from './node-lease.js';

export type { KubeletConfig } from './config.js';
export type { KubeletState } from './kubelet.js';

export default definePlugin<KubeletConfig>({
  name: 'node-kubelet',
  description: 'Nodes: kubelets that register, take pods from the API, manifest files and URLs, run and probe them.',
  dependencies: ['api-core-v1'],
  config: kubeletConfigSchema,
  roles: ['up', 'kubelet'],
  flags: KUBELET_FLAGS,
  commands: [{ name: 'kubelet', build: kubeletCommand }],
  async setup(ctx) {
    // kube-apiserver creates the namespace of node heartbeats at start; without it no Lease can be written.
    ctx.provide.bootstrap(`${NODE_LEASE_NAMESPACE} namespace`, async (client) => {
      try {
        await client.create(CORE_V1('namespaces'), '', {
          apiVersion: 'v1',
          kind: 'Namespace',
          metadata: { name: NODE_LEASE_NAMESPACE },
        });
      } catch (err) {
        if (!isStatusError(err) || err.code !== 409) throw err;
      }
    });
    if (ctx.server.role !== 'up' || ctx.config.nodes === 0) return;
    const { runLocalNodes } = await import('./local-nodes.js');
    runLocalNodes(ctx);
  },
});
