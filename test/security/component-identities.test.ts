/**
 * Attack catalogue: component identities.
 *
 * The attack: make the API server treat you as one of its own components. Skiff used to allow the
 * user `system:kube-controller-manager` everything, ahead of the configured authorization chain
 * (even `--authorization-mode=AlwaysDeny`). So the controller manager's certificate was a master
 * key, and anyone allowed to impersonate users could send `Impersonate-User:
 * system:kube-controller-manager` and read or change anything.
 *
 * Why it fails now: only the group `system:masters` is allowed ahead of the chain, as upstream's
 * privileged-group authorizer. A component's name is an ordinary user: it may do what the chain
 * grants it, which with `authz-bootstrap-roles` (`--authorization-mode=BootstrapRoles`) is exactly
 * upstream's bootstrap roles, and under AlwaysDeny nothing. Impersonating it needs the ordinary
 * `impersonate` permission and yields those roles, no more.
 *
 * Over HTTPS with real credentials: client certificates from the server's CA and bearer tokens.
 */
import { expect } from 'chai';
import { issueCertificate, type KeyPair } from '../../plugins/pki-local/certificates.js';
import { httpsRequest, type Scratch, scratchDir, tokenLine } from '../helpers/security.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

const CONTROLLER_MANAGER = 'system:kube-controller-manager';
const NAMESPACE = { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'taken-over' } };
// Upstream's controller roles let the controller manager create pods (replication) and update
// any kind (garbage collector), but none of them creates Services.
const SERVICE = {
  apiVersion: 'v1',
  kind: 'Service',
  metadata: { name: 'miner' },
  spec: { ports: [{ port: 80 }] },
};

describe('attack catalogue: component identities cannot outrank the authorization chain', function () {
  this.timeout(60_000);
  let scratch: Scratch;
  /** --authorization-mode=BootstrapRoles,ABAC: the roles, and a policy letting one user impersonate users. */
  let roles: TestServer;
  /** --authorization-mode=AlwaysDeny. */
  let deny: TestServer;
  const cert = (ts: TestServer, commonName: string, organizations: string[] = []): KeyPair =>
    issueCertificate(ts.pki!.ca, { commonName, organizations, usage: 'client' });

  before(async () => {
    scratch = scratchDir('component-identities');
    const tokenAuthFile = scratch.file(
      'tokens.csv',
      tokenLine('impersonator-token', 'impersonator', '1') + tokenLine('bystander-token', 'bystander', '2'),
    );
    const policyFile = scratch.file(
      'policy.jsonl',
      '{"apiVersion": "abac.authorization.kubernetes.io/v1beta1", "kind": "Policy", "spec": {"user": "impersonator", "namespace": "*", "apiGroup": "", "resource": "users"}}\n',
    );
    roles = await startTestServer({
      secure: true,
      plugins: {
        'authn-x509': {},
        'authn-token-file': { config: { tokenAuthFile } },
        'authz-bootstrap-roles': {},
        'authz-abac': { config: { policyFile } },
      },
    });
    deny = await startTestServer({ secure: true, plugins: { 'authn-x509': {}, 'authz-always-deny': {} } });
  });
  after(async () => {
    await roles?.close();
    await deny?.close();
    scratch?.remove();
  });

  it("AlwaysDeny: the controller manager's own certificate is refused; no user name outranks the chain", async () => {
    const client = cert(deny, CONTROLLER_MANAGER);
    const secrets = await httpsRequest(deny, '/api/v1/secrets', { client });
    expect(secrets.status, secrets.text).to.equal(403);
    expect(secrets.body.message).to.contain(`User "${CONTROLLER_MANAGER}" cannot list resource "secrets"`);
    const created = await httpsRequest(deny, '/api/v1/namespaces', { method: 'POST', client, body: NAMESPACE });
    expect(created.status, created.text).to.equal(403);
  });

  it("AlwaysDeny: only the group system:masters still passes (upstream's privileged-group authorizer)", async () => {
    const admin = await httpsRequest(deny, '/api/v1/namespaces', { client: cert(deny, 'ops', ['system:masters']) });
    expect(admin.status, admin.text).to.equal(200);
    // The name is not the group: a certificate whose CN says system:masters is an ordinary user.
    const named = await httpsRequest(deny, '/api/v1/namespaces', { client: cert(deny, 'system:masters') });
    expect(named.status, named.text).to.equal(403);
  });

  it("the controller manager's certificate gets its bootstrap roles and nothing more", async () => {
    const client = cert(roles, CONTROLLER_MANAGER);
    // What upstream's system:kube-controller-manager role grants: list and watch of every kind.
    const secrets = await httpsRequest(roles, '/api/v1/secrets', { client });
    expect(secrets.status, secrets.text).to.equal(200);
    // What none of its roles grants.
    const ns = await httpsRequest(roles, '/api/v1/namespaces', { method: 'POST', client, body: NAMESPACE });
    expect(ns.status, ns.text).to.equal(403);
    expect(ns.body.message).to.contain(`User "${CONTROLLER_MANAGER}" cannot create resource "namespaces"`);
    const svc = await httpsRequest(roles, '/api/v1/namespaces/default/services', {
      method: 'POST',
      client,
      body: SERVICE,
    });
    expect(svc.status, svc.text).to.equal(403);
  });

  it('Impersonate-User: system:kube-controller-manager without the impersonate permission is refused', async () => {
    const r = await httpsRequest(roles, '/api/v1/secrets', {
      token: 'bystander-token',
      headers: { 'Impersonate-User': CONTROLLER_MANAGER },
    });
    expect(r.status, r.text).to.equal(403);
    expect(r.body.message).to.contain(`cannot impersonate resource "users"`);
  });

  it('impersonating the controller manager yields only its roles: it may not create namespaces or services', async () => {
    const as = { token: 'impersonator-token', headers: { 'Impersonate-User': CONTROLLER_MANAGER } };
    // The impersonation itself is allowed (the policy grants it) and the role is in force...
    const secrets = await httpsRequest(roles, '/api/v1/secrets', as);
    expect(secrets.status, secrets.text).to.equal(200);
    // ...but it is that role, not a master key.
    const ns = await httpsRequest(roles, '/api/v1/namespaces', { ...as, method: 'POST', body: NAMESPACE });
    expect(ns.status, ns.text).to.equal(403);
    expect(ns.body.message).to.contain(`User "${CONTROLLER_MANAGER}" cannot create resource "namespaces"`);
    const svc = await httpsRequest(roles, '/api/v1/namespaces/default/services', {
      ...as,
      method: 'POST',
      body: SERVICE,
    });
    expect(svc.status, svc.text).to.equal(403);
    const gone = await httpsRequest(roles, '/api/v1/namespaces/taken-over', { token: 'impersonator-token' });
    expect(gone.status, 'nothing was created').to.be.oneOf([403, 404]);
  });

  it('impersonating the group system:masters needs its own permission: impersonating users is not enough', async () => {
    const r = await httpsRequest(roles, '/api/v1/namespaces', {
      method: 'POST',
      token: 'impersonator-token',
      headers: { 'Impersonate-User': CONTROLLER_MANAGER, 'Impersonate-Group': 'system:masters' },
      body: NAMESPACE,
    });
    expect(r.status, r.text).to.equal(403);
    expect(r.body.message).to.contain(`cannot impersonate resource "groups"`);
  });

  it('impersonating kube-proxy yields system:node-proxier: it lists services, and reads no secret', async () => {
    const as = { token: 'impersonator-token', headers: { 'Impersonate-User': 'system:kube-proxy' } };
    expect((await httpsRequest(roles, '/api/v1/services', as)).status).to.equal(200);
    const secrets = await httpsRequest(roles, '/api/v1/secrets', as);
    expect(secrets.status, secrets.text).to.equal(403);
  });
});
