/**
 * The scheduler's cache: every node with the pods on it, including pods this scheduler has
 * assumed (placed in its own books at the end of a scheduling cycle, before the binding is even
 * written). Assuming is what lets the next pod see the previous one's resources at once, and what
 * keeps a pod from being placed twice. The informer's update showing the pod bound confirms an
 * assumed pod; a failed binding forgets it. Upstream's internal/cache, without its TTL (upstream
 * 1.32 never expires assumed pods either).
 *
 * Scheduling cycles run without yielding, so the cache is also the cycle's snapshot: nothing can
 * change it while a pod's filters and scores run.
 */
import type { KubeObject } from 'skiff/sdk';
import { type ImageState, NodeInformation } from '../model/node-info.js';
import { PodInformation } from '../model/pod-info.js';

type Obj = Record<string, unknown>;
const obj = (v: unknown): Obj => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Obj) : {});

interface PodState {
  info: PodInformation;
  assumed: boolean;
}

const ZONE = 'topology.kubernetes.io/zone';
const REGION = 'topology.kubernetes.io/region';
const zoneOf = (n: NodeInformation) => `${n.labels[REGION] ?? ''}:\u0000:${n.labels[ZONE] ?? ''}`;

export class SchedulerCache {
  readonly nodes = new Map<string, NodeInformation>();
  private readonly pods = new Map<string, PodState>();
  readonly images = new Map<string, ImageState>();
  private order?: NodeInformation[];
  private withAffinity?: NodeInformation[];
  private withAntiAffinity?: NodeInformation[];

  /**
   * The nodes, zones interleaved (upstream's nodeTree: the first node of each zone, then the
   * second of each, ...), so a search that stops early still spreads pods across zones.
   */
  nodeList(): NodeInformation[] {
    if (this.order) return this.order;
    const zones = new Map<string, NodeInformation[]>();
    for (const n of this.nodes.values()) {
      if (!n.hasNode) continue;
      const z = zoneOf(n);
      const list = zones.get(z);
      if (list) list.push(n);
      else zones.set(z, [n]);
    }
    const lists = [...zones.values()];
    const total = lists.reduce((sum, l) => sum + l.length, 0);
    const out: NodeInformation[] = [];
    for (let i = 0; out.length < total; i++) {
      for (const l of lists) if (i < l.length) out.push(l[i]!);
    }
    this.order = out;
    return out;
  }

  havePodsWithAffinity(): NodeInformation[] {
    this.withAffinity ??= this.nodeList().filter((n) => n.podsWithAffinity.length > 0);
    return this.withAffinity;
  }

  havePodsWithRequiredAntiAffinity(): NodeInformation[] {
    this.withAntiAffinity ??= this.nodeList().filter((n) => n.podsWithRequiredAntiAffinity.length > 0);
    return this.withAntiAffinity;
  }

  private reorder(): void {
    this.order = undefined;
    this.affinityChanged();
  }

  private affinityChanged(): void {
    this.withAffinity = undefined;
    this.withAntiAffinity = undefined;
  }

  private entry(name: string): NodeInformation {
    let n = this.nodes.get(name);
    if (!n) {
      n = new NodeInformation(name);
      this.nodes.set(name, n);
    }
    return n;
  }

  addNode(node: KubeObject): NodeInformation {
    const n = this.entry(node.metadata.name ?? '');
    const zoneBefore = n.hasNode ? zoneOf(n) : undefined;
    this.setImages(n, node);
    n.setNode(node);
    if (zoneBefore !== zoneOf(n)) this.reorder();
    return n;
  }

  /** The node is gone; its entry stays while pods still name it (they will be deleted too). */
  removeNode(name: string): void {
    const n = this.nodes.get(name);
    if (!n) return;
    this.setImages(n, undefined);
    if (n.pods.length === 0) this.nodes.delete(name);
    else n.node = { metadata: {} };
    this.reorder();
  }

  private setImages(n: NodeInformation, node: KubeObject | undefined): void {
    for (const [name, state] of n.images) {
      state.nodes.delete(n.name);
      if (state.nodes.size === 0) this.images.delete(name);
    }
    n.images = new Map();
    for (const image of Array.isArray(obj(node?.status).images) ? (obj(node?.status).images as unknown[]) : []) {
      const { names, sizeBytes } = obj(image);
      for (const name of Array.isArray(names) ? names.map(String) : []) {
        let state = this.images.get(name);
        if (!state) {
          state = { size: Number(sizeBytes ?? 0), nodes: new Set() };
          this.images.set(name, state);
        }
        state.size = Number(sizeBytes ?? state.size);
        state.nodes.add(n.name);
        n.images.set(name, state);
      }
    }
  }

  isAssumed(uid: string): boolean {
    return this.pods.get(uid)?.assumed === true;
  }

  /** Whether the cache holds the pod (bound or assumed). */
  has(uid: string): boolean {
    return this.pods.has(uid);
  }

  get podCount(): number {
    return this.pods.size;
  }

  /** Books `info` (already carrying its node name) on its node before the binding is written. */
  assume(info: PodInformation): void {
    if (this.pods.has(info.uid)) throw new Error(`pod ${info.key} is already in the scheduler cache`);
    this.place(info, true);
  }

  /** The binding failed: take the assumed pod off its node again. */
  forget(uid: string): void {
    const state = this.pods.get(uid);
    if (state?.assumed) this.unplace(state);
  }

  private place(info: PodInformation, assumed: boolean): void {
    this.pods.set(info.uid, { info, assumed });
    this.entry(info.nodeName).addPod(info);
    if (info.hasAffinity) this.affinityChanged();
  }

  private unplace(state: PodState): void {
    this.pods.delete(state.info.uid);
    const n = this.nodes.get(state.info.nodeName);
    n?.removePod(state.info.uid);
    if (n && !n.hasNode && n.pods.length === 0) this.nodes.delete(n.name);
    if (state.info.hasAffinity) this.affinityChanged();
  }

  /** A pod seen bound to a node (added or updated): confirms an assumed pod, or replaces what was booked. */
  addOrUpdatePod(pod: KubeObject): void {
    const uid = pod.metadata.uid ?? '';
    const nodeName = String(obj(pod.spec).nodeName ?? '');
    const state = this.pods.get(uid);
    if (state?.assumed && state.info.nodeName === nodeName) {
      // Confirmed: keep what was computed, point at the object the informer holds.
      state.info.pod = pod;
      state.assumed = false;
      return;
    }
    // The same version of a pod already booked (an informer relist): nothing to do.
    if (state && !state.assumed && state.info.pod.metadata.resourceVersion === pod.metadata.resourceVersion) return;
    if (state) this.unplace(state);
    this.place(new PodInformation(pod, nodeName), false);
  }

  removePod(uid: string): PodInformation | undefined {
    const state = this.pods.get(uid);
    if (!state) return undefined;
    this.unplace(state);
    return state.info;
  }

  podInfo(uid: string): PodInformation | undefined {
    return this.pods.get(uid)?.info;
  }
}
