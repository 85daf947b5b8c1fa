import { expect } from 'chai';
import type { KubeObject } from '../../../core/api/types.js';
import type { ApiClient, ResourceRef } from '../../../core/client/types.js';
import { errors } from '../../../core/errors.js';
import {
  advertisedAddress,
  ensureDefaultNamespaces,
  ensureKubernetesService,
} from '../../../plugins/api-core-v1/bootstrap.js';
import type { Json } from './fake-store.js';

/** Just enough of an ApiClient: create/get/update on a map, AlreadyExists and NotFound as the API answers. */
function fakeClient() {
  const objects = new Map<string, KubeObject>();
  const calls: string[] = [];
  const key = (r: ResourceRef, ns: string, name: string) => `${r.resource}/${ns}/${name}`;
  let rv = 0;
  const client = {
    async create(r: ResourceRef, ns: string, obj: KubeObject) {
      calls.push(`create ${r.resource}/${obj.metadata.name}`);
      const k = key(r, ns, obj.metadata.name!);
      if (objects.has(k)) throw errors.alreadyExists({ group: '', resource: r.resource }, obj.metadata.name!);
      objects.set(k, { ...structuredClone(obj), metadata: { ...obj.metadata, resourceVersion: String(++rv) } });
      return objects.get(k)!;
    },
    async get(r: ResourceRef, ns: string, name: string) {
      const obj = objects.get(key(r, ns, name));
      if (!obj) throw errors.notFound({ group: '', resource: r.resource }, name);
      return structuredClone(obj);
    },
    async update(r: ResourceRef, ns: string, obj: KubeObject) {
      calls.push(`update ${r.resource}/${obj.metadata.name}`);
      objects.set(key(r, ns, obj.metadata.name!), structuredClone(obj));
      return obj;
    },
  };
  return { client: client as unknown as ApiClient, objects, calls };
}

describe('plugins/api-core-v1: bootstrap', () => {
  it('creates the default namespaces once; AlreadyExists is fine', async () => {
    const { client, objects } = fakeClient();
    await ensureDefaultNamespaces(client);
    await ensureDefaultNamespaces(client);
    expect([...objects.keys()]).to.deep.equal([
      'namespaces//default',
      'namespaces//kube-system',
      'namespaces//kube-public',
    ]);
  });

  it('creates the kubernetes service, and updates it only when the port changes', async () => {
    const { client, objects, calls } = fakeClient();
    await ensureKubernetesService(client, '127.96.0.1', 6443);
    const svc = objects.get('services/default/kubernetes')!;
    expect(svc.metadata.labels).to.deep.equal({ component: 'apiserver', provider: 'kubernetes' });
    expect(svc.spec).to.deep.include({ clusterIP: '127.96.0.1' });
    expect((svc.spec as Json).ports).to.deep.equal([{ name: 'https', port: 443, protocol: 'TCP', targetPort: 6443 }]);
    // The endpoints are the reconciler's (apiserver-endpoints.ts), not the bootstrap's.
    expect(objects.has('endpoints/default/kubernetes')).to.equal(false);

    calls.length = 0;
    await ensureKubernetesService(client, '127.96.0.1', 6443);
    expect(calls.filter((c) => c.startsWith('update'))).to.deep.equal([]);
    await ensureKubernetesService(client, '127.96.0.1', 7000);
    expect(calls.filter((c) => c.startsWith('update'))).to.deep.equal(['update services/kubernetes']);
    expect((objects.get('services/default/kubernetes')!.spec as Json).ports[0].targetPort).to.equal(7000);
  });

  it('advertises loopback for an unspecified bind address', () => {
    expect(advertisedAddress('0.0.0.0')).to.equal('127.0.0.1');
    expect(advertisedAddress('::')).to.equal('::1');
    expect(advertisedAddress('10.1.2.3')).to.equal('10.1.2.3');
  });
});
