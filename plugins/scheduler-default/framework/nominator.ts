/**
 * Pods nominated to a node by preemption (status.nominatedNodeName): while they wait for their
 * victims to go, other pods of lower or equal priority must not take the room made for them.
 * Upstream keeps this in the scheduling queue (its nominator).
 */
import type { PodInformation } from '../model/pod-info.js';

export class Nominator {
  private readonly byNode = new Map<string, PodInformation[]>();
  private readonly nodeOf = new Map<string, string>();

  /** Nominates the pod to `node` ('' removes the nomination). */
  nominate(pod: PodInformation, node: string): void {
    this.remove(pod.uid);
    if (!node) return;
    this.nodeOf.set(pod.uid, node);
    const list = this.byNode.get(node);
    if (list) list.push(pod);
    else this.byNode.set(node, [pod]);
  }

  remove(uid: string): void {
    const node = this.nodeOf.get(uid);
    if (node === undefined) return;
    this.nodeOf.delete(uid);
    const list = (this.byNode.get(node) ?? []).filter((p) => p.uid !== uid);
    if (list.length) this.byNode.set(node, list);
    else this.byNode.delete(node);
  }

  /** The pods nominated to run on `node`. */
  onNode(node: string): readonly PodInformation[] | undefined {
    return this.byNode.get(node);
  }

  nominatedNode(uid: string): string | undefined {
    return this.nodeOf.get(uid);
  }

  get empty(): boolean {
    return this.byNode.size === 0;
  }
}
