/**
 * What a TokenRequest's spec.boundObjectRef binds the token to, as upstream's token REST
 * (pkg/registry/core/serviceaccount/storage/token.go): a Pod running as the service account (its
 * node named too, as ServiceAccountTokenPodNodeInfo), a Secret, or a Node
 * (ServiceAccountTokenNodeBinding), all core group; anything else is a 400, a uid that does not
 * match a 409.
 */
import { errors } from 'skiff/sdk';
import type { KubeObject } from 'skiff/sdk/api';
import type { BoundObject, Lookup, NodeClaim } from './tokens.js';

interface Ref {
  apiVersion?: string;
  kind?: string;
  name?: string;
  uid?: string;
}

const KINDS = { Pod: 'pods', Secret: 'secrets', Node: 'nodes' } as const;
type BindableKind = keyof typeof KINDS;

export async function binding(
  ref: unknown,
  serviceAccount: string,
  namespace: string,
  lookup: Lookup,
): Promise<{ boundObject?: BoundObject; node?: NodeClaim }> {
  if (!ref || typeof ref !== 'object') return {};
  const r = ref as Ref;
  const kind = bindableKind(r, serviceAccount);
  const found = await lookup(kind, kind === 'Node' ? '' : namespace, r.name ?? '');
  if (!found) throw errors.notFound({ group: '', resource: KINDS[kind] }, r.name ?? '');
  // A pod the ServiceAccount admission plugin did not see (it is off) runs as "default", as the kubelet assumes.
  const spec = (found.spec ?? {}) as { serviceAccountName?: string; nodeName?: string };
  if (kind === 'Pod' && (spec.serviceAccountName || 'default') !== serviceAccount) {
    throw errors.badRequest(
      `cannot bind token for serviceaccount "${serviceAccount}" to pod running with different serviceaccount name.`,
    );
  }
  if (r.uid && r.uid !== found.metadata.uid) {
    throw errors.conflict(
      { group: '', resource: kind },
      r.name ?? '',
      `the UID in the bound object reference (${r.uid}) does not match the UID in record. The object might have been deleted and then recreated`,
    );
  }
  const boundObject = { kind, name: found.metadata.name!, uid: found.metadata.uid! };
  if (kind === 'Node') return { boundObject, node: { name: boundObject.name, uid: boundObject.uid } };
  if (kind === 'Pod' && spec.nodeName) return { boundObject, node: await nodeOfPod(spec.nodeName, lookup) };
  return { boundObject };
}

function bindableKind(r: Ref, serviceAccount: string): BindableKind {
  const [group, version] = r.apiVersion?.includes('/') ? r.apiVersion.split('/') : ['', r.apiVersion ?? ''];
  if (group === '' && r.kind && Object.hasOwn(KINDS, r.kind)) return r.kind as BindableKind;
  throw errors.badRequest(
    `cannot bind token for serviceaccount "${serviceAccount}" to object of type ${group}/${version}, Kind=${r.kind ?? ''}`,
  );
}

/** The pod's node by name, and by uid when that Node exists (upstream embeds the name either way). */
async function nodeOfPod(name: string, lookup: Lookup): Promise<NodeClaim> {
  const node: KubeObject | undefined = await lookup('Node', '', name).catch(() => undefined);
  return node?.metadata.uid ? { name, uid: node.metadata.uid } : { name };
}
