/**
 * dns-cluster: cluster DNS (what CoreDNS does in a kubeadm cluster, beyond the seed): A and SRV
 * records of Services and their endpoints under <clusterDomain>, everything else forwarded to
 * the host's resolvers, served on a loopback port and reached by pods through the `kube-dns`
 * service's ClusterIP (which proxy-userspace carries). Runs inside `skiff up`. See README.md.
 */
import { getServers } from 'node:dns';
import type { Endpoints, Service } from 'kubernetes-types/core/v1.js';
import { definePlugin, type PluginContext } from 'skiff/sdk';
import { CORE_V1, Informer } from 'skiff/sdk/client';
import { SERVICE_NETWORK } from 'skiff/sdk/network';
import { type DnsConfig, dnsConfigSchema } from './config.js';
import { addressInRange, ensureKubeDns } from './kube-dns-service.js';
import { ClusterZone } from './records.js';
import { DnsServer, type Upstream } from './server.js';

export type { DnsConfig } from './config.js';

/** Who the server reads Services and Endpoints as: upstream's kube-system/kube-dns service account (system:kube-dns). */
const KUBE_DNS_USER = {
  name: 'system:serviceaccount:kube-system:kube-dns',
  groups: ['system:serviceaccounts', 'system:serviceaccounts:kube-system', 'system:authenticated'],
};

function upstreamsOf(config: DnsConfig): () => Upstream[] {
  const parse = (s: string): Upstream => {
    const m = /^([0-9.]+):(\d+)$/.exec(s);
    return m ? { host: m[1]!, port: Number(m[2]) } : { host: s.replace(/^\[|\]$/g, ''), port: 53 };
  };
  return () => (config.upstreams.length ? config.upstreams : getServers()).map(parse);
}

function runInProcess(ctx: PluginContext<DnsConfig>): void {
  const config = ctx.config;
  const abort = new AbortController();
  const informers: { services?: Informer; endpoints?: Informer } = {};
  const zone = new ClusterZone(
    config.clusterDomain,
    {
      service: (ns, name) => informers.services?.items.get(`${ns}/${name}`) as Service | undefined,
      endpoints: (ns, name) => informers.endpoints?.items.get(`${ns}/${name}`) as Endpoints | undefined,
      hasNamespace: (ns) => [...(informers.services?.items.keys() ?? [])].some((k) => k.startsWith(`${ns}/`)),
    },
    config.ttl,
  );
  const server = new DnsServer(zone, upstreamsOf(config));
  ctx.provide.bootstrap('kube-dns service', async (bootstrapClient) => {
    const port = await server.listen(config.bindAddress, config.port);
    const clusterIP = config.clusterIP ?? addressInRange(ctx.use(SERVICE_NETWORK).serviceClusterIPRange, 10);
    await ensureKubeDns(bootstrapClient, clusterIP, { ip: config.bindAddress, port }, ctx.logger);
    ctx.logger.info(
      { clusterIP, server: `${config.bindAddress}:${port}`, domain: config.clusterDomain },
      'cluster DNS serving',
    );
  });
  ctx.onReady(async () => {
    const client = ctx.api.client(KUBE_DNS_USER);
    informers.services = new Informer(client, CORE_V1('services'), ctx.logger);
    informers.endpoints = new Informer(client, CORE_V1('endpoints'), ctx.logger);
    for (const informer of [informers.services, informers.endpoints]) void informer.run(abort.signal, () => undefined);
  });
  ctx.onShutdown(async () => {
    abort.abort();
    server.close();
  });
}

export default definePlugin<DnsConfig>({
  name: 'dns-cluster',
  description:
    'Cluster DNS: <svc>.<ns>.svc.<domain> A/SRV records from Services and Endpoints, other names forwarded; the kube-dns service.',
  dependencies: ['api-core-v1'],
  config: dnsConfigSchema,
  roles: ['up'],
  setup(ctx) {
    if (ctx.server.role === 'up') runInProcess(ctx);
  },
});
