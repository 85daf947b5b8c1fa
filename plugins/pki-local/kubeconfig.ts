/** Kubeconfig files with embedded credentials, as kubeadm and k3s write them. */
import { parse, stringify } from 'yaml';

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

/** https://host:port, with an IPv6 host in brackets. */
export function httpsUrl(host: string, port: number): string {
  return `https://${host.includes(':') ? `[${host}]` : host}:${port}`;
}

/** The server a kubeconfig this plugin wrote points at (its first cluster's); undefined if unreadable. */
export function kubeconfigServer(yaml: string): string | undefined {
  try {
    const config = parse(yaml) as { clusters?: { cluster?: { server?: unknown } }[] } | null;
    const server = config?.clusters?.[0]?.cluster?.server;
    return typeof server === 'string' ? server : undefined;
  } catch {
    return undefined;
  }
}
