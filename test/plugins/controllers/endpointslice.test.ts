/**
 * controller-endpointslice in a real server: EndpointSlices for Services with a selector (ready,
 * serving and terminating conditions, at most 100 endpoints per slice, upstream's labels, owned by
 * the Service, one empty placeholder for a Service without pods), slices mirrored from the
 * Endpoints of Services without a selector (never from the API server's own `kubernetes`
 * Endpoints), and slices removed with their Service.
 */
import { expect } from 'chai';
import type { Endpoint, EndpointSlice } from 'kubernetes-types/discovery/v1.js';
import type { OwnerReference } from 'kubernetes-types/meta/v1.js';
import { api, startTestServer, type TestServer } from '../../helpers/server.js';
import { waitFor } from '../../helpers/wait.js';
import { createPod, createService, setPodStatus } from './service-fixtures.js';

const NS = 'default';
const SLICES = `/apis/discovery.k8s.io/v1/namespaces/${NS}/endpointslices`;

/** An EndpointSlice as the server lists it: its metadata is always there. */
type ListedSlice = EndpointSlice & {
  metadata: { labels: Record<string, string>; ownerReferences: OwnerReference[] };
};

describe('controller-endpointslice', function () {
  this.timeout(60_000);
  let s: TestServer;

  before(async () => {
    s = await startTestServer({
      role: 'up',
      plugins: {
        'api-discovery-v1': {},
        'authz-bootstrap-roles': {},
        'controller-endpoints': {},
        'controller-endpointslice': {},
      },
    });
  });
  after(async () => s?.close());

  async function slicesOf(service: string): Promise<ListedSlice[]> {
    const selector = encodeURIComponent(`kubernetes.io/service-name=${service}`);
    const r = await api(s.url, 'GET', `${SLICES}?labelSelector=${selector}`);
    expect(r.status).to.equal(200);
    return r.body.items;
  }
  const endpointsIn = (slices: ListedSlice[]) => slices.flatMap((sl) => sl.endpoints ?? []);

  it('writes slices with ready/serving/terminating conditions, labels and an owner reference to the Service', async () => {
    const svc = await createService(s.url, NS, {
      metadata: { name: 'web', labels: { tier: 'front' } },
      spec: { selector: { app: 'web' }, ports: [{ name: 'http', port: 80, targetPort: 8080 }] },
    });
    for (const [name, ip, ready] of [
      ['web-a', '10.4.0.1', true],
      ['web-b', '10.4.0.2', false],
      ['web-c', '10.4.0.3', true],
    ] as const) {
      await createPod(s.url, NS, name, { labels: { app: 'web' }, nodeName: 'node-1' });
      await setPodStatus(s.url, NS, name, ip, ready);
    }
    // web-c is bound and reported on, so deleting it leaves it Terminating.
    await api(s.url, 'DELETE', `/api/v1/namespaces/${NS}/pods/web-c`);
    const slices = await waitFor(
      'three endpoints, one terminating',
      () => slicesOf('web'),
      (sl) => endpointsIn(sl).length === 3 && endpointsIn(sl).some((e) => e.conditions?.terminating),
    );
    expect(slices).to.have.length(1);
    const [slice] = slices;
    expect(slice.addressType).to.equal('IPv4');
    expect(slice.metadata.name).to.match(/^web-/);
    expect(slice.metadata.labels).to.deep.equal({
      tier: 'front',
      'kubernetes.io/service-name': 'web',
      'endpointslice.kubernetes.io/managed-by': 'endpointslice-controller.k8s.io',
    });
    expect(slice.metadata.ownerReferences).to.deep.equal([
      {
        apiVersion: 'v1',
        kind: 'Service',
        name: 'web',
        uid: svc.metadata.uid,
        controller: true,
        blockOwnerDeletion: true,
      },
    ]);
    expect(slice.ports).to.deep.equal([{ name: 'http', port: 8080, protocol: 'TCP' }]);
    const byIP = Object.fromEntries(endpointsIn(slices).map((e: Endpoint) => [e.addresses[0], e.conditions]));
    expect(byIP).to.deep.equal({
      '10.4.0.1': { ready: true, serving: true, terminating: false },
      '10.4.0.2': { ready: false, serving: false, terminating: false },
      '10.4.0.3': { ready: false, serving: true, terminating: true },
    });
    const a = endpointsIn(slices).find((e: Endpoint) => e.addresses[0] === '10.4.0.1');
    expect(a?.nodeName).to.equal('node-1');
    expect(a?.targetRef).to.include({ kind: 'Pod', name: 'web-a', namespace: NS });
  });

  it('keeps one empty placeholder slice for a Service without endpoints', async () => {
    await createService(s.url, NS, {
      metadata: { name: 'empty' },
      spec: { selector: { app: 'none' }, ports: [{ port: 80 }] },
    });
    const slices = await waitFor(
      'placeholder',
      () => slicesOf('empty'),
      (sl) => sl.length === 1,
    );
    expect(slices[0].endpoints ?? []).to.deep.equal([]);
    expect(slices[0].ports ?? []).to.deep.equal([]);
  });

  it('splits more than 100 endpoints across slices of at most 100', async function () {
    this.timeout(60_000);
    const names = Array.from({ length: 230 }, (_, i) => `many-${i}`);
    for (let i = 0; i < names.length; i += 50) {
      await Promise.all(
        names.slice(i, i + 50).map(async (name, j) => {
          await createPod(s.url, NS, name, { labels: { app: 'many' } });
          await setPodStatus(s.url, NS, name, `10.5.${Math.floor((i + j) / 200)}.${((i + j) % 200) + 1}`, true);
        }),
      );
    }
    await createService(s.url, NS, {
      metadata: { name: 'many' },
      spec: { selector: { app: 'many' }, ports: [{ port: 80 }] },
    });
    const slices = await waitFor(
      '230 endpoints',
      () => slicesOf('many'),
      (sl) => endpointsIn(sl).length === 230,
    );
    expect(slices.map((sl) => sl.endpoints.length).sort((x, y) => x - y)).to.deep.equal([30, 100, 100]);
    const ips = new Set(endpointsIn(slices).map((e: Endpoint) => e.addresses[0]));
    expect(ips.size).to.equal(230);
  });

  it('mirrors the Endpoints of a Service without a selector, and follows them', async () => {
    await createService(s.url, NS, { metadata: { name: 'external' }, spec: { ports: [{ name: 'pg', port: 5432 }] } });
    const ep = {
      metadata: { name: 'external', labels: { team: 'db' } },
      subsets: [
        {
          addresses: [{ ip: '192.0.2.10' }],
          notReadyAddresses: [{ ip: '192.0.2.11' }],
          ports: [{ name: 'pg', port: 5432 }],
        },
      ],
    };
    const created = await api(s.url, 'POST', `/api/v1/namespaces/${NS}/endpoints`, ep);
    expect(created.status).to.equal(201);
    const slices = await waitFor(
      'mirrored',
      () => slicesOf('external'),
      (sl) => endpointsIn(sl).length === 2,
    );
    expect(slices[0].metadata.labels).to.deep.equal({
      team: 'db',
      'kubernetes.io/service-name': 'external',
      'endpointslice.kubernetes.io/managed-by': 'endpointslicemirroring-controller.k8s.io',
    });
    expect(slices[0].metadata.ownerReferences[0]).to.include({ kind: 'Endpoints', name: 'external', controller: true });
    expect(slices[0].ports).to.deep.equal([{ name: 'pg', port: 5432, protocol: 'TCP' }]);
    const ready = Object.fromEntries(endpointsIn(slices).map((e: Endpoint) => [e.addresses[0], e.conditions?.ready]));
    expect(ready).to.deep.equal({ '192.0.2.10': true, '192.0.2.11': false });

    const update = {
      ...created.body,
      subsets: [{ addresses: [{ ip: '192.0.2.12' }], ports: [{ name: 'pg', port: 5432 }] }],
    };
    expect((await api(s.url, 'PUT', `/api/v1/namespaces/${NS}/endpoints/external`, update)).status).to.equal(200);
    await waitFor(
      'mirror follows',
      () => slicesOf('external'),
      (sl) =>
        endpointsIn(sl)
          .map((e: Endpoint) => e.addresses[0])
          .join() === '192.0.2.12',
    );
    await api(s.url, 'DELETE', `/api/v1/namespaces/${NS}/endpoints/external`);
    await waitFor(
      'mirror gone',
      () => slicesOf('external'),
      (sl) => sl.length === 0,
    );
    // The API server's own Endpoints say skip-mirror: no slice is made from them.
    expect(await slicesOf('kubernetes')).to.deep.equal([]);
  });

  it('deleting the Service removes its slices', async () => {
    await createService(s.url, NS, {
      metadata: { name: 'short' },
      spec: { selector: { app: 'short' }, ports: [{ port: 80 }] },
    });
    await waitFor(
      'slice',
      () => slicesOf('short'),
      (sl) => sl.length === 1,
    );
    await api(s.url, 'DELETE', `/api/v1/namespaces/${NS}/services/short`);
    await waitFor(
      'slices gone',
      () => slicesOf('short'),
      (sl) => sl.length === 0,
    );
  });
});
