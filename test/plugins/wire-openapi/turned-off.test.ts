/**
 * wire-openapi turned off: no OpenAPI documents (404, as on a server without them), so `kubectl
 * explain` has nothing to read; server-side field validation is core's and still works.
 */
import { expect } from 'chai';
import { kubectl, kubectlPath } from '../../helpers/kubectl.js';
import { api, startTestServer, type TestServer } from '../../helpers/server.js';
import { NO_KUBECTL, skipBecause } from '../../helpers/skip.js';

describe('wire-openapi: turned off', function () {
  this.timeout(30_000);
  let ts: TestServer;
  before(async () => {
    ts = await startTestServer({ plugins: { 'wire-openapi': { enabled: false } } });
  });
  after(async () => ts?.close());

  it('/openapi/v2, /openapi/v3 and its group documents are 404 NotFound', async () => {
    for (const path of [
      '/openapi/v2',
      '/openapi/v3',
      '/openapi/v3/api/v1',
      '/openapi/v3/apis/coordination.k8s.io/v1',
    ]) {
      const r = await api(ts.url, 'GET', path);
      expect(r.status, path).to.equal(404);
      expect(r.body, path).to.include({ kind: 'Status', reason: 'NotFound' });
    }
  });

  it('fieldValidation=Strict still refuses unknown fields: it reads the schema table, not the documents', async () => {
    const r = await api(ts.url, 'POST', '/api/v1/namespaces/default/configmaps?fieldValidation=Strict', {
      metadata: { name: 'typo' },
      dataa: { a: 'b' },
    });
    expect(r.status).to.equal(400);
    expect(r.body.message).to.contain('unknown field "dataa"');
  });

  it('kubectl explain finds no schema', async function () {
    if (!kubectlPath) skipBecause(this, NO_KUBECTL);
    const r = await kubectl(ts.url, ['explain', 'pods']);
    expect(r.code).to.not.equal(0);
    expect(r.stderr).to.contain('NotFound');
  });
});
