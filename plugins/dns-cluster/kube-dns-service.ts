/**
 * The `kube-dns` Service in kube-system, as kubeadm creates it for CoreDNS: no selector (the DNS
 * server is not a pod here), the ClusterIP pods are given as their nameserver (the tenth address
 * of the service range by default, 10.96.0.10 for 10.96.0.0/16), ports `dns` 53/UDP and
 * `dns-tcp` 53/TCP; and its Endpoints, which point at where this process's DNS server listens.
 * The service proxy then carries ClusterIP:53 to it, from the host and from pods.
 */
import type { Logger } from 'pino';
import { type ApiClient, CORE_V1, isStatusError, type KubeObject } from 'skiff/sdk';

export const KUBE_DNS = { namespace: 'kube-system', name: 'kube-dns' };

/** The address at this offset of the range: 10.96.0.0/16, 10 → 10.96.0.10. */
export function addressInRange(cidr: string, offset: number): string {
  const [ip = ''] = cidr.split('/');
  const n = ip.split('.').reduce((acc, part) => acc * 256 + Number(part), 0) + offset;
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}

const dnsPorts = (port: number) => [
  { name: 'dns', port, protocol: 'UDP' },
  { name: 'dns-tcp', port, protocol: 'TCP' },
];

async function createOrReplace(client: ApiClient, resource: string, obj: KubeObject): Promise<void> {
  const ref = CORE_V1(resource);
  try {
    await client.create(ref, KUBE_DNS.namespace, obj);
  } catch (err) {
    if (!isStatusError(err) || err.code !== 409) throw err;
    const current = await client.get(ref, KUBE_DNS.namespace, KUBE_DNS.name);
    if (resource === 'services') return; // an existing service (and its ClusterIP) is kept
    await client.update(ref, KUBE_DNS.namespace, {
      ...obj,
      metadata: { ...obj.metadata, resourceVersion: current.metadata.resourceVersion },
    });
  }
}

export async function ensureKubeDns(
  client: ApiClient,
  clusterIP: string,
  server: { ip: string; port: number } | undefined,
  logger: Logger,
): Promise<void> {
  const metadata = {
    name: KUBE_DNS.name,
    namespace: KUBE_DNS.namespace,
    labels: { 'k8s-app': 'kube-dns', 'kubernetes.io/name': 'CoreDNS' },
  };
  try {
    await createOrReplace(client, 'services', {
      apiVersion: 'v1',
      kind: 'Service',
      metadata,
      spec: { clusterIP, ports: dnsPorts(53).map((p) => ({ ...p, targetPort: 53 })) },
    });
  } catch (err) {
    logger.error(
      { err, clusterIP, code: 'SKIFF_DNS_SERVICE' },
      'cannot create the kube-dns service: pods will find no nameserver at this address (fix: give dns-cluster a free clusterIP of the service range)',
    );
  }
  await createOrReplace(client, 'endpoints', {
    apiVersion: 'v1',
    kind: 'Endpoints',
    metadata,
    subsets: server ? [{ addresses: [{ ip: server.ip }], ports: dnsPorts(server.port) }] : [],
  });
}
