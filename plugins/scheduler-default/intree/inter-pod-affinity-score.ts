/**
 * InterPodAffinity, Score: the pod's preferred (anti-)affinity towards pods already running, and
 * their preferred (anti-)affinity and required affinity (hardPodAffinityWeight) towards it, summed
 * per topology domain, then scaled between the lowest and highest node.
 */
import { Code, MAX_NODE_SCORE, type SchedulerPlugin, status } from 'skiff/sdk/scheduler';
import type { InternalHandle } from '../framework/handle.js';
import { NOT_REMEMBERED, type NodeInformation } from '../model/node-info.js';
import { type PodInformation, termMatches, type WeightedAffinityTerm } from '../model/pod-info.js';
import { mergeNamespaces, namespaceLabels } from './affinity-namespaces.js';
import { identityOf, PodMatchMemo, TermMatchMemo } from './match-memo.js';
import type { Args } from './registry-types.js';

const KEY = 'PreScoreInterPodAffinity';

/** topologyKey → value → score. */
type ScoreMap = Map<string, Map<string, number>>;

function add(m: ScoreMap, key: string, value: string, delta: number): void {
  let values = m.get(key);
  if (!values) {
    values = new Map();
    m.set(key, values);
  }
  values.set(value, (values.get(value) ?? 0) + delta);
}

/** Per topology key, what one node's pods add (the node gives each key a single value). */
type NodeTotals = Map<string, number>;

/** The incoming pod's own terms against an existing pod (memos: one answer per namespace and labels). */
function addWhereSelected(
  acc: NodeTotals,
  terms: readonly WeightedAffinityTerm[],
  memos: readonly PodMatchMemo[],
  existing: PodInformation,
  sign: number,
): void {
  for (let i = 0; i < terms.length; i++) {
    const { term, weight } = terms[i]!;
    if (memos[i]!.matches(existing)) acc.set(term.topologyKey, (acc.get(term.topologyKey) ?? 0) + weight * sign);
  }
}

/** An existing pod's terms against the incoming pod (memo: one answer per distinct term). */
function addWhereSelecting(acc: NodeTotals, terms: readonly WeightedAffinityTerm[], p: Prepared, sign: number): void {
  for (const { term, weight } of terms) {
    if (p.selects.selects(term)) acc.set(term.topologyKey, (acc.get(term.topologyKey) ?? 0) + weight * sign);
  }
}

interface Prepared {
  pod: PodInformation;
  preferred: WeightedAffinityTerm[];
  preferredAnti: WeightedAffinityTerm[];
  preferredMemos: PodMatchMemo[];
  preferredAntiMemos: PodMatchMemo[];
  /** Whether an existing pod's term selects the incoming pod. */
  selects: TermMatchMemo;
}

function processExisting(acc: NodeTotals, p: Prepared, existing: PodInformation, hardWeight: number): void {
  addWhereSelected(acc, p.preferred, p.preferredMemos, existing, 1);
  addWhereSelected(acc, p.preferredAnti, p.preferredAntiMemos, existing, -1);
  if (hardWeight > 0) {
    for (const term of existing.requiredAffinityTerms) {
      if (p.selects.selects(term)) acc.set(term.topologyKey, (acc.get(term.topologyKey) ?? 0) + hardWeight);
    }
  }
  addWhereSelecting(acc, existing.preferredAffinityTerms, p, 1);
  addWhereSelecting(acc, existing.preferredAntiAffinityTerms, p, -1);
}

/** A node's totals into the score map, under the node's value of each topology key. */
function flush(m: ScoreMap, totals: Iterable<[string, number]>, node: NodeInformation): void {
  for (const [key, delta] of totals) {
    const value = node.labels[key];
    if (value !== undefined && delta !== 0) add(m, key, value, delta);
  }
}

/**
 * What decides a node's totals besides its pods: the incoming pod's namespace and labels, its
 * namespace's labels (one object per version of the Namespace), and its preferred terms with their
 * weights (interned, unless a namespaceSelector was folded in this cycle).
 */
function totalsKey(p: Prepared, nsLabels: object | undefined): string {
  const terms = (list: readonly WeightedAffinityTerm[]) =>
    list.map((w) => `${identityOf(w.term)}*${w.weight}`).join(',');
  return `${p.pod.matchKey}\u0000${identityOf(nsLabels)}\u0000${terms(p.preferred)}\u0000${terms(p.preferredAnti)}`;
}

function hasLabels(node: NodeInformation): boolean {
  for (const _ in node.labels) return true;
  return false;
}

export function interPodAffinityScoring(
  args: Args,
  handle: InternalHandle,
): Pick<SchedulerPlugin, 'preScore' | 'score' | 'normalizeScore'> {
  const hardWeight = Number(args.hardPodAffinityWeight ?? 1);
  const ignoreExisting = args.ignorePreferredTermsOfExistingPods === true;
  // This instance's remembered node totals (its weights are its own).
  const remembered = {};
  return {
    preScore(state, pod, nodes) {
      if (nodes.length === 0) return status(Code.Skip);
      const p = pod as PodInformation;
      const hasConstraints = p.preferredAffinityTerms.length > 0 || p.preferredAntiAffinityTerms.length > 0;
      if (ignoreExisting && !hasConstraints) return status(Code.Skip);
      const visit = hasConstraints ? handle.cache.nodeList() : handle.cache.havePodsWithAffinity();
      if (visit.length === 0) return status(Code.Skip);
      const merged = (terms: readonly WeightedAffinityTerm[]) =>
        terms.map((w) => ({ term: mergeNamespaces(w.term, handle), weight: w.weight }));
      const memosOf = (terms: readonly WeightedAffinityTerm[]) =>
        terms.map(({ term }) => new PodMatchMemo((e) => termMatches(term, e)));
      const nsLabels = namespaceLabels(handle, p.namespace);
      const preferred = merged(p.preferredAffinityTerms);
      const preferredAnti = merged(p.preferredAntiAffinityTerms);
      const prepared: Prepared = {
        pod: p,
        preferred,
        preferredAnti,
        preferredMemos: memosOf(preferred),
        preferredAntiMemos: memosOf(preferredAnti),
        selects: new TermMatchMemo(p, nsLabels),
      };
      const m: ScoreMap = new Map();
      const key = totalsKey(prepared, nsLabels);
      for (const node of visit) {
        if (!hasLabels(node)) continue;
        // A node's totals depend on its pods and `key` alone: remembered until the node changes.
        let totals = node.recall(remembered, key) as [string, number][] | typeof NOT_REMEMBERED;
        if (totals === NOT_REMEMBERED) {
          const acc: NodeTotals = new Map();
          for (const existing of hasConstraints ? node.pods : node.podsWithAffinity)
            processExisting(acc, prepared, existing, hardWeight);
          totals = [...acc];
          node.remember(remembered, key, totals);
        }
        flush(m, totals, node);
      }
      if (m.size === 0) return status(Code.Skip);
      state.write(KEY, { scores: m } as { scores: ScoreMap });
      return undefined;
    },
    score(state, _pod, node) {
      const m = state.read<{ scores: ScoreMap }>(KEY)?.scores;
      if (!m) return 0;
      let score = 0;
      const labels = (node as NodeInformation).labels;
      for (const [key, values] of m) {
        const v = labels[key];
        if (v !== undefined) score += values.get(v) ?? 0;
      }
      return score;
    },
    normalizeScore(state, _pod, _nodes, scores) {
      if (!state.read<{ scores: ScoreMap }>(KEY)) return;
      let min = Number.POSITIVE_INFINITY;
      let max = Number.NEGATIVE_INFINITY;
      for (const s of scores) {
        if (s > max) max = s;
        if (s < min) min = s;
      }
      const diff = max - min;
      for (let i = 0; i < scores.length; i++) {
        scores[i] = diff > 0 ? Math.trunc(MAX_NODE_SCORE * ((scores[i]! - min) / diff)) : 0;
      }
    },
  };
}
