/**
 * The kubelet server's TLS identity and the CAs it trusts for client certificates.
 *
 * Serving certificate: --tls-cert-file/--tls-private-key-file when given; else, as upstream's
 * kubelet does without them, a self-signed pair in --cert-dir (kubelet.crt holding the serving
 * certificate and the self-signed CA "<node>-ca@<unix time>" that signed it, kubelet.key 0600),
 * made once and kept. It names the node, and also localhost, 127.0.0.1 and --address, so that an
 * API server dialling the kubelet on loopback can verify it against kubelet.crt (upstream names only
 * the host). Why not the cluster PKI: the PKI service hands out client certificates only, and a
 * kubelet run by `skiff kubelet` on another machine has no CA key; upstream also self-signs unless
 * serving-certificate bootstrap (a CSR) is configured.
 */
import { createPublicKey, generateKeyPair, randomBytes, sign, X509Certificate } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';
import forge from 'node-forge';
import { SkiffError } from 'skiff/sdk';

export interface ServingPair {
  certPem: string;
  keyPem: string;
  /** Where it came from (logged). */
  source: string;
}

const DAY = 24 * 3600 * 1000;
const generate = promisify(generateKeyPair);

async function rsaKeyPem(): Promise<string> {
  const { privateKey } = await generate('rsa', { modulusLength: 2048 });
  return privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
}

function serial(): string {
  const bytes = randomBytes(16);
  bytes[0] = (bytes[0]! & 0x7f) | 0x01; // positive and minimally encoded, as Go requires
  return bytes.toString('hex');
}

const name = (cn: string) =>
  [{ shortName: 'CN', value: cn, valueTagClass: forge.asn1.Type.UTF8 }] as unknown as forge.pki.CertificateField[];

function certificate(keyPem: string, notBefore: Date, notAfter: Date): forge.pki.Certificate {
  const cert = forge.pki.createCertificate();
  cert.publicKey = forge.pki.publicKeyFromPem(
    createPublicKey(keyPem).export({ type: 'spki', format: 'pem' }) as string,
  );
  cert.serialNumber = serial();
  cert.validity.notBefore = notBefore;
  cert.validity.notAfter = notAfter;
  return cert;
}

/** forge builds the structure; node:crypto signs it (far faster than forge's RSA). */
function signWith(cert: forge.pki.Certificate, keyPem: string): string {
  const oid = forge.pki.oids.sha256WithRSAEncryption!;
  const c = cert as forge.pki.Certificate & { siginfo: { algorithmOid: string }; tbsCertificate: forge.asn1.Asn1 };
  c.signatureOid = oid;
  c.siginfo.algorithmOid = oid;
  c.tbsCertificate = (
    forge.pki as unknown as { getTBSCertificate(c: forge.pki.Certificate): forge.asn1.Asn1 }
  ).getTBSCertificate(cert);
  c.signature = sign('sha256', Buffer.from(forge.asn1.toDer(c.tbsCertificate).getBytes(), 'binary'), keyPem).toString(
    'binary',
  );
  return forge.pki.certificateToPem(cert);
}

/** Upstream's GenerateSelfSignedCertKey: a one-year CA "<host>-ca@<t>" and a serving certificate "<host>@<t>" it signs. */
export async function selfSignedPair(
  host: string,
  names: string[],
  now = new Date(),
): Promise<{ certPem: string; keyPem: string }> {
  const stamp = Math.floor(now.getTime() / 1000);
  const notBefore = new Date(now.getTime() - 5 * 60 * 1000);
  const notAfter = new Date(now.getTime() + 365 * DAY);
  const [caKey, key] = await Promise.all([rsaKeyPem(), rsaKeyPem()]);
  const ca = certificate(caKey, notBefore, notAfter);
  ca.setSubject(name(`${host}-ca@${stamp}`));
  ca.setIssuer(name(`${host}-ca@${stamp}`));
  ca.setExtensions([
    { name: 'basicConstraints', cA: true, critical: true },
    { name: 'keyUsage', keyCertSign: true, digitalSignature: true, keyEncipherment: true, critical: true },
    { name: 'subjectKeyIdentifier' },
  ]);
  const caPem = signWith(ca, caKey);
  const leaf = certificate(key, notBefore, notAfter);
  leaf.setSubject(name(`${host}@${stamp}`));
  leaf.setIssuer(ca.subject.attributes);
  const unique = [...new Set([host, ...names])];
  leaf.setExtensions([
    { name: 'basicConstraints', cA: false, critical: true },
    { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
    { name: 'extKeyUsage', serverAuth: true },
    { name: 'authorityKeyIdentifier', keyIdentifier: ca.generateSubjectKeyIdentifier().getBytes() },
    {
      name: 'subjectAltName',
      altNames: unique.map((n) => (isIP(n) ? { type: 7, ip: n } : { type: 2, value: n })),
    },
  ]);
  return { certPem: signWith(leaf, caKey) + caPem, keyPem: key };
}

/** Whether a kept certificate still serves: not expiring within a day, naming every name we need. */
function stillGood(certPem: string, names: string[]): boolean {
  try {
    const cert = new X509Certificate(certPem);
    const alt = cert.subjectAltName ?? '';
    return Date.parse(cert.validTo) > Date.now() + DAY && names.every((n) => alt.includes(n));
  } catch {
    return false;
  }
}

function readPair(certFile: string, keyFile: string): { certPem: string; keyPem: string } {
  try {
    return { certPem: readFileSync(certFile, 'utf8'), keyPem: readFileSync(keyFile, 'utf8') };
  } catch (err) {
    throw new SkiffError(
      'SKIFF_KUBELET_TLS_FILES',
      `cannot read the kubelet's serving certificate or key: ${(err as Error).message}`,
      'give readable PEM files as --tls-cert-file and --tls-private-key-file, or neither (a self-signed pair is made)',
    );
  }
}

export interface ServingPairOptions {
  nodeName: string;
  address: string;
  certDir: string;
  tlsCertFile?: string;
  tlsPrivateKeyFile?: string;
}

/** A node's pair options from its kubelet config (--cert-dir defaults to <root-dir>/pki). */
export function servingPairOptions(
  config: { address: string; certDir?: string; tlsCertFile?: string; tlsPrivateKeyFile?: string },
  nodeName: string,
  rootDir: string,
): ServingPairOptions {
  const { address, tlsCertFile, tlsPrivateKeyFile } = config;
  return { nodeName, address, certDir: config.certDir ?? join(rootDir, 'pki'), tlsCertFile, tlsPrivateKeyFile };
}

const prepared = new Map<string, Promise<ServingPair>>();

/**
 * Starts getting a node's pair ahead of its server: on a first start that is two new RSA keys,
 * a few hundred ms that `skiff up` spends while the API server still starts, not after it.
 */
export function prepareServingPair(options: ServingPairOptions): void {
  const key = JSON.stringify(options);
  if (prepared.has(key)) return;
  const pair = loadOrMakePair(options);
  // Its failure is the server's to report, when it takes the pair.
  pair.catch(() => {});
  prepared.set(key, pair);
}

/** The pair prepared ahead for these options, else one got now. */
export function servingPair(options: ServingPairOptions): Promise<ServingPair> {
  const key = JSON.stringify(options);
  const pair = prepared.get(key);
  prepared.delete(key);
  return pair ?? loadOrMakePair(options);
}

async function loadOrMakePair(options: ServingPairOptions): Promise<ServingPair> {
  const { tlsCertFile, tlsPrivateKeyFile } = options;
  if (tlsCertFile || tlsPrivateKeyFile) {
    if (!tlsCertFile || !tlsPrivateKeyFile) {
      throw new SkiffError(
        'SKIFF_KUBELET_TLS_FILES',
        '--tls-cert-file and --tls-private-key-file go together',
        'give both, or neither (a self-signed pair is made in --cert-dir)',
      );
    }
    return { ...readPair(tlsCertFile, tlsPrivateKeyFile), source: tlsCertFile };
  }
  const certFile = join(options.certDir, 'kubelet.crt');
  const keyFile = join(options.certDir, 'kubelet.key');
  const wildcard = ['0.0.0.0', '::', ''].includes(options.address);
  const names = ['localhost', '127.0.0.1', ...(wildcard ? [] : [options.address])];
  if (existsSync(certFile) && existsSync(keyFile)) {
    const kept = readPair(certFile, keyFile);
    if (stillGood(kept.certPem, names)) return { ...kept, source: certFile };
  }
  const made = await selfSignedPair(options.nodeName, names);
  mkdirSync(options.certDir, { recursive: true, mode: 0o700 });
  writePrivate(keyFile, made.keyPem);
  writePrivate(certFile, made.certPem, 0o644);
  return { ...made, source: `${certFile} (self-signed)` };
}

/** Written through a new file renamed into place: never through a planted symlink, never briefly wider. */
function writePrivate(path: string, text: string, mode = 0o600): void {
  const temp = `${path}.${process.pid}.tmp`;
  writeFileSync(temp, text, { mode, flag: 'wx' });
  renameSync(temp, path);
}

/** PEM bundle(s) of the CAs client certificates are verified against; undefined: x509 authentication is off. */
export function clientCABundle(clientCAFile: string | undefined, fallback: string | undefined): string | undefined {
  if (!clientCAFile) return fallback;
  try {
    return readFileSync(clientCAFile, 'utf8');
  } catch (err) {
    throw new SkiffError(
      'SKIFF_KUBELET_CLIENT_CA',
      `cannot read --client-ca-file ${clientCAFile}: ${(err as Error).message}`,
      'give a readable PEM bundle of the CA that signs API-server and user client certificates',
    );
  }
}
