import { expect } from 'chai';
import type { KubeObject } from '../../../core/api/types.js';
import { ClusterIPAllocator, NodePortAllocator } from '../../../plugins/api-core-v1/cluster-ip-allocator.js';
import { serviceDefinition, serviceStrategy } from '../../../plugins/api-core-v1/services.js';
import { FakeStore, type Json, rejection, strategyContext } from './fake-store.js';

const service = (spec: Record<string, unknown> = {}, name = 'web'): KubeObject => ({
  metadata: { name },
  spec: { selector: { app: 'web' }, ports: [{ port: 80 }], ...spec },
});

describe('plugins/api-core-v1: services', () => {
  let store: FakeStore;
  let clusterIPs: ClusterIPAllocator;
  let nodePorts: NodePortAllocator;
  beforeEach(() => {
    // Scans start at the bottom of the dynamic band, so the values are known.
    clusterIPs = new ClusterIPAllocator('127.96.0.0/16', async () => [], { random: () => 0 });
    nodePorts = new NodePortAllocator(30000, 32767, async () => [], { random: () => 0 });
    store = new FakeStore(serviceDefinition({ clusterIPs, nodePorts }));
  });

  it('defaults and allocates a cluster IP', async () => {
    const svc = await store.create('default', service());
    expect(svc.spec).to.deep.include({
      type: 'ClusterIP',
      sessionAffinity: 'None',
      // A /16 keeps its first 256 addresses for pinned ones: the first dynamic one is .1.1.
      clusterIP: '127.96.1.1',
      clusterIPs: ['127.96.1.1'],
      ipFamilies: ['IPv4'],
      ipFamilyPolicy: 'SingleStack',
      internalTrafficPolicy: 'Cluster',
    });
    expect((svc.spec as Json).ports[0]).to.deep.equal({ port: 80, protocol: 'TCP', targetPort: 80 });
    expect(svc.status).to.deep.equal({ loadBalancer: {} });
  });

  it('honours a requested cluster IP and refuses a taken or foreign one with upstream messages', async () => {
    const svc = await store.create('default', service({ clusterIP: '127.96.0.1' }, 'kubernetes'));
    expect((svc.spec as Json).clusterIPs).to.deep.equal(['127.96.0.1']);
    const taken = await rejection(store.create('default', service({ clusterIP: '127.96.0.1' }, 'other')));
    expect(taken.code).to.equal(422);
    expect(taken.message).to.equal(
      'Service "other" is invalid: spec.clusterIPs: Invalid value: ["127.96.0.1"]: failed to allocate IP 127.96.0.1: provided IP is already allocated',
    );
    const foreign = await rejection(store.create('default', service({ clusterIP: '10.0.0.1' }, 'foreign')));
    expect(foreign.message).to.contain('The range of valid IPs is 127.96.0.0/16');
    const garbage = await rejection(store.create('default', service({ clusterIP: 'nope' }, 'garbage')));
    expect(garbage.message).to.contain(
      'spec.clusterIPs[0]: Invalid value: "nope": must be empty, \'None\', or a valid IP address',
    );
  });

  it('headless and ExternalName services get no address', async () => {
    const headless = await store.create('default', service({ clusterIP: 'None', ports: [] }, 'headless'));
    expect((headless.spec as Json).clusterIPs).to.deep.equal(['None']);
    const ext = await store.create('default', {
      metadata: { name: 'ext' },
      spec: { type: 'ExternalName', externalName: 'example.com' },
    });
    expect(ext.spec).to.not.have.property('clusterIP');
    expect(ext.spec).to.not.have.property('ipFamilies');
    expect(
      (await rejection(store.create('default', { metadata: { name: 'ext2' }, spec: { type: 'ExternalName' } })))
        .message,
    ).to.contain('spec.externalName: Required value');
  });

  it('allocates node ports for NodePort services and checks requested ones', async () => {
    const svc = await store.create(
      'default',
      service({
        type: 'NodePort',
        ports: [
          { name: 'a', port: 80 },
          { name: 'b', port: 81, nodePort: 31000 },
        ],
      }),
    );
    const ports = (svc.spec as Json).ports;
    // 30000-30085 is the static band of the default range: dynamic ports start above it.
    expect(ports[0].nodePort).to.equal(30086);
    expect(ports[1].nodePort).to.equal(31000);
    expect((svc.spec as Json).externalTrafficPolicy).to.equal('Cluster');
    const clash = await rejection(
      store.create('default', service({ type: 'NodePort', ports: [{ port: 80, nodePort: 31000 }] }, 'clash')),
    );
    expect(clash.message).to.contain(
      'spec.ports[0].nodePort: Invalid value: 31000: provided port is already allocated',
    );
    const forbidden = await rejection(
      store.create('default', service({ ports: [{ port: 80, nodePort: 31001 }] }, 'cip')),
    );
    expect(forbidden.message).to.contain(
      "spec.ports[0].nodePort: Forbidden: may not be used when `type` is 'ClusterIP'",
    );
  });

  it('a manifest pinning 30000 or a low address still applies after services that took dynamic ones', async () => {
    // Real randomness here, as on a server: dynamic values avoid the band pinned ones come from.
    const randomStore = new FakeStore(
      serviceDefinition({
        clusterIPs: new ClusterIPAllocator('127.96.0.0/16', async () => []),
        nodePorts: new NodePortAllocator(30000, 32767, async () => []),
      }),
    );
    for (const name of ['lb', 'np']) {
      const type = name === 'lb' ? 'LoadBalancer' : 'NodePort';
      await randomStore.create('default', service({ type }, name));
    }
    const pinned = await randomStore.create(
      'default',
      service({ type: 'NodePort', clusterIP: '127.96.0.2', ports: [{ port: 80, nodePort: 30000 }] }, 'pinned'),
    );
    expect((pinned.spec as Json).clusterIP).to.equal('127.96.0.2');
    expect((pinned.spec as Json).ports[0].nodePort).to.equal(30000);
  });

  it('validates names (DNS-1035), ports and types with upstream messages', async () => {
    const err = await rejection(
      store.create('default', {
        metadata: { name: '1web' },
        spec: { type: 'Fancy', ports: [{ port: 0 }, { name: 'x', port: 70000, protocol: 'HTTP' }] },
      }),
    );
    const messages = err.details!.causes!.map((c) => `${c.field}: ${c.message}`);
    expect(messages.some((m) => m.startsWith('metadata.name: Invalid value: "1web": a DNS-1035 label'))).to.equal(true);
    expect(messages).to.include(
      'spec.type: Unsupported value: "Fancy": supported values: "ClusterIP", "ExternalName", "LoadBalancer", "NodePort"',
    );
    expect(messages).to.include('spec.ports[0].name: Required value');
    expect(messages).to.include('spec.ports[0].port: Required value');
    expect(messages).to.include('spec.ports[1].port: Invalid value: 70000: must be between 1 and 65535, inclusive');
    expect((await rejection(store.create('default', { metadata: { name: 'noports' }, spec: {} }))).message).to.contain(
      'spec.ports: Required value',
    );
  });

  it('update keeps omitted allocations and refuses to change the cluster IP', async () => {
    const created = await store.create('default', service({ type: 'NodePort' }));
    const replaced = await store.guaranteedUpdate('default', 'web', (cur) => ({
      ...cur,
      spec: service({ type: 'NodePort' }).spec,
    }));
    expect((replaced.spec as Json).clusterIP).to.equal((created.spec as Json).clusterIP);
    expect((replaced.spec as Json).ports[0].nodePort).to.equal((created.spec as Json).ports[0].nodePort);
    const err = await rejection(
      store.guaranteedUpdate('default', 'web', (cur) => ({
        ...cur,
        spec: { ...(cur.spec as object), clusterIP: 'None', clusterIPs: ['None'] },
      })),
    );
    expect(err.message).to.equal(
      'Service "web" is invalid: spec.clusterIPs[0]: Invalid value: ["None"]: may not change once set',
    );
  });

  it('switching NodePort to ClusterIP drops node ports; to ExternalName drops the address', async () => {
    await store.create('default', service({ type: 'NodePort' }));
    const cip = await store.guaranteedUpdate('default', 'web', (cur) => ({
      ...cur,
      spec: { ...(cur.spec as object), type: 'ClusterIP' },
    }));
    expect((cip.spec as Json).ports[0]).to.not.have.property('nodePort');
    expect(cip.spec).to.not.have.property('externalTrafficPolicy');
    const ext = await store.guaranteedUpdate('default', 'web', (cur) => ({
      ...cur,
      spec: { ...(cur.spec as object), type: 'ExternalName', externalName: 'example.com' },
    }));
    expect(ext.spec).to.not.have.property('clusterIP');
  });

  it('afterDelete releases the address and node ports', async () => {
    const svc = await store.create('default', service({ type: 'NodePort' }));
    const ip = (svc.spec as Json).clusterIP as string;
    const port = (svc.spec as Json).ports[0].nodePort as number;
    await serviceStrategy({ clusterIPs, nodePorts }).afterDelete!(svc, strategyContext('default'));
    await clusterIPs.allocate(ip, 'default/next');
    await nodePorts.allocate(port, 'default/next');
  });

  it('dry run shows an address without holding it', async () => {
    const obj = service();
    await serviceStrategy({ clusterIPs, nodePorts }).prepareForCreate!(obj, strategyContext('default', true));
    const created = await store.create('default', service({}, 'real'));
    expect((created.spec as Json).clusterIP).to.equal((obj.spec as Json).clusterIP);
  });

  it('is stored under /registry/services/specs/', () => {
    const definition = serviceDefinition({ clusterIPs, nodePorts });
    expect(definition).to.include({ storagePrefix: '/registry/services/specs/', nameRule: 'path-segment' });
    expect(definition.categories).to.deep.equal(['all']);
  });
});
