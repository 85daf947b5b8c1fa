/**
 * A node with the pods on it (bound, or assumed by this scheduler) and what they add up to:
 * upstream's framework.NodeInfo. Filter and Score read these fields for every node, so everything
 * they need is kept ready here rather than derived from the Node object each time.
 */
import type { KubeObject } from 'skiff/sdk';
import type { NodeInfo, Resource } from 'skiff/sdk/scheduler';
import type { HostPort, PodInformation } from './pod-info.js';
import { addList, addResource, cloneResource, emptyResource } from './resource.js';
import type { Labels } from './selectors.js';
import { type Taint, taintsOf } from './taints.js';

type Obj = Record<string, unknown>;
const obj = (v: unknown): Obj => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Obj) : {});
const EMPTY_LABELS: Labels = Object.freeze({});

/** An image on nodes: its size, and on how many nodes it is (ImageLocality's spread). */
export interface ImageState {
  size: number;
  nodes: Set<string>;
}

/** Host ports in use: "ip/protocol/port" entries (upstream's HostPortInfo). */
export class HostPortSet {
  private readonly used = new Map<string, number>();

  private static key(ip: string, protocol: string, port: number) {
    return `${ip}/${protocol}/${port}`;
  }

  add(p: HostPort, delta = 1): void {
    const key = HostPortSet.key(p.ip, p.protocol, p.port);
    const n = (this.used.get(key) ?? 0) + delta;
    if (n <= 0) this.used.delete(key);
    else this.used.set(key, n);
  }

  /** 0.0.0.0 conflicts with every address using that protocol and port, and the other way round. */
  conflicts(p: HostPort): boolean {
    if (this.used.size === 0) return false;
    if (p.ip === '0.0.0.0') {
      const suffix = `/${p.protocol}/${p.port}`;
      for (const key of this.used.keys()) if (key.endsWith(suffix)) return true;
      return false;
    }
    return (
      this.used.has(HostPortSet.key(p.ip, p.protocol, p.port)) ||
      this.used.has(HostPortSet.key('0.0.0.0', p.protocol, p.port))
    );
  }

  get size(): number {
    return this.used.size;
  }

  clone(): HostPortSet {
    const c = new HostPortSet();
    for (const [k, v] of this.used) c.used.set(k, v);
    return c;
  }
}

/** One plugin's last answer for this node: valid while the node's generation and the key are the same. */
interface NodeMemo {
  owner: object;
  generation: number;
  key: unknown;
  value: unknown;
}

/** What `recall` gives when nothing valid is remembered. */
export const NOT_REMEMBERED: unique symbol = Symbol('not remembered');

export class NodeInformation implements NodeInfo {
  node: KubeObject = { metadata: {} };
  name: string;
  labels: Labels = EMPTY_LABELS;
  taints: Taint[] = [];
  unschedulable = false;
  allocatable: Resource = emptyResource();
  /** Images by name as node status lists them, sized; shared ImageState objects from the cache. */
  images = new Map<string, ImageState>();
  pods: PodInformation[] = [];
  podsWithAffinity: PodInformation[] = [];
  podsWithRequiredAntiAffinity: PodInformation[] = [];
  requested: Resource = emptyResource();
  nonZeroRequested: Resource = emptyResource();
  usedPorts = new HostPortSet();
  /** PersistentVolumeClaims in use on the node, "namespace/name" → pods using it. */
  pvcRefCounts = new Map<string, number>();
  /** Bumped on every change, so a copy can tell it is stale. */
  generation = 0;
  /** Answers plugins remember until the node changes (see recall); a clone starts without any. */
  private memos: NodeMemo[] = [];

  constructor(name: string, node?: KubeObject) {
    this.name = name;
    if (node) this.setNode(node);
  }

  /** Whether a Node object stands behind this entry (pods may arrive before their node). */
  get hasNode(): boolean {
    return this.node.metadata.name !== undefined;
  }

  setNode(node: KubeObject): void {
    this.node = node;
    this.labels = (node.metadata.labels as Labels | undefined) ?? EMPTY_LABELS;
    const spec = obj(node.spec);
    this.taints = taintsOf(spec);
    this.unschedulable = spec.unschedulable === true;
    const allocatable = emptyResource();
    addList(allocatable, obj(obj(node.status).allocatable));
    this.allocatable = allocatable;
    this.generation++;
  }

  addPod(p: PodInformation): void {
    this.pods.push(p);
    if (p.hasAffinity) this.podsWithAffinity.push(p);
    if (p.hasRequiredAntiAffinity) this.podsWithRequiredAntiAffinity.push(p);
    this.account(p, 1);
  }

  /** Removes the pod with this uid; false when it is not here. */
  removePod(uid: string): boolean {
    const i = this.pods.findIndex((p) => p.uid === uid);
    if (i < 0) return false;
    const p = this.pods[i]!;
    this.pods.splice(i, 1);
    const drop = (list: PodInformation[]) => {
      const j = list.findIndex((q) => q.uid === uid);
      if (j >= 0) list.splice(j, 1);
    };
    if (p.hasAffinity) drop(this.podsWithAffinity);
    if (p.hasRequiredAntiAffinity) drop(this.podsWithRequiredAntiAffinity);
    this.account(p, -1);
    return true;
  }

  private account(p: PodInformation, sign: number): void {
    addResource(this.requested, p.requests, sign);
    this.nonZeroRequested.milliCPU += sign * p.nonZeroRequests.milliCPU;
    this.nonZeroRequested.memory += sign * p.nonZeroRequests.memory;
    for (const port of p.hostPorts) this.usedPorts.add(port, sign);
    for (const claim of claimsOf(p)) {
      const n = (this.pvcRefCounts.get(claim) ?? 0) + sign;
      if (n <= 0) this.pvcRefCounts.delete(claim);
      else this.pvcRefCounts.set(claim, n);
    }
    this.generation++;
  }

  /**
   * What `owner` remembered for `key` (compared by identity) at this generation: a plugin whose
   * answer depends only on the node and a value pods share (their requests) answers a node once
   * between two of its changes, where it is asked for hundreds of pods.
   */
  recall(owner: object, key: unknown): unknown {
    for (const m of this.memos) {
      if (m.owner === owner) return m.generation === this.generation && m.key === key ? m.value : NOT_REMEMBERED;
    }
    return NOT_REMEMBERED;
  }

  remember(owner: object, key: unknown, value: unknown): void {
    for (const m of this.memos) {
      if (m.owner !== owner) continue;
      m.generation = this.generation;
      m.key = key;
      m.value = value;
      return;
    }
    this.memos.push({ owner, generation: this.generation, key, value });
  }

  /** A copy preemption can add pods to and remove pods from without touching the cache. */
  clone(): NodeInformation {
    const c = new NodeInformation(this.name);
    c.node = this.node;
    c.labels = this.labels;
    c.taints = this.taints;
    c.unschedulable = this.unschedulable;
    c.allocatable = this.allocatable;
    c.images = this.images;
    c.pods = [...this.pods];
    c.podsWithAffinity = [...this.podsWithAffinity];
    c.podsWithRequiredAntiAffinity = [...this.podsWithRequiredAntiAffinity];
    c.requested = cloneResource(this.requested);
    c.nonZeroRequested = cloneResource(this.nonZeroRequested);
    c.usedPorts = this.usedPorts.clone();
    c.pvcRefCounts = new Map(this.pvcRefCounts);
    c.generation = this.generation;
    return c;
  }
}

/** "namespace/claim" for each PersistentVolumeClaim volume of the pod. */
export function claimsOf(p: PodInformation): string[] {
  const volumes = p.spec.volumes;
  if (!Array.isArray(volumes) || volumes.length === 0) return [];
  const out: string[] = [];
  for (const v of volumes) {
    const claim = obj(obj(v).persistentVolumeClaim).claimName;
    if (typeof claim === 'string' && claim) out.push(`${p.namespace}/${claim}`);
  }
  return out;
}
