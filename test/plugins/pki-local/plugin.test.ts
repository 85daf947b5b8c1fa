/**
 * pki-local as a plugin: it serves the HTTPS port's certificate through the servingIdentity point,
 * offers the PKI service (node and component credentials, the CA, service-account keys), makes
 * only what something asks for, and is what `skiff controller-manager` finds its certificate
 * through. Without it, a secure port needs --tls-cert-file and the controller manager --kubeconfig.
 */
import { spawnSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { pino } from 'pino';
import { nodeIdentity, PKI } from '../../../core/auth/pki.js';
import { HttpsClient } from '../../../core/client/https-client.js';
import { loadConfigFromObject } from '../../../core/config/load.js';
import { SkiffError } from '../../../core/errors.js';
import { definePlugin } from '../../../core/plugins/contract.js';
import { preparePlugins } from '../../../core/server/server.js';
import { LocalPki } from '../../../plugins/pki-local/local-pki.js';
import { startTestServer, type TestServer } from '../../helpers/server.js';
import { spawnSkiff } from '../../helpers/skiff-process.js';

const BIN = new URL('../../../scripts/skiff.mjs', import.meta.url).pathname;
const skiff = (args: string[]) => spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', timeout: 60_000 });
const SELF_REVIEWS = { group: 'authentication.k8s.io', version: 'v1', resource: 'selfsubjectreviews' };
const silent = pino({ level: 'silent' });

async function whoami(client: HttpsClient): Promise<{ username: string; groups: string[] }> {
  const r = await client.create(SELF_REVIEWS, '', {
    apiVersion: 'authentication.k8s.io/v1',
    kind: 'SelfSubjectReview',
    metadata: {},
  });
  return (r.status as { userInfo: { username: string; groups: string[] } }).userInfo;
}

/** A config file of the given plugins only (no pki-local unless named), in `dir`. */
function configFile(dir: string, plugins: string[], server: Record<string, unknown> = {}): string {
  const path = join(dir, 'skiff.yaml'); // JSON is YAML
  const entries = Object.fromEntries(plugins.map((p) => [p, {}]));
  writeFileSync(
    path,
    JSON.stringify({ server: { dataDir: dir, storageBackend: 'memory', ...server }, plugins: entries }),
  );
  return path;
}

describe('pki-local', function () {
  this.timeout(60_000);
  const dirs: string[] = [];
  const tempDir = () => {
    const d = mkdtempSync(join(tmpdir(), 'skiff-pki-local-'));
    dirs.push(d);
    return d;
  };
  after(() => {
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  describe('the PKI service, over HTTPS', () => {
    let ts: TestServer;
    const clients: HttpsClient[] = [];
    before(async () => {
      ts = await startTestServer({ secure: true, plugins: { 'authn-x509': {} } });
    });
    after(async () => {
      for (const c of clients) c.close();
      await ts?.close();
    });
    const connect = (c: { caPem: string; certPem: string; keyPem: string }) => {
      const client = new HttpsClient({ server: ts.secureUrl!, ca: c.caPem, cert: c.certPem, key: c.keyPem });
      clients.push(client);
      return client;
    };

    it('issues a kubelet its node identity, which authn-x509 reads as system:node:<name> in system:nodes', async () => {
      const credentials = ts.server.use(PKI).clientCredentials(nodeIdentity('n1'));
      const cert = new X509Certificate(credentials.certPem);
      expect(cert.subject.split('\n')).to.have.members(['O=system:nodes', 'CN=system:node:n1']);
      expect(await whoami(connect(credentials))).to.deep.include({ username: 'system:node:n1' });
      expect((await whoami(connect(credentials))).groups).to.include('system:nodes');
    });

    it('keeps a named identity as <name>.crt/.key (0600) and hands out the same one again', () => {
      const pki = ts.server.use(PKI);
      const first = pki.clientCredentials(nodeIdentity('n2'));
      const again = pki.clientCredentials(nodeIdentity('n2'));
      expect(again.certPem).to.equal(first.certPem);
      expect(readFileSync(join(ts.dataDir, 'pki', 'node-n2.crt'), 'utf8')).to.equal(first.certPem);
      expect(statSync(join(ts.dataDir, 'pki', 'node-n2.key')).mode & 0o777).to.equal(0o600);
      const unnamed = pki.clientCredentials({ user: 'someone' });
      expect(unnamed.certPem).to.not.equal(pki.clientCredentials({ user: 'someone' }).certPem);
      expect(pki.caCertificate()).to.equal(first.caPem).and.equal(ts.pki!.ca.certPem);
    });

    it('`skiff certs node --name N` makes the same file the service then hands out', () => {
      const r = skiff(['certs', 'node', '--name', 'n3', '--data-dir', ts.dataDir]);
      expect(r.status, r.stderr).to.equal(0);
      expect(r.stdout).to.contain('node-n3.crt').and.contain('system:node:n3');
      const made = readFileSync(join(ts.dataDir, 'pki', 'node-n3.crt'), 'utf8');
      expect(new X509Certificate(made).subject.split('\n')).to.have.members(['O=system:nodes', 'CN=system:node:n3']);
      expect(ts.server.use(PKI).clientCredentials(nodeIdentity('n3')).certPem).to.equal(made);
      expect(skiff(['certs', 'node', '--name', 'n3', '--data-dir', ts.dataDir]).stdout).to.match(/^kept /);
    });
  });

  it('makes only what is asked for: authn-x509 alone gets a CA, no serving or admin certificate', async () => {
    const none = await startTestServer();
    const x509 = await startTestServer({ plugins: { 'authn-x509': {} } });
    try {
      expect(existsSync(join(none.dataDir, 'pki')), 'nothing asked: no PKI').to.equal(false);
      expect(readdirSync(join(x509.dataDir, 'pki')).sort()).to.deep.equal(['ca.crt', 'ca.key']);
    } finally {
      await none.close();
      await x509.close();
    }
  });

  it('a component in its own process never creates a CA: SKIFF_PKI_CA_MISSING, and nothing written', () => {
    const dir = tempDir();
    const component = new LocalPki(dir, { ownsCA: false });
    expect(() => component.clientCredentials(nodeIdentity('n1')))
      .to.throw(SkiffError)
      .with.property('code', 'SKIFF_PKI_CA_MISSING');
    expect(readdirSync(dir)).to.deep.equal([]);
  });

  it('a second serving identity is refused at set-up (SKIFF_PLUGIN_SERVING_IDENTITY_DUPLICATE)', async () => {
    const other = definePlugin({
      name: 'other-identity',
      description: 'offers a serving identity too',
      setup: (ctx) => ctx.provide.servingIdentity(() => ({ cert: '', key: '', source: 'nowhere' })),
    });
    const base = await loadConfigFromObject({ server: { dataDir: tempDir() }, plugins: { 'pki-local': {} } }, '(test)');
    const loaded = { name: other.name, manifest: other, config: {}, source: '(test)', failurePolicy: 'Fail' as const };
    const config = { ...base, plugins: [...base.plugins, { ...loaded, timeoutSeconds: 10 }] };
    const err = await preparePlugins({ config, role: 'check', logger: silent }).catch((e: unknown) => e);
    expect(err).to.be.instanceOf(SkiffError);
    expect((err as SkiffError).code).to.equal('SKIFF_PLUGIN_SERVING_IDENTITY_DUPLICATE');
    expect((err as SkiffError).message)
      .to.contain('"other-identity"')
      .and.contain('"pki-local"');
  });

  describe('without it', () => {
    it('`skiff up` with a secure port and no --tls-cert-file stops with SKIFF_TLS_NO_IDENTITY naming the fixes', () => {
      const dir = tempDir();
      const r = skiff(['up', '--config', configFile(dir, ['storage-memory', 'api-core-v1']), '--secure-port', 'auto']);
      expect(r.status, r.stdout).to.equal(2);
      expect(r.stderr).to.contain('error SKIFF_TLS_NO_IDENTITY');
      expect(r.stderr).to.match(/fix: give --tls-cert-file and --tls-private-key-file, or enable pki-local/);
      expect(existsSync(join(dir, 'pki')), 'no PKI made behind its back').to.equal(false);
    });

    it('authn-x509 without --client-ca-file says which plugin to enable, or which flag to give', async () => {
      const config = await loadConfigFromObject(
        { server: { dataDir: tempDir() }, plugins: { 'authn-x509': {} } },
        '(test)',
      );
      const err = await preparePlugins({ config, role: 'check', logger: silent }).catch((e: unknown) => e);
      expect((err as SkiffError).code).to.equal('SKIFF_PLUGIN_MISSING_PROVIDER');
      expect((err as SkiffError).fix)
        .to.contain('enable pki-local')
        .and.contain('--client-ca-file');
    });

    it('`skiff controller-manager` without --kubeconfig stops with a coded error saying what to give', () => {
      const dir = tempDir();
      const file = configFile(dir, ['api-core-v1', 'controller-namespace'], { securePort: 6443 });
      const r = skiff(['controller-manager', '--config', file, '--leader-elect=false']);
      expect(r.status, r.stdout).to.equal(2);
      expect(r.stderr).to.contain('error SKIFF_CONTROLLER_MANAGER_NO_CREDENTIALS');
      expect(r.stderr).to.match(/fix: give --kubeconfig FILE, or enable pki-local/);
    });
  });

  it('`skiff controller-manager` without --kubeconfig finds its client certificate in the data directory', async () => {
    const ts = await startTestServer({ secure: true, plugins: { 'authn-x509': {} } });
    const cm = spawnSkiff([
      'controller-manager',
      '--master',
      ts.secureUrl!,
      '--data-dir',
      ts.dataDir,
      '--leader-elect=false',
      '--controllers',
      'namespace',
      '--log-level',
      'info',
    ]);
    try {
      const connected = await cm.waitForLine('connected', (l) => l.msg === 'connected to the API server');
      expect(connected.user).to.equal('system:kube-controller-manager');
      expect(existsSync(join(ts.dataDir, 'pki', 'controller-manager.crt'))).to.equal(true);
    } finally {
      cm.child.kill('SIGTERM');
      await cm.exited().catch(() => cm.child.kill('SIGKILL'));
      await ts.close();
    }
  });
});
