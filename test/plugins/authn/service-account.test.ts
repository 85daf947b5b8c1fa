/** authn-service-account: TokenRequest (kubectl create token) and JWT verification, attacks included. */
import { generateKeyPairSync } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'chai';
import jwt from 'jsonwebtoken';
import { runAuthentication } from '../../../core/chains.js';
import { kubectl, kubectlPath } from '../../helpers/kubectl.js';
import { api, startTestServer, type TestServer } from '../../helpers/server.js';
import { NO_KUBECTL, skipBecause } from '../../helpers/skip.js';
import { tempDir } from '../../helpers/temp-dirs.js';

const dir = tempDir('skiff-sa-');
const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const keyPem = privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
const pubPem = publicKey.export({ type: 'spki', format: 'pem' }) as string;
writeFileSync(join(dir, 'sa.key'), keyPem, { mode: 0o600 });
writeFileSync(join(dir, 'sa.pub'), pubPem);
const ISSUER = 'https://kubernetes.default.svc.cluster.local';

describe('plugins: authn-service-account', function () {
  this.timeout(60_000);
  let ts: TestServer;
  before(async () => {
    ts = await startTestServer({
      plugins: {
        'authn-service-account': {
          config: { signingKeyFile: join(dir, 'sa.key'), keyFiles: [join(dir, 'sa.pub')] },
        },
      },
    });
    await api(ts.url, 'POST', '/api/v1/namespaces/default/serviceaccounts', { metadata: { name: 'robot' } });
  });
  after(async () => ts?.close());

  const whoIs = async (token: string) => {
    const out = await runAuthentication(ts.server.hooks, {
      headers: { authorization: `Bearer ${token}` },
      transport: 'secure',
    });
    return { user: out.result?.user, reasons: out.refusals.map((r) => r.reason).join('; ') };
  };
  const requestToken = async (name: string, spec: Record<string, unknown> = {}) =>
    api(ts.url, 'POST', `/api/v1/namespaces/default/serviceaccounts/${name}/token`, {
      apiVersion: 'authentication.k8s.io/v1',
      kind: 'TokenRequest',
      spec,
    });

  it('issues a token that authenticates as the service account', async () => {
    const r = await requestToken('robot');
    expect(r.status, JSON.stringify(r.body)).to.equal(201);
    expect(r.body.kind).to.equal('TokenRequest');
    const { user } = await whoIs(r.body.status.token);
    expect(user?.name).to.equal('system:serviceaccount:default:robot');
    expect(user?.groups).to.deep.equal([
      'system:serviceaccounts',
      'system:serviceaccounts:default',
      'system:authenticated',
    ]);
    const claims = jwt.decode(r.body.status.token) as jwt.JwtPayload;
    expect(claims.iss).to.equal(ISSUER);
    expect(claims.exp! - claims.iat!).to.equal(3600);
  });

  it('kubectl create token prints a token the server accepts (its body is protobuf)', async function () {
    if (!kubectlPath) return skipBecause(this, NO_KUBECTL);
    const r = await kubectl(ts.url, ['create', 'token', 'robot', '--duration=20m']);
    expect(r.code, r.stderr).to.equal(0);
    expect((await whoIs(r.stdout.trim())).user?.name).to.equal('system:serviceaccount:default:robot');
  });

  it('refuses alg:none, HS256 signed with the public key, a wrong issuer, audience or key, and expired tokens', async () => {
    const good = jwt.decode((await requestToken('robot')).body.status.token) as jwt.JwtPayload;
    const unsigned = `${Buffer.from('{"alg":"none","typ":"JWT"}').toString('base64url')}.${Buffer.from(JSON.stringify(good)).toString('base64url')}.`;
    const { privateKey: otherKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const now = Math.floor(Date.now() / 1000);
    const attacks = {
      'alg none': unsigned,
      'HS256 with the public key': jwt.sign(good, pubPem, { algorithm: 'HS256' }),
      'another key': jwt.sign(good, otherKey, { algorithm: 'RS256' }),
      'wrong issuer': jwt.sign({ ...good, iss: 'https://evil' }, keyPem, { algorithm: 'RS256' }),
      'wrong audience': jwt.sign({ ...good, aud: ['vault'] }, keyPem, { algorithm: 'RS256' }),
      expired: jwt.sign({ ...good, iat: now - 7200, nbf: now - 7200, exp: now - 3600 }, keyPem, { algorithm: 'RS256' }),
    };
    for (const [name, token] of Object.entries(attacks)) {
      const { user, reasons } = await whoIs(token);
      expect(user, name).to.equal(undefined);
      expect(reasons, name).to.contain('service account token is invalid');
    }
  });

  it('a token dies with its service account, and with the pod it is bound to', async () => {
    await api(ts.url, 'POST', '/api/v1/namespaces/default/serviceaccounts', { metadata: { name: 'temp' } });
    const pod = await api(ts.url, 'POST', '/api/v1/namespaces/default/pods', {
      metadata: { name: 'bound' },
      spec: { serviceAccountName: 'temp', containers: [{ name: 'c', image: 'busybox' }] },
    });
    const bound = await requestToken('temp', {
      boundObjectRef: { kind: 'Pod', apiVersion: 'v1', name: 'bound', uid: pod.body.metadata.uid },
    });
    expect(bound.status, JSON.stringify(bound.body)).to.equal(201);
    const plain = await requestToken('temp');
    expect((await whoIs(bound.body.status.token)).user?.extra?.['authentication.kubernetes.io/pod-name']).to.deep.equal(
      ['bound'],
    );
    await api(ts.url, 'DELETE', '/api/v1/namespaces/default/pods/bound');
    expect((await whoIs(bound.body.status.token)).reasons).to.contain('pod default/bound has been deleted');
    await api(ts.url, 'DELETE', '/api/v1/namespaces/default/serviceaccounts/temp');
    await api(ts.url, 'POST', '/api/v1/namespaces/default/serviceaccounts', { metadata: { name: 'temp' } });
    expect((await whoIs(plain.body.status.token)).reasons).to.contain('does not match claim');
  });

  it('validates the request: at least 10 minutes, a known service account', async () => {
    const short = await requestToken('robot', { expirationSeconds: 60 });
    expect(short.status).to.equal(422);
    expect(short.body.message).to.contain('may not specify a duration less than 10 minutes');
    expect((await requestToken('ghost')).status).to.equal(404);
  });
});
