/**
 * The scoring shared by NodeResourcesFit (LeastAllocated, MostAllocated, RequestedToCapacityRatio)
 * and NodeResourcesBalancedAllocation: for each configured resource, what the node would have
 * requested with the pod on it against what it can allocate, combined by the strategy. Integer
 * arithmetic where upstream's is integer, so scores (and ties) come out the same.
 */
import { MAX_NODE_SCORE } from 'skiff/sdk/scheduler';
import { NOT_REMEMBERED, type NodeInformation } from '../model/node-info.js';
import type { PodInformation } from '../model/pod-info.js';
import { amountOf, isScalarResource } from '../model/resource.js';

export interface ResourceSpec {
  name: string;
  weight: number;
}

export type Scorer = (requested: Float64Array, allocatable: Float64Array) => number;

/** The pod's request of each resource; with `useRequested` false, cpu/memory get upstream's defaults. */
export function podRequestList(
  pod: PodInformation,
  resources: readonly ResourceSpec[],
  useRequested: boolean,
): number[] {
  return resources.map((r) => {
    if (!useRequested && (r.name === 'cpu' || r.name === 'memory')) return amountOf(pod.nonZeroRequests, r.name);
    return amountOf(pod.requests, r.name);
  });
}

/**
 * Scores nodes for one plugin: its resources, strategy and work arrays (reused for every node:
 * scheduling cycles never interleave, and Score runs for hundreds of nodes per pod).
 */
const CPU = 0;
const MEMORY = 1;
const EPHEMERAL = 2;
const SCALAR = 3;
/** Distinct request lists kept for sharing; past this many the list starts over. */
const MAX_SHARED_REQUESTS = 1024;

export class ResourceScorer {
  private readonly requested: Float64Array;
  private readonly allocatable: Float64Array;
  /** Each resource's kind, worked out once (Score compares no strings per node). */
  private readonly kinds: Int8Array;
  private readonly shared = new Map<string, number[]>();

  constructor(
    readonly resources: readonly ResourceSpec[],
    private readonly scorer: Scorer,
    private readonly useRequested: boolean,
  ) {
    this.requested = new Float64Array(resources.length);
    this.allocatable = new Float64Array(resources.length);
    const kind = (name: string) =>
      name === 'cpu' ? CPU : name === 'memory' ? MEMORY : name === 'ephemeral-storage' ? EPHEMERAL : SCALAR;
    this.kinds = Int8Array.from(resources.map((r) => kind(r.name)));
  }

  /**
   * The pod's requests as one shared array per distinct value: pods of one template share it, so a
   * node's remembered score (which compares the array, not its numbers) serves all of them.
   */
  intern(requests: number[]): number[] {
    const key = requests.join(',');
    let shared = this.shared.get(key);
    if (!shared) {
      if (this.shared.size >= MAX_SHARED_REQUESTS) this.shared.clear();
      shared = requests;
      this.shared.set(key, shared);
    }
    return shared;
  }

  /**
   * The node's score, remembered until the node changes (its generation moves on with every pod
   * added or removed): a node is scored for hundreds of pods between two changes of its own.
   */
  score(node: NodeInformation, podRequests: readonly number[]): number {
    const known = node.recall(this, podRequests);
    if (known !== NOT_REMEMBERED) return known as number;
    const score = this.compute(node, podRequests);
    node.remember(this, podRequests, score);
    return score;
  }

  private compute(node: NodeInformation, podRequests: readonly number[]): number {
    const requested = this.requested;
    const allocatable = this.allocatable;
    const used = this.useRequested ? node.requested : node.nonZeroRequested;
    for (let i = 0; i < this.kinds.length; i++) {
      const pod = podRequests[i]!;
      let alloc = 0;
      let req = 0;
      switch (this.kinds[i]) {
        case CPU:
          alloc = node.allocatable.milliCPU;
          req = used.milliCPU + pod;
          break;
        case MEMORY:
          alloc = node.allocatable.memory;
          req = used.memory + pod;
          break;
        case EPHEMERAL:
          alloc = node.allocatable.ephemeralStorage;
          req = node.requested.ephemeralStorage + pod;
          break;
        default:
          [alloc, req] = this.scalar(node, this.resources[i]!.name, pod);
      }
      allocatable[i] = alloc;
      requested[i] = alloc === 0 ? 0 : req;
    }
    return this.scorer(requested, allocatable);
  }

  /** An extended resource the pod does not ask for is not scored ([0, 0]). */
  private scalar(node: NodeInformation, name: string, pod: number): [number, number] {
    if (pod === 0 && isScalarResource(name)) return [0, 0];
    return [node.allocatable.scalar?.get(name) ?? 0, (node.requested.scalar?.get(name) ?? 0) + pod];
  }
}

const idiv = (a: number, b: number) => Math.trunc(a / b);

/** Free capacity is better: (capacity - requested) / capacity, weighted over the resources. */
export const leastAllocated =
  (resources: readonly ResourceSpec[]): Scorer =>
  (requested, allocatable) => {
    let score = 0;
    let weights = 0;
    for (let i = 0; i < requested.length; i++) {
      const cap = allocatable[i]!;
      if (cap === 0) continue;
      const req = requested[i]!;
      const w = resources[i]!.weight;
      score += (req > cap ? 0 : idiv((cap - req) * MAX_NODE_SCORE, cap)) * w;
      weights += w;
    }
    return weights === 0 ? 0 : idiv(score, weights);
  };

/** Fuller is better (bin packing): requested / capacity, capped at the capacity. */
export const mostAllocated =
  (resources: readonly ResourceSpec[]): Scorer =>
  (requested, allocatable) => {
    let score = 0;
    let weights = 0;
    for (let i = 0; i < requested.length; i++) {
      const cap = allocatable[i]!;
      if (cap === 0) continue;
      const w = resources[i]!.weight;
      score += idiv(Math.min(requested[i]!, cap) * MAX_NODE_SCORE, cap) * w;
      weights += w;
    }
    return weights === 0 ? 0 : idiv(score, weights);
  };

export interface ShapePoint {
  utilization: number;
  score: number;
}

/** Upstream's MaxCustomPriorityScore: shape scores are 0..10, scaled to 0..100. */
const MAX_CUSTOM_SCORE = 10;

function brokenLinear(shape: readonly ShapePoint[]): (p: number) => number {
  return (p) => {
    for (let i = 0; i < shape.length; i++) {
      if (p <= shape[i]!.utilization) {
        if (i === 0) return shape[0]!.score;
        const [a, b] = [shape[i - 1]!, shape[i]!];
        return a.score + idiv((b.score - a.score) * (p - a.utilization), b.utilization - a.utilization);
      }
    }
    return shape[shape.length - 1]!.score;
  };
}

/** A score from a piecewise-linear function of utilization (RequestedToCapacityRatio). */
export function requestedToCapacityRatio(resources: readonly ResourceSpec[], shape: readonly ShapePoint[]): Scorer {
  const scaled = shape.map((p) => ({
    utilization: p.utilization,
    score: p.score * (MAX_NODE_SCORE / MAX_CUSTOM_SCORE),
  }));
  const f = brokenLinear(scaled);
  const perResource = (req: number, cap: number) => (cap === 0 || req > cap ? f(100) : f(idiv(req * 100, cap)));
  return (requested, allocatable) => {
    let score = 0;
    let weights = 0;
    for (let i = 0; i < requested.length; i++) {
      if (allocatable[i] === 0) continue;
      const s = perResource(requested[i]!, allocatable[i]!);
      if (s > 0) {
        score += s * resources[i]!.weight;
        weights += resources[i]!.weight;
      }
    }
    return weights === 0 ? 0 : Math.round(score / weights);
  };
}

/** Requested fractions of one node, reused for every node (cycles never interleave). */
let fractions = new Float64Array(4);

/** Balanced: 1 - the standard deviation of the requested fractions, so even use scores high. */
export const balanced: Scorer = (requested, allocatable) => {
  if (fractions.length < requested.length) fractions = new Float64Array(requested.length);
  let n = 0;
  let total = 0;
  for (let i = 0; i < requested.length; i++) {
    if (allocatable[i] === 0) continue;
    const f = Math.min(requested[i]! / allocatable[i]!, 1);
    total += f;
    fractions[n++] = f;
  }
  let std = 0;
  if (n === 2) std = Math.abs((fractions[0]! - fractions[1]!) / 2);
  else if (n > 2) {
    const mean = total / n;
    let sum = 0;
    for (let i = 0; i < n; i++) sum += (fractions[i]! - mean) * (fractions[i]! - mean);
    std = Math.sqrt(sum / n);
  }
  return Math.trunc((1 - std) * MAX_NODE_SCORE);
};
