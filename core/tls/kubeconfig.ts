/** Kubeconfig files with embedded credentials, as kubeadm and k3s write them. */
import { stringify } from 'yaml';

export interface KubeconfigSpec {
  server: string;
  caPem: string;
  user: string;
  /** One of: a client certificate, a bearer token, or basic credentials. */
  clientCertPem?: string;
  clientKeyPem?: string;
  token?: string;
  basic?: { username: string; password: string };
}

const b64 = (s: string) => Buffer.from(s).toString('base64');

export function buildKubeconfig(spec: KubeconfigSpec): string {
  const user: Record<string, string> = {};
  if (spec.clientCertPem && spec.clientKeyPem) {
    user['client-certificate-data'] = b64(spec.clientCertPem);
    user['client-key-data'] = b64(spec.clientKeyPem);
  }
  if (spec.token) user.token = spec.token;
  if (spec.basic) {
    user.username = spec.basic.username;
    user.password = spec.basic.password;
  }
  return stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: 'skiff', cluster: { server: spec.server, 'certificate-authority-data': b64(spec.caPem) } }],
    users: [{ name: spec.user, user }],
    contexts: [{ name: 'skiff', context: { cluster: 'skiff', user: spec.user } }],
    'current-context': 'skiff',
    preferences: {},
  });
}
