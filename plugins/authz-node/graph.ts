/**
 * What upstream's Node authorizer keeps as a graph (node ← pod ← secret | configmap | pvc ← pv,
 * node ← pod → service account), answered here from the API server's watch caches: is there a pod
 * bound to this node that uses the object? Reads peek at the cache first and, when that finds
 * nothing, ask again consistently (a pod bound a moment ago is then seen), as admission plugins do.
 */
import type { CachedObjects, KubeObject } from 'skiff/sdk';

type Obj = Record<string, unknown>;
const objOf = (v: unknown): Obj => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Obj) : {});
const listOf = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);
const str = (v: unknown) => (typeof v === 'string' ? v : '');

export type Kind = 'secret' | 'configmap' | 'pvc' | 'serviceaccount';

function containers(spec: Obj): Obj[] {
  return [...listOf(spec.containers), ...listOf(spec.initContainers), ...listOf(spec.ephemeralContainers)].map(objOf);
}

/** Secret references kept anywhere below a volume (csi.nodePublishSecretRef, rbd.secretRef, ...). */
function nestedSecretRefs(value: unknown, out: Set<string>): void {
  for (const [key, v] of Object.entries(objOf(value))) {
    if (/secretRef$/i.test(key) && str(objOf(v).name)) out.add(str(objOf(v).name));
    else if (v && typeof v === 'object') nestedSecretRefs(v, out);
  }
}

/** Every object of `kind` a pod names (upstream's VisitPodSecretNames, VisitPodConfigmapNames, ...). */
export function podReferences(pod: KubeObject, kind: Kind): Set<string> {
  const spec = objOf(pod.spec);
  const out = new Set<string>();
  if (kind === 'serviceaccount') {
    const name = str(spec.serviceAccountName) || str(spec.serviceAccount);
    if (name) out.add(name);
    return out;
  }
  if (kind === 'secret')
    for (const s of listOf(spec.imagePullSecrets)) if (str(objOf(s).name)) out.add(str(objOf(s).name));
  for (const c of containers(spec)) {
    for (const from of listOf(c.envFrom).map(objOf)) {
      const ref = objOf(kind === 'secret' ? from.secretRef : from.configMapRef);
      if (kind !== 'pvc' && str(ref.name)) out.add(str(ref.name));
    }
    for (const env of listOf(c.env).map(objOf)) {
      const valueFrom = objOf(env.valueFrom);
      const ref = objOf(kind === 'secret' ? valueFrom.secretKeyRef : valueFrom.configMapKeyRef);
      if (kind !== 'pvc' && str(ref.name)) out.add(str(ref.name));
    }
  }
  for (const volume of listOf(spec.volumes).map(objOf)) volumeReferences(volume, kind, out);
  return out;
}

function volumeReferences(volume: Obj, kind: Kind, out: Set<string>): void {
  if (kind === 'pvc') {
    const claim = str(objOf(volume.persistentVolumeClaim).claimName);
    if (claim) out.add(claim);
    return;
  }
  const field = kind === 'secret' ? 'secret' : 'configMap';
  const direct = objOf(volume[field]);
  const name = kind === 'secret' ? str(direct.secretName) : str(direct.name);
  if (name) out.add(name);
  for (const source of listOf(objOf(volume.projected).sources).map(objOf)) {
    const projected = str(objOf(source[field]).name);
    if (projected) out.add(projected);
  }
  if (kind === 'secret') {
    const { secret: _, projected: __, ...others } = volume;
    nestedSecretRefs(others, out);
  }
}

const boundTo = (pod: KubeObject, node: string) => str(objOf(pod.spec).nodeName) === node;

export class NodeGraph {
  constructor(private readonly cache: CachedObjects) {}

  /** Whether a pod bound to `node` in `namespace` uses the `kind` named `name`. */
  async podUses(node: string, kind: Kind, namespace: string, name: string): Promise<boolean> {
    const uses = (pods: KubeObject[]) => pods.some((p) => boundTo(p, node) && podReferences(p, kind).has(name));
    if (uses(this.cache.peekList('', 'v1', 'pods', namespace))) return true;
    return uses(await this.cache.list('', 'v1', 'pods', namespace));
  }

  /** Whether a persistent volume is bound to a claim a pod on `node` uses. */
  async volumeUsed(node: string, pv: string): Promise<boolean> {
    const volume = await this.cache.get('', 'v1', 'persistentvolumes', '', pv);
    const claimRef = objOf(objOf(volume?.spec).claimRef);
    if (!str(claimRef.name)) return false;
    return this.podUses(node, 'pvc', str(claimRef.namespace), str(claimRef.name));
  }

  /** Whether a pod bound to `node` has this name (and uid, when given). */
  async podBound(node: string, namespace: string, name: string): Promise<boolean> {
    const pod =
      this.cache.peek('', 'v1', 'pods', namespace, name) ?? (await this.cache.get('', 'v1', 'pods', namespace, name));
    return pod !== undefined && boundTo(pod, node);
  }
}
