/**
 * Chapter: impersonation headers.
 *
 * The attack: add `Impersonate-User`, `Impersonate-Group`, `Impersonate-Uid` or
 * `Impersonate-Extra-<key>` headers (what `kubectl --as`, `--as-group`, `--as-uid` send) to act as
 * someone mightier: another user, the group system:masters, a forged uid or extra (such as scopes);
 * or, holding the right to impersonate one thing, smuggle more along with it (a user plus the group
 * system:masters).
 *
 * The upstream defence: the WithImpersonation filter asks the authorizer, as the real user, for the
 * verb `impersonate` on each thing requested: `users` (or `serviceaccounts` in its namespace),
 * `groups`, `uids.authentication.k8s.io` and `userextras.authentication.k8s.io/<key>`. The first
 * refusal is a 403 in upstream's words; groups, uid or extra without a user is a 400. A request
 * that passes then runs entirely as the impersonated user, with none of the real user's rights.
 *
 * Where Skiff implements it: core/server/impersonation.ts (called from the authentication step of
 * core/server/http-app.ts, before the request is authorized), with the 403 text from
 * core/api/forbidden.ts. Impersonating the control plane's own identities is in
 * component-identities.test.ts.
 *
 * ABAC has no field for a name, so the line `{"user":"alice","resource":"users"}` lets alice
 * impersonate any user, and nothing else: not groups, not uids, not extras, not service accounts.
 */
import { expect } from 'chai';
import { type HttpsAnswer, httpsRequest, type Scratch, scratchDir, tokenLine } from '../helpers/security.js';
import { api, startTestServer, type TestServer } from '../helpers/server.js';

const POLICY = [
  { user: 'alice', resource: 'users' },
  { user: 'alice', namespace: 'alice-ns', resource: 'configmaps' },
  { user: 'bob', namespace: 'a', resource: 'pods', readonly: true },
  { user: 'mallory', namespace: 'm', resource: '*' },
];
const WHOAMI = '/apis/authentication.k8s.io/v1/selfsubjectreviews';
const SECRETS = '/api/v1/namespaces/kube-system/secrets';

function expectForbidden(r: HttpsAnswer, message: string): void {
  expect(r.status, r.text).to.equal(403);
  expect(r.body).to.include({ kind: 'Status', reason: 'Forbidden', code: 403, message });
}

describe('security: impersonation needs the impersonate right, for each thing impersonated', function () {
  this.timeout(20_000);
  let ts: TestServer;
  let files: Scratch;

  before(async () => {
    files = scratchDir('impersonation');
    const tokens = ['alice', 'bob', 'mallory'].map((u, i) => tokenLine(`${u}-token`, u, String(i + 1))).join('');
    ts = await startTestServer({
      secure: true,
      plugins: {
        'authn-x509': {},
        'authn-token-file': { config: { tokenAuthFile: files.file('tokens.csv', tokens) } },
        'authz-abac': {
          config: { policyFile: files.file('policy.jsonl', POLICY.map((l) => JSON.stringify(l)).join('\n')) },
        },
      },
    });
    for (const ns of ['a', 'alice-ns']) await api(ts.url, 'POST', '/api/v1/namespaces', { metadata: { name: ns } });
  });
  after(async () => {
    await ts?.close();
    files?.remove();
  });

  const as = (token: string, path: string, headers: Record<string, string | string[]>, method = 'GET') =>
    httpsRequest(ts, path, {
      token,
      headers,
      method,
      body: method === 'POST' ? { apiVersion: 'authentication.k8s.io/v1', kind: 'SelfSubjectReview' } : undefined,
    });

  describe('without the impersonate right', () => {
    it('Impersonate-User: kubernetes-admin → 403 "users "kubernetes-admin" is forbidden: User "mallory" cannot impersonate ..."', async () => {
      const r = await as('mallory-token', SECRETS, { 'Impersonate-User': 'kubernetes-admin' });
      expectForbidden(
        r,
        'users "kubernetes-admin" is forbidden: User "mallory" cannot impersonate resource "users" in API group "" at the cluster scope',
      );
    });

    it('Impersonate-User: herself plus Impersonate-Group: system:masters → 403 on the user, the group never granted', async () => {
      const r = await as('mallory-token', SECRETS, {
        'Impersonate-User': 'mallory',
        'Impersonate-Group': 'system:masters',
      });
      expectForbidden(
        r,
        'users "mallory" is forbidden: User "mallory" cannot impersonate resource "users" in API group "" at the cluster scope',
      );
    });

    it('Impersonate-User of a service account → 403 on serviceaccounts in its namespace', async () => {
      const r = await as('alice-token', SECRETS, { 'Impersonate-User': 'system:serviceaccount:kube-system:default' });
      expectForbidden(
        r,
        'serviceaccounts "default" is forbidden: User "alice" cannot impersonate resource "serviceaccounts" in API group "" in the namespace "kube-system"',
      );
    });

    it('a right to impersonate users is no right to add Impersonate-Group: system:masters → 403 on groups', async () => {
      const r = await as('alice-token', SECRETS, { 'Impersonate-User': 'bob', 'Impersonate-Group': 'system:masters' });
      expectForbidden(
        r,
        'groups "system:masters" is forbidden: User "alice" cannot impersonate resource "groups" in API group "" at the cluster scope',
      );
    });

    it('nor to add Impersonate-Uid → 403 on uids.authentication.k8s.io', async () => {
      const r = await as('alice-token', WHOAMI, { 'Impersonate-User': 'bob', 'Impersonate-Uid': '1234' }, 'POST');
      expectForbidden(
        r,
        'uids.authentication.k8s.io "1234" is forbidden: User "alice" cannot impersonate resource "uids" in API group "authentication.k8s.io" at the cluster scope',
      );
    });

    it('nor to add Impersonate-Extra-Scopes → 403 on userextras.authentication.k8s.io/scopes', async () => {
      const r = await as(
        'alice-token',
        WHOAMI,
        { 'Impersonate-User': 'bob', 'Impersonate-Extra-Scopes': 'all' },
        'POST',
      );
      expectForbidden(
        r,
        'userextras.authentication.k8s.io "all" is forbidden: User "alice" cannot impersonate resource "userextras/scopes" in API group "authentication.k8s.io" at the cluster scope',
      );
    });

    it('without any credentials, Impersonate-User: kubernetes-admin → 401 (authentication comes first)', async () => {
      const r = await httpsRequest(ts, SECRETS, { headers: { 'Impersonate-User': 'kubernetes-admin' } });
      expect(r.status, r.text).to.equal(401);
      expect(r.body.reason).to.equal('Unauthorized');
    });
  });

  describe('half an impersonation', () => {
    for (const header of ['Impersonate-Group', 'Impersonate-Uid', 'Impersonate-Extra-Scopes']) {
      it(`${header} without Impersonate-User → 400 BadRequest, even for a user allowed to impersonate users`, async () => {
        const r = await as('alice-token', SECRETS, { [header]: 'system:masters' });
        expect(r.status, r.text).to.equal(400);
        expect(r.body).to.include({ reason: 'BadRequest', code: 400 });
        expect(r.body.message).to.contain('without impersonating a user');
      });
    }
  });

  describe('an allowed impersonation', () => {
    it('alice acting as bob is bob: his name and groups, nothing of alice', async () => {
      const r = await as('alice-token', WHOAMI, { 'Impersonate-User': 'bob' }, 'POST');
      expect(r.status, r.text).to.equal(201);
      expect(r.body.status.userInfo).to.deep.equal({ username: 'bob', groups: ['system:authenticated'] });
    });

    it('as bob she may read pods in "a" (bob’s right) but not write them, nor touch her own configmaps', async () => {
      const headers = { 'Impersonate-User': 'bob' };
      expect((await as('alice-token', '/api/v1/namespaces/a/pods', headers)).status).to.equal(200);
      const own = await httpsRequest(ts, '/api/v1/namespaces/alice-ns/configmaps', { token: 'alice-token' });
      expect(own.status, 'alice herself may').to.equal(200);
      expectForbidden(
        await as('alice-token', '/api/v1/namespaces/alice-ns/configmaps', headers),
        'configmaps is forbidden: User "bob" cannot list resource "configmaps" in API group "" in the namespace "alice-ns"',
      );
      const write = await httpsRequest(ts, '/api/v1/namespaces/a/pods', {
        token: 'alice-token',
        headers,
        method: 'POST',
        body: { metadata: { name: 'p' }, spec: { containers: [{ name: 'c', image: 'busybox' }] } },
      });
      expectForbidden(
        write,
        'pods is forbidden: User "bob" cannot create resource "pods" in API group "" in the namespace "a"',
      );
    });

    it('a repeated Impersonate-User header (bob, then kubernetes-admin) never acts as kubernetes-admin → 403', async () => {
      const r = await as('alice-token', SECRETS, { 'Impersonate-User': ['bob', 'kubernetes-admin'] });
      expect(r.status, r.text).to.equal(403);
      expect(r.body.reason).to.equal('Forbidden');
      expect(r.body.message).to.not.contain('User "kubernetes-admin"');
      expect((await api(ts.url, 'GET', SECRETS)).status, 'the path itself is readable by an admin').to.equal(200);
    });

    // Node joins repeated headers with ", "; impersonation.ts reads each repeat apart
    // (req.headersDistinct), as Go's http.Header keeps them, so `--as-group devs --as-group ops` is
    // two groups, not one named "devs, ops"; a repeated Impersonate-User counts its first value.
    const whoamiAs = (headers: Record<string, string | string[]>) =>
      httpsRequest(ts, WHOAMI, {
        client: ts.pki!.admin,
        method: 'POST',
        headers,
        body: { apiVersion: 'authentication.k8s.io/v1', kind: 'SelfSubjectReview' },
      });

    it('repeated Impersonate-Group headers are two groups, as upstream', async () => {
      const r = await whoamiAs({ 'Impersonate-User': 'bob', 'Impersonate-Group': ['devs', 'ops'] });
      expect(r.status, r.text).to.equal(201);
      expect(r.body.status.userInfo.groups).to.deep.equal(['devs', 'ops', 'system:authenticated']);
    });

    it('one Impersonate-Group header holding a comma is one group, as upstream (values are never split)', async () => {
      const r = await whoamiAs({ 'Impersonate-User': 'bob', 'Impersonate-Group': 'devs, ops' });
      expect(r.status, r.text).to.equal(201);
      expect(r.body.status.userInfo.groups).to.deep.equal(['devs, ops', 'system:authenticated']);
    });

    it('a repeated Impersonate-User acts as the first value only; repeated Impersonate-Extra-* values are all kept', async () => {
      const r = await whoamiAs({
        'Impersonate-User': ['bob', 'kubernetes-admin'],
        'Impersonate-Extra-Scopes': ['view', 'edit'],
      });
      expect(r.status, r.text).to.equal(201);
      expect(r.body.status.userInfo.username).to.equal('bob');
      expect(r.body.status.userInfo.extra).to.deep.equal({ scopes: ['view', 'edit'] });
    });
  });
});
