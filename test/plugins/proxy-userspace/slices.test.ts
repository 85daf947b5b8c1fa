/**
 * proxy-userspace reading EndpointSlices (discovery.k8s.io/v1, where the API serves them, as
 * upstream's kube-proxy does): a Service's slices decide its endpoints over its Endpoints, an
 * endpoint turning unready leaves the rotation, and a service without slices still uses Endpoints.
 */
import { expect } from 'chai';
import { api, startTestServer, type TestServer } from '../../helpers/server.js';
import { ask, type Backend, tcpBackend, until } from './helpers.js';

describe('proxy-userspace: EndpointSlices', function () {
  this.timeout(20_000);
  let ts: TestServer;
  const backends: Backend[] = [];
  const SLICES = '/apis/discovery.k8s.io/v1/namespaces/default/endpointslices';

  before(async () => {
    ts = await startTestServer({
      role: 'up',
      plugins: { 'api-discovery-v1': {}, 'authz-bootstrap-roles': {}, 'proxy-userspace': {} },
    });
    for (const [name, ip] of [
      ['one', '127.0.0.60'],
      ['two', '127.0.0.61'],
      ['legacy', '127.0.0.62'],
    ]) {
      backends.push(await tcpBackend(name!, ip));
    }
  });

  after(async () => {
    await ts?.close();
    await Promise.all(backends.map((b) => b.close()));
  });

  it('balances over the ready endpoints of the slices; one turning unready leaves the rotation', async () => {
    const svc = await api(ts.url, 'POST', '/api/v1/namespaces/default/services', {
      metadata: { name: 'web' },
      spec: { ports: [{ port: 80 }] },
    });
    const clusterIP = svc.body.spec.clusterIP as string;
    // Both backends listen on their own port: one slice per port is how slices say that.
    const [one, two] = backends as [Backend, Backend];
    const perPort = (b: Backend, ready: boolean, name: string) => ({
      apiVersion: 'discovery.k8s.io/v1',
      kind: 'EndpointSlice',
      addressType: 'IPv4',
      metadata: { name, labels: { 'kubernetes.io/service-name': 'web' } },
      ports: [{ port: b.port, protocol: 'TCP' }],
      endpoints: [{ addresses: [b.ip], conditions: { ready } }],
    });
    // The service's Endpoints point elsewhere: the slices win.
    await api(ts.url, 'POST', '/api/v1/namespaces/default/endpoints', {
      metadata: { name: 'web' },
      subsets: [{ addresses: [{ ip: backends[2]!.ip }], ports: [{ port: backends[2]!.port }] }],
    });
    expect((await api(ts.url, 'POST', SLICES, perPort(one, true, 'web-one'))).status).to.equal(201);
    expect((await api(ts.url, 'POST', SLICES, perPort(two, true, 'web-two'))).status).to.equal(201);
    await until('both slices to be used', async () => {
      const seen = new Set([await ask(clusterIP, 80), await ask(clusterIP, 80)]);
      return seen.has('one') && seen.has('two');
    });
    const current = (await api(ts.url, 'GET', `${SLICES}/web-two`)).body;
    const unready = { ...perPort(two, false, 'web-two'), metadata: { ...current.metadata } };
    expect((await api(ts.url, 'PUT', `${SLICES}/web-two`, unready)).status).to.equal(200);
    await until(
      'the unready endpoint to leave',
      async () => (await ask(clusterIP, 80)) === 'one' && (await ask(clusterIP, 80)) === 'one',
    );
    for (let i = 0; i < 4; i++) expect(await ask(clusterIP, 80)).to.equal('one');
  });

  it('uses the Endpoints of a service that has no slice', async () => {
    const legacy = backends[2]!;
    const svc = await api(ts.url, 'POST', '/api/v1/namespaces/default/services', {
      metadata: { name: 'legacy' },
      spec: { ports: [{ port: 80 }] },
    });
    await api(ts.url, 'POST', '/api/v1/namespaces/default/endpoints', {
      metadata: { name: 'legacy' },
      subsets: [{ addresses: [{ ip: legacy.ip }], ports: [{ port: legacy.port }] }],
    });
    await until('the Endpoints to be used', async () => (await ask(svc.body.spec.clusterIP, 80)) === 'legacy');
  });
});
