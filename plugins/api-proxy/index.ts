/**
 * api-proxy: the Proxy API and streaming through the API server. nodes/proxy, pods/proxy and
 * services/proxy in both path forms (…/{name}/proxy/{path} and the deprecated
 * /api/v1/proxy/…/{name}/{path}), and pods/log, pods/exec, pods/attach and pods/portforward carried
 * to the pod's kubelet with the API server's kubelet client certificate. See README.md.
 */
import { definePlugin } from 'skiff/sdk';
import type { ConnectRequest, KubeObject, SubresourceDefinition, Verb } from 'skiff/sdk/api';
import { PKI } from 'skiff/sdk/auth';
import { type ApiProxyConfig, configSchema, FLAGS } from './config.js';
import { Connectors, type ProxyKind } from './connectors.js';
import { type KubeletTransport, kubeletTransport } from './kubelet-transport.js';
import { StreamLimits } from './stream-limits.js';

const CORE = { group: '', version: 'v1' };
/** Upstream's verbs of the proxy subresources (GET, POST, PUT, PATCH, DELETE, HEAD, OPTIONS). */
const PROXY_VERBS: Verb[] = ['get', 'create', 'update', 'patch', 'delete'];

const connectOnly = (verbs: Verb[], connect: (request: ConnectRequest) => Promise<void>): SubresourceDefinition => ({
  verbs,
  handler: {},
  connect,
});

export default definePlugin<ApiProxyConfig>({
  name: 'api-proxy',
  description:
    'The Proxy API: nodes, pods and services proxy (both path forms), and pods log, exec, attach and portforward through the kubelets.',
  dependencies: ['api-core-v1', 'pki-local'],
  config: configSchema,
  flags: FLAGS,
  setup(ctx) {
    const { config } = ctx;
    let transport: KubeletTransport | undefined;
    const kubelet = () => {
      transport ??= kubeletTransport(config, () => ctx.use(PKI));
      return transport;
    };
    // Given files are read now, so a wrong path stops the start-up, not the first kubectl logs.
    if (config.kubeletClientCertificate || config.kubeletClientKey || config.kubeletCertificateAuthority) kubelet();
    const lookup = {
      // Upstream's listers: what the watch cache holds now; a live read only when it has nothing
      // (an object created a moment ago).
      get: (plural: string, namespace: string, name: string) =>
        ctx.api.cached.peek(CORE.group, CORE.version, plural, namespace, name) ??
        ctx.api.cached.get(CORE.group, CORE.version, plural, namespace, name),
      nodes: (): KubeObject[] | Promise<KubeObject[]> => {
        const cached = ctx.api.cached.peekList(CORE.group, CORE.version, 'nodes', '');
        return cached.length ? cached : ctx.api.cached.list(CORE.group, CORE.version, 'nodes', '');
      },
    };
    const connectors = new Connectors({
      lookup,
      kubelet,
      preferredAddressTypes: config.kubeletPreferredAddressTypes,
      forward: {
        dialTimeoutMs: config.dialTimeoutSeconds * 1000,
        responseHeaderTimeoutMs: config.responseHeaderTimeoutSeconds * 1000,
      },
      limits: new StreamLimits(config.maxStreams, config.maxStreamsPerUser),
    });
    for (const kind of ['nodes', 'pods', 'services'] as ProxyKind[]) {
      ctx.provide.subresource({ ...CORE, plural: kind }, 'proxy', connectOnly(PROXY_VERBS, connectors.proxy(kind)));
    }
    const pods = { ...CORE, plural: 'pods' };
    ctx.provide.subresource(pods, 'log', connectOnly(['get'], connectors.log()));
    for (const kind of ['exec', 'attach', 'portforward'] as const) {
      ctx.provide.subresource(pods, kind, connectOnly(['get', 'create'], connectors.stream(kind)));
    }
  },
});
