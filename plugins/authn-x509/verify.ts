/**
 * Verifying a client certificate the way upstream's x509 authenticator does: signed by a trusted CA,
 * inside its validity window, usable for client authentication. Reasons use Go's x509 wording,
 * because that is what people search for.
 */
import { X509Certificate } from 'node:crypto';
import type { AuthenticationResult } from '../../core/auth-types.js';
import { SkiffError } from '../../core/errors.js';

const CLIENT_AUTH = '1.3.6.1.5.5.7.3.2';
const ANY_USAGE = '2.5.29.37.0';

export function parseCertificateBundle(pem: string, source: string): X509Certificate[] {
  const blocks = pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  if (blocks.length === 0) {
    throw new SkiffError(
      'SKIFF_X509_CA_INVALID',
      `${source} holds no PEM certificate`,
      'give a file of one or more "-----BEGIN CERTIFICATE-----" blocks',
    );
  }
  return blocks.map((b) => new X509Certificate(b));
}

/** RFC 4514-ish subject lines ("CN=alice\nO=devs") → user name and groups. */
function subjectOf(cert: X509Certificate): { cn: string; orgs: string[] } {
  let cn = '';
  const orgs: string[] = [];
  for (const line of cert.subject.split('\n')) {
    const eq = line.indexOf('=');
    const key = line.slice(0, eq);
    const value = line.slice(eq + 1);
    if (key === 'CN') cn = value;
    if (key === 'O') orgs.push(value);
  }
  return { cn, orgs };
}

export function verifyClientCertificate(der: Buffer, cas: X509Certificate[], now: Date): AuthenticationResult {
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(der);
  } catch (err) {
    return { error: `x509: malformed certificate: ${(err as Error).message}` };
  }
  const issuer = cas.find((ca) => cert.checkIssued(ca) && cert.verify(ca.publicKey));
  if (!issuer) return { error: 'x509: certificate signed by unknown authority' };
  const from = new Date(cert.validFrom);
  const to = new Date(cert.validTo);
  if (now < from) {
    return {
      error: `x509: certificate has expired or is not yet valid: current time ${iso(now)} is before ${iso(from)}`,
    };
  }
  if (now > to) {
    return { error: `x509: certificate has expired or is not yet valid: current time ${iso(now)} is after ${iso(to)}` };
  }
  const usages = cert.keyUsage; // extended key usages; undefined when the extension is absent
  if (usages && !usages.includes(CLIENT_AUTH) && !usages.includes(ANY_USAGE)) {
    return { error: 'x509: certificate specifies an incompatible key usage' };
  }
  const { cn, orgs } = subjectOf(cert);
  if (!cn) return { error: 'x509: the certificate has no common name (CN) to use as the user name' };
  return { user: { name: cn, groups: orgs } };
}

const iso = (d: Date) => d.toISOString().replace(/\.\d{3}Z$/, 'Z');
