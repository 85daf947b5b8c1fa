/**
 * What `skiff up` / `skiff apiserver` do with the PKI before the server starts: create it on first
 * start (or reuse it), warn about certificates near expiry, serve with its certificate unless
 * --tls-cert-file is given, and afterwards write an admin kubeconfig next to it.
 */
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { ResolvedConfig } from '../config/load.js';
import type { IdentityProvider } from '../server/secure-serving.js';
import { buildKubeconfig } from './kubeconfig.js';
import { ensurePki, expiryWarnings, type Pki, SERVICE_IP_DEFAULT, writePrivate } from './layout.js';

/** The `kubernetes` service's address, as the plugin that serves services says its config gives it. */
function serviceIP(config: ResolvedConfig): string {
  for (const p of config.plugins) {
    const ip = p.manifest.kubernetesServiceIP?.(p.config);
    if (ip) return ip;
  }
  return SERVICE_IP_DEFAULT;
}

export function preparePki(config: ResolvedConfig, logger: Logger): { pki?: Pki; identityProvider?: IdentityProvider } {
  const wanted = config.server.securePort !== 0 || config.plugins.some((p) => p.manifest.readsPki);
  if (!wanted) return {};
  const pki = ensurePki(config.server.dataDir, { serviceIP: serviceIP(config) });
  if (pki.created.length) logger.info({ dir: pki.dir, created: pki.created }, 'created the PKI (first start)');
  for (const warning of expiryWarnings(pki.dir))
    logger.warn(`${warning}: renew it (delete it and restart, or run skiff certs)`);
  const identityProvider: IdentityProvider = async () => ({
    cert: pki.apiserver.certPem,
    key: pki.apiserver.keyPem,
    source: join(pki.dir, 'apiserver.crt'),
  });
  return { pki, identityProvider };
}

/**
 * Where a client on this machine reaches a server listening on `url`: a wildcard bind address
 * (0.0.0.0, ::) is no address to dial, and no name in the serving certificate, so loopback stands in
 * (k3s writes https://127.0.0.1:6443 the same way).
 */
export function dialableServer(url: string): string {
  const parsed = new URL(url);
  if (parsed.hostname === '0.0.0.0' || parsed.hostname === '[::]') parsed.hostname = '127.0.0.1';
  return parsed.origin;
}

/**
 * Writes <dataDir>/kubeconfig for the admin (kubernetes-admin in system:masters) with the address
 * the server actually serves; returns its path. `skiff kubeconfig` reads that address back.
 */
export function writeAdminKubeconfig(pki: Pki, dataDir: string, server: string): string {
  const path = join(dataDir, 'kubeconfig');
  writePrivate(
    path,
    buildKubeconfig({
      server: dialableServer(server),
      caPem: pki.ca.certPem,
      user: 'kubernetes-admin',
      clientCertPem: pki.admin.certPem,
      clientKeyPem: pki.admin.keyPem,
    }),
  );
  return path;
}
