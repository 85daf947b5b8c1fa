/**
 * Secure serving and authentication end to end: real TLS on loopback, and kubectl 1.32 with each
 * kind of credential (client certificate, token, basic auth, service-account token). kubectl sends
 * no credentials over plain HTTP, so all of this needs the HTTPS port.
 */
import { X509Certificate } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { join } from 'node:path';
import { expect } from 'chai';
import { createCertificateAuthority, issueCertificate, type KeyPair } from '../../plugins/pki-local/certificates.js';
import { buildKubeconfig } from '../../plugins/pki-local/kubeconfig.js';
import { kubectl, kubectlPath } from '../helpers/kubectl.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { tempDir } from '../helpers/temp-dirs.js';

const dir = tempDir('skiff-https-');
const file = (name: string, text: string) => {
  const path = join(dir, name);
  writeFileSync(path, text, { mode: 0o600 });
  return path;
};

interface HttpsAnswer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

function httpsGet(
  url: string,
  ca: string,
  options: { client?: KeyPair; headers?: Record<string, string>; maxVersion?: 'TLSv1.1' } = {},
) {
  return new Promise<HttpsAnswer>((resolve, reject) => {
    const req = request(
      url,
      {
        ca,
        cert: options.client?.certPem,
        key: options.client?.keyPem,
        headers: options.headers,
        ...(options.maxVersion ? { maxVersion: options.maxVersion, minVersion: 'TLSv1' as const } : {}),
        timeout: 10_000,
      },
      (res) => {
        let body = '';
        res.on('data', (d: Buffer) => {
          body += d.toString();
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      },
    );
    req.on('error', reject);
    req.end();
  });
}

describe('e2e: HTTPS and authentication with kubectl', function () {
  this.timeout(120_000);
  let ts: TestServer;
  let ca: KeyPair;
  let caFile: string;

  before(async function () {
    if (!kubectlPath) {
      console.warn('    SKIPPED: kubectl is not installed on this machine (.ci/run installs it)');
      this.skip();
    }
    ts = await startTestServer({
      secure: true,
      plugins: {
        'authn-x509': {},
        'authn-token-file': { config: { tokenAuthFile: file('tokens.csv', 'abc123,alice,1001,"devs,ops"\n') } },
        'authn-basic-file': { config: { basicAuthFile: file('passwords.csv', 'secret,bob,2001\n') } },
        'authn-service-account': {},
        'authz-always-allow': {},
      },
    });
    ca = ts.pki!.ca;
    caFile = file('ca.crt', ca.certPem);
  });
  after(async () => ts?.close());

  const run = (args: string[]) => kubectl(ts.secureUrl!, args);
  async function whoami(...credentials: string[]): Promise<string> {
    const r = await run([...credentials, 'auth', 'whoami']);
    expect(r.code, r.stderr).to.equal(0);
    return r.stdout;
  }
  const withCa = (...rest: string[]) => [`--certificate-authority=${caFile}`, ...rest];
  function kubeconfigFor(name: string, pair: KeyPair): string {
    const yaml = buildKubeconfig({
      server: ts.secureUrl!,
      caPem: ca.certPem,
      user: name,
      clientCertPem: pair.certPem,
      clientKeyPem: pair.keyPem,
    });
    return `--kubeconfig=${file(`${name}.kubeconfig`, yaml)}`;
  }

  it('the admin kubeconfig written at start works: client certificate in system:masters', async () => {
    const r = await run([`--kubeconfig=${ts.kubeconfig}`, 'get', 'namespaces']);
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stdout).to.match(/^default\s+Active/m);
    expect(await whoami(`--kubeconfig=${ts.kubeconfig}`))
      .to.match(/Username\s+kubernetes-admin/)
      .and.match(/Groups\s+\[system:masters system:authenticated\]/);
  });

  it('a client certificate for any user: CN is the user, each O a group', async () => {
    const jane = issueCertificate(ca, { commonName: 'jane', organizations: ['devs', 'qa'], usage: 'client' });
    expect(await whoami(kubeconfigFor('jane', jane)))
      .to.match(/Username\s+jane/)
      .and.match(/Groups\s+\[devs qa system:authenticated\]/);
  });

  it('a static token and basic credentials', async () => {
    expect(await whoami(...withCa('--token=abc123')))
      .to.match(/Username\s+alice/)
      .and.match(/UID\s+1001/);
    expect(await whoami(...withCa('--username=bob', '--password=secret'))).to.match(/Username\s+bob/);
  });

  it('a service-account token from kubectl create token', async () => {
    const admin = `--kubeconfig=${ts.kubeconfig}`;
    expect((await run([admin, 'create', 'serviceaccount', 'robot'])).code).to.equal(0);
    const token = await run([admin, 'create', 'token', 'robot']);
    expect(token.code, token.stderr).to.equal(0);
    expect(await whoami(...withCa(`--token=${token.stdout.trim()}`))).to.match(
      /Username\s+system:serviceaccount:default:robot/,
    );
  });

  it('refuses expired, not-yet-valid, foreign-CA and server-only certificates with 401', async () => {
    const day = 24 * 3600 * 1000;
    const now = Date.now();
    const other = createCertificateAuthority('evil-ca');
    const refused = {
      expired: issueCertificate(ca, {
        commonName: 'old',
        usage: 'client',
        notBefore: new Date(now - 3 * day),
        notAfter: new Date(now - day),
      }),
      'not yet valid': issueCertificate(ca, {
        commonName: 'new',
        usage: 'client',
        notBefore: new Date(now + day),
        notAfter: new Date(now + 3 * day),
      }),
      'foreign CA': issueCertificate(other, { commonName: 'mallory', usage: 'client' }),
      'serverAuth only': issueCertificate(ca, { commonName: 'server-as-client', usage: 'server' }),
    };
    for (const [name, pair] of Object.entries(refused)) {
      const r = await run([kubeconfigFor(name.replace(/\W/g, '-'), pair), 'get', 'pods']);
      expect(r.code, name).to.not.equal(0);
      expect(r.stderr, name).to.contain('Unauthorized');
    }
  });

  it('refuses a wrong token and a wrong password, and a request without credentials, with a 401 Status', async () => {
    for (const creds of [['--token=wrong'], ['--username=bob', '--password=nope']]) {
      const r = await run([...withCa(...creds), 'get', 'pods']);
      expect(r.code).to.not.equal(0);
      expect(r.stderr).to.contain('Unauthorized');
    }
    const bare = await httpsGet(`${ts.secureUrl}/api/v1/namespaces`, ca.certPem);
    expect(bare.status).to.equal(401);
    expect(JSON.parse(bare.body)).to.include({ kind: 'Status', reason: 'Unauthorized', code: 401 });
    expect(bare.headers['www-authenticate']).to.equal('Basic realm="kubernetes-master"');
    expect(bare.body).to.not.contain('invalid'); // the reasons go to the server log only
  });

  it('answers empty, malformed and oversized Authorization headers with a clear 4xx Status', async () => {
    for (const authorization of ['', 'Bearer', 'Bearer ', 'Basic !!!', 'Negotiate abc']) {
      const r = await httpsGet(`${ts.secureUrl}/api/v1/pods`, ca.certPem, {
        headers: { Authorization: authorization },
      });
      expect(r.status, JSON.stringify(authorization)).to.equal(401);
      expect(JSON.parse(r.body).reason).to.equal('Unauthorized');
    }
    const huge = await httpsGet(`${ts.secureUrl}/api/v1/pods`, ca.certPem, {
      headers: { Authorization: `Bearer ${'x'.repeat(64 * 1024)}` },
    });
    expect(huge.status).to.equal(431);
    expect(JSON.parse(huge.body)).to.include({ kind: 'Status', code: 431 });
    // A large token under the header limit is simply not recognised.
    const big = await httpsGet(`${ts.secureUrl}/api/v1/pods`, ca.certPem, {
      headers: { Authorization: `Bearer eyJ${'x'.repeat(8 * 1024)}.a.b` },
    });
    expect(big.status).to.equal(401);
  });

  it('serves a certificate valid for 127.0.0.1, ::1, localhost and the in-cluster names, over TLS 1.2+ only', async () => {
    const sans = new X509Certificate(ts.pki!.apiserver.certPem).subjectAltName ?? '';
    for (const name of [
      'IP Address:127.0.0.1',
      'IP Address:0:0:0:0:0:0:0:1',
      'IP Address:127.96.0.1',
      'DNS:localhost',
    ]) {
      expect(sans).to.contain(name);
    }
    expect(sans).to.contain('DNS:kubernetes.default.svc').and.contain('DNS:kubernetes.default.svc.cluster.local');
    const port = new URL(ts.secureUrl!).port;
    for (const host of ['127.0.0.1', 'localhost']) {
      expect(
        (await httpsGet(`https://${host}:${port}/version`, ca.certPem, { headers: { Authorization: 'Bearer abc123' } }))
          .status,
      ).to.equal(200);
    }
    const old = await httpsGet(`https://127.0.0.1:${port}/version`, ca.certPem, { maxVersion: 'TLSv1.1' }).then(
      () => 'connected',
      (err: Error) => err.message,
    );
    expect(old).to.not.equal('connected');
  });
});
