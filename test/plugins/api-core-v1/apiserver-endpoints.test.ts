import { expect } from 'chai';
import { pino } from 'pino';
import type { KubeObject } from '../../../core/api/types.js';
import { CORE_V1 } from '../../../core/client/types.js';
import {
  ADDRESS_ANNOTATION,
  ApiServerEndpoints,
  apiServerIdentity,
  endpointSubsets,
  IDENTITY_LABEL,
  LEASE_NAMESPACE,
  LEASES,
  memberOf,
  PORT_ANNOTATION,
} from '../../../plugins/api-core-v1/apiserver-endpoints.js';
import { API_SERVER_ENDPOINTS } from '../../../plugins/api-core-v1/index.js';
import { startTestServer, type TestServer } from '../../helpers/server.js';
import { waitFor } from '../../helpers/wait.js';

const TTL = 2;
const INTERVAL = 0.5;
const fast = {
  'api-core-v1': { config: { apiServerLeaseDurationSeconds: TTL, endpointReconcileIntervalSeconds: INTERVAL } },
};
const silent = pino({ level: 'silent' });
const subset = (port: number, ...ips: string[]) => ({
  addresses: ips.map((ip) => ({ ip })),
  ports: [{ name: 'https', port, protocol: 'TCP' }],
});

async function endpointsOf(s: TestServer): Promise<unknown> {
  return (await s.server.client().get(CORE_V1('endpoints'), 'default', 'kubernetes')).subsets;
}

async function leaseNames(s: TestServer): Promise<string[]> {
  const list = await s.server
    .client()
    .list(LEASES, LEASE_NAMESPACE, { labelSelector: `${IDENTITY_LABEL}=kube-apiserver` });
  return list.items.map((l) => l.metadata.name!);
}

/** Another API server on the same store, played in-process at another address. */
function peer(s: TestServer, address: string, port = s.port, options: { intervalSeconds?: number } = {}) {
  return new ApiServerEndpoints({
    client: s.server.client(),
    endpoint: { address, port },
    leaseDurationSeconds: TTL,
    intervalSeconds: options.intervalSeconds ?? INTERVAL,
    logger: silent,
    leases: true,
  });
}

describe('plugins/api-core-v1: API server endpoints', () => {
  describe('helpers', () => {
    it('names the lease as upstream: kube-apiserver-<26 base32 characters>, one per address and port', () => {
      const id = apiServerIdentity('host-1', { address: '127.0.0.1', port: 6443 });
      expect(id).to.match(/^kube-apiserver-[a-z2-7]{26}$/);
      expect(apiServerIdentity('host-1', { address: '127.0.0.1', port: 6443 })).to.equal(id);
      expect(apiServerIdentity('host-1', { address: '127.0.0.1', port: 6444 })).to.not.equal(id);
      expect(apiServerIdentity('host-2', { address: '127.0.0.1', port: 6443 })).to.not.equal(id);
    });

    it('publishes one subset per port, addresses sorted and unique', () => {
      const eps = [
        { address: '127.0.0.3', port: 6443 },
        { address: '127.0.0.1', port: 6443 },
        { address: '127.0.0.1', port: 6443 },
        { address: '127.0.0.2', port: 7443 },
      ];
      expect(endpointSubsets(eps)).to.deep.equal([subset(6443, '127.0.0.1', '127.0.0.3'), subset(7443, '127.0.0.2')]);
    });

    it('reads a lease: address, port and expiry; leases that do not say where they are are skipped', () => {
      const lease = (annotations: Record<string, string>): KubeObject => ({
        metadata: { name: 'l', annotations },
        spec: { renewTime: '2024-01-02T03:04:05.000000Z', leaseDurationSeconds: 15 },
      });
      expect(memberOf(lease({ [ADDRESS_ANNOTATION]: '10.0.0.1', [PORT_ANNOTATION]: '6443' }))).to.deep.equal({
        address: '10.0.0.1',
        port: 6443,
        expires: Date.parse('2024-01-02T03:04:20Z'),
      });
      expect(memberOf(lease({ [ADDRESS_ANNOTATION]: '10.0.0.1' }))).to.equal(undefined);
      expect(memberOf(lease({ [PORT_ANNOTATION]: '6443' }))).to.equal(undefined);
    });
  });

  describe('on a server (memory backend)', () => {
    let server: TestServer;
    const peers: ApiServerEndpoints[] = [];
    beforeEach(async () => {
      server = await startTestServer({ plugins: fast });
    });
    afterEach(async () => {
      for (const p of peers.splice(0)) p.halt();
      await server.close();
    });

    it('keeps an identity lease, renews it, and lists itself in the kubernetes endpoints', async () => {
      const ours = server.server.use(API_SERVER_ENDPOINTS);
      const lease = await server.server.client().get(LEASES, LEASE_NAMESPACE, ours.identity);
      expect(lease.metadata.labels).to.include({ [IDENTITY_LABEL]: 'kube-apiserver' });
      expect(lease.metadata.annotations).to.deep.equal({
        [ADDRESS_ANNOTATION]: '127.0.0.1',
        [PORT_ANNOTATION]: String(server.port),
      });
      const spec = lease.spec as Record<string, unknown>;
      expect(spec).to.include({ holderIdentity: ours.holder, leaseDurationSeconds: TTL });
      expect(ours.holder).to.match(new RegExp(`^${ours.identity}_[0-9a-f-]{36}$`));
      expect(spec.renewTime).to.match(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
      expect(await endpointsOf(server)).to.deep.equal([subset(server.port, '127.0.0.1')]);
      await waitFor(
        'a renewal',
        () => server.server.client().get(LEASES, LEASE_NAMESPACE, ours.identity),
        (l) => (l.spec as Record<string, unknown>).renewTime !== spec.renewTime,
        INTERVAL * 4000,
      );
    });

    it('lists every live server; a graceful stop drops one at once, a dead one goes when its lease expires', async () => {
      const two = peer(server, '127.0.0.2');
      const three = peer(server, '127.0.0.3');
      peers.push(two, three);
      await Promise.all([two.start(), three.start()]);
      await waitFor(
        'three endpoints',
        () => endpointsOf(server),
        (s) => JSON.stringify(s) === JSON.stringify([subset(server.port, '127.0.0.1', '127.0.0.2', '127.0.0.3')]),
        2000,
      );

      await two.stop();
      expect(await endpointsOf(server)).to.deep.equal([subset(server.port, '127.0.0.1', '127.0.0.3')]);
      expect(await leaseNames(server)).to.not.include(two.identity);

      const died = Date.now();
      three.halt();
      await waitFor(
        'the dead server to drop out',
        () => endpointsOf(server),
        (s) => JSON.stringify(s) === JSON.stringify([subset(server.port, '127.0.0.1')]),
        (TTL + 1) * 1000,
      );
      expect(Date.now() - died).to.be.below((TTL + INTERVAL) * 1000);
      expect(await leaseNames(server)).to.not.include(three.identity);
    });

    it('servers on different ports get a subset each', async () => {
      const other = peer(server, '127.0.0.2', server.port + 1);
      peers.push(other);
      await other.start();
      expect(await endpointsOf(server)).to.deep.equal([
        subset(server.port, '127.0.0.1'),
        subset(server.port + 1, '127.0.0.2'),
      ]);
    });

    it('a lease written or deleted by another server is picked up at once, not at the next interval', async () => {
      // A peer that reconciles rarely: what it sees must come from its watch.
      const slow = peer(server, '127.0.0.2', server.port, { intervalSeconds: 60 });
      peers.push(slow);
      server.server.use(API_SERVER_ENDPOINTS).halt();
      await slow.start();
      const now = new Date().toISOString().replace('Z', '000Z');
      await server.server.client().create(LEASES, LEASE_NAMESPACE, {
        metadata: {
          name: 'kube-apiserver-elsewhere',
          labels: { [IDENTITY_LABEL]: 'kube-apiserver' },
          annotations: { [ADDRESS_ANNOTATION]: '127.0.0.9', [PORT_ANNOTATION]: String(server.port) },
        },
        spec: { holderIdentity: 'kube-apiserver-elsewhere_1', leaseDurationSeconds: 60, renewTime: now },
      });
      const has9 = (s: unknown) => JSON.stringify(s).includes('127.0.0.9');
      await waitFor('the new server', () => endpointsOf(server), has9, 1000);
      await server.server.client().delete(LEASES, LEASE_NAMESPACE, 'kube-apiserver-elsewhere');
      await waitFor(
        'the server that left',
        () => endpointsOf(server),
        (s) => !has9(s),
        1000,
      );
    });

    it('collects leases that expired while nobody watched', async () => {
      const old = new Date(Date.now() - 3600_000).toISOString().replace('Z', '000Z');
      await server.server.client().create(LEASES, LEASE_NAMESPACE, {
        metadata: {
          name: 'kube-apiserver-gone',
          labels: { [IDENTITY_LABEL]: 'kube-apiserver' },
          annotations: { [ADDRESS_ANNOTATION]: '127.0.0.8', [PORT_ANNOTATION]: String(server.port) },
        },
        spec: { holderIdentity: 'kube-apiserver-gone_1', leaseDurationSeconds: 15, renewTime: old },
      });
      await server.server.use(API_SERVER_ENDPOINTS).reconcile();
      expect(await leaseNames(server)).to.not.include('kube-apiserver-gone');
      expect(await endpointsOf(server)).to.deep.equal([subset(server.port, '127.0.0.1')]);
    });

    it('the last server to stop deletes its lease but leaves its address, as upstream never erases them all', async () => {
      const ours = server.server.use(API_SERVER_ENDPOINTS);
      await ours.stop();
      expect(await leaseNames(server)).to.deep.equal([]);
      expect(await endpointsOf(server)).to.deep.equal([subset(server.port, '127.0.0.1')]);
    });
  });

  it('closing a server deletes its lease and removes it from the endpoints', async () => {
    const server = await startTestServer({ plugins: fast });
    const other = peer(server, '127.0.0.2');
    await other.start();
    const identity = server.server.use(API_SERVER_ENDPOINTS).identity;
    // Close runs the shutdown hook before storage closes; read what it left through the peer's view.
    const storage = server.server.api.storage();
    const reads: Promise<unknown>[] = [];
    server.server.hooks.shutdown.tapPromise('test', async () => {
      reads.push(storage.get('/registry/services/endpoints/default/kubernetes').then((kv) => JSON.parse(kv!.value)));
      reads.push(storage.get(`/registry/leases/${LEASE_NAMESPACE}/${identity}`));
    });
    other.halt();
    await server.close();
    const [endpoints, lease] = await Promise.all(reads);
    expect((endpoints as KubeObject).subsets).to.deep.equal([subset(server.port, '127.0.0.2')]);
    expect(lease).to.equal(undefined);
  });

  it('without the Lease API (api-coordination-v1 off) the endpoints list this server alone', async () => {
    const server = await startTestServer({ plugins: { ...fast, 'api-coordination-v1': { enabled: false } } });
    try {
      expect(await endpointsOf(server)).to.deep.equal([subset(server.port, '127.0.0.1')]);
    } finally {
      await server.close();
    }
  });
});
