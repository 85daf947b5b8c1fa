/**
 * What every cluster starts with: the default namespaces, and the `kubernetes` service in `default`
 * (upstream's bootstrap controller). Its endpoints, which list every live API server, are kept by
 * apiserver-endpoints.ts.
 */
import type { ServiceSpec } from 'kubernetes-types/core/v1.js';
import { type KubeObject, StatusError } from 'skiff/sdk/api';
import { type ApiClient, CORE_V1 } from 'skiff/sdk/client';
import { canonical } from './field.js';

export const DEFAULT_NAMESPACES = ['default', 'kube-system', 'kube-public'];

const isCode = (err: unknown, code: number) => err instanceof StatusError && err.code === code;

/**
 * Create unless present; AlreadyExists means another server (or an earlier start) did it. Looks
 * first, as upstream's bootstrap does, so a restart writes nothing and passes admission untouched.
 */
async function createIfMissing(
  client: ApiClient,
  resource: string,
  namespace: string,
  obj: KubeObject,
): Promise<boolean> {
  try {
    await client.get(CORE_V1(resource), namespace, obj.metadata.name ?? '');
    return false;
  } catch (err) {
    if (!isCode(err, 404)) throw err;
  }
  try {
    await client.create(CORE_V1(resource), namespace, obj);
    return true;
  } catch (err) {
    if (isCode(err, 409)) return false;
    throw err;
  }
}

export async function ensureDefaultNamespaces(client: ApiClient): Promise<void> {
  for (const name of DEFAULT_NAMESPACES) await createIfMissing(client, 'namespaces', '', { metadata: { name } });
}

export interface ApiServerEndpoint {
  /** The address clients reach the server at; an unspecified bind address is advertised as loopback. */
  address: string;
  port: number;
}

export function advertisedAddress(bind: string): string {
  return bind === '0.0.0.0' || bind === '' ? '127.0.0.1' : bind === '::' ? '::1' : bind;
}

function kubernetesService(clusterIP: string, port: number): KubeObject {
  const spec: ServiceSpec = {
    type: 'ClusterIP',
    clusterIP,
    sessionAffinity: 'None',
    ports: [{ name: 'https', port: 443, protocol: 'TCP', targetPort: port }],
  };
  return {
    metadata: { name: 'kubernetes', namespace: 'default', labels: { component: 'apiserver', provider: 'kubernetes' } },
    spec,
  };
}

/** The spec of a service this server wrote or read back (so validated as one). */
const specOf = (svc: KubeObject) => (svc.spec ?? {}) as ServiceSpec;

/** Replace `fields` of the stored object when they differ; a concurrent writer wins (409 is fine). */
async function reconcile(client: ApiClient, resource: string, desired: KubeObject, fields: (o: KubeObject) => unknown) {
  if (await createIfMissing(client, resource, 'default', desired)) return;
  const current = await client.get(CORE_V1(resource), 'default', 'kubernetes');
  if (canonical(fields(current)) === canonical(fields(desired))) return;
  try {
    await client.update(CORE_V1(resource), 'default', merge(current, desired));
  } catch (err) {
    if (!isCode(err, 409)) throw err;
  }
}

function merge(current: KubeObject, desired: KubeObject): KubeObject {
  return { ...current, spec: { ...specOf(current), ports: specOf(desired).ports } };
}

const servicePorts = (o: KubeObject) =>
  (specOf(o).ports ?? []).map(({ name, port, targetPort }) => ({ name, port, targetPort }));

/**
 * The kubernetes service (cluster IP fixed at the range's first address), its target port this
 * server's: servers sharing a store are expected to serve the same port, as upstream's are.
 */
export async function ensureKubernetesService(client: ApiClient, clusterIP: string, port: number): Promise<void> {
  await reconcile(client, 'services', kubernetesService(clusterIP, port), servicePorts);
}
