/**
 * The example lab authenticator in a real server over HTTPS, loaded by path as an operator would.
 * Read as a catalogue: the plugin is an identity forgery by design (whoever sends the header IS
 * that user), so what these tests pin down is what it still refuses — the cluster's own `system:`
 * identities, which no header may claim — and that it stays out of the way of real credentials.
 */
import { expect } from 'chai';
import { type HttpsAnswer, httpsRequest } from '../../../../../test/helpers/security.js';
import { startTestServer, type TestServer } from '../../../../../test/helpers/server.js';

const PLUGIN = new URL('..', import.meta.url).pathname;
const REVIEW = { apiVersion: 'authentication.k8s.io/v1', kind: 'SelfSubjectReview' };

describe('example plugin authn-lab-header, over HTTPS', () => {
  let s: TestServer;
  before(async () => {
    s = await startTestServer({
      secure: true,
      plugins: { 'authn-x509': {}, 'authn-lab-header': { path: PLUGIN } },
    });
  });
  after(() => s?.close());

  const whoami = (headers: Record<string, string>, client = {}): Promise<HttpsAnswer> =>
    httpsRequest(s, '/apis/authentication.k8s.io/v1/selfsubjectreviews', {
      method: 'POST',
      body: REVIEW,
      headers,
      ...client,
    });

  it('X-Lab-User and X-Lab-Groups make the caller that user, as SelfSubjectReview (kubectl auth whoami) shows', async () => {
    const answer = await whoami({ 'X-Lab-User': 'alice', 'X-Lab-Groups': 'students, team-a' });
    expect(answer.status, answer.text).to.equal(201);
    expect(answer.body.status.userInfo).to.deep.equal({
      username: 'alice',
      groups: ['students', 'team-a', 'system:authenticated'],
    });
  });

  it('claiming system:masters by header is refused (401): no header grants the cluster-admin group', async () => {
    const answer = await whoami({ 'X-Lab-User': 'mallory', 'X-Lab-Groups': 'system:masters' });
    expect(answer.status).to.equal(401);
    expect(answer.body).to.deep.include({ kind: 'Status', reason: 'Unauthorized', code: 401 });
  });

  it('claiming a component user (system:kube-controller-manager) by header is refused (401)', async () => {
    const answer = await whoami({ 'X-Lab-User': 'system:kube-controller-manager' });
    expect(answer.status).to.equal(401);
  });

  it('without the header it has no opinion: a request with no credentials is 401, a client certificate still works', async () => {
    expect((await whoami({})).status).to.equal(401);
    const admin = await whoami({ 'X-Lab-User': 'alice' }, { client: s.pki!.admin });
    expect(admin.status).to.equal(201);
    expect(admin.body.status.userInfo.username).to.equal('kubernetes-admin');
  });
});
