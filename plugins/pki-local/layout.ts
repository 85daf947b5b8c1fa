/**
 * The PKI under <dataDir>/pki, created on first start and reused after (as k3s does): a CA, the API
 * server's serving certificate, client certificates for the admin and the control-plane components,
 * and the service-account signing key pair. Private keys are written mode 0600, and a key that others
 * can read stops start-up.
 */
import { createPrivateKey, createPublicKey, X509Certificate } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SkiffError } from 'skiff/sdk';
import { type ClientIdentity, CONTROLLER_MANAGER_IDENTITY, SCHEDULER_IDENTITY } from 'skiff/sdk/auth';
import {
  createCertificateAuthority,
  issueCertificate,
  type KeyPair,
  type LeafSpec,
  newRsaKeyPem,
} from './certificates.js';
import { checkPrivate, writePrivate } from './private-files.js';

export const SERVICE_IP_DEFAULT = '127.96.0.1';

export interface PkiOptions {
  /** The `kubernetes` service's ClusterIP, a SAN of the serving certificate. */
  serviceIP?: string;
  /** More SANs for the serving certificate: IPs or DNS names. */
  extraSANs?: string[];
  /**
   * Also the controller manager's and scheduler's client certificates (`skiff certs` makes them;
   * `skiff up` runs those components in-process and skips them, which halves first start-up).
   */
  components?: boolean;
  now?: Date;
}

export interface PkiFiles {
  dir: string;
  ca: KeyPair;
  apiserver: KeyPair;
  admin: KeyPair;
  /** Files created by this call (empty when everything was reused). */
  created: string[];
}

const isIP = (s: string) => /^\d+\.\d+\.\d+\.\d+$/.test(s) || s.includes(':');

/** The serving certificate's names: loopback, localhost and the in-cluster names of the API. */
export function servingNames(serviceIP: string, extra: string[] = []) {
  const all = [
    '127.0.0.1',
    '::1',
    serviceIP,
    'localhost',
    'kubernetes',
    'kubernetes.default',
    'kubernetes.default.svc',
    'kubernetes.default.svc.cluster.local',
    ...extra,
  ];
  return { ipAddresses: all.filter(isIP), dnsNames: all.filter((s) => !isIP(s)) };
}

/** The API server's serving certificate. */
export function servingSpec(serviceIP = SERVICE_IP_DEFAULT, extraSANs?: string[]): LeafSpec {
  return { commonName: 'kube-apiserver', usage: 'server', ...servingNames(serviceIP, extraSANs) };
}

/** Whether a certificate names every IP address and DNS name of `spec`. */
export function namesCovered(certPem: string, spec: LeafSpec): boolean {
  const san = new X509Certificate(certPem).subjectAltName ?? '';
  const present = new Set(san.split(', ').map((entry) => entry.replace(/^(DNS|IP Address):/, '').toLowerCase()));
  const wanted = [...(spec.ipAddresses ?? []), ...(spec.dnsNames ?? [])];
  return wanted.every((name) => present.has(normalizeIP(name).toLowerCase()));
}

/** Node prints IPv6 SANs in full form (0:0:0:0:0:0:0:1); compare in that form. */
function normalizeIP(name: string): string {
  if (!name.includes(':')) return name;
  const [head = '', tail = ''] = name.split('::');
  const left = head ? head.split(':') : [];
  const right = tail ? tail.split(':') : [];
  const groups = name.includes('::') ? [...left, ...Array(8 - left.length - right.length).fill('0'), ...right] : left;
  return groups.map((g) => g.replace(/^0+(?=.)/, '')).join(':');
}

/** The admin: an unrestricted user, for the kubeconfig written at start. */
export const ADMIN_IDENTITY: ClientIdentity = { user: 'kubernetes-admin', groups: ['system:masters'], name: 'admin' };

/** The client certificates `skiff certs` makes (`skiff up` makes the admin's only). */
export const COMPONENT_IDENTITIES = [ADMIN_IDENTITY, CONTROLLER_MANAGER_IDENTITY, SCHEDULER_IDENTITY];

/** A client certificate's subject, as the certificates module takes it. */
export function clientSpec(identity: ClientIdentity): LeafSpec {
  return { commonName: identity.user, organizations: [...(identity.groups ?? [])], usage: 'client' };
}

export function loadPair(dir: string, name: string, ca?: KeyPair): KeyPair | undefined {
  const cert = join(dir, `${name}.crt`);
  const key = join(dir, `${name}.key`);
  if (!existsSync(cert) && !existsSync(key)) return undefined;
  if (!existsSync(cert) || !existsSync(key)) {
    throw new SkiffError(
      'SKIFF_PKI_INCOMPLETE',
      `${existsSync(cert) ? cert : key} exists but ${existsSync(cert) ? key : cert} does not`,
      `restore the missing file, or delete both ${name}.crt and ${name}.key so they are created anew`,
    );
  }
  checkPrivate(key);
  const pair = { certPem: readFileSync(cert, 'utf8'), keyPem: readFileSync(key, 'utf8') };
  const x509 = new X509Certificate(pair.certPem);
  if (!x509.checkPrivateKey(createPrivateKey(pair.keyPem))) {
    throw new SkiffError(
      'SKIFF_PKI_KEY_MISMATCH',
      `${key} is not the key of ${cert}`,
      `delete both ${name}.crt and ${name}.key so they are created anew`,
    );
  }
  if (ca && !x509.verify(new X509Certificate(ca.certPem).publicKey)) {
    throw new SkiffError(
      'SKIFF_PKI_CERT_INVALID',
      `${cert} was not signed by the CA in ${dir}`,
      `delete ${name}.crt and ${name}.key so they are issued by the current CA (or restore the CA that signed them)`,
    );
  }
  return pair;
}

export function savePair(dir: string, name: string, pair: KeyPair, created: string[]): KeyPair {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  writeFileSync(join(dir, `${name}.crt`), pair.certPem);
  writePrivate(join(dir, `${name}.key`), pair.keyPem);
  created.push(`${name}.crt`, `${name}.key`);
  return pair;
}

export function loadCertificateAuthority(dir: string): KeyPair {
  const ca = loadPair(dir, 'ca');
  if (!ca) {
    throw new SkiffError(
      'SKIFF_PKI_CA_MISSING',
      `no CA in ${dir} (ca.crt and ca.key)`,
      'run `skiff certs` (or `skiff up` once) to create the PKI, or pass --data-dir pointing at an existing one',
    );
  }
  return ca;
}

/** Creates whatever is missing under <dataDir>/pki and returns the lot. */
export function ensurePki(dataDir: string, options: PkiOptions = {}): PkiFiles {
  const dir = join(dataDir, 'pki');
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const created: string[] = [];
  const now = options.now ?? new Date();
  const ca = loadPair(dir, 'ca') ?? savePair(dir, 'ca', createCertificateAuthority('skiff-ca', 10, now), created);
  const issue = (name: string, spec: LeafSpec) =>
    loadPair(dir, name, ca) ?? savePair(dir, name, issueCertificate(ca, spec, now), created);
  const serving = servingSpec(options.serviceIP, options.extraSANs);
  const kept = loadPair(dir, 'apiserver', ca);
  // A serving certificate from an older start may lack a name the API now answers to (a changed
  // service range moves the kubernetes service's IP): in-cluster clients would fail TLS, so it is
  // issued again by the same CA, which every client already trusts.
  const apiserver =
    kept && namesCovered(kept.certPem, serving)
      ? kept
      : savePair(dir, 'apiserver', issueCertificate(ca, serving, now), created);
  const admin = issue('admin', clientSpec(ADMIN_IDENTITY));
  if (options.components) {
    for (const identity of COMPONENT_IDENTITIES)
      if (identity !== ADMIN_IDENTITY) issue(identity.name!, clientSpec(identity));
  }
  ensureServiceAccountKey(dir, created);
  return { dir, ca, apiserver, admin, created };
}

/** The service-account key pair: created when missing, its private key checked when present. */
export function ensureServiceAccountKey(
  dir: string,
  created: string[],
  newKey: () => string = newRsaKeyPem,
): { privateKeyPem: string; publicKeyPem: string } {
  const saKey = join(dir, 'service-account.key');
  const saPub = join(dir, 'service-account.pub');
  if (existsSync(saKey)) {
    checkPrivate(saKey);
    const privateKeyPem = readFileSync(saKey, 'utf8');
    const publicKeyPem = existsSync(saPub) ? readFileSync(saPub, 'utf8') : publicKeyOf(privateKeyPem);
    return { privateKeyPem, publicKeyPem };
  }
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const privateKeyPem = newKey();
  const publicKeyPem = publicKeyOf(privateKeyPem);
  writePrivate(saKey, privateKeyPem);
  writeFileSync(saPub, publicKeyPem);
  created.push('service-account.key', 'service-account.pub');
  return { privateKeyPem, publicKeyPem };
}

const publicKeyOf = (privateKeyPem: string) =>
  createPublicKey(privateKeyPem).export({ type: 'spki', format: 'pem' }) as string;

/** Each certificate in the PKI directory with its expiry: the known ones first, then any other *.crt. */
export function certificateExpiries(
  dir: string,
  names: string[] = PKI_CERTIFICATES,
): { name: string; notAfter: Date; subject: string }[] {
  const others = existsSync(dir)
    ? readdirSync(dir)
        .filter((f) => f.endsWith('.crt'))
        .map((f) => f.slice(0, -4))
        .filter((n) => !names.includes(n))
        .sort()
    : [];
  return [...names, ...others]
    .filter((n) => existsSync(join(dir, `${n}.crt`)))
    .map((n) => {
      const cert = new X509Certificate(readFileSync(join(dir, `${n}.crt`)));
      return { name: n, notAfter: new Date(cert.validTo), subject: cert.subject.replace(/\n/g, ', ') };
    });
}

export const PKI_CERTIFICATES = ['ca', 'apiserver', ...COMPONENT_IDENTITIES.map((i) => i.name!)];

/** Warnings for certificates that have expired or expire within `days`. */
export function expiryWarnings(dir: string, now = new Date(), days = 30): string[] {
  const soon = now.getTime() + days * 24 * 3600 * 1000;
  return certificateExpiries(dir).flatMap((c) => {
    if (c.notAfter.getTime() < now.getTime())
      return [`certificate ${c.name}.crt expired on ${c.notAfter.toISOString()}`];
    if (c.notAfter.getTime() < soon) return [`certificate ${c.name}.crt expires on ${c.notAfter.toISOString()}`];
    return [];
  });
}
