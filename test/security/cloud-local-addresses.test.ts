/**
 * Security catalogue: a LoadBalancer Service that tries to open a port beyond this machine.
 *
 * cloud-local's balancers are real listeners. Anyone allowed to create a Service can ask for a
 * LoadBalancer and, through the deprecated `spec.loadBalancerIP`, for the address it listens on.
 * The attack: ask for `0.0.0.0` (every interface: the port is reachable from the network, past
 * whatever firewalling loopback gives), for a routable address of the host, or for an address of
 * the service range or of another balancer; or configure the plugin with a range outside loopback.
 *
 * Why it fails: balancer addresses come only from cloud-local's `addressRange`, which must lie
 * inside 127.0.0.0/8 (checked when the config is loaded: the server does not start otherwise).
 * A requested address outside the range, or one taken, is refused as a cloud refuses an address it
 * does not own: the Service gets no balancer, a Warning Event SyncLoadBalancerFailed says why and
 * how to fix it, and nothing listens on the requested address.
 */
import { connect, createServer } from 'node:net';
import { expect } from 'chai';
import { loadConfigFromObject } from '../../core/config/load.js';
import { SkiffError } from '../../core/errors.js';
import { api, startTestServer, type TestServer } from '../helpers/server.js';
import { waitFor } from '../helpers/wait.js';
import { createReadyNode, createService, eventsFor } from '../plugins/controllers/service-fixtures.js';

const NS = 'default';
const RANGE = `127.97.${1 + Math.floor(Math.random() * 250)}.0/24`;

/** A port free on every interface just now (the kernel's pick), so that nothing else answers on it. */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen({ host: '0.0.0.0', port: 0 }, resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** Whether something accepts TCP connections on host:port. */
function listening(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

describe('security: cloud-local balancers never listen beyond loopback', function () {
  this.timeout(60_000);
  let s: TestServer;

  before(async () => {
    s = await startTestServer({
      role: 'up',
      plugins: {
        'authz-bootstrap-roles': {},
        'controller-service': {},
        'cloud-local': { config: { addressRange: RANGE } },
      },
    });
    await createReadyNode(s.url, 'sec-node', { internalIP: '127.0.0.1' });
  });
  after(async () => s?.close());

  for (const range of ['0.0.0.0/0', '10.0.0.0/8', '192.168.1.0/24']) {
    it(`an addressRange outside 127.0.0.0/8 (${range}) is refused when the config is loaded`, async () => {
      const err = await loadConfigFromObject(
        {
          plugins: { 'api-core-v1': {}, 'controller-service': {}, 'cloud-local': { config: { addressRange: range } } },
        },
        '(test)',
      ).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).to.be.instanceOf(SkiffError);
      expect((err as SkiffError).code).to.equal('SKIFF_PLUGIN_CONFIG_INVALID');
      expect((err as SkiffError).message).to.contain('127.0.0.0/8');
    });
  }

  for (const [name, requested] of [
    ['any-interface', '0.0.0.0'],
    ['outside-range', '127.0.0.1'],
  ] as const) {
    it(`spec.loadBalancerIP ${requested} gets no balancer: SyncLoadBalancerFailed, and nothing listens there`, async () => {
      const port = await freePort();
      await createService(s.url, NS, {
        metadata: { name },
        spec: { type: 'LoadBalancer', loadBalancerIP: requested, selector: { app: name }, ports: [{ port }] },
      });
      const events = await waitFor(
        'SyncLoadBalancerFailed',
        () => eventsFor(s.url, NS, name),
        (e) => e.some((x) => x.reason === 'SyncLoadBalancerFailed'),
      );
      const failed = events.find((x) => x.reason === 'SyncLoadBalancerFailed')!;
      expect(failed.type).to.equal('Warning');
      expect(failed.message).to.contain(`spec.loadBalancerIP ${requested} is not a free address`);
      expect(failed.message).to.contain(RANGE);
      const svc = (await api(s.url, 'GET', `/api/v1/namespaces/${NS}/services/${name}`)).body;
      expect(svc.status?.loadBalancer?.ingress ?? []).to.deep.equal([]);
      expect(await listening('127.0.0.1', port)).to.equal(false);
    });
  }

  it('an address of the range another balancer holds is refused the same way', async () => {
    await createService(s.url, NS, {
      metadata: { name: 'first' },
      spec: { type: 'LoadBalancer', selector: { app: 'first' }, ports: [{ port: 8443 }] },
    });
    const first = await waitFor(
      'an ingress IP',
      async () => (await api(s.url, 'GET', `/api/v1/namespaces/${NS}/services/first`)).body,
      (x) => Boolean(x.status?.loadBalancer?.ingress?.[0]?.ip),
    );
    const taken: string = first.status.loadBalancer.ingress[0].ip;
    await createService(s.url, NS, {
      metadata: { name: 'squatter' },
      spec: { type: 'LoadBalancer', loadBalancerIP: taken, selector: { app: 'squatter' }, ports: [{ port: 8444 }] },
    });
    const events = await waitFor(
      'SyncLoadBalancerFailed',
      () => eventsFor(s.url, NS, 'squatter'),
      (e) => e.some((x) => x.reason === 'SyncLoadBalancerFailed'),
    );
    expect(events.find((x) => x.reason === 'SyncLoadBalancerFailed')!.message).to.contain(
      `spec.loadBalancerIP ${taken} is not a free address`,
    );
    expect(await listening(taken, 8444)).to.equal(false);
  });
});
