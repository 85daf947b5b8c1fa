/**
 * The connect handlers api-proxy gives the nodes, pods and services proxy subresources and the
 * pods log, exec, attach and portforward subresources: each finds its backend (locations.ts) and
 * forwards the request, as HTTP or as an upgrade.
 */
import { type ConnectRequest, errors, type KubeObject } from 'skiff/sdk/api';
import { type ForwardOptions, forwardHttp, redirectsRoot, type Target } from './forward-http.js';
import { forwardUpgrade } from './forward-upgrade.js';
import type { KubeletTransport } from './kubelet-transport.js';
import { type Backend, kubeletOf, type Lookup, nodeLocation, podLocation, serviceLocation } from './locations.js';
import { commandPath, logPath, logResponseError, nodeOf, portForwardPath } from './pod-streams.js';
import { legacyWarning, splitProxyPath, splitSchemeNamePort } from './proxy-path.js';
import type { StreamLimits } from './stream-limits.js';

export type ProxyKind = 'nodes' | 'pods' | 'services';

export interface ConnectorDeps {
  lookup: Lookup;
  kubelet: () => KubeletTransport;
  preferredAddressTypes: readonly string[];
  forward: ForwardOptions;
  limits: StreamLimits;
}

const rawQuery = (request: ConnectRequest) => {
  const url = request.req.url ?? '';
  const at = url.indexOf('?');
  return at < 0 ? '' : url.slice(at);
};

export class Connectors {
  constructor(private readonly deps: ConnectorDeps) {}

  /** nodes/proxy, pods/proxy, services/proxy, in both path forms. */
  proxy(kind: ProxyKind) {
    return async (request: ConnectRequest): Promise<void> => {
      const path = splitProxyPath(request.rawPath, kind !== 'nodes');
      if (path.legacy) request.warn(legacyWarning(kind));
      const backend = await this.locate(kind, request);
      const target: Target = { backend, path: `${path.suffix || '/'}${rawQuery(request)}`, prefix: path.prefix };
      if (request.upgrade) return this.upgrade(request, target);
      if (redirectsRoot(request, path.suffix)) return;
      return forwardHttp(request, target, this.deps.forward);
    };
  }

  /** pods/log: the kubelet's /containerLogs, streamed; a pod on no node yet has no logs. */
  log() {
    return async (request: ConnectRequest): Promise<void> => {
      const pod = await this.pod(request);
      const node = nodeOf(pod);
      if (!node) {
        request.res.writeHead(200, { 'Content-Type': 'text/plain', 'Content-Length': 0 });
        return void request.res.end();
      }
      const target: Target = {
        backend: await kubeletOf(this.locations(), node),
        path: logPath(pod, request.query),
        prefix: '',
        check: logResponseError(request.name),
      };
      const following = ['true', '1'].includes(request.query.get('follow') ?? '');
      const release = following ? this.deps.limits.acquire(request.user.name) : undefined;
      try {
        await forwardHttp(request, target, this.deps.forward);
      } finally {
        release?.();
      }
    };
  }

  /** pods/exec, pods/attach, pods/portforward: upgrades to the kubelet's streaming endpoints. */
  stream(kind: 'exec' | 'attach' | 'portforward') {
    return async (request: ConnectRequest): Promise<void> => {
      if (!request.upgrade) throw errors.badRequest('Upgrade request required');
      const pod = await this.pod(request);
      const node = nodeOf(pod);
      if (!node) throw errors.badRequest(`pod ${request.name} does not have a host assigned`);
      const path = kind === 'portforward' ? portForwardPath(pod, request.query) : commandPath(kind, pod, request.query);
      return this.upgrade(request, { backend: await kubeletOf(this.locations(), node), path, prefix: '' });
    };
  }

  private async upgrade(request: ConnectRequest, target: Target): Promise<void> {
    const release = this.deps.limits.acquire(request.user.name);
    try {
      await forwardUpgrade(request, target, this.deps.forward);
    } finally {
      release();
    }
  }

  private locate(kind: ProxyKind, request: ConnectRequest): Promise<Backend> {
    const id = splitSchemeNamePort(request.name);
    const ctx = this.locations();
    if (kind === 'nodes') return nodeLocation(ctx, id);
    if (kind === 'pods') return podLocation(ctx, request.namespace, id);
    return serviceLocation(ctx, request.namespace, id);
  }

  private async pod(request: ConnectRequest): Promise<KubeObject> {
    const pod = await this.deps.lookup.get('pods', request.namespace, request.name);
    if (!pod) throw errors.notFound({ group: '', resource: 'pods' }, request.name);
    return pod;
  }

  private locations() {
    const { lookup, kubelet, preferredAddressTypes } = this.deps;
    return { lookup, kubelet, preferredAddressTypes };
  }
}
