/**
 * Upstream's admitServiceAccount: a node may mint a service-account token only bound to a pod
 * (by name and uid) that is scheduled on that node, so the token dies with the pod and never
 * serves the node beyond the pods it runs. The Node authorizer has already checked the node runs
 * some pod as that account; this closes the gap of binding to a pod on another node, or to none.
 */
import type { AdmissionAttributes, KubeObject } from 'skiff/sdk';

type PodLookup = (namespace: string, name: string) => KubeObject | undefined | Promise<KubeObject | undefined>;

interface BoundObjectRef {
  apiVersion?: string;
  kind?: string;
  name?: string;
  uid?: string;
}

export async function tokenRequestRefusal(
  a: AdmissionAttributes,
  node: string,
  pods: PodLookup,
): Promise<string | undefined> {
  if (a.operation !== 'CREATE') return `unexpected operation "${a.operation}"`;
  if (a.subresource !== 'token') return `unexpected subresource "${a.subresource}"`;
  const spec = (a.object?.spec ?? {}) as { boundObjectRef?: BoundObjectRef };
  const ref = spec.boundObjectRef;
  if (ref?.apiVersion !== 'v1' || ref.kind !== 'Pod' || !ref.name) {
    return 'node requested token not bound to a pod';
  }
  if (!ref.uid) return 'node requested token with a pod binding without a uid';
  const pod = await pods(a.namespace, ref.name);
  // A missing pod is the token endpoint's own 404 (it looks the pod up again).
  if (!pod) return undefined;
  if (pod.metadata.uid !== ref.uid) {
    return `the UID in the bound object reference (${ref.uid}) does not match the UID in record. The object might have been deleted and then recreated`;
  }
  if ((pod.spec as { nodeName?: string } | undefined)?.nodeName !== node) {
    return 'node requested token bound to a pod scheduled on a different node';
  }
  return undefined;
}
