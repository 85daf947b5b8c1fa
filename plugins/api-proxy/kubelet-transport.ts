/**
 * How the API server reaches kubelets: TLS with its own client certificate (upstream's
 * --kubelet-client-certificate/--kubelet-client-key; without them, pki-local's
 * apiserver-kubelet-client, CN kube-apiserver-kubelet-client, which the bootstrap roles bind to
 * system:kubelet-api-admin), verifying the kubelet's serving certificate against
 * --kubelet-certificate-authority when given and, as upstream, not verifying it otherwise.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { SkiffError } from 'skiff/sdk';
import type { ClientIdentity, Pki } from 'skiff/sdk/auth';
import type { ApiProxyConfig } from './config.js';

export interface KubeletTransport {
  tls: { cert: string; key: string; ca?: string; rejectUnauthorized: boolean };
  /** Where the client certificate came from, for the start-up log. */
  source: string;
}

/** The API server's identity towards kubelets (upstream kubeadm's apiserver-kubelet-client.crt). */
export const KUBELET_CLIENT_IDENTITY: ClientIdentity = {
  user: 'kube-apiserver-kubelet-client',
  name: 'apiserver-kubelet-client',
};

export function kubeletTransport(config: ApiProxyConfig, pki: () => Pki): KubeletTransport {
  const { kubeletClientCertificate: certFile, kubeletClientKey: keyFile } = config;
  if (!!certFile !== !!keyFile) {
    throw new SkiffError(
      'SKIFF_KUBELET_CLIENT_HALF',
      `--kubelet-client-${certFile ? 'key' : 'certificate'} is missing: the kubelet client certificate and key go together`,
      'give both --kubelet-client-certificate and --kubelet-client-key, or neither (pki-local then issues one)',
    );
  }
  const ca = config.kubeletCertificateAuthority
    ? read(config.kubeletCertificateAuthority, '--kubelet-certificate-authority')
    : undefined;
  if (certFile && keyFile) {
    return {
      tls: {
        cert: read(certFile, '--kubelet-client-certificate'),
        key: read(keyFile, '--kubelet-client-key'),
        ca,
        rejectUnauthorized: !!ca,
      },
      source: resolve(certFile),
    };
  }
  const issued = pki().clientCredentials(KUBELET_CLIENT_IDENTITY);
  return {
    tls: { cert: issued.certPem, key: issued.keyPem, ca, rejectUnauthorized: !!ca },
    source: 'pki-local (apiserver-kubelet-client)',
  };
}

function read(file: string, flag: string): string {
  try {
    return readFileSync(resolve(file), 'utf8');
  } catch (err) {
    throw new SkiffError(
      'SKIFF_KUBELET_TLS_FILE',
      `cannot read ${flag} ${file}: ${(err as Error).message}`,
      `give ${flag} a readable PEM file`,
    );
  }
}
