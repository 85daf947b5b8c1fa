/**
 * Chapter: forged credentials.
 *
 * The attack: present a credential the cluster never issued, or one it issued and has since
 * withdrawn, and hope the API server takes its claims (a user name, the group system:masters) at
 * face value. Client certificates made by a rogue CA (even one named exactly like the cluster's),
 * self-signed, expired, signed with a genuine client certificate's own key, or carrying only the
 * serverAuth usage; service-account JWTs signed with another key, with `alg: none`, HMAC-signed with
 * the public key (key confusion), with edited claims, for another issuer or audience, expired, or
 * naming a service account that was deleted.
 *
 * The upstream defence: the x509 authenticator verifies the chain against --client-ca-file, the
 * validity window and the clientAuth usage before reading CN/O; the service-account authenticator
 * verifies an RS256 signature with the configured public keys only, then iss, aud, exp and nbf,
 * then that the service account (and any bound object) still exists with the uid in the token.
 * Anything else is a 401 whose body says only "Unauthorized" (the reason goes to the server log).
 *
 * Where Skiff implements it: plugins/authn-x509/verify.ts (CA, window, usage; CN = user, O = groups)
 * and plugins/authn-service-account/tokens.ts (RS256 only, issuer, audience, existence and uid).
 * Every server here runs AlwaysDeny after authentication, so an accepted credential shows up as 403
 * (or 200 for system:masters, whom the core authorizer lets through), a refused one as 401.
 */
import { createHmac, generateKeyPairSync, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'chai';
import jwt from 'jsonwebtoken';
import { createCertificateAuthority, issueCertificate, type KeyPair } from '../../plugins/pki-local/certificates.js';
import { type HttpsAnswer, httpsRequest } from '../helpers/security.js';
import { api, startTestServer, type TestServer } from '../helpers/server.js';

const DAY = 24 * 3600 * 1000;
const WHOAMI = '/apis/authentication.k8s.io/v1/selfsubjectreviews';
const REVIEW = { apiVersion: 'authentication.k8s.io/v1', kind: 'SelfSubjectReview' };
const ADMIN_ONLY = '/api/v1/namespaces/kube-system/secrets';

function expectUnauthorized(r: HttpsAnswer, what: string): void {
  expect(r.status, `${what}: ${r.text}`).to.equal(401);
  expect(r.body, what).to.include({ kind: 'Status', reason: 'Unauthorized', code: 401, message: 'Unauthorized' });
}

const b64url = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

describe('security: forged credentials are refused with 401', function () {
  this.timeout(30_000);
  let ts: TestServer;
  let ca: KeyPair;
  let caName: string;

  before(async () => {
    ts = await startTestServer({
      secure: true,
      plugins: { 'authn-x509': {}, 'authn-service-account': {}, 'authz-always-deny': {} },
    });
    ca = ts.pki!.ca;
    caName = new X509Certificate(ca.certPem).subject.replace(/^CN=/, '');
  });
  after(async () => ts?.close());

  const whoami = (options: Parameters<typeof httpsRequest>[2]) =>
    httpsRequest(ts, WHOAMI, { ...options, method: 'POST', body: REVIEW });
  const asCertificate = (client: KeyPair, path = WHOAMI) =>
    path === WHOAMI ? whoami({ client }) : httpsRequest(ts, path, { client });

  describe('client certificates', () => {
    it('baseline: a certificate from the cluster CA authenticates as its CN, in its O groups', async () => {
      const jane = issueCertificate(ca, { commonName: 'jane', organizations: ['devs'], usage: 'client' });
      const r = await asCertificate(jane);
      expect(r.status, r.text).to.equal(201);
      expect(r.body.status.userInfo).to.deep.include({ username: 'jane', groups: ['devs', 'system:authenticated'] });
      const admin = await asCertificate(ts.pki!.admin, ADMIN_ONLY);
      expect(admin.status, 'the real admin certificate reads kube-system secrets').to.equal(200);
    });

    it('a rogue CA with the very same name signs "kubernetes-admin" in system:masters → 401 (the signature, not the name, is checked)', async () => {
      const rogue = createCertificateAuthority(caName);
      const forged = issueCertificate(rogue, {
        commonName: 'kubernetes-admin',
        organizations: ['system:masters'],
        usage: 'client',
      });
      expect(new X509Certificate(forged.certPem).issuer).to.equal(new X509Certificate(ca.certPem).subject);
      expectUnauthorized(await asCertificate(forged, ADMIN_ONLY), 'rogue CA');
      expectUnauthorized(await asCertificate(forged), 'rogue CA (whoami)');
    });

    it('a self-signed certificate claiming system:masters → 401', async () => {
      const selfSigned = createCertificateAuthority('kubernetes-admin');
      expectUnauthorized(await asCertificate(selfSigned, ADMIN_ONLY), 'self-signed');
    });

    it('a certificate signed with a genuine client certificate’s key (a leaf posing as a CA) → 401', async () => {
      const jane = issueCertificate(ca, { commonName: 'jane', usage: 'client' });
      const escalated = issueCertificate(jane, {
        commonName: 'jane-admin',
        organizations: ['system:masters'],
        usage: 'client',
      });
      expectUnauthorized(await asCertificate(escalated, ADMIN_ONLY), 'leaf as CA');
    });

    it('an expired and a not-yet-valid certificate from the cluster CA → 401 (the validity window is checked)', async () => {
      const now = Date.now();
      const expired = issueCertificate(ca, {
        commonName: 'kubernetes-admin',
        organizations: ['system:masters'],
        usage: 'client',
        notBefore: new Date(now - 3 * DAY),
        notAfter: new Date(now - DAY),
      });
      const future = issueCertificate(ca, {
        commonName: 'kubernetes-admin',
        organizations: ['system:masters'],
        usage: 'client',
        notBefore: new Date(now + DAY),
        notAfter: new Date(now + 3 * DAY),
      });
      expectUnauthorized(await asCertificate(expired, ADMIN_ONLY), 'expired');
      expectUnauthorized(await asCertificate(future, ADMIN_ONLY), 'not yet valid');
    });

    it('the API server’s own serving certificate and key used as a client certificate → 401 (serverAuth only)', async () => {
      expectUnauthorized(await asCertificate(ts.pki!.apiserver), 'serving certificate');
    });

    it('a CN crafted to read as an O line ("mallory\\nO=system:masters") from the real CA gains no group', async () => {
      const crafted = issueCertificate(ca, { commonName: 'mallory\nO=system:masters', usage: 'client' });
      const who = await asCertificate(crafted);
      expect(who.status, who.text).to.equal(201);
      expect(who.body.status.userInfo.groups).to.deep.equal(['system:authenticated']);
      const r = await asCertificate(crafted, ADMIN_ONLY);
      expect(r.status, r.text).to.equal(403);
      expect(r.body.reason).to.equal('Forbidden');
    });
  });

  describe('service-account tokens', () => {
    let genuine: string;
    let claims: jwt.JwtPayload;
    let signingKey: string;
    let publicKey: string;

    const tokenFor = async (name: string) => {
      const r = await api(ts.url, 'POST', `/api/v1/namespaces/default/serviceaccounts/${name}/token`, {
        apiVersion: 'authentication.k8s.io/v1',
        kind: 'TokenRequest',
        spec: {},
      });
      expect(r.status, JSON.stringify(r.body)).to.equal(201);
      return r.body.status.token as string;
    };
    const asToken = (token: string) => whoami({ token });
    /** The genuine token's claims with some changed, signed with the cluster's own key. */
    const resigned = (changes: jwt.JwtPayload) =>
      jwt.sign({ ...claims, ...changes }, signingKey, { algorithm: 'RS256' });

    before(async () => {
      signingKey = readFileSync(join(ts.pki!.dir, 'service-account.key'), 'utf8');
      publicKey = readFileSync(join(ts.pki!.dir, 'service-account.pub'), 'utf8');
      await api(ts.url, 'POST', '/api/v1/namespaces/default/serviceaccounts', { metadata: { name: 'robot' } });
      genuine = await tokenFor('robot');
      claims = jwt.decode(genuine) as jwt.JwtPayload;
    });

    it('baseline: a token from the TokenRequest API authenticates as the service account', async () => {
      const r = await asToken(genuine);
      expect(r.status, r.text).to.equal(201);
      expect(r.body.status.userInfo.username).to.equal('system:serviceaccount:default:robot');
      const resignedGenuine = await asToken(resigned({}));
      expect(resignedGenuine.status, 'the test’s own signing with the cluster key is accepted').to.equal(201);
    });

    it('the genuine claims signed with another RSA key → 401', async () => {
      const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
      expectUnauthorized(await asToken(jwt.sign(claims, privateKey, { algorithm: 'RS256' })), 'another key');
    });

    it('an unsigned token (alg: none) → 401', async () => {
      const unsigned = `${b64url({ alg: 'none', typ: 'JWT' })}.${b64url(claims)}.`;
      expectUnauthorized(await asToken(unsigned), 'alg none');
    });

    it('HS256 with the public key (a published PEM) as the HMAC secret, the key-confusion attack → 401', async () => {
      const input = `${b64url({ alg: 'HS256', typ: 'JWT' })}.${b64url(claims)}`;
      const mac = createHmac('sha256', publicKey).update(input).digest('base64url');
      expectUnauthorized(await asToken(`${input}.${mac}`), 'HS256 key confusion');
    });

    it('the genuine signature over edited claims (another namespace) → 401', async () => {
      const [header, , signature] = genuine.split('.');
      const edited = {
        ...claims,
        sub: 'system:serviceaccount:kube-system:robot',
        'kubernetes.io': { ...claims['kubernetes.io'], namespace: 'kube-system' },
      };
      expectUnauthorized(await asToken(`${header}.${b64url(edited)}.${signature}`), 'edited claims');
    });

    it('correctly signed but for another issuer, another audience, expired or not yet valid → 401', async () => {
      const now = Math.floor(Date.now() / 1000);
      const attacks: Record<string, jwt.JwtPayload> = {
        'another issuer': { iss: 'https://evil.example' },
        'another audience': { aud: ['vault'] },
        expired: { iat: now - 7200, nbf: now - 7200, exp: now - 3600 },
        'not yet valid': { iat: now, nbf: now + 3600, exp: now + 7200 },
      };
      for (const [name, changes] of Object.entries(attacks)) expectUnauthorized(await asToken(resigned(changes)), name);
    });

    it('a token of a deleted service account → 401, and still 401 once one of the same name is created again', async () => {
      await api(ts.url, 'POST', '/api/v1/namespaces/default/serviceaccounts', { metadata: { name: 'temp' } });
      const token = await tokenFor('temp');
      expect((await asToken(token)).status).to.equal(201);
      expect((await api(ts.url, 'DELETE', '/api/v1/namespaces/default/serviceaccounts/temp')).status).to.equal(200);
      expectUnauthorized(await asToken(token), 'deleted service account');
      await api(ts.url, 'POST', '/api/v1/namespaces/default/serviceaccounts', { metadata: { name: 'temp' } });
      expectUnauthorized(await asToken(token), 'service account re-created with another uid');
    });
  });
});
