/** The namespace and service-account controllers, running in a real server (`skiff up` role). */
import { expect } from 'chai';
import { api, startTestServer, type TestServer } from '../../helpers/server.js';
import { waitFor } from '../../helpers/wait.js';

describe('controller-namespace and controller-service-account', () => {
  let s: TestServer;
  before(async () => {
    s = await startTestServer({
      role: 'up',
      plugins: {
        'admission-namespace-lifecycle': {},
        'admission-service-account': {},
        // The controllers act as system:kube-controller-manager, which only the chain authorizes.
        'authz-bootstrap-roles': {},
        'controller-namespace': { config: { retrySeconds: 0.2 } },
        'controller-service-account': {},
      },
    });
  });
  after(() => s.close());

  it('the initial namespaces have their default account before the server answers', async () => {
    for (const ns of ['default', 'kube-system', 'kube-public']) {
      expect((await api(s.url, 'GET', `/api/v1/namespaces/${ns}/serviceaccounts/default`)).status, ns).to.equal(200);
    }
  });

  it('gives every new namespace a default account, and re-creates it when deleted', async () => {
    await api(s.url, 'POST', '/api/v1/namespaces', { metadata: { name: 'team' } });
    const sa = '/api/v1/namespaces/team/serviceaccounts/default';
    const first = await waitFor(
      'default account',
      () => api(s.url, 'GET', sa),
      (r) => r.status === 200,
    );
    await api(s.url, 'DELETE', sa);
    const again = await waitFor(
      'default account back',
      () => api(s.url, 'GET', sa),
      (r) => r.status === 200 && r.body.metadata.uid !== first.body.metadata.uid,
    );
    expect(again.body.metadata.name).to.equal('default');
  });

  it('deleting a namespace removes everything in it, then the namespace', async () => {
    await api(s.url, 'POST', '/api/v1/namespaces', { metadata: { name: 'doomed' } });
    await waitFor(
      'default account',
      () => api(s.url, 'GET', '/api/v1/namespaces/doomed/serviceaccounts/default'),
      (r) => r.status === 200,
    );
    const base = '/api/v1/namespaces/doomed';
    for (let i = 0; i < 5; i++) {
      expect((await api(s.url, 'POST', `${base}/configmaps`, { metadata: { name: `cm${i}` } })).status).to.equal(201);
    }
    await api(s.url, 'POST', `${base}/secrets`, { metadata: { name: 's' } });
    await api(s.url, 'POST', `${base}/services`, { metadata: { name: 'svc' }, spec: { ports: [{ port: 80 }] } });
    const p = await api(s.url, 'POST', `${base}/pods`, {
      metadata: { name: 'web' },
      spec: { containers: [{ name: 'app', image: 'busybox' }] },
    });
    expect(p.status).to.equal(201);
    // An object holding its own finalizer keeps the namespace until someone removes it.
    await api(s.url, 'POST', `${base}/configmaps`, { metadata: { name: 'held', finalizers: ['example.com/hold'] } });

    const del = await api(s.url, 'DELETE', '/api/v1/namespaces/doomed');
    expect(del.body.status.phase).to.equal('Terminating');
    await waitFor(
      'only the held object left',
      () => api(s.url, 'GET', `${base}/configmaps`),
      (r) => r.body.items.length === 1 && r.body.items[0].metadata.deletionTimestamp !== undefined,
    );
    expect((await api(s.url, 'GET', '/api/v1/namespaces/doomed')).body.status.phase).to.equal('Terminating');
    await api(
      s.url,
      'PATCH',
      `${base}/configmaps/held`,
      { metadata: { finalizers: null } },
      {
        'Content-Type': 'application/merge-patch+json',
      },
    );
    await waitFor(
      'namespace gone',
      () => api(s.url, 'GET', '/api/v1/namespaces/doomed'),
      (r) => r.status === 404,
    );
    for (const kind of ['configmaps', 'secrets', 'services', 'pods', 'serviceaccounts']) {
      const left = await api(s.url, 'GET', `${base}/${kind}`);
      expect(left.body.items, kind).to.deep.equal([]);
    }
  });
});
