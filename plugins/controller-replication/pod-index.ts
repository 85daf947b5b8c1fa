/**
 * The pods an informer holds, by namespace, with each pod's previous copy at hand when it changes:
 * a sync reads only its own namespace's pods, and a change can be compared with what came before
 * (labels, controller reference, readiness), as upstream's update handlers compare old and new.
 */
import type { ChangeType, KubeObject } from 'skiff/sdk';

export class PodIndex {
  private readonly byNamespace = new Map<string, Map<string, KubeObject>>();

  /** Records the change; returns the copy it replaces (undefined for a new pod). */
  apply(type: ChangeType, pod: KubeObject): KubeObject | undefined {
    const namespace = pod.metadata.namespace ?? '';
    const name = pod.metadata.name ?? '';
    let pods = this.byNamespace.get(namespace);
    const old = pods?.get(name);
    if (type === 'DELETED') {
      pods?.delete(name);
      if (pods?.size === 0) this.byNamespace.delete(namespace);
      return old;
    }
    if (!pods) {
      pods = new Map();
      this.byNamespace.set(namespace, pods);
    }
    pods.set(name, pod);
    return old;
  }

  inNamespace(namespace: string): KubeObject[] {
    return [...(this.byNamespace.get(namespace)?.values() ?? [])];
  }
}

export const podKey = (pod: KubeObject) => `${pod.metadata.namespace ?? ''}/${pod.metadata.name ?? ''}`;

export function sameLabels(a: KubeObject, b: KubeObject): boolean {
  const x = a.metadata.labels ?? {};
  const y = b.metadata.labels ?? {};
  const keys = Object.keys(x);
  return keys.length === Object.keys(y).length && keys.every((k) => x[k] === y[k]);
}
