/**
 * pki-local keeps the serving certificate across starts, but not when it no longer names the API:
 * a data directory from a start with another service range holds a certificate for the old
 * `kubernetes` service IP, and in-cluster clients (which dial that IP) would fail TLS.
 */
import { X509Certificate } from 'node:crypto';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'chai';
import { ensurePki, namesCovered, servingSpec } from '../../../plugins/pki-local/layout.js';
import { tempDir } from '../../helpers/temp-dirs.js';

describe('plugins/pki-local: the serving certificate follows the names the API answers to', () => {
  let dataDir: string;
  beforeEach(() => {
    dataDir = tempDir('skiff-pki-names-');
  });
  afterEach(() => rmSync(dataDir, { recursive: true, force: true }));

  const sans = () => new X509Certificate(readFileSync(join(dataDir, 'pki', 'apiserver.crt'))).subjectAltName ?? '';

  it('is kept when it names everything, and issued again (same CA) when the service IP moved', () => {
    const first = ensurePki(dataDir, { serviceIP: '127.96.0.1' });
    expect(sans()).to.include('IP Address:127.96.0.1');
    const again = ensurePki(dataDir, { serviceIP: '127.96.0.1' });
    expect(again.apiserver.certPem).to.equal(first.apiserver.certPem);
    expect(again.created).to.deep.equal([]);

    const moved = ensurePki(dataDir, { serviceIP: '10.96.0.1' });
    expect(moved.created).to.include('apiserver.crt');
    expect(sans()).to.include('IP Address:10.96.0.1');
    expect(moved.ca.certPem).to.equal(first.ca.certPem);
    expect(
      new X509Certificate(moved.apiserver.certPem).verify(new X509Certificate(first.ca.certPem).publicKey),
    ).to.equal(true);
  });

  it('compares IPv6 names in the form Node prints them', () => {
    const files = ensurePki(dataDir, { serviceIP: '10.96.0.1' });
    expect(namesCovered(files.apiserver.certPem, servingSpec('10.96.0.1'))).to.equal(true);
    expect(namesCovered(files.apiserver.certPem, servingSpec('10.96.0.1', ['fd00::10']))).to.equal(false);
  });
});
