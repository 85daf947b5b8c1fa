/**
 * The HTTPS listener's identity: the serving certificate and key from --tls-cert-file /
 * --tls-private-key-file, or else the ones Skiff generates under <dataDir>/pki on first start.
 * TLS 1.2+; a client certificate is asked for but not required, so certificates, tokens and
 * passwords all work on one port (authn-x509 verifies the certificate, not the TLS layer).
 */
import { readFileSync } from 'node:fs';
import type { RequestListener } from 'node:http';
import { createServer as createHttpsServer, type Server } from 'node:https';
import type { ServerConfig } from '../config/load.js';
import { SkiffError } from '../errors.js';

export interface ServingIdentity {
  cert: string;
  key: string;
  /** Where they came from, for the start-up log. */
  source: string;
}

/** Supplies a generated identity when no files are configured (the PKI module registers it). */
export type IdentityProvider = (config: ServerConfig) => Promise<ServingIdentity>;

function readPem(path: string, flag: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    throw new SkiffError(
      'SKIFF_TLS_FILE_UNREADABLE',
      `cannot read ${path}: ${(err as Error).message}`,
      `check the path given to ${flag}`,
    );
  }
}

export async function servingIdentity(config: ServerConfig, generate: IdentityProvider): Promise<ServingIdentity> {
  const { tlsCertFile, tlsPrivateKeyFile } = config;
  if (Boolean(tlsCertFile) !== Boolean(tlsPrivateKeyFile)) {
    throw new SkiffError(
      'SKIFF_TLS_INCOMPLETE',
      'only one of --tls-cert-file and --tls-private-key-file was given',
      'give both (a certificate and its key), or neither to use the generated PKI under the data directory',
    );
  }
  if (tlsCertFile && tlsPrivateKeyFile) {
    return {
      cert: readPem(tlsCertFile, '--tls-cert-file'),
      key: readPem(tlsPrivateKeyFile, '--tls-private-key-file'),
      source: tlsCertFile,
    };
  }
  return generate(config);
}

export function createSecureServer(
  identity: ServingIdentity,
  clientCAs: string | undefined,
  app: RequestListener,
): Server {
  return createHttpsServer(
    {
      cert: identity.cert,
      key: identity.key,
      minVersion: 'TLSv1.2',
      requestCert: true,
      rejectUnauthorized: false,
      // Advertised in the CertificateRequest, so clients with several certificates pick the right one.
      ...(clientCAs ? { ca: clientCAs } : {}),
    },
    app,
  );
}
