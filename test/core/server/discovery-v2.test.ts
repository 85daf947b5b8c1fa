/** Aggregated discovery (apidiscovery.k8s.io/v2 and v2beta1), and legacy discovery for the rest. */
import { expect } from 'chai';
import { kubectl, kubectlPath } from '../../helpers/kubectl.js';
import { api, startTestServer, type TestServer } from '../../helpers/server.js';
import { NO_KUBECTL, skipBecause } from '../../helpers/skip.js';

const KUBECTL_ACCEPT =
  'application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,application/json';

describe('server: aggregated discovery', function () {
  this.timeout(60_000);
  let ts: TestServer;
  before(async () => {
    ts = await startTestServer();
  });
  after(async () => ts?.close());

  it('/api answers the core group as an APIGroupDiscoveryList when asked', async () => {
    const r = await api(ts.url, 'GET', '/api', undefined, { Accept: KUBECTL_ACCEPT });
    expect(r.headers.get('content-type')).to.equal(
      'application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList',
    );
    expect(r.headers.get('vary')).to.contain('Accept');
    expect(r.body).to.include({ kind: 'APIGroupDiscoveryList', apiVersion: 'apidiscovery.k8s.io/v2' });
    expect(r.body.items).to.have.length(1);
    const core = r.body.items[0];
    expect(core.metadata.name).to.equal('');
    const v1 = core.versions[0];
    expect(v1).to.include({ version: 'v1', freshness: 'Current' });
    const pods = v1.resources.find((x: { resource: string }) => x.resource === 'pods');
    expect(pods).to.deep.include({
      responseKind: { group: '', version: 'v1', kind: 'Pod' },
      scope: 'Namespaced',
      singularResource: 'pod',
      shortNames: ['po'],
      categories: ['all'],
    });
    expect(pods.subresources.map((s: { subresource: string }) => s.subresource)).to.include.members([
      'status',
      'binding',
    ]);
    const nodes = v1.resources.find((x: { resource: string }) => x.resource === 'nodes');
    expect(nodes.scope).to.equal('Cluster');
  });

  it('/apis lists the other groups; v2beta1 for clients that ask only for it', async () => {
    const r = await api(ts.url, 'GET', '/apis', undefined, { Accept: KUBECTL_ACCEPT });
    const names = r.body.items.map((g: { metadata: { name: string } }) => g.metadata.name);
    expect(names).to.include('coordination.k8s.io').and.not.include('');
    const beta = await api(ts.url, 'GET', '/apis', undefined, {
      Accept: 'application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,application/json',
    });
    expect(beta.body.apiVersion).to.equal('apidiscovery.k8s.io/v2beta1');
    const legacy = await api(ts.url, 'GET', '/apis', undefined, { Accept: 'application/json' });
    expect(legacy.body.kind).to.equal('APIGroupList');
  });

  it('kubectl uses it: api-resources and get all work from the aggregated documents', async function () {
    if (!kubectlPath) return skipBecause(this, NO_KUBECTL);
    const resources = await kubectl(ts.url, ['api-resources', '-v=6']);
    expect(resources.code, resources.stderr).to.equal(0);
    expect(resources.stdout).to.match(/^pods\s+po\s+v1\s+true\s+Pod$/m);
    expect(resources.stdout).to.match(/^leases\s+coordination\.k8s\.io\/v1\s+true\s+Lease$/m);
    expect(resources.stderr).to.not.match(/GET http:\/\/127\.0\.0\.1:\d+\/api\/v1 200/);
    const all = await kubectl(ts.url, ['get', 'all']);
    expect(all.code, all.stderr).to.equal(0);
    expect(all.stdout).to.contain('service/kubernetes');
  });
});
