/**
 * What the HTTPS listener offers: kube-apiserver's --tls-min-version and --tls-cipher-suites, with
 * upstream's names (Go's: VersionTLS12; IANA suite names) mapped to what Node's OpenSSL calls them.
 *
 * Without --tls-cipher-suites, TLS 1.2 gets what Go 1.23 (kube-apiserver 1.32) offers by default:
 * ECDHE key exchange only (forward secrecy; static RSA left Go's defaults in 1.22, 3DES in 1.23),
 * AES-GCM and ChaCha20-Poly1305 first, then the ECDHE CBC-SHA suites, in Go's order, and the
 * server's order decides as Go's does. TLS 1.3 suites are not configurable, in Go as here: names of
 * TLS 1.3 suites in the list are accepted and ignored, and all three stay on.
 */
import { createSecureContext } from 'node:tls';
import { SkiffError } from '../errors.js';

/** IANA name → OpenSSL name, for every TLS 1.0–1.2 suite kube-apiserver's flag accepts. */
const TLS12_SUITES: Record<string, string> = {
  TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256: 'ECDHE-ECDSA-AES128-GCM-SHA256',
  TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256: 'ECDHE-RSA-AES128-GCM-SHA256',
  TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384: 'ECDHE-ECDSA-AES256-GCM-SHA384',
  TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384: 'ECDHE-RSA-AES256-GCM-SHA384',
  TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256: 'ECDHE-ECDSA-CHACHA20-POLY1305',
  TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256: 'ECDHE-RSA-CHACHA20-POLY1305',
  TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305: 'ECDHE-ECDSA-CHACHA20-POLY1305',
  TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305: 'ECDHE-RSA-CHACHA20-POLY1305',
  TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA: 'ECDHE-ECDSA-AES128-SHA',
  TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA: 'ECDHE-RSA-AES128-SHA',
  TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA: 'ECDHE-ECDSA-AES256-SHA',
  TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA: 'ECDHE-RSA-AES256-SHA',
  // Upstream's "insecure values": accepted when named, never offered by default.
  TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256: 'ECDHE-ECDSA-AES128-SHA256',
  TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256: 'ECDHE-RSA-AES128-SHA256',
  TLS_ECDHE_RSA_WITH_3DES_EDE_CBC_SHA: 'ECDHE-RSA-DES-CBC3-SHA',
  TLS_ECDHE_ECDSA_WITH_RC4_128_SHA: 'ECDHE-ECDSA-RC4-SHA',
  TLS_ECDHE_RSA_WITH_RC4_128_SHA: 'ECDHE-RSA-RC4-SHA',
  TLS_RSA_WITH_AES_128_GCM_SHA256: 'AES128-GCM-SHA256',
  TLS_RSA_WITH_AES_256_GCM_SHA384: 'AES256-GCM-SHA384',
  TLS_RSA_WITH_AES_128_CBC_SHA: 'AES128-SHA',
  TLS_RSA_WITH_AES_256_CBC_SHA: 'AES256-SHA',
  TLS_RSA_WITH_AES_128_CBC_SHA256: 'AES128-SHA256',
  TLS_RSA_WITH_3DES_EDE_CBC_SHA: 'DES-CBC3-SHA',
  TLS_RSA_WITH_RC4_128_SHA: 'RC4-SHA',
};

const TLS13_SUITES = new Set(['TLS_AES_128_GCM_SHA256', 'TLS_AES_256_GCM_SHA384', 'TLS_CHACHA20_POLY1305_SHA256']);

/** Go 1.23's default TLS 1.2 suites, in its preference order (crypto/tls defaultCipherSuites). */
export const DEFAULT_TLS12_SUITES = [
  'TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256',
  'TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256',
  'TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384',
  'TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384',
  'TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256',
  'TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256',
  'TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA',
  'TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA',
  'TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA',
  'TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA',
];

const VERSIONS = {
  VersionTLS10: 'TLSv1',
  VersionTLS11: 'TLSv1.1',
  VersionTLS12: 'TLSv1.2',
  VersionTLS13: 'TLSv1.3',
} as const;

export type TlsVersionName = keyof typeof VERSIONS;
export const TLS_VERSION_NAMES = Object.keys(VERSIONS) as TlsVersionName[];

export interface TlsOffer {
  minVersion: (typeof VERSIONS)[TlsVersionName];
  /** An OpenSSL cipher list: the TLS 1.0–1.2 suites (TLS 1.3's stay at their defaults). */
  ciphers: string;
}

/**
 * The listener's versions and suites from --tls-min-version and --tls-cipher-suites (default: TLS
 * 1.2 and Go's suites). An unknown name is a coded error worded as upstream's. TLS 1.0 and 1.1 also
 * need OpenSSL's security level 0, at which it still offers them; the suites stay those listed.
 */
export function tlsOffer(minVersion?: string, cipherSuites?: string[]): TlsOffer {
  const version = minVersion ? VERSIONS[minVersion as TlsVersionName] : 'TLSv1.2';
  if (!version) {
    throw new SkiffError(
      'SKIFF_TLS_VERSION_UNKNOWN',
      `unknown tls version "${minVersion}"`,
      `give --tls-min-version one of ${TLS_VERSION_NAMES.join(', ')}`,
    );
  }
  const names = cipherSuites?.length ? cipherSuites : DEFAULT_TLS12_SUITES;
  const unknown = names.filter((n) => !TLS12_SUITES[n] && !TLS13_SUITES.has(n));
  if (unknown.length > 0) {
    throw new SkiffError(
      'SKIFF_TLS_CIPHER_UNKNOWN',
      `Cipher suite ${unknown[0]} not supported or doesn't exist`,
      `use upstream's (IANA) names, e.g. ${DEFAULT_TLS12_SUITES.slice(0, 2).join(',')}`,
    );
  }
  const openssl = [...new Set(names.filter((n) => TLS12_SUITES[n]).map((n) => TLS12_SUITES[n]!))];
  // Only TLS 1.3 names: as in Go, no TLS 1.2 suite is left, so only TLS 1.3 can be spoken.
  if (openssl.length === 0) return usable({ minVersion: 'TLSv1.3', ciphers: defaultCiphers() }, names);
  const legacy = version === 'TLSv1' || version === 'TLSv1.1';
  const ciphers = openssl.join(':');
  return usable({ minVersion: version, ciphers: legacy ? `${ciphers}@SECLEVEL=0` : ciphers }, names);
}

const defaultCiphers = () => DEFAULT_TLS12_SUITES.map((n) => TLS12_SUITES[n]).join(':');

/** Suites this OpenSSL no longer has at all (RC4, 3DES) would stop the listener: refuse them here. */
function usable(offer: TlsOffer, names: string[]): TlsOffer {
  try {
    createSecureContext(offer);
  } catch (err) {
    throw new SkiffError(
      'SKIFF_TLS_CIPHER_UNAVAILABLE',
      `none of the cipher suites ${names.join(', ')} is available in this Node's OpenSSL (${(err as Error).message})`,
      `name at least one of ${DEFAULT_TLS12_SUITES.join(', ')}, or omit --tls-cipher-suites for Go's defaults`,
    );
  }
  return offer;
}
