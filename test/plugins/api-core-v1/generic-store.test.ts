/** The strategies and subresources against the core's real GenericStore on in-memory storage. */
import { expect } from 'chai';
import { GenericStore } from '../../../core/api/store/generic-store.js';
import type { KubeObject, ResourceDefinition } from '../../../core/api/types.js';
import type { UserInfo } from '../../../core/auth-types.js';
import { createHooks } from '../../../core/hooks.js';
import { ClusterIPAllocator, NodePortAllocator } from '../../../plugins/api-core-v1/cluster-ip-allocator.js';
import { endpointsDefinition } from '../../../plugins/api-core-v1/endpoints-events.js';
import { namespaceDefinition } from '../../../plugins/api-core-v1/namespaces.js';
import { podDefinitions } from '../../../plugins/api-core-v1/pods.js';
import { rcDefinition } from '../../../plugins/api-core-v1/replicationcontrollers.js';
import { serviceDefinition } from '../../../plugins/api-core-v1/services.js';
import { MemoryStorage } from '../../../plugins/storage-memory/memory-storage.js';
import type { Json } from './fake-store.js';
import { rejection } from './fake-store.js';

const user: UserInfo = { name: 'test', groups: ['system:masters'] };
const scope = (namespace: string, dryRun = false) => ({ user, namespace, dryRun });

describe('plugins/api-core-v1: with the generic store', () => {
  let storage: MemoryStorage;
  let storeFor: (def: ResourceDefinition) => GenericStore;
  const listServices = async () =>
    (await storage.list('/registry/services/specs/')).items.map((kv) => JSON.parse(kv.value) as KubeObject);

  beforeEach(() => {
    storage = new MemoryStorage();
    const hooks = createHooks();
    storeFor = (def) => new GenericStore(def, storage, hooks);
  });
  afterEach(async () => storage.close());

  it('pods/binding sets nodeName through the real store, keeping the scheduled condition', async () => {
    const [podDef] = podDefinitions(() => pods);
    const pods = storeFor(podDef!);
    const created = await pods.create(scope('default'), {
      metadata: { name: 'web' },
      spec: { containers: [{ name: 'c', image: 'nginx:1' }] },
    });
    expect((created.status as Json).qosClass).to.equal('BestEffort');
    const req = { namespace: 'default', name: 'web', dryRun: false, query: new URLSearchParams(), store: pods };
    const binding = { metadata: { name: 'web' }, target: { name: 'node-1' } };
    await podDef!.subresources!.binding!.handler.create!({ ...req, body: binding });
    const bound = await pods.get('default', 'web');
    expect((bound.spec as Json).nodeName).to.equal('node-1');
    expect((bound.status as Json).conditions[0]).to.include({ type: 'PodScheduled', status: 'True' });
    const again = await rejection(podDef!.subresources!.binding!.handler.create!({ ...req, body: binding }));
    expect(again.code).to.equal(409);
    const update = await rejection(
      pods.updateWith(scope('default'), 'web', (cur) => ({
        ...cur,
        spec: { ...(cur.spec as object), nodeName: 'n2' },
      })),
    );
    expect(update.code).to.equal(422);
  });

  it('services: the address is stored, released on delete, and re-learned from storage', async () => {
    const nodePorts = new NodePortAllocator(30000, 32767, listServices);
    const svcs = storeFor(
      serviceDefinition({ clusterIPs: new ClusterIPAllocator('127.96.0.0/16', listServices), nodePorts }),
    );
    const body = (name: string) => ({ metadata: { name }, spec: { ports: [{ port: 80 }] } });
    const created = await svcs.create(scope('default'), body('web'));
    const ip = (created.spec as Json).clusterIP as string;
    expect((await storage.get('/registry/services/specs/default/web'))?.value).to.contain(ip);
    const dup = await rejection(svcs.create(scope('default'), body('web')));
    expect(dup.reason).to.equal('AlreadyExists');

    // A fresh allocator (a restarted server) learns the address from storage.
    const restarted = storeFor(
      serviceDefinition({ clusterIPs: new ClusterIPAllocator('127.96.0.0/16', listServices), nodePorts }),
    );
    const other = await restarted.create(scope('default'), body('other'));
    expect((other.spec as Json).clusterIP).to.not.equal(ip);
    await restarted.delete(scope('default'), 'web');
    const reuse = await restarted.create(scope('default'), {
      metadata: { name: 'again' },
      spec: { clusterIP: ip, ports: [{ port: 80 }] },
    });
    expect((reuse.spec as Json).clusterIP).to.equal(ip);
  });

  it('replicationcontrollers/scale reads and writes through the real store', async () => {
    const rcs = storeFor(rcDefinition);
    await rcs.create(scope('default'), {
      metadata: { name: 'rc1' },
      spec: {
        selector: { app: 'x' },
        template: { metadata: { labels: { app: 'x' } }, spec: { containers: [{ name: 'c', image: 'i' }] } },
      },
    });
    const handler = rcDefinition.subresources!.scale!.handler;
    const req = { namespace: 'default', name: 'rc1', dryRun: false, query: new URLSearchParams(), store: rcs };
    const scale = await handler.get!(req);
    const updated = await handler.update!({ ...req, body: { ...scale, spec: { replicas: 4 } } });
    expect((updated.spec as Json).replicas).to.equal(4);
    const rc = await rcs.get('default', 'rc1');
    expect((rc.spec as Json).replicas).to.equal(4);
    expect(rc.metadata.generation).to.equal(2);
    expect((await rejection(handler.update!({ ...req, body: { ...scale, spec: { replicas: 5 } } }))).code).to.equal(
      409,
    );
  });

  it('namespaces/finalize clears spec.finalizers through the real store', async () => {
    const namespaces = storeFor(namespaceDefinition);
    const ns = await namespaces.create(scope(''), { metadata: { name: 'team' } });
    expect(ns.spec).to.deep.equal({ finalizers: ['kubernetes'] });
    const handler = namespaceDefinition.subresources!.finalize!.handler;
    const req = { namespace: 'team', name: 'team', dryRun: false, query: new URLSearchParams(), store: namespaces };
    const finalized = await handler.update!({ ...req, body: { ...ns, spec: { finalizers: [] } } });
    expect(finalized.spec).to.deep.equal({});
    expect((await namespaces.get('', 'team')).spec).to.deep.equal({});
  });

  it('endpoints are stored under services/endpoints and PUT creates them', async () => {
    const eps = storeFor(endpointsDefinition);
    const { created } = await eps.update(scope('default'), 'kubernetes', {
      metadata: { name: 'kubernetes' },
      subsets: [{ addresses: [{ ip: '127.0.0.1' }], ports: [{ name: 'https', port: 6443 }] }],
    });
    expect(created).to.equal(true);
    expect(await storage.get('/registry/services/endpoints/default/kubernetes')).to.not.equal(undefined);
  });
});
