/**
 * controller-endpoints in a real server (`skiff up` role): each Service with a selector gets an
 * Endpoints object that follows its pods' readiness and labels, resolves named target ports per
 * pod, honours publishNotReadyAddresses and pod hostnames, stops at 1,000 addresses with upstream's
 * annotation, leaves selector-less Services (and the API server's own `kubernetes` Endpoints)
 * alone, and goes when its Service goes. Pods do not run: the test writes their status.
 */
import { expect } from 'chai';
import { api, startTestServer, type TestServer } from '../../helpers/server.js';
import { waitFor } from '../../helpers/wait.js';
import { addressesOf, createPod, createService, getEndpoints, patchLabels, setPodStatus } from './service-fixtures.js';

const NS = 'default';

describe('controller-endpoints', function () {
  this.timeout(60_000);
  let s: TestServer;

  before(async () => {
    s = await startTestServer({
      role: 'up',
      plugins: { 'authz-bootstrap-roles': {}, 'controller-endpoints': {} },
    });
  });
  after(async () => s?.close());

  const endpointsOf = (name: string) => getEndpoints(s.url, NS, name);
  const service = (name: string, spec: Record<string, unknown>, labels?: Record<string, string>) =>
    createService(s.url, NS, { metadata: { name, ...(labels ? { labels } : {}) }, spec });

  it('lists ready pods as addresses and not-ready ones as notReadyAddresses, following changes', async () => {
    await service('web', { selector: { app: 'web' }, ports: [{ port: 80, targetPort: 8080 }] }, { tier: 'front' });
    for (const [name, ip] of [
      ['web-a', '10.1.0.1'],
      ['web-b', '10.1.0.2'],
    ] as const) {
      await createPod(s.url, NS, name, { labels: { app: 'web' }, nodeName: 'node-1' });
      await setPodStatus(s.url, NS, name, ip, name === 'web-a');
    }
    const ep = await waitFor(
      'web endpoints',
      () => endpointsOf('web'),
      (e) => addressesOf(e).ready.length === 1 && addressesOf(e).notReady.length === 1,
    );
    expect(addressesOf(ep)).to.deep.equal({ ready: ['10.1.0.1'], notReady: ['10.1.0.2'], ports: [8080] });
    const address = ep?.subsets[0]?.addresses?.[0];
    expect(address).to.include({ ip: '10.1.0.1', nodeName: 'node-1' });
    expect(address?.targetRef).to.include({ kind: 'Pod', namespace: NS, name: 'web-a' });
    expect(ep?.metadata.labels).to.deep.equal({ tier: 'front' });
    expect(ep?.metadata.annotations?.['endpoints.kubernetes.io/last-change-trigger-time']).to.match(/^\d{4}-.*Z$/);

    // Readiness changes move the address; a label change takes the pod out and back in.
    await setPodStatus(s.url, NS, 'web-b', '10.1.0.2', true);
    await waitFor(
      'both ready',
      () => endpointsOf('web'),
      (e) => addressesOf(e).ready.length === 2,
    );
    await patchLabels(s.url, NS, 'web-a', { app: 'other' });
    await waitFor(
      'web-a gone',
      () => endpointsOf('web'),
      (e) => addressesOf(e).ready.join() === '10.1.0.2',
    );
    await patchLabels(s.url, NS, 'web-a', { app: 'web' });
    await waitFor(
      'web-a back',
      () => endpointsOf('web'),
      (e) => addressesOf(e).ready.length === 2,
    );
    // A deleted pod (bound, so it stays Terminating) leaves the endpoints at once.
    await api(s.url, 'DELETE', `/api/v1/namespaces/${NS}/pods/web-b`);
    await waitFor(
      'web-b gone',
      () => endpointsOf('web'),
      (e) => addressesOf(e).ready.join() === '10.1.0.1',
    );
  });

  it('resolves a named targetPort per pod, and skips pods without that port', async () => {
    await service('named', {
      selector: { app: 'named' },
      ports: [{ name: 'web', port: 80, targetPort: 'http' }],
    });
    const pods = [
      ['named-a', '10.2.0.1', { http: 8080 }],
      ['named-b', '10.2.0.2', { http: 9090 }],
      ['named-c', '10.2.0.3', { metrics: 9100 }],
    ] as const;
    for (const [name, ip, ports] of pods) {
      await createPod(s.url, NS, name, { labels: { app: 'named' }, ports });
      await setPodStatus(s.url, NS, name, ip, true);
    }
    const ep = await waitFor(
      'two subsets',
      () => endpointsOf('named'),
      (e) => (e?.subsets ?? []).length === 2,
    );
    const byPort = Object.fromEntries(
      (ep?.subsets ?? []).map((sub) => [sub.ports?.[0]?.port, sub.addresses?.map((a) => a.ip)]),
    );
    expect(byPort).to.deep.equal({ 8080: ['10.2.0.1'], 9090: ['10.2.0.2'] });
    expect(ep?.subsets[0]?.ports[0]).to.include({ name: 'web', protocol: 'TCP' });
  });

  it('publishNotReadyAddresses lists not-ready pods as ready; hostnames come from hostname + subdomain', async () => {
    await service('db', {
      selector: { app: 'db' },
      clusterIP: 'None',
      publishNotReadyAddresses: true,
      ports: [{ port: 5432 }],
    });
    await createPod(s.url, NS, 'db-0', { labels: { app: 'db' }, hostname: 'db-0', subdomain: 'db' });
    await setPodStatus(s.url, NS, 'db-0', '10.3.0.1', false);
    const ep = await waitFor(
      'db endpoints',
      () => endpointsOf('db'),
      (e) => addressesOf(e).ready.length === 1,
    );
    expect(addressesOf(ep).notReady).to.deep.equal([]);
    expect(ep?.subsets[0]?.addresses?.[0]?.hostname).to.equal('db-0');
    expect(ep?.metadata.labels).to.have.property('service.kubernetes.io/headless', '');
  });

  it('leaves Endpoints of a Service without selector as the user wrote them, and the kubernetes ones alone', async () => {
    const kubernetesBefore = await endpointsOf('kubernetes');
    await service('external', { ports: [{ port: 5432 }] });
    const written = {
      metadata: { name: 'external' },
      subsets: [{ addresses: [{ ip: '192.0.2.10' }], ports: [{ port: 5432 }] }],
    };
    expect((await api(s.url, 'POST', `/api/v1/namespaces/${NS}/endpoints`, written)).status).to.equal(201);
    // Give the controller time to (wrongly) act, then check nothing changed.
    await service('tick', { selector: { app: 'tick' }, ports: [{ port: 1 }] });
    await waitFor(
      'tick endpoints',
      () => endpointsOf('tick'),
      (e) => e !== undefined,
    );
    expect(addressesOf(await endpointsOf('external')).ready).to.deep.equal(['192.0.2.10']);
    const kubernetesAfter = await endpointsOf('kubernetes');
    expect(kubernetesAfter?.subsets).to.deep.equal(kubernetesBefore?.subsets);
    expect(kubernetesAfter?.metadata.resourceVersion)
      .to.be.a('string')
      .and.equal(kubernetesBefore?.metadata.resourceVersion);
  });

  it('deleting the Service deletes its Endpoints', async () => {
    await service('gone', { selector: { app: 'gone' }, ports: [{ port: 80 }] });
    await waitFor(
      'gone endpoints',
      () => endpointsOf('gone'),
      (e) => e !== undefined,
    );
    await api(s.url, 'DELETE', `/api/v1/namespaces/${NS}/services/gone`);
    await waitFor(
      'endpoints deleted',
      () => endpointsOf('gone'),
      (e) => e === undefined,
    );
  });

  it('stops at 1,000 addresses, annotated over-capacity: truncated, and drops the annotation below it', async function () {
    this.timeout(120_000);
    const names = Array.from({ length: 1003 }, (_, i) => `big-${i}`);
    const ip = (i: number) => `10.9.${Math.floor(i / 250)}.${(i % 250) + 1}`;
    for (let i = 0; i < names.length; i += 100) {
      await Promise.all(
        names.slice(i, i + 100).map(async (name, j) => {
          await createPod(s.url, NS, name, { labels: { app: 'big' } });
          await setPodStatus(s.url, NS, name, ip(i + j), true);
        }),
      );
    }
    // The pods first, then the Service: one sync instead of one per pod.
    await service('big', { selector: { app: 'big' }, ports: [{ port: 80 }] });
    const ep = await waitFor(
      'truncated',
      () => endpointsOf('big'),
      (e) => e?.metadata.annotations?.['endpoints.kubernetes.io/over-capacity'] === 'truncated',
      30_000,
    );
    expect(addressesOf(ep).ready).to.have.length(1000);
    for (const name of names.slice(0, 4))
      await api(s.url, 'DELETE', `/api/v1/namespaces/${NS}/pods/${name}?gracePeriodSeconds=0`);
    const below = await waitFor(
      'not truncated',
      () => endpointsOf('big'),
      (e) => !e?.metadata.annotations?.['endpoints.kubernetes.io/over-capacity'],
      30_000,
    );
    expect(addressesOf(below).ready).to.have.length(999);
  });
});
