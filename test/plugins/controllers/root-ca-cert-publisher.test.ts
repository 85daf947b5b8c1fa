/** controller-root-ca-cert-publisher in a real server (`skiff up` role). */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'chai';
import { api, startTestServer, type TestServer } from '../../helpers/server.js';
import { waitFor } from '../../helpers/wait.js';

const CM = 'kube-root-ca.crt';

describe('controller-root-ca-cert-publisher', () => {
  let s: TestServer;
  let ca: string;
  before(async () => {
    s = await startTestServer({ secure: true });
    // The PKI that `skiff up` creates; publish its CA, as upstream publishes --root-ca-file.
    ca = s.pki!.ca.certPem;
    await s.close({ keepData: true });
    const file = join(s.dataDir, 'published-ca.crt');
    writeFileSync(file, ca);
    s = await startTestServer({
      dataDir: s.dataDir,
      role: 'up',
      plugins: {
        // The controller acts as system:kube-controller-manager, which only the chain authorizes.
        'authz-bootstrap-roles': {},
        'controller-root-ca-cert-publisher': { config: { rootCAFile: file } },
      },
    });
  });
  after(() => s.close());

  const read = (ns: string) => () => api(s.url, 'GET', `/api/v1/namespaces/${ns}/configmaps/${CM}`);

  it('publishes the CA in the initial namespaces and in new ones', async () => {
    for (const ns of ['default', 'kube-system', 'kube-public']) {
      const cm = await waitFor(`${CM} in ${ns}`, read(ns), (r) => r.status === 200);
      expect(cm.body.data).to.deep.equal({ 'ca.crt': ca });
      expect(cm.body.metadata.annotations).to.have.property('kubernetes.io/description');
    }
    await api(s.url, 'POST', '/api/v1/namespaces', { metadata: { name: 'team' } });
    const cm = await waitFor(`${CM} in team`, read('team'), (r) => r.status === 200);
    expect(cm.body.data['ca.crt']).to.equal(ca);
  });

  it('puts the ConfigMap back when it is edited or deleted', async () => {
    const first = await waitFor(CM, read('default'), (r) => r.status === 200);
    const edited = await api(s.url, 'PUT', `/api/v1/namespaces/default/configmaps/${CM}`, {
      ...first.body,
      data: { 'ca.crt': 'tampered', extra: 'x' },
    });
    expect(edited.status).to.equal(200);
    const restored = await waitFor('restored', read('default'), (r) => r.body.data?.['ca.crt'] === ca);
    expect(restored.body.data).to.deep.equal({ 'ca.crt': ca });
    expect((await api(s.url, 'DELETE', `/api/v1/namespaces/default/configmaps/${CM}`)).status).to.equal(200);
    const again = await waitFor('re-created', read('default'), (r) => r.status === 200);
    expect(again.body.metadata.uid).to.not.equal(first.body.metadata.uid);
  });
});
