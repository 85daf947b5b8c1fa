/** The pods bound to each node (upstream's spec.nodeName pod index), fed by a pod informer. */
import { type ChangeType, type KubeObject, objectKey } from 'skiff/sdk';

export const nodeNameOf = (pod: KubeObject) => (pod.spec as { nodeName?: string } | undefined)?.nodeName ?? '';

export class PodsByNode {
  private readonly byNode = new Map<string, Map<string, KubeObject>>();
  private readonly nodeOf = new Map<string, string>();

  /** Records the change; returns the pod's node before it (undefined for a new pod). */
  changed(type: ChangeType, pod: KubeObject): string | undefined {
    const key = objectKey(pod);
    const before = this.nodeOf.get(key);
    if (before !== undefined) {
      const pods = this.byNode.get(before);
      pods?.delete(key);
      if (pods?.size === 0) this.byNode.delete(before);
      this.nodeOf.delete(key);
    }
    const node = nodeNameOf(pod);
    if (type !== 'DELETED') {
      let pods = this.byNode.get(node);
      if (!pods) {
        pods = new Map();
        this.byNode.set(node, pods);
      }
      pods.set(key, pod);
      this.nodeOf.set(key, node);
    }
    return before;
  }

  on(node: string): KubeObject[] {
    return node ? [...(this.byNode.get(node)?.values() ?? [])] : [];
  }
}
