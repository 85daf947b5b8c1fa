/**
 * Verifying a client certificate the way upstream's x509 authenticator does: signed by a trusted CA,
 * inside its validity window, usable for client authentication. Reasons use Go's x509 wording,
 * because that is what people search for.
 */
import { X509Certificate } from 'node:crypto';
import { SkiffError } from 'skiff/sdk';
import type { AuthenticationResult } from 'skiff/sdk/auth';

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

/** Node's subject lines ("CN=alice\nO=devs", special characters backslash-escaped) → user and groups. */
function subjectOf(cert: X509Certificate): { cn: string; orgs: string[] } {
  let cn = '';
  const orgs: string[] = [];
  for (const line of cert.subject.split('\n')) {
    const eq = line.indexOf('=');
    const key = line.slice(0, eq);
    const value = line.slice(eq + 1).replace(/\\(.)/g, '$1');
    if (key === 'CN') cn = value;
    if (key === 'O') orgs.push(value);
  }
  return { cn, orgs };
}

interface Checked {
  /** Set when the certificate can never pass (malformed, unknown CA, wrong usage). */
  error?: string;
  from: Date;
  to: Date;
  user?: { name: string; groups: string[] };
}

// The signature check is the expensive part; a connection presents the same Buffer on every
// keep-alive request, so the verdict is kept per Buffer. The validity window is checked every time.
const checkedByBuffer = new WeakMap<Buffer, Checked>();

export function verifyClientCertificate(der: Buffer, cas: X509Certificate[], now: Date): AuthenticationResult {
  let checked = checkedByBuffer.get(der);
  if (!checked) {
    checked = check(der, cas);
    checkedByBuffer.set(der, checked);
  }
  if (checked.error) return { error: checked.error };
  if (now < checked.from) {
    return {
      error: `x509: certificate has expired or is not yet valid: current time ${iso(now)} is before ${iso(checked.from)}`,
    };
  }
  if (now > checked.to) {
    return {
      error: `x509: certificate has expired or is not yet valid: current time ${iso(now)} is after ${iso(checked.to)}`,
    };
  }
  return { user: checked.user! };
}

function check(der: Buffer, cas: X509Certificate[]): Checked {
  const never = (error: string): Checked => ({ error, from: new Date(0), to: new Date(0) });
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(der);
  } catch (err) {
    return never(`x509: malformed certificate: ${(err as Error).message}`);
  }
  const issuer = cas.find((ca) => cert.checkIssued(ca) && cert.verify(ca.publicKey));
  if (!issuer) return never('x509: certificate signed by unknown authority');
  const usages = cert.keyUsage; // extended key usages; undefined when the extension is absent
  if (usages && !usages.includes(CLIENT_AUTH) && !usages.includes(ANY_USAGE)) {
    return never('x509: certificate specifies an incompatible key usage');
  }
  const { cn, orgs } = subjectOf(cert);
  if (!cn) return never('x509: the certificate has no common name (CN) to use as the user name');
  return { from: new Date(cert.validFrom), to: new Date(cert.validTo), user: { name: cn, groups: orgs } };
}

const iso = (d: Date) => d.toISOString().replace(/\.\d{3}Z$/, 'Z');
