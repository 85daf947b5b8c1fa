import { expect } from 'chai';
import type { KubeObject } from '../../../core/api/types.js';
import type { Storage } from '../../../core/storage/types.js';
import { CLAIMS_PREFIX } from '../../../plugins/api-core-v1/allocation-claims.js';
import {
  AllocationError,
  ClusterIPAllocator,
  NodePortAllocator,
} from '../../../plugins/api-core-v1/cluster-ip-allocator.js';
import { MemoryStorage } from '../../../plugins/storage-memory/memory-storage.js';
import { api, startTestServer } from '../../helpers/server.js';

const IPS = `${CLAIMS_PREFIX}serviceips/`;
const PORTS = `${CLAIMS_PREFIX}servicenodeports/`;
const SERVICES = '/registry/services/specs/';

/** Two allocators over one store play two API servers sharing it. */
function twoServers(storage: Storage, cidr = '10.0.0.0/24', now = Date.now) {
  const listServices = async (revision?: number) =>
    (await storage.list(SERVICES, { revision })).items.map((kv) => JSON.parse(kv.value) as KubeObject);
  // Both scan from the bottom of the dynamic band: they want the same addresses, as badly as can be.
  const random = () => 0;
  const make = () => new ClusterIPAllocator(cidr, listServices, { storage: () => storage, now, random });
  return [make(), make()] as const;
}

async function keys(storage: Storage, prefix: string): Promise<string[]> {
  return (await storage.list(prefix)).items.map((kv) => kv.key.slice(prefix.length));
}

async function storeService(storage: Storage, name: string, clusterIP: string): Promise<void> {
  const svc = { metadata: { name, namespace: 'default' }, spec: { clusterIP, clusterIPs: [clusterIP] } };
  await storage.create(`${SERVICES}default/${name}`, JSON.stringify(svc));
}

async function allocationError(p: Promise<unknown>): Promise<AllocationError> {
  try {
    await p;
  } catch (err) {
    if (err instanceof AllocationError) return err;
    throw err;
  }
  throw new Error('expected an AllocationError');
}

describe('plugins/api-core-v1: allocation claims in storage', () => {
  let storage: MemoryStorage;
  beforeEach(() => {
    storage = new MemoryStorage({ compactionWindowSeconds: 300 });
  });
  afterEach(() => storage.close());

  it('two servers allocating at once never hand out the same address', async () => {
    const [a, b] = twoServers(storage);
    const owners = Array.from({ length: 60 }, (_, i) => `default/s${i}`);
    const got = await Promise.all(owners.map((o, i) => (i % 2 ? a : b).allocateNext(o)));
    expect(new Set(got).size).to.equal(60);
    expect((await keys(storage, IPS)).sort()).to.deep.equal([...got].sort());
  });

  it('a requested address claimed through the other server is refused with upstream message', async () => {
    const [a, b] = twoServers(storage);
    await a.allocate('10.0.0.7', 'default/first');
    const err = await allocationError(b.allocate('10.0.0.7', 'default/second'));
    expect(err.message).to.equal('provided IP is already allocated');
    expect((await allocationError(b.allocate('10.0.0.7', 'default/second', true))).reason).to.equal('allocated');
    // The same owner asking again (a retried create) is fine on either server.
    await b.allocate('10.0.0.7', 'default/first');
  });

  it('release on delete frees the claim for every server', async () => {
    const [a, b] = twoServers(storage, '10.0.0.0/30');
    expect(await a.allocateNext('default/only')).to.equal('10.0.0.2');
    expect((await allocationError(b.allocateNext('default/other'))).reason).to.equal('full');
    await b.release('10.0.0.2', 'default/someone-else');
    expect(await keys(storage, IPS)).to.deep.equal(['10.0.0.2']);
    await a.release('10.0.0.2', 'default/only');
    expect(await keys(storage, IPS)).to.deep.equal([]);
    expect(await b.allocateNext('default/other')).to.equal('10.0.0.2');
  });

  it('repairs on first use: stored services get claims, old unbacked claims go, fresh ones stay', async () => {
    let now = 1_000_000;
    await storeService(storage, 'old', '10.0.0.9');
    await storage.create(`${IPS}10.0.0.20`, JSON.stringify({ owner: 'default/crashed', at: now - 120_000 }));
    await storage.create(`${IPS}10.0.0.21`, JSON.stringify({ owner: 'default/in-flight', at: now - 1000 }));
    await storage.create(`${IPS}garbage`, 'not json');
    const [a] = twoServers(storage, '10.0.0.0/24', () => now);
    // .1-.16 is the /24's static band: the first dynamic address is .17.
    expect(await a.allocateNext('default/new')).to.equal('10.0.0.17');
    expect((await keys(storage, IPS)).sort()).to.deep.equal(['10.0.0.17', '10.0.0.21', '10.0.0.9']);
    await a.allocate('10.0.0.20', 'default/reuses');
    expect((await allocationError(a.allocate('10.0.0.21', 'default/x'))).reason).to.equal('allocated');
    // Once the in-flight create is older than the grace period and never stored, its claim is reclaimed.
    now += 120_000;
    await a.allocate('10.0.0.21', 'default/x');
  });

  it('node ports are claimed too', async () => {
    const list = async () => [];
    const a = new NodePortAllocator(30000, 30004, list, { storage: () => storage });
    const b = new NodePortAllocator(30000, 30004, list, { storage: () => storage });
    const got = await Promise.all(['a', 'b', 'c', 'd'].map((o, i) => (i % 2 ? a : b).allocateNext(`default/${o}`)));
    expect(new Set(got).size).to.equal(4);
    expect((await allocationError(b.allocate(got[0]!, 'default/z'))).message).to.equal(
      'provided port is already allocated',
    );
    expect((await keys(storage, PORTS)).sort()).to.deep.equal(got.map(String).sort());
  });

  it('through the API: a create claims its address and node port, the delete releases them', async () => {
    const server = await startTestServer({ plugins: { 'api-core-v1': { config: { allocationClaims: 'always' } } } });
    try {
      const storageOf = server.server.api.storage();
      const created = await api(server.url, 'POST', '/api/v1/namespaces/default/services', {
        metadata: { name: 'web' },
        spec: { type: 'NodePort', ports: [{ port: 80 }] },
      });
      expect(created.status).to.equal(201);
      const ip = created.body.spec.clusterIP as string;
      const port = created.body.spec.ports[0].nodePort as number;
      expect(await keys(storageOf, IPS)).to.include.members([ip, '127.96.0.1']);
      expect(await keys(storageOf, PORTS)).to.deep.equal([String(port)]);
      const claim = JSON.parse((await storageOf.get(`${IPS}${ip}`))!.value);
      expect(claim.owner).to.equal('default/web');
      expect((await api(server.url, 'DELETE', '/api/v1/namespaces/default/services/web')).status).to.equal(200);
      expect(await keys(storageOf, IPS)).to.deep.equal(['127.96.0.1']);
      expect(await keys(storageOf, PORTS)).to.deep.equal([]);
    } finally {
      await server.close();
    }
  });

  it('by default a store one server owns alone (memory, sqlite) gets no claims: they would only cost writes', async () => {
    const server = await startTestServer();
    try {
      const created = await api(server.url, 'POST', '/api/v1/namespaces/default/services', {
        metadata: { name: 'web' },
        spec: { type: 'NodePort', ports: [{ port: 80 }] },
      });
      expect(created.status).to.equal(201);
      const storageOf = server.server.api.storage();
      expect((await storageOf.list(CLAIMS_PREFIX)).items).to.deep.equal([]);
    } finally {
      await server.close();
    }
  });
});
