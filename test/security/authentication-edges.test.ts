/**
 * Security catalogue: credentials that fail must never be worth less than no credentials.
 *
 * With anonymous requests allowed (--anonymous-auth), a request without credentials acts as
 * system:anonymous. The attack: send credentials the server cannot verify (a made-up bearer
 * token, a wrong or unreadable password, a client certificate from your own CA) and hope the server
 * shrugs and treats you as anonymous, which may read what the policy grants to everyone. Or list
 * anonymous first in the config and hope it answers before the real authenticators are asked.
 *
 * Why it fails: as upstream's authentication union (anonymous wraps it, FailOnError), anonymous is
 * tried last wherever it is listed, and only for a request that carried no credentials at all: an
 * authenticator that sees a credential of its kind it cannot verify refuses it, and a bearer token
 * that no token authenticator recognises is refused by the union itself ("invalid bearer token"),
 * even when the only token authenticator is the service-account one, which ignores non-JWTs. A token
 * one token authenticator does not know but another accepts still works.
 *
 * Also here: health and version (/healthz, /livez, /readyz, /version) answer probes without
 * credentials even when anonymous auth is off, as upstream's system:public-info-viewer role allows,
 * while everything else still needs credentials and bad credentials are a 401 there too; and
 * AlwaysDeny's refusal names the user, the verb and the resource, as upstream's does.
 * Every request goes over HTTPS, where real clients send credentials.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'chai';
import type { KeyPair } from '../../plugins/pki-local/certificates.js';
import { createCertificateAuthority, issueCertificate } from '../../plugins/pki-local/certificates.js';
import { kubectl, kubectlPath } from '../helpers/kubectl.js';
import { httpsRequest, type Scratch, scratchDir, tokenLine } from '../helpers/security.js';
import { api, startTestServer, type TestServer } from '../helpers/server.js';
import { spawnSkiff } from '../helpers/skiff-process.js';
import { NO_KUBECTL, skipBecause } from '../helpers/skip.js';

const REVIEW = '/apis/authentication.k8s.io/v1/selfsubjectreviews';
const reviewBody = { apiVersion: 'authentication.k8s.io/v1', kind: 'SelfSubjectReview' };
const basic = (text: string) => `Basic ${Buffer.from(text).toString('base64')}`;

/** Who the server takes the caller for (SelfSubjectReview), or the refusal's status code. */
async function whoAmI(ts: TestServer, options: Parameters<typeof httpsRequest>[2] = {}): Promise<string | number> {
  const r = await httpsRequest(ts, REVIEW, { ...options, method: 'POST', body: reviewBody });
  return r.status === 201 ? r.body.status.userInfo.username : r.status;
}

describe('security: failed credentials never fall back to anonymous', function () {
  this.timeout(60_000);
  let scratch: Scratch;
  let ts: TestServer;
  let alice: KeyPair;
  let mallory: KeyPair;
  let robotToken: string;

  before(async () => {
    scratch = scratchDir('authn-edges');
    ts = await startTestServer({
      secure: true,
      plugins: {
        // Listed first on purpose: its place in the config must not matter.
        'authn-anonymous': {},
        'authn-x509': {},
        'authn-token-file': {
          config: { tokenAuthFile: scratch.file('tokens.csv', tokenLine('bob-token', 'bob', '2')) },
        },
        'authn-basic-file': { config: { basicAuthFile: scratch.file('passwords.csv', 'carol-pw,carol,3\n') } },
        'authn-service-account': {},
        // Anonymous may do everything here, so any fallback to it would show as a 2xx.
        'authz-always-allow': {},
      },
    });
    alice = issueCertificate(ts.pki!.ca, { commonName: 'alice', usage: 'client' });
    mallory = issueCertificate(createCertificateAuthority('mallory-ca'), { commonName: 'alice', usage: 'client' });
    await api(ts.url, 'POST', '/api/v1/namespaces/default/serviceaccounts', { metadata: { name: 'robot' } });
    const issued = await api(ts.url, 'POST', '/api/v1/namespaces/default/serviceaccounts/robot/token', {
      apiVersion: 'authentication.k8s.io/v1',
      kind: 'TokenRequest',
      spec: {},
    });
    robotToken = issued.body.status.token;
  });
  after(async () => {
    await ts?.close();
    scratch?.remove();
  });

  it('a request without credentials is system:anonymous (the baseline the attacks aim for)', async () => {
    expect(await whoAmI(ts)).to.equal('system:anonymous');
  });

  it('good credentials of every kind win even though anonymous is listed first', async () => {
    expect(await whoAmI(ts, { token: 'bob-token' })).to.equal('bob');
    expect(await whoAmI(ts, { headers: { Authorization: basic('carol:carol-pw') } })).to.equal('carol');
    expect(await whoAmI(ts, { client: alice })).to.equal('alice');
  });

  it('two token authenticators: a token the token file does not know, but the service-account one accepts, works', async () => {
    expect(await whoAmI(ts, { token: robotToken })).to.equal('system:serviceaccount:default:robot');
  });

  it('a made-up bearer token is a 401, not anonymous', async () => {
    expect(await whoAmI(ts, { token: 'made-up-token' })).to.equal(401);
  });

  it('a JWT signed by someone else is a 401, not anonymous', async () => {
    const [header, payload] = robotToken.split('.');
    expect(await whoAmI(ts, { token: `${header}.${payload}.forged-signature` })).to.equal(401);
  });

  it('a wrong password, and basic credentials that cannot even be read, are a 401, not anonymous', async () => {
    expect(await whoAmI(ts, { headers: { Authorization: basic('carol:wrong') } })).to.equal(401);
    expect(await whoAmI(ts, { headers: { Authorization: basic('no-colon-here') } })).to.equal(401);
    expect(await whoAmI(ts, { headers: { Authorization: 'Basic' } })).to.equal(401);
  });

  it('a client certificate from a CA the server does not trust is a 401, not anonymous', async () => {
    expect(await whoAmI(ts, { client: mallory })).to.equal(401);
  });

  it('bad credentials are refused on the 401 itself: the refusal does not depend on what is asked', async () => {
    const r = await httpsRequest(ts, '/api/v1/namespaces/default/pods', { token: 'made-up-token' });
    expect(r.status).to.equal(401);
    expect(r.body).to.include({ kind: 'Status', reason: 'Unauthorized', code: 401 });
  });

  describe('with the service-account authenticator as the only token authenticator', () => {
    let saOnly: TestServer;
    before(async () => {
      saOnly = await startTestServer({
        secure: true,
        plugins: { 'authn-service-account': {}, 'authn-anonymous': {}, 'authz-always-allow': {} },
      });
    });
    after(async () => saOnly?.close());

    it('a bearer token that is not a JWT (so "not mine" to it) is still a 401, not anonymous', async () => {
      expect(await whoAmI(saOnly)).to.equal('system:anonymous');
      expect(await whoAmI(saOnly, { token: 'not-a-jwt' })).to.equal(401);
    });
  });
});

describe('security: health and version are public, nothing else is', function () {
  this.timeout(60_000);
  let scratch: Scratch;
  let ts: TestServer;
  let mallory: KeyPair;

  before(async () => {
    scratch = scratchDir('public-info');
    // Skiff's default: anonymous auth off. No authorizer plugin: only the core's rules allow anything.
    ts = await startTestServer({
      secure: true,
      plugins: {
        'authn-x509': {},
        'authn-token-file': {
          config: { tokenAuthFile: scratch.file('tokens.csv', tokenLine('bob-token', 'bob', '2')) },
        },
      },
    });
    mallory = issueCertificate(createCertificateAuthority('mallory-ca'), { commonName: 'admin', usage: 'client' });
  });
  after(async () => {
    await ts?.close();
    scratch?.remove();
  });

  it('a load balancer without credentials gets /healthz, /livez, /readyz and /version (upstream system:public-info-viewer)', async () => {
    for (const path of ['/healthz', '/livez', '/readyz', '/version', '/version/', '/healthz?verbose']) {
      const r = await httpsRequest(ts, path);
      expect(r.status, `${path}: ${r.text}`).to.equal(200);
    }
    expect((await httpsRequest(ts, '/version')).body.gitVersion).to.match(/^v1\.32\./);
  });

  it('everything else without credentials is a 401: the API, discovery, metrics, single health checks', async () => {
    for (const path of [
      '/api',
      '/apis',
      '/api/v1/namespaces/default/pods',
      '/metrics',
      '/readyz/ping',
      '/openapi/v2',
    ]) {
      const r = await httpsRequest(ts, path);
      expect(r.status, path).to.equal(401);
    }
  });

  it('bad credentials on a public path are still a 401, not a pass', async () => {
    expect((await httpsRequest(ts, '/healthz', { token: 'made-up-token' })).status).to.equal(401);
    expect((await httpsRequest(ts, '/version', { client: mallory })).status).to.equal(401);
  });

  it('only reading is public: POST /version without credentials is refused by authorization (403)', async () => {
    const r = await httpsRequest(ts, '/version', { method: 'POST', body: {} });
    expect(r.status).to.equal(403);
    expect(r.body.message).to.equal('forbidden: User "system:anonymous" cannot post path "/version"');
  });

  it('an authenticated user whom no policy grants anything may still read health and version', async () => {
    expect((await httpsRequest(ts, '/readyz', { token: 'bob-token' })).status).to.equal(200);
    expect((await httpsRequest(ts, '/api', { token: 'bob-token' })).status).to.equal(403);
  });
});

describe('security: AlwaysDeny says who was refused what, as upstream', function () {
  this.timeout(60_000);
  let scratch: Scratch;
  let ts: TestServer;

  before(async () => {
    scratch = scratchDir('always-deny');
    ts = await startTestServer({
      secure: true,
      plugins: {
        'authn-token-file': {
          config: { tokenAuthFile: scratch.file('tokens.csv', tokenLine('bob-token', 'bob', '2')) },
        },
        // Upstream keeps its bootstrap roles beside any mode; without system:discovery kubectl cannot
        // even discover the API, and prints its discovery failure ("Forbidden: unknown") instead.
        'authz-bootstrap-roles': {},
        'authz-always-deny': {},
      },
    });
  });
  after(async () => {
    await ts?.close();
    scratch?.remove();
  });

  it("the 403 names the user, the verb, the resource and namespace, and AlwaysDeny's reason", async () => {
    const list = await httpsRequest(ts, '/api/v1/namespaces/default/pods', { token: 'bob-token' });
    expect(list.status).to.equal(403);
    expect(list.body.message).to.equal(
      'pods is forbidden: User "bob" cannot list resource "pods" in API group "" in the namespace "default": Everything is forbidden.',
    );
    const path = await httpsRequest(ts, '/metrics', { token: 'bob-token' });
    expect(path.body.message).to.equal('forbidden: User "bob" cannot get path "/metrics": Everything is forbidden.');
  });

  it('kubectl prints that message, not "Forbidden: unknown"', async function () {
    if (!kubectlPath) return skipBecause(this, NO_KUBECTL);
    const ca = scratch.file('ca.crt', ts.pki!.ca.certPem);
    const r = await kubectl(ts.secureUrl!, [`--certificate-authority=${ca}`, '--token=bob-token', 'get', 'pods']);
    expect(r.code).to.not.equal(0);
    expect(r.stderr).to.contain(
      'Error from server (Forbidden): pods is forbidden: User "bob" cannot list resource "pods" in API group "" in the namespace "default": Everything is forbidden.',
    );
  });
});

/**
 * The operator's word on the command line outranks the config file: a file that lists
 * authn-anonymous, started with upstream's --anonymous-auth=false, serves no anonymous request.
 * The attack: rely on a shared config file someone left anonymous access on in, after the operator
 * turned it off for this server. Why it fails: a plugin flag that `disables` its plugin turns it off
 * whatever the file says, and a request without credentials is then a 401.
 */
describe('security: --anonymous-auth=false turns anonymous off even when the config file lists it', function () {
  this.timeout(60_000);

  async function anonymousAnswer(flag: string | undefined): Promise<number | string> {
    const scratch = scratchDir('anonymous-flag');
    const config = scratch.file(
      'skiff.yaml',
      JSON.stringify({
        server: { storageBackend: 'memory', securePort: 'auto', insecurePort: 0 },
        plugins: {
          'storage-memory': {},
          'api-core-v1': {},
          'api-authentication-v1': {},
          'pki-local': {},
          'authn-anonymous': {},
          // Everyone may do everything: what tells the two apart is only who the caller is taken for.
          'authz-always-allow': {},
        },
      }),
    );
    const up = spawnSkiff(['up', '--config', config, '--data-dir', scratch.dir, ...(flag ? [flag] : [])]);
    try {
      const serving = await up.waitForLine('the HTTPS address', (l) => String(l.msg).startsWith('serving HTTPS on '));
      await up.waitForLine('ready', (l) => l.msg === 'ready');
      const secureUrl = String(serving.msg).slice('serving HTTPS on '.length);
      const ca = { certPem: readFileSync(join(scratch.dir, 'pki', 'ca.crt'), 'utf8') };
      const r = await httpsRequest({ secureUrl, pki: { ca } }, REVIEW, { method: 'POST', body: reviewBody });
      return r.status === 201 ? r.body.status.userInfo.username : r.status;
    } finally {
      up.child.kill('SIGTERM');
      await up.exited();
      scratch.remove();
    }
  }

  it('as the file has it, a request without credentials is system:anonymous', async () => {
    expect(await anonymousAnswer(undefined)).to.equal('system:anonymous');
  });

  it('with --anonymous-auth=false the same request is a 401', async () => {
    expect(await anonymousAnswer('--anonymous-auth=false')).to.equal(401);
  });
});
