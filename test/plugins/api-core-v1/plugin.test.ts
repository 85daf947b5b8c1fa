import { expect } from 'chai';
import { pino } from 'pino';
import type { KubeObject, ResourceDefinition } from '../../../core/api/types.js';
import type { ApiClient } from '../../../core/client/types.js';
import type { Contributions, PluginContext } from '../../../core/plugins/contract.js';
import type { PluginApi } from '../../../core/plugins/plugin-api.js';
import type { ServiceKey } from '../../../core/plugins/services.js';
import { serviceAllocators } from '../../../plugins/api-core-v1/allocators.js';
import plugin, { type ApiCoreV1Config } from '../../../plugins/api-core-v1/index.js';
import { MemoryStorage } from '../../../plugins/storage-memory/memory-storage.js';

/** What the allocators read the stored services from (none are stored). */
const storage = new MemoryStorage();

function setUp(config: unknown) {
  const parsed = plugin.config!.parse(config) as ApiCoreV1Config;
  const resources: ResourceDefinition[] = [];
  const bootstraps: string[] = [];
  const services = new Map<string, unknown>();
  const provide = {
    resource: (def: ResourceDefinition) => resources.push(def),
    bootstrap: (name: string, _run: (c: ApiClient) => Promise<void>) => bootstraps.push(name),
    service: (key: ServiceKey<unknown>, value: unknown) => services.set(key.id, value),
  } as unknown as Contributions;
  const ctx: PluginContext<ApiCoreV1Config> = {
    name: 'api-core-v1',
    config: parsed,
    logger: pino({ level: 'silent' }),
    use: <T>(key: ServiceKey<T>) => services.get(key.id) as T,
    api: { storage: () => storage } as unknown as PluginApi,
    onReady: () => {},
    onShutdown: () => {},
    server: {
      dataDir: '/tmp',
      configFile: '(test)',
      role: 'apiserver',
      advertiseAddress: '127.0.0.1',
      advertisePort: 0,
      servingCertificate: 'none',
    },
    provide,
    onClose: () => {},
  };
  plugin.setup(ctx);
  return { resources, bootstraps, services, byPlural: (p: string) => resources.find((r) => r.plural === p)! };
}

describe('plugins/api-core-v1: the plugin', () => {
  after(async () => storage.close());

  it('config: defaults, IPv4 CIDR only, strict', () => {
    expect(plugin.config!.parse({})).to.deep.equal({
      serviceClusterIPRange: '127.96.0.0/16',
      serviceNodePortRange: '30000-32767',
      allocationClaims: 'auto',
      apiServerLeaseDurationSeconds: 15,
      endpointReconcileIntervalSeconds: 10,
      eventTTLSeconds: 3600,
    });
    for (const bad of [
      { eventTTLSeconds: -1 },
      { serviceClusterIPRange: 'fd00::/108' },
      { serviceClusterIPRange: '10.0.0.0/31' },
      { nope: 1 },
      { serviceNodePortRange: '5-1' },
      { apiServerLeaseDurationSeconds: 5, endpointReconcileIntervalSeconds: 5 },
      { apiServerLeaseDurationSeconds: 1.5 },
      { allocationClaims: true },
    ]) {
      expect(plugin.config!.safeParse(bad).success, JSON.stringify(bad)).to.equal(false);
    }
  });

  it('serves every core/v1 kind with upstream short names, categories and status', () => {
    const { resources, byPlural, bootstraps } = setUp({});
    expect(resources.map((r) => r.plural)).to.deep.equal([
      'bindings',
      'configmaps',
      'endpoints',
      'events',
      'limitranges',
      'namespaces',
      'nodes',
      'persistentvolumeclaims',
      'persistentvolumes',
      'pods',
      'replicationcontrollers',
      'resourcequotas',
      'secrets',
      'serviceaccounts',
      'services',
    ]);
    const short = Object.fromEntries(resources.map((r) => [r.plural, r.shortNames?.[0]]));
    expect(short).to.deep.include({
      namespaces: 'ns',
      pods: 'po',
      replicationcontrollers: 'rc',
      services: 'svc',
      endpoints: 'ep',
      nodes: 'no',
      resourcequotas: 'quota',
      limitranges: 'limits',
      configmaps: 'cm',
      serviceaccounts: 'sa',
      events: 'ev',
      persistentvolumes: 'pv',
      persistentvolumeclaims: 'pvc',
    });
    expect(resources.filter((r) => r.categories?.includes('all')).map((r) => r.plural)).to.deep.equal([
      'pods',
      'replicationcontrollers',
      'services',
    ]);
    expect(resources.filter((r) => r.hasStatus).map((r) => r.plural)).to.have.members([
      'namespaces',
      'nodes',
      'persistentvolumeclaims',
      'persistentvolumes',
      'pods',
      'replicationcontrollers',
      'resourcequotas',
      'services',
    ]);
    expect(resources.filter((r) => !r.namespaced).map((r) => r.plural)).to.have.members([
      'namespaces',
      'nodes',
      'persistentvolumes',
    ]);
    for (const p of ['configmaps', 'secrets', 'events', 'endpoints', 'serviceaccounts', 'bindings']) {
      expect(byPlural(p).strategy?.tracksGeneration, p).to.equal(false);
    }
    expect(byPlural('bindings').verbs).to.deep.equal(['create']);
    expect(Object.keys(byPlural('pods').subresources!)).to.deep.equal(['binding']);
    expect(Object.keys(byPlural('replicationcontrollers').subresources!)).to.deep.equal(['scale']);
    expect(Object.keys(byPlural('namespaces').subresources!)).to.deep.equal(['finalize']);
    expect(byPlural('services').storagePrefix).to.equal('/registry/services/specs/');
    expect(byPlural('endpoints').storagePrefix).to.equal('/registry/services/endpoints/');
    expect(bootstraps).to.deep.equal(['default-namespaces']);
  });

  it('builds the allocators from its ranges; the first address goes to the kubernetes service', async () => {
    const config = { serviceClusterIPRange: '10.96.0.0/12', serviceNodePortRange: '31000-31999' };
    const { clusterIPs, nodePorts } = serviceAllocators(plugin.config!.parse(config), () => storage);
    expect(clusterIPs.cidr).to.equal('10.96.0.0/12');
    expect(clusterIPs.kubernetesServiceIP).to.equal('10.96.0.1');
    expect(nodePorts.range).to.equal('31000-31999');
    // The services the plugin serves draw from those ranges (dry run: nothing is held).
    const { byPlural, services } = setUp(config);
    const svc: KubeObject = {
      metadata: { name: 'web', namespace: 'default' },
      spec: { type: 'NodePort', ports: [{ port: 80 }] },
    };
    await byPlural('services').strategy!.prepareForCreate!(svc, {
      namespace: 'default',
      dryRun: true,
      subresource: '',
    });
    const spec = svc.spec as { clusterIP: string; ports: { nodePort: number }[] };
    expect(spec.clusterIP).to.match(/^10\.(9[6-9]|10[0-9]|11[01])\./);
    expect(spec.ports[0]!.nodePort).to.be.within(31000, 31999);
    // The allocators are no services; the service range is, for the service proxy (SERVICE_NETWORK).
    expect([...services.keys()], 'allocators are no services').to.deep.equal(['service-network']);
  });

  it('names the first address of the masked range for the serving certificate, as the allocator does', () => {
    const config = plugin.config!.parse({ serviceClusterIPRange: '10.96.0.5/12' }) as ApiCoreV1Config;
    expect(plugin.kubernetesServiceIP!(config)).to.equal('10.96.0.1');
    expect(serviceAllocators(config, () => storage).clusterIPs.kubernetesServiceIP).to.equal('10.96.0.1');
  });
});
