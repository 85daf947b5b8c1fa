/** The PKI (plugins/pki-local) and the `skiff certs` / `skiff kubeconfig` commands it adds. */
import { spawnSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { chmodSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'chai';
import { parse } from 'yaml';
import { SkiffError } from '../../core/errors.js';
import { verifyClientCertificate } from '../../plugins/authn-x509/verify.js';
import { issueCertificate, serialNumber } from '../../plugins/pki-local/certificates.js';
import { ensurePki, expiryWarnings } from '../../plugins/pki-local/layout.js';
import { writePrivate as writePrivateKey } from '../../plugins/pki-local/private-files.js';
import { tempDir } from '../helpers/temp-dirs.js';

const BIN = new URL('../../scripts/skiff.mjs', import.meta.url).pathname;
const skiff = (args: string[]) => spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', timeout: 60_000 });
const fingerprint = (pem: string) => new X509Certificate(pem).fingerprint256;

describe('pki-local: the PKI', function () {
  this.timeout(60_000);
  const dataDir = tempDir('skiff-pki-');
  const pki = ensurePki(dataDir, { components: true });

  it('creates a CA and leaf certificates that verify against it, with the right usages', () => {
    const ca = new X509Certificate(pki.ca.certPem);
    expect(ca.ca).to.equal(true);
    for (const pair of [pki.apiserver, pki.admin]) {
      const leaf = new X509Certificate(pair.certPem);
      expect(leaf.checkIssued(ca)).to.equal(true);
      expect(leaf.verify(ca.publicKey)).to.equal(true);
      expect(leaf.ca).to.equal(false);
    }
    expect(new X509Certificate(pki.apiserver.certPem).keyUsage).to.deep.equal(['1.3.6.1.5.5.7.3.1']);
    const admin = new X509Certificate(pki.admin.certPem);
    expect(admin.keyUsage).to.deep.equal(['1.3.6.1.5.5.7.3.2']);
    expect(admin.subject.split('\n')).to.have.members(['O=system:masters', 'CN=kubernetes-admin']);
  });

  it('makes every component certificate and the service-account key pair; keys are 0600', () => {
    const files = ['ca', 'apiserver', 'admin', 'controller-manager', 'scheduler'];
    for (const f of files) expect(statSync(join(pki.dir, `${f}.key`)).mode & 0o777, f).to.equal(0o600);
    expect(statSync(join(pki.dir, 'service-account.key')).mode & 0o777).to.equal(0o600);
    const cm = new X509Certificate(readFileSync(join(pki.dir, 'controller-manager.crt')));
    expect(cm.subject).to.equal('CN=system:kube-controller-manager');
  });

  it('reuses what exists on the next start', () => {
    const again = ensurePki(dataDir);
    expect(again.created).to.deep.equal([]);
    expect(fingerprint(again.ca.certPem)).to.equal(fingerprint(pki.ca.certPem));
    expect(fingerprint(again.apiserver.certPem)).to.equal(fingerprint(pki.apiserver.certPem));
  });

  it('openssl agrees that the certificates chain to the CA', function () {
    if (spawnSync('sh', ['-c', 'command -v openssl']).status !== 0) {
      console.warn('    SKIPPED: openssl is not installed on this machine');
      return this.skip();
    }
    const r = spawnSync(
      'openssl',
      ['verify', '-CAfile', join(pki.dir, 'ca.crt'), join(pki.dir, 'apiserver.crt'), join(pki.dir, 'admin.crt')],
      { encoding: 'utf8' },
    );
    expect(r.status, r.stderr).to.equal(0);
    expect(r.stdout).to.contain('apiserver.crt: OK').and.contain('admin.crt: OK');
  });

  it('writes names as UTF-8 and serials as minimal positive integers (what Go accepts)', () => {
    const pair = issueCertificate(pki.ca, {
      commonName: 'alice@example.com',
      organizations: ['dev_ops', 'a,b', 'équipe'],
      usage: 'client',
    });
    const cert = new X509Certificate(pair.certPem);
    const result = verifyClientCertificate(cert.raw, [new X509Certificate(pki.ca.certPem)], new Date());
    expect(result).to.deep.equal({ user: { name: 'alice@example.com', groups: ['dev_ops', 'a,b', 'équipe'] } });
    expect(cert.serialNumber).to.have.length(32);
    for (let i = 0; i < 2000; i++) {
      const first = Number.parseInt(serialNumber().slice(0, 2), 16);
      expect(first).to.be.within(1, 0x7f);
    }
  });

  it('refuses a half-present pair and a certificate the CA did not sign', () => {
    const dir = tempDir('skiff-pki-half-');
    ensurePki(dir, { components: true });
    rmSync(join(dir, 'pki', 'scheduler.key'));
    expect(() => ensurePki(dir, { components: true })).to.throw(
      SkiffError,
      /scheduler\.crt exists but .*scheduler\.key does not/,
    );
    const other = tempDir('skiff-pki-other-');
    const foreign = ensurePki(other);
    writeFileSync(join(dir, 'pki', 'scheduler.crt'), foreign.admin.certPem);
    writePrivateKey(join(dir, 'pki', 'scheduler.key'), foreign.admin.keyPem);
    try {
      ensurePki(dir, { components: true });
      expect.fail('should refuse');
    } catch (err) {
      expect((err as SkiffError).code).to.equal('SKIFF_PKI_CERT_INVALID');
    }
  });

  it('refuses a private key others can read (SKIFF_PKI_KEY_PERMISSIONS)', () => {
    const dir = tempDir('skiff-pki-perm-');
    ensurePki(dir);
    chmodSync(join(dir, 'pki', 'admin.key'), 0o644);
    try {
      ensurePki(dir);
      expect.fail('should refuse');
    } catch (err) {
      expect(err).to.be.instanceOf(SkiffError);
      expect((err as SkiffError).code).to.equal('SKIFF_PKI_KEY_PERMISSIONS');
      expect((err as SkiffError).fix).to.contain('chmod 600');
    }
  });

  it('warns about expired and soon-expiring certificates', () => {
    const dir = tempDir('skiff-pki-old-');
    const p = ensurePki(dir);
    const now = Date.now();
    const day = 24 * 3600 * 1000;
    const expired = issueCertificate(p.ca, {
      commonName: 'x',
      usage: 'client',
      notBefore: new Date(now - 9 * day),
      notAfter: new Date(now - day),
    });
    writeFileSync(join(p.dir, 'scheduler.crt'), expired.certPem);
    const soon = issueCertificate(p.ca, { commonName: 'y', usage: 'client', notAfter: new Date(now + 10 * day) });
    writeFileSync(join(p.dir, 'admin.crt'), soon.certPem);
    const warnings = expiryWarnings(p.dir);
    expect(warnings.some((w) => w.startsWith('certificate scheduler.crt expired'))).to.equal(true);
    expect(warnings.some((w) => w.startsWith('certificate admin.crt expires'))).to.equal(true);
    expect(warnings).to.have.length(2);
  });
});

describe('pki-local: skiff certs and skiff kubeconfig', function () {
  this.timeout(60_000);
  const dataDir = tempDir('skiff-certs-cli-');

  it('certs creates the PKI once, then keeps it', () => {
    const first = skiff(['certs', '--data-dir', dataDir]);
    expect(first.status, first.stderr).to.equal(0);
    expect(first.stdout).to.contain('ca.crt').and.contain('service-account.key');
    const second = skiff(['certs', '--data-dir', dataDir]);
    expect(second.stdout).to.contain('nothing created');
  });

  it('certs check-expiration lists every certificate with its residual time', () => {
    const r = skiff(['certs', 'check-expiration', '--data-dir', dataDir]);
    expect(r.status, r.stderr).to.equal(0);
    expect(r.stdout).to.match(/^CERTIFICATE\s+EXPIRES\s+RESIDUAL TIME/m);
    expect(r.stdout)
      .to.match(/^ca\.crt .* 9y /m)
      .and.match(/^apiserver\.crt .* 364d /m);
  });

  it('certs client issues a certificate for any user and groups', () => {
    const out = tempDir('skiff-client-');
    const r = skiff([
      'certs',
      'client',
      '--user',
      'system:node:n1',
      '--group',
      'system:nodes',
      '--out-dir',
      out,
      '--data-dir',
      dataDir,
    ]);
    expect(r.status, r.stderr).to.equal(0);
    const cert = new X509Certificate(readFileSync(join(out, 'system_node_n1.crt')));
    expect(cert.subject.split('\n')).to.have.members(['O=system:nodes', 'CN=system:node:n1']);
    expect(statSync(join(out, 'system_node_n1.key')).mode & 0o777).to.equal(0o600);
  });

  it('kubeconfig embeds a client certificate, or a token', () => {
    const certCfg = parse(skiff(['kubeconfig', '--user', 'jane', '--group', 'devs', '--data-dir', dataDir]).stdout);
    const user = certCfg.users[0].user;
    const cert = new X509Certificate(Buffer.from(user['client-certificate-data'], 'base64'));
    expect(cert.subject.split('\n')).to.have.members(['O=devs', 'CN=jane']);
    expect(certCfg.clusters[0].cluster.server).to.equal('https://127.0.0.1:6443');
    expect(certCfg['current-context']).to.equal('skiff');
    const tokenCfg = parse(skiff(['kubeconfig', '--user', 'alice', '--token', 'abc123', '--data-dir', dataDir]).stdout);
    expect(tokenCfg.users[0]).to.deep.equal({ name: 'alice', user: { token: 'abc123' } });
  });

  it('without a CA, says how to make one (SKIFF_PKI_CA_MISSING, exit 2)', () => {
    const r = skiff(['kubeconfig', '--user', 'x', '--data-dir', tempDir('skiff-empty-')]);
    expect(r.status).to.equal(2);
    expect(r.stderr).to.contain('SKIFF_PKI_CA_MISSING').and.contain('skiff certs');
  });
});
