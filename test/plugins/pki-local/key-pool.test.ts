/**
 * Keys made ahead (plugins/pki-local/key-pool.ts) and what a first start does with them: each key
 * is used once, a use waits for its key rather than make another, and the files of a fresh PKI
 * hold four different keys.
 */
import { createPrivateKey, createPublicKey, X509Certificate } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'chai';
import { KeyPool } from '../../../plugins/pki-local/key-pool.js';
import { LocalPki } from '../../../plugins/pki-local/local-pki.js';
import { tempDir } from '../../helpers/temp-dirs.js';

const modulusOf = (pem: string) => createPublicKey(createPrivateKey(pem)).export({ format: 'jwk' }).n;

describe('pki-local: keys made ahead', function () {
  this.timeout(30_000);

  it('hands out the key made for a purpose once; a second take, or an unprepared purpose, gets a new key', async () => {
    const pool = new KeyPool();
    await pool.prepare(['ca', 'admin']);
    const ca = pool.take('ca');
    expect(createPrivateKey(ca).asymmetricKeyDetails?.modulusLength).to.equal(2048);
    const again = pool.take('ca');
    const other = pool.take('admin');
    const unprepared = pool.take('apiserver');
    expect(new Set([ca, again, other, unprepared].map(modulusOf)).size).to.equal(4);
  });

  it('settled() waits for the key being made, so the take that follows finds it instead of making one', async () => {
    const pool = new KeyPool();
    void pool.prepare(['apiserver']);
    await pool.settled('apiserver');
    const made = pool.take('apiserver');
    // Prepared again after the take, the purpose gets another key: none is ever handed out twice.
    await pool.prepare(['apiserver']);
    expect(modulusOf(pool.take('apiserver'))).to.not.equal(modulusOf(made));
    // A purpose never prepared settles at once.
    await pool.settled('never-asked');
  });

  it('a take that cannot wait makes its own key; the one still being made is then dropped, not kept for later', async () => {
    const pool = new KeyPool();
    const making = pool.prepare(['apiserver']);
    const own = pool.take('apiserver');
    await making;
    // Had the key made ahead been kept, this take would hand it out: it makes a new one instead.
    const next = pool.take('apiserver');
    expect(new Set([own, next].map(modulusOf)).size).to.equal(2);
    expect((pool as unknown as { made: Map<string, string> }).made.size).to.equal(0);
  });

  it('a fresh PKI prepared for a serving process holds four different keys, each matching its certificate', async () => {
    const dataDir = tempDir('skiff-key-pool-');
    const pki = new LocalPki(dataDir, { ownsCA: true });
    await pki.prepareKeys('provided');
    pki.serviceAccountKeys();
    await pki.servingIdentity();
    await pki.writeAdminKubeconfig('https://127.0.0.1:6443');
    const dir = join(dataDir, 'pki');
    const keys = ['ca', 'service-account', 'apiserver', 'admin'].map((n) =>
      readFileSync(join(dir, `${n}.key`), 'utf8'),
    );
    expect(new Set(keys.map(modulusOf)).size).to.equal(4);
    for (const name of ['ca', 'apiserver', 'admin']) {
      const cert = new X509Certificate(readFileSync(join(dir, `${name}.crt`)));
      expect(cert.checkPrivateKey(createPrivateKey(readFileSync(join(dir, `${name}.key`))))).to.equal(true);
    }
  });

  it('a component process (no CA of its own) prepares no CA key, and still never makes a CA', async () => {
    const dataDir = tempDir('skiff-key-pool-');
    const component = new LocalPki(dataDir, { ownsCA: false });
    await component.prepareKeys('provided');
    expect(() => component.caCertificate()).to.throw(/no CA in/);
    expect(existsSync(join(dataDir, 'pki', 'ca.key'))).to.equal(false);
  });

  it("a later start finds the files in place and keeps them: its CA is the first start's", async () => {
    const dataDir = tempDir('skiff-key-pool-');
    const first = new LocalPki(dataDir, { ownsCA: true });
    await first.prepareKeys('none');
    const ca = first.caCertificate();
    const later = new LocalPki(dataDir, { ownsCA: true });
    await later.prepareKeys('provided');
    expect(later.caCertificate()).to.equal(ca);
  });
});
