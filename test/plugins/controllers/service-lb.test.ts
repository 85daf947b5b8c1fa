/**
 * controller-service with cloud-local in a real server: a LoadBalancer Service gets an address in
 * 127.0.0.0/8 that answers TCP and forwards, round robin, to the NodePort of each Ready node (here
 * plain TCP listeners standing in for kube-proxy, on the nodes' InternalIPs); the service holds the
 * load-balancer-cleanup finalizer until its balancer is gone; deleting it frees the address; a
 * half-closed connection is passed on as such.
 */
import { connect, createServer, type Server } from 'node:net';
import { expect } from 'chai';
import type { Service } from 'kubernetes-types/core/v1.js';
import { api, startTestServer, type TestServer } from '../../helpers/server.js';
import { waitFor } from '../../helpers/wait.js';
import { createReadyNode, createService, eventsFor, setNodeReady } from './service-fixtures.js';

const NS = 'default';
const FINALIZER = 'service.kubernetes.io/load-balancer-cleanup';
const octet = () => 1 + Math.floor(Math.random() * 250);
// Ranges of this run's own: tests of other runs on this machine may use the defaults.
const BALANCER_RANGE = `127.97.${octet()}.0/24`;
const NODE_NET = `127.98.${octet()}`;

/**
 * Connects, reads until the server closes or 1 s passes; the text read, or the error code. With
 * `send`, writes it and closes its sending half first (as `nc -N` or an HTTP/1.0 client would).
 */
function ask(host: string, port: number, send?: string): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect({ host, port, allowHalfOpen: true });
    if (send !== undefined) socket.end(send);
    socket.on('end', () => socket.end());
    let text = '';
    const timer = setTimeout(() => socket.destroy(), 1000);
    socket.on('data', (d) => (text += d.toString()));
    socket.on('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? 'error'));
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(text);
    });
  });
}

/**
 * A NodePort stand-in: answers every connection with the node's name, then closes; or, for
 * 'echo', answers with what it read once the client closed its sending half.
 */
async function nodePortListener(host: string, port: number, answer: string): Promise<Server> {
  const server = createServer({ allowHalfOpen: true }, (s) => {
    if (answer !== 'echo') return void s.end(answer);
    const read: Buffer[] = [];
    s.on('data', (d) => read.push(d));
    s.on('end', () => s.end(Buffer.concat(read)));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host, port }, () => resolve());
  });
  return server;
}

describe('controller-service with cloud-local', function () {
  this.timeout(60_000);
  let s: TestServer;
  const listeners: Server[] = [];

  before(async () => {
    s = await startTestServer({
      role: 'up',
      plugins: {
        'authz-bootstrap-roles': {},
        'controller-service': {},
        'cloud-local': { config: { addressRange: BALANCER_RANGE } },
      },
    });
    await createReadyNode(s.url, 'lb-a', { internalIP: `${NODE_NET}.1` });
    await createReadyNode(s.url, 'lb-b', { internalIP: `${NODE_NET}.2` });
  });
  after(async () => {
    for (const l of listeners) l.close();
    await s?.close();
  });

  const getService = async (name: string) =>
    (await api(s.url, 'GET', `/api/v1/namespaces/${NS}/services/${name}`)).body;
  const ingressOf = (svc: Service | undefined): string | undefined => svc?.status?.loadBalancer?.ingress?.[0]?.ip;

  it('gives a LoadBalancer service an address that forwards round robin to the nodes’ NodePorts', async () => {
    const svc = await createService(s.url, NS, {
      metadata: { name: 'front' },
      spec: { type: 'LoadBalancer', selector: { app: 'front' }, ports: [{ port: 8080, targetPort: 80 }] },
    });
    const nodePort = svc.spec.ports[0].nodePort;
    expect(nodePort).to.be.within(30000, 32767);
    listeners.push(await nodePortListener(`${NODE_NET}.1`, nodePort, 'lb-a'));
    listeners.push(await nodePortListener(`${NODE_NET}.2`, nodePort, 'lb-b'));
    const ready = await waitFor(
      'an ingress IP',
      () => getService('front'),
      (x) => ingressOf(x) !== undefined,
    );
    const ip = ingressOf(ready)!;
    expect(ip.startsWith(BALANCER_RANGE.slice(0, -4))).to.equal(true);
    expect(ready.status.loadBalancer.ingress[0]).to.deep.equal({ ip, ipMode: 'VIP' });
    expect(ready.metadata.finalizers).to.include(FINALIZER);
    const answers = [await ask(ip, 8080), await ask(ip, 8080), await ask(ip, 8080), await ask(ip, 8080)];
    expect([...new Set(answers)].sort()).to.deep.equal(['lb-a', 'lb-b']);
    const reasons = (await eventsFor(s.url, NS, 'front')).map((e) => e.reason);
    expect(reasons).to.include.members(['EnsuringLoadBalancer', 'EnsuredLoadBalancer']);

    // A node that is not Ready leaves the balancer.
    await setNodeReady(s.url, 'lb-b', false);
    await waitFor(
      'UpdatedLoadBalancer',
      () => eventsFor(s.url, NS, 'front'),
      (events) => events.some((e) => e.reason === 'UpdatedLoadBalancer'),
    );
    const onlyA = [await ask(ip, 8080), await ask(ip, 8080), await ask(ip, 8080)];
    expect(onlyA).to.deep.equal(['lb-a', 'lb-a', 'lb-a']);
    await setNodeReady(s.url, 'lb-b', true);
  });

  it('deleting the service deletes the balancer, frees its address and removes the finalizer', async () => {
    const before = ingressOf(await getService('front'))!;
    const deleted = await api(s.url, 'DELETE', `/api/v1/namespaces/${NS}/services/front`);
    expect(deleted.status).to.equal(200);
    await waitFor(
      'service gone',
      () => api(s.url, 'GET', `/api/v1/namespaces/${NS}/services/front`),
      (r) => r.status === 404,
    );
    expect(await ask(before, 8080)).to.equal('ECONNREFUSED');
    const reasons = (await eventsFor(s.url, NS, 'front')).map((e) => e.reason);
    expect(reasons).to.include.members(['DeletingLoadBalancer', 'DeletedLoadBalancer']);
    // The address is free again: the next balancer gets it.
    await createService(s.url, NS, {
      metadata: { name: 'next' },
      spec: { type: 'LoadBalancer', selector: { app: 'next' }, ports: [{ port: 8081 }] },
    });
    const next = await waitFor(
      'an ingress IP',
      () => getService('next'),
      (x) => ingressOf(x) !== undefined,
    );
    expect(ingressOf(next)).to.equal(before);
  });

  it('a service that stops being a LoadBalancer loses its balancer, status and finalizer', async () => {
    const ip = ingressOf(await getService('next'))!;
    const r = await api(
      s.url,
      'PATCH',
      `/api/v1/namespaces/${NS}/services/next`,
      { spec: { type: 'ClusterIP' } },
      { 'Content-Type': 'application/merge-patch+json' },
    );
    expect(r.status).to.equal(200);
    const svc = await waitFor(
      'cleaned up',
      () => getService('next'),
      (x) => !x.metadata.finalizers?.includes(FINALIZER),
    );
    expect(svc.status.loadBalancer.ingress ?? []).to.deep.equal([]);
    expect(await ask(ip, 8081)).to.equal('ECONNREFUSED');
  });

  it('reports a port cloud-local cannot balance as SyncLoadBalancerFailed', async () => {
    await createService(s.url, NS, {
      metadata: { name: 'dns' },
      spec: { type: 'LoadBalancer', selector: { app: 'dns' }, ports: [{ port: 5353, protocol: 'UDP' }] },
    });
    const events = await waitFor(
      'SyncLoadBalancerFailed',
      () => eventsFor(s.url, NS, 'dns'),
      (e) => e.some((x) => x.reason === 'SyncLoadBalancerFailed'),
    );
    expect(events.find((e) => e.reason === 'SyncLoadBalancerFailed')!.message).to.contain('TCP only');
  });

  it('passes a half-close on: a client that closes its sending half still reads the answer', async () => {
    const svc = await createService(s.url, NS, {
      metadata: { name: 'echo' },
      spec: { type: 'LoadBalancer', selector: { app: 'echo' }, ports: [{ port: 7007 }] },
    });
    const nodePort = svc.spec.ports[0]!.nodePort;
    listeners.push(await nodePortListener(`${NODE_NET}.1`, nodePort, 'echo'));
    listeners.push(await nodePortListener(`${NODE_NET}.2`, nodePort, 'echo'));
    const ready = await waitFor(
      'an ingress IP',
      () => getService('echo'),
      (x) => ingressOf(x) !== undefined,
    );
    const ip = ingressOf(ready)!;
    expect([await ask(ip, 7007, 'ping'), await ask(ip, 7007, 'pong')]).to.deep.equal(['ping', 'pong']);
  });

  it('a changed spec.loadBalancerIP moves the balancer to that address of the range', async () => {
    const svc = await createService(s.url, NS, {
      metadata: { name: 'moving' },
      spec: { type: 'LoadBalancer', selector: { app: 'moving' }, ports: [{ port: 7008 }] },
    });
    const nodePort = svc.spec.ports[0]!.nodePort;
    listeners.push(await nodePortListener(`${NODE_NET}.1`, nodePort, 'moved'));
    listeners.push(await nodePortListener(`${NODE_NET}.2`, nodePort, 'moved'));
    const first = ingressOf(
      await waitFor(
        'an ingress IP',
        () => getService('moving'),
        (x) => ingressOf(x) !== undefined,
      ),
    )!;
    const wanted = `${BALANCER_RANGE.slice(0, -'0/24'.length)}200`;
    const r = await api(
      s.url,
      'PATCH',
      `/api/v1/namespaces/${NS}/services/moving`,
      { spec: { loadBalancerIP: wanted } },
      { 'Content-Type': 'application/merge-patch+json' },
    );
    expect(r.status).to.equal(200);
    await waitFor(
      'the new ingress IP',
      () => getService('moving'),
      (x) => ingressOf(x) === wanted,
    );
    expect(await ask(wanted, 7008)).to.equal('moved');
    expect(await ask(first, 7008)).to.equal('ECONNREFUSED');
  });
});
