/**
 * Certificates with node-forge: a self-signed CA and leaf certificates it signs (the API server's
 * serving certificate, client certificates whose CN is the user and each O a group). Forge builds
 * the X.509 structures; the RSA work (key generation, signing) is node:crypto's native code, which
 * is some ten times faster than forge's JavaScript and keeps first start-up short.
 */
import { createPublicKey, generateKeyPairSync, randomBytes, sign } from 'node:crypto';
import forge from 'node-forge';

export interface KeyPair {
  certPem: string;
  keyPem: string;
}

export interface SubjectSpec {
  commonName: string;
  organizations?: string[];
}

export interface LeafSpec extends SubjectSpec {
  usage: 'server' | 'client';
  /** DNS names and IP addresses (server certificates). */
  dnsNames?: string[];
  ipAddresses?: string[];
  notBefore?: Date;
  notAfter?: Date;
}

const DAY = 24 * 3600 * 1000;

export function newRsaKeyPem(bits = 2048): string {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: bits });
  return privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
}

// UTF8String, as Go writes names: forge's default PrintableString cannot hold '@', '_' or non-ASCII.
const utf8 = (shortName: string, value: string) =>
  ({ shortName, value, valueTagClass: forge.asn1.Type.UTF8 }) as unknown as forge.pki.CertificateField;

function subject(spec: SubjectSpec): forge.pki.CertificateField[] {
  return [...(spec.organizations ?? []).map((o) => utf8('O', o)), utf8('CN', spec.commonName)];
}

/**
 * 128 random bits as a positive, minimally encoded DER integer: the first byte has its top bit
 * clear (positive) and is not zero (a leading zero byte is non-minimal, and Go rejects it).
 */
export function serialNumber(): string {
  const bytes = randomBytes(16);
  bytes[0] = (bytes[0]! & 0x7f) | 0x01;
  return bytes.toString('hex');
}

function baseCertificate(keyPem: string, notBefore: Date, notAfter: Date): forge.pki.Certificate {
  const cert = forge.pki.createCertificate();
  cert.publicKey = forge.pki.publicKeyFromPem(
    createPublicKey(keyPem).export({ type: 'spki', format: 'pem' }) as string,
  );
  cert.serialNumber = serialNumber();
  cert.validity.notBefore = notBefore;
  cert.validity.notAfter = notAfter;
  return cert;
}

/** What forge's cert.sign() does, with the signature computed by node:crypto. */
function signCertificate(cert: forge.pki.Certificate, signerKeyPem: string): void {
  const oid = forge.pki.oids.sha256WithRSAEncryption!;
  const c = cert as forge.pki.Certificate & { siginfo: { algorithmOid: string }; tbsCertificate: forge.asn1.Asn1 };
  c.signatureOid = oid;
  c.siginfo.algorithmOid = oid;
  c.tbsCertificate = (
    forge.pki as unknown as { getTBSCertificate(c: forge.pki.Certificate): forge.asn1.Asn1 }
  ).getTBSCertificate(cert);
  const tbs = Buffer.from(forge.asn1.toDer(c.tbsCertificate).getBytes(), 'binary');
  c.signature = sign('sha256', tbs, signerKeyPem).toString('binary');
}

export function createCertificateAuthority(
  commonName = 'skiff-ca',
  years = 10,
  now = new Date(),
  keyPem = newRsaKeyPem(),
): KeyPair {
  const notBefore = new Date(now.getTime() - 5 * 60 * 1000); // tolerate small clock skew
  const cert = baseCertificate(keyPem, notBefore, new Date(now.getTime() + years * 365 * DAY));
  cert.setSubject(subject({ commonName }));
  cert.setIssuer(subject({ commonName }));
  cert.setExtensions([
    { name: 'basicConstraints', cA: true, critical: true },
    { name: 'keyUsage', keyCertSign: true, cRLSign: true, digitalSignature: true, critical: true },
    { name: 'subjectKeyIdentifier' },
  ]);
  signCertificate(cert, keyPem);
  return { certPem: forge.pki.certificateToPem(cert), keyPem };
}

export function issueCertificate(ca: KeyPair, spec: LeafSpec, now = new Date(), keyPem = newRsaKeyPem()): KeyPair {
  const notBefore = spec.notBefore ?? new Date(now.getTime() - 5 * 60 * 1000);
  const notAfter = spec.notAfter ?? new Date(now.getTime() + 365 * DAY);
  const cert = baseCertificate(keyPem, notBefore, notAfter);
  const caCert = forge.pki.certificateFromPem(ca.certPem);
  cert.setSubject(subject(spec));
  cert.setIssuer(caCert.subject.attributes);
  const altNames = [
    ...(spec.dnsNames ?? []).map((value) => ({ type: 2, value })),
    ...(spec.ipAddresses ?? []).map((ip) => ({ type: 7, ip })),
  ];
  cert.setExtensions([
    { name: 'basicConstraints', cA: false, critical: true },
    { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
    { name: 'extKeyUsage', serverAuth: spec.usage === 'server', clientAuth: spec.usage === 'client' },
    { name: 'authorityKeyIdentifier', keyIdentifier: caCert.generateSubjectKeyIdentifier().getBytes() },
    ...(altNames.length ? [{ name: 'subjectAltName', altNames }] : []),
  ]);
  signCertificate(cert, ca.keyPem);
  return { certPem: forge.pki.certificateToPem(cert), keyPem };
}
