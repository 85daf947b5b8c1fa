/**
 * InterPodAffinity, Filter: the pod's required affinity (a matching pod must run in the node's
 * topology domain, except for the first of a group that selects itself), its required
 * anti-affinity (no matching pod there), and the anti-affinity of pods already running (the pod
 * must not land where one of them refuses it). Counts per topology pair are computed once in
 * PreFilter, so Filter is a few Map lookups per node.
 */
import { Code, status } from 'skiff/sdk/scheduler';
import type { InternalHandle } from '../framework/handle.js';
import { NOT_REMEMBERED, type NodeInformation } from '../model/node-info.js';
import { type AffinityTerm, type PodInformation, termMatches } from '../model/pod-info.js';
import type { Labels } from '../model/selectors.js';
import { mergeNamespaces, namespaceLabels } from './affinity-namespaces.js';
import { interPodAffinityScoring } from './inter-pod-affinity-score.js';
import { identityOf, PodMatchMemo } from './match-memo.js';
import type { Args, InTreePlugin } from './registry-types.js';

const KEY = 'PreFilterInterPodAffinity';
const AFFINITY = status(Code.UnschedulableAndUnresolvable, "node(s) didn't match pod affinity rules");
const ANTI_AFFINITY = status(Code.Unschedulable, "node(s) didn't match pod anti-affinity rules");
const EXISTING_ANTI = status(Code.Unschedulable, "node(s) didn't satisfy existing pods anti-affinity rules");

/**
 * Matching pods per topology pair, topologyKey → value → count (no string built per lookup:
 * Filter asks for every node). `size` is the number of pairs with a count.
 */
export class TopologyCounts {
  private readonly byKey = new Map<string, Map<string, number>>();
  size = 0;

  get(key: string, value: string): number {
    return this.byKey.get(key)?.get(value) ?? 0;
  }

  bump(node: NodeInformation, key: string, delta: number): void {
    const value = node.labels[key];
    if (value === undefined || delta === 0) return;
    let values = this.byKey.get(key);
    if (!values) {
      values = new Map();
      this.byKey.set(key, values);
    }
    const before = values.get(value) ?? 0;
    const n = before + delta;
    if (n === 0) values.delete(value);
    else values.set(value, n);
    if (before === 0) this.size++;
    else if (n === 0) this.size--;
  }

  copy(): TopologyCounts {
    const c = new TopologyCounts();
    for (const [k, v] of this.byKey) c.byKey.set(k, new Map(v));
    c.size = this.size;
    return c;
  }
}

/** Whether `pod` matches every term (affinity terms count only when all match), ignoring namespace selectors. */
function matchesAll(terms: readonly AffinityTerm[], pod: PodInformation): boolean {
  if (terms.length === 0) return false;
  for (const t of terms) if (!termMatches(t, pod)) return false;
  return true;
}

class FilterState {
  constructor(
    readonly pod: PodInformation,
    readonly affinityTerms: AffinityTerm[],
    readonly antiAffinityTerms: AffinityTerm[],
    readonly nsLabels: Labels | undefined,
    public existingAnti: TopologyCounts,
    public affinity: TopologyCounts,
    public anti: TopologyCounts,
  ) {}

  clone(): FilterState {
    return new FilterState(
      this.pod,
      this.affinityTerms,
      this.antiAffinityTerms,
      this.nsLabels,
      this.existingAnti.copy(),
      this.affinity.copy(),
      this.anti.copy(),
    );
  }

  /** Counts `other` on `node` (delta 1) or stops counting it (-1): preemption's what-if. */
  update(other: PodInformation, node: NodeInformation, delta: number): void {
    for (const t of other.requiredAntiAffinityTerms)
      if (termMatches(t, this.pod, this.nsLabels)) this.existingAnti.bump(node, t.topologyKey, delta);
    if (matchesAll(this.affinityTerms, other))
      for (const t of this.affinityTerms) this.affinity.bump(node, t.topologyKey, delta);
    for (const t of this.antiAffinityTerms) if (termMatches(t, other)) this.anti.bump(node, t.topologyKey, delta);
  }
}

function preFilter(handle: InternalHandle, pod: PodInformation): FilterState | undefined {
  const affinityTerms = pod.requiredAffinityTerms.map((t) => mergeNamespaces(t, handle));
  const antiAffinityTerms = pod.requiredAntiAffinityTerms.map((t) => mergeNamespaces(t, handle));
  const nsLabels = namespaceLabels(handle, pod.namespace);
  const existingAnti = new TopologyCounts();
  for (const node of handle.cache.havePodsWithRequiredAntiAffinity()) {
    for (const other of node.podsWithRequiredAntiAffinity) {
      for (const t of other.requiredAntiAffinityTerms)
        if (termMatches(t, pod, nsLabels)) existingAnti.bump(node, t.topologyKey, 1);
    }
  }
  if (existingAnti.size === 0 && affinityTerms.length === 0 && antiAffinityTerms.length === 0) return undefined;
  const s = new FilterState(
    pod,
    affinityTerms,
    antiAffinityTerms,
    nsLabels,
    existingAnti,
    new TopologyCounts(),
    new TopologyCounts(),
  );
  if (affinityTerms.length || antiAffinityTerms.length) countIncoming(s, handle);
  return s;
}

/** A node's matching pods: how many match all affinity terms, and how many each anti-affinity term. */
interface NodeCounts {
  all: number;
  anti: Int32Array;
}

/** Remembered per node (NodeInformation.recall) under a key naming the terms; see countIncoming. */
const COUNTS = {};

/**
 * The pods matching the incoming pod's terms, counted per node and then per topology pair. A
 * node's counts depend only on its pods and the terms, so they are remembered until the node
 * changes, under the terms' identities: pods of one template share their (interned) terms. Terms
 * a namespaceSelector was folded into are new each cycle, so they are counted afresh.
 */
function countIncoming(s: FilterState, handle: InternalHandle): void {
  const key = `${s.affinityTerms.map(identityOf).join(',')}|${s.antiAffinityTerms.map(identityOf).join(',')}`;
  const selectedByAll = new PodMatchMemo((p) => matchesAll(s.affinityTerms, p));
  const selectedByAnti = s.antiAffinityTerms.map((t) => new PodMatchMemo((p) => termMatches(t, p)));
  for (const node of handle.cache.nodeList()) {
    if (node.pods.length === 0) continue;
    let counts = node.recall(COUNTS, key) as NodeCounts | typeof NOT_REMEMBERED;
    if (counts === NOT_REMEMBERED) {
      counts = { all: 0, anti: new Int32Array(s.antiAffinityTerms.length) };
      for (const other of node.pods) {
        if (selectedByAll.matches(other)) counts.all++;
        for (let i = 0; i < counts.anti.length; i++) if (selectedByAnti[i]!.matches(other)) counts.anti[i]!++;
      }
      node.remember(COUNTS, key, counts);
    }
    for (const t of s.affinityTerms) s.affinity.bump(node, t.topologyKey, counts.all);
    for (let i = 0; i < counts.anti.length; i++)
      s.anti.bump(node, s.antiAffinityTerms[i]!.topologyKey, counts.anti[i]!);
  }
}

function satisfiesAffinity(s: FilterState, node: NodeInformation): boolean {
  let podsExist = true;
  for (const t of s.affinityTerms) {
    const value = node.labels[t.topologyKey];
    // Every topology label must be on the node.
    if (value === undefined) return false;
    if (s.affinity.get(t.topologyKey, value) <= 0) podsExist = false;
  }
  if (podsExist) return true;
  // The first pod of a group that selects itself may go anywhere its topology labels exist.
  return s.affinity.size === 0 && matchesAll(s.affinityTerms, s.pod);
}

function satisfiesAntiAffinity(s: FilterState, node: NodeInformation): boolean {
  if (s.anti.size === 0) return true;
  for (const t of s.antiAffinityTerms) {
    const value = node.labels[t.topologyKey];
    if (value !== undefined && s.anti.get(t.topologyKey, value) > 0) return false;
  }
  return true;
}

function satisfiesExistingAntiAffinity(s: FilterState, node: NodeInformation): boolean {
  if (s.existingAnti.size === 0) return true;
  for (const key in node.labels) if (s.existingAnti.get(key, node.labels[key]!) > 0) return false;
  return true;
}

export const InterPodAffinity: InTreePlugin = {
  name: 'InterPodAffinity',
  args: {
    kind: 'InterPodAffinityArgs',
    defaults: () => ({ hardPodAffinityWeight: 1, ignorePreferredTermsOfExistingPods: false }),
    validate: (args: Args) => {
      const w = Number(args.hardPodAffinityWeight);
      return Number.isInteger(w) && w >= 0 && w <= 100
        ? []
        : [`hardPodAffinityWeight: Invalid value: ${args.hardPodAffinityWeight}: not in valid range [0, 100]`];
    },
  },
  factory(args, handle) {
    return {
      name: 'InterPodAffinity',
      preFilter(state, pod) {
        const s = preFilter(handle, pod as PodInformation);
        if (!s) return { status: status(Code.Skip) };
        state.write(KEY, s);
        return undefined;
      },
      addPod(state, _pod, add, node) {
        state.read<FilterState>(KEY)?.update(add as PodInformation, node as NodeInformation, 1);
        return undefined;
      },
      removePod(state, _pod, remove, node) {
        state.read<FilterState>(KEY)?.update(remove as PodInformation, node as NodeInformation, -1);
        return undefined;
      },
      filter(state, pod, node) {
        const s = state.read<FilterState>(KEY) ?? preFilter(handle, pod as PodInformation);
        if (!s) return undefined;
        const n = node as NodeInformation;
        if (!satisfiesAffinity(s, n)) return AFFINITY;
        if (!satisfiesAntiAffinity(s, n)) return ANTI_AFFINITY;
        if (!satisfiesExistingAntiAffinity(s, n)) return EXISTING_ANTI;
        return undefined;
      },
      ...interPodAffinityScoring(args, handle),
      events: () => [
        { resource: 'Pod', actions: ['Add', 'UpdatePodLabel', 'Delete'] },
        { resource: 'Node', actions: ['Add', 'UpdateNodeLabel'] },
      ],
    };
  },
};
