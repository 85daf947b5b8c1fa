/**
 * NodeRestriction for pods: a node creates only mirror pods of its own static pods (bound to it,
 * owned by its Node, naming no service account, secret, ConfigMap, claim or trust bundle), deletes
 * only pods bound to it, and writes status only of pods bound to it, never their labels.
 */
import type { KubeObject } from 'skiff/sdk';

type Obj = Record<string, unknown>;
const objOf = (v: unknown): Obj => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Obj) : {});
const listOf = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);
const str = (v: unknown) => (typeof v === 'string' ? v : '');

export const MIRROR_ANNOTATION = 'kubernetes.io/config.mirror';

export const nodeNameOfPod = (pod: KubeObject | undefined) => str(objOf(pod?.spec).nodeName);

function containers(spec: Obj): Obj[] {
  return [...listOf(spec.containers), ...listOf(spec.initContainers), ...listOf(spec.ephemeralContainers)].map(objOf);
}

function hasSecretRef(value: unknown): boolean {
  return Object.entries(objOf(value)).some(
    ([key, v]) => (/secretRef$/i.test(key) && str(objOf(v).name) !== '') || (typeof v === 'object' && hasSecretRef(v)),
  );
}

/** Upstream's VisitPodSecretNames, answering only whether there is one. */
export function referencesSecrets(pod: KubeObject): boolean {
  const spec = objOf(pod.spec);
  if (listOf(spec.imagePullSecrets).length) return true;
  for (const c of containers(spec)) {
    if (listOf(c.envFrom).some((f) => str(objOf(objOf(f).secretRef).name))) return true;
    if (listOf(c.env).some((e) => str(objOf(objOf(objOf(e).valueFrom).secretKeyRef).name))) return true;
  }
  return listOf(spec.volumes).some((v) => {
    const volume = objOf(v);
    if (str(objOf(volume.secret).secretName)) return true;
    if (listOf(objOf(volume.projected).sources).some((s) => str(objOf(objOf(s).secret).name))) return true;
    const { secret: _, projected: __, ...others } = volume;
    return hasSecretRef(others);
  });
}

/** Upstream's VisitPodConfigmapNames, answering only whether there is one. */
export function referencesConfigMaps(pod: KubeObject): boolean {
  const spec = objOf(pod.spec);
  for (const c of containers(spec)) {
    if (listOf(c.envFrom).some((f) => str(objOf(objOf(f).configMapRef).name))) return true;
    if (listOf(c.env).some((e) => str(objOf(objOf(objOf(e).valueFrom).configMapKeyRef).name))) return true;
  }
  return listOf(spec.volumes).some((v) => {
    const volume = objOf(v);
    if (str(objOf(volume.configMap).name)) return true;
    return listOf(objOf(volume.projected).sources).some((s) => str(objOf(objOf(s).configMap).name));
  });
}

/** Why a node may not create this pod (upstream's admitPodCreate), or undefined. */
export function mirrorPodRefusal(node: string, pod: KubeObject, nodeUid: string | undefined): string | undefined {
  const annotations = (pod.metadata.annotations ?? {}) as Record<string, string>;
  if (annotations[MIRROR_ANNOTATION] === undefined) {
    return `pod does not have "${MIRROR_ANNOTATION}" annotation, node "${node}" can only create mirror pods`;
  }
  if (nodeNameOfPod(pod) !== node) return `node "${node}" can only create pods with spec.nodeName set to itself`;
  const owners = pod.metadata.ownerReferences ?? [];
  if (owners.length > 1) return `node "${node}" can only create pods with a single owner reference set to itself`;
  const owner = owners[0];
  if (owner?.apiVersion !== 'v1' || owner.kind !== 'Node' || owner.name !== node) {
    return `node "${node}" can only create pods with an owner reference set to itself`;
  }
  if (owner.controller !== true)
    return `node "${node}" can only create pods with a controller owner reference set to itself`;
  if (owner.blockOwnerDeletion === true) return `node "${node}" must not set blockOwnerDeletion on an owner reference`;
  if (owner.uid !== nodeUid) return `node ${node} UID mismatch: expected ${owner.uid} got ${nodeUid ?? ''}`;
  const spec = objOf(pod.spec);
  if (str(spec.serviceAccountName)) return `node "${node}" can not create pods that reference a service account`;
  if (referencesSecrets(pod)) return `node "${node}" can not create pods that reference secrets`;
  if (referencesConfigMaps(pod)) return `node "${node}" can not create pods that reference configmaps`;
  const volumes = listOf(spec.volumes).map(objOf);
  if (volumes.some((v) => listOf(objOf(v.projected).sources).some((s) => objOf(s).clusterTrustBundle))) {
    return `node "${node}" can not create pods that reference clustertrustbundles`;
  }
  if (volumes.some((v) => v.persistentVolumeClaim))
    return `node "${node}" can not create pods that reference persistentvolumeclaims`;
  return undefined;
}

export function labelsEqual(a: KubeObject | undefined, b: KubeObject | undefined): boolean {
  const x = (a?.metadata.labels ?? {}) as Record<string, string>;
  const y = (b?.metadata.labels ?? {}) as Record<string, string>;
  return Object.keys(x).length === Object.keys(y).length && Object.entries(x).every(([k, v]) => y[k] === v);
}
