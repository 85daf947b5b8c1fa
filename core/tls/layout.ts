/**
 * The PKI under <dataDir>/pki, created on first start and reused after (as k3s does): a CA, the API
 * server's serving certificate, client certificates for the admin and the control-plane components,
 * and the service-account signing key pair. Private keys are written mode 0600, and a key that others
 * can read stops start-up.
 */
import { createPrivateKey, createPublicKey, randomBytes, X509Certificate } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { SkiffError } from '../errors.js';
import {
  createCertificateAuthority,
  issueCertificate,
  type KeyPair,
  type LeafSpec,
  newRsaKeyPem,
} from './certificates.js';

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

export interface Pki {
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

/** The client certificates `skiff up` makes: name → subject. */
export const COMPONENT_CLIENTS: Record<string, { commonName: string; organizations?: string[] }> = {
  admin: { commonName: 'kubernetes-admin', organizations: ['system:masters'] },
  'controller-manager': { commonName: 'system:kube-controller-manager' },
  scheduler: { commonName: 'system:kube-scheduler' },
};

/**
 * Writes a file only its owner may read (keys, kubeconfigs with credentials), as upstream's
 * keyutil and clientcmd do. A new file is created 0600 beside the target and renamed over it, so
 * the secret is never readable under an existing file's wider mode, never written through a
 * symlink planted at the path, and never left half-written.
 */
export function writePrivate(path: string, content: string): void {
  const temp = join(dirname(path), `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`);
  try {
    writeFileSync(temp, content, { mode: 0o600, flag: 'wx' });
    renameSync(temp, path);
  } catch (err) {
    rmSync(temp, { force: true });
    throw err;
  }
}

function checkPrivate(path: string): void {
  const mode = statSync(path).mode & 0o777;
  if (mode & 0o077) {
    throw new SkiffError(
      'SKIFF_PKI_KEY_PERMISSIONS',
      `private key ${path} is readable by others (mode ${mode.toString(8).padStart(4, '0')})`,
      `run: chmod 600 ${path}`,
    );
  }
}

function loadPair(dir: string, name: string, ca?: KeyPair): KeyPair | undefined {
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

function savePair(dir: string, name: string, pair: KeyPair, created: string[]): KeyPair {
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
export function ensurePki(dataDir: string, options: PkiOptions = {}): Pki {
  const dir = join(dataDir, 'pki');
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const created: string[] = [];
  const now = options.now ?? new Date();
  const ca = loadPair(dir, 'ca') ?? savePair(dir, 'ca', createCertificateAuthority('skiff-ca', 10, now), created);
  const issue = (name: string, spec: LeafSpec) =>
    loadPair(dir, name, ca) ?? savePair(dir, name, issueCertificate(ca, spec, now), created);
  const apiserver = issue('apiserver', {
    commonName: 'kube-apiserver',
    usage: 'server',
    ...servingNames(options.serviceIP ?? SERVICE_IP_DEFAULT, options.extraSANs),
  });
  let admin: KeyPair | undefined;
  for (const [name, subject] of Object.entries(COMPONENT_CLIENTS)) {
    if (name !== 'admin' && !options.components) continue;
    const pair = issue(name, { ...subject, usage: 'client' });
    if (name === 'admin') admin = pair;
  }
  const saKey = join(dir, 'service-account.key');
  if (!existsSync(saKey)) {
    const keyPem = newRsaKeyPem();
    writePrivate(saKey, keyPem);
    writeFileSync(join(dir, 'service-account.pub'), createPublicKey(keyPem).export({ type: 'spki', format: 'pem' }));
    created.push('service-account.key', 'service-account.pub');
  } else checkPrivate(saKey);
  return { dir, ca, apiserver, admin: admin!, created };
}

/**
 * A component's client certificate and the CA to trust, for a component in its own process
 * (`skiff controller-manager` on the API server's data dir). `skiff certs` makes them; when it has
 * not run, the pair is issued here, which needs the CA's key. A missing CA is never created: a new
 * CA would not be the one the API server trusts.
 */
export function componentCredentials(dataDir: string, name: keyof typeof COMPONENT_CLIENTS) {
  const dir = join(dataDir, 'pki');
  if (!existsSync(join(dir, 'ca.crt'))) loadCertificateAuthority(dir); // throws SKIFF_PKI_CA_MISSING
  const caPem = readFileSync(join(dir, 'ca.crt'), 'utf8');
  const existing = loadPair(dir, name, { certPem: caPem, keyPem: '' });
  if (existing) return { caPem, pair: existing, created: [] as string[] };
  const created: string[] = [];
  const pair = savePair(
    dir,
    name,
    issueCertificate(loadCertificateAuthority(dir), { ...COMPONENT_CLIENTS[name]!, usage: 'client' }),
    created,
  );
  return { caPem, pair, created };
}

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

export const PKI_CERTIFICATES = ['ca', 'apiserver', ...Object.keys(COMPONENT_CLIENTS)];

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
