/**
 * PodTopologySpread, Score: for the ScheduleAnyway constraints (or the system defaults), a node
 * scores the matching pods in its domain, weighted by log(number of domains + 2) plus maxSkew − 1;
 * fewer is better, so NormalizeScore inverts the scale. Nodes missing a topology label score 0
 * (with the system defaults, a missing zone label is tolerated so hostname spreading still works).
 */
import { Code, MAX_NODE_SCORE, type SchedulerPlugin, status } from 'skiff/sdk/scheduler';
import type { InternalHandle } from '../framework/handle.js';
import type { NodeInformation } from '../model/node-info.js';
import type { PodInformation } from '../model/pod-info.js';
import { requiredNodeAffinity } from '../model/selectors.js';
import {
  constraintsFor,
  countMatching,
  HOSTNAME,
  hasAllTopologyKeys,
  includesNode,
  type RawConstraint,
  type SpreadConstraint,
} from './spread-constraints.js';

const KEY = 'PreScorePodTopologySpread';

interface ScoreState {
  constraints: SpreadConstraint[];
  ignored: Set<string>;
  /** Per constraint: topology value → matching pods (not used for hostname constraints). */
  counts: Map<string, number>[];
  weights: number[];
  namespace: string;
}

function initState(
  pod: PodInformation,
  filtered: readonly NodeInformation[],
  constraints: SpreadConstraint[],
  requireAll: boolean,
): ScoreState {
  const s: ScoreState = {
    constraints,
    ignored: new Set(),
    counts: constraints.map(() => new Map()),
    weights: [],
    namespace: pod.namespace,
  };
  const sizes = constraints.map(() => 0);
  for (const node of filtered) {
    if (requireAll && !hasAllTopologyKeys(node, constraints)) {
      s.ignored.add(node.name);
      continue;
    }
    for (let i = 0; i < constraints.length; i++) {
      const key = constraints[i]!.topologyKey;
      if (key === HOSTNAME) continue;
      const v = node.labels[key] ?? '';
      if (!s.counts[i]!.has(v)) {
        s.counts[i]!.set(v, 0);
        sizes[i]!++;
      }
    }
  }
  s.weights = constraints.map((c, i) =>
    Math.log((c.topologyKey === HOSTNAME ? filtered.length - s.ignored.size : sizes[i]!) + 2),
  );
  return s;
}

function countAll(s: ScoreState, pod: PodInformation, nodes: readonly NodeInformation[], requireAll: boolean): void {
  const required = requiredNodeAffinity(pod.spec);
  for (const node of nodes) {
    if (requireAll && !hasAllTopologyKeys(node, s.constraints)) continue;
    for (let i = 0; i < s.constraints.length; i++) {
      const c = s.constraints[i]!;
      if (!includesNode(c, pod, node, required)) continue;
      const v = node.labels[c.topologyKey] ?? '';
      const m = s.counts[i]!;
      const current = m.get(v);
      // Only domains of candidate nodes are counted (hostname counts are taken in Score).
      if (current === undefined) continue;
      m.set(v, current + countMatching(node.pods, c.selector, pod.namespace));
    }
  }
}

export function spreadScoring(
  handle: InternalHandle,
  defaults: readonly RawConstraint[],
  systemDefaulted: boolean,
): Pick<SchedulerPlugin, 'preScore' | 'score' | 'normalizeScore'> {
  return {
    preScore(state, pod, nodes) {
      const p = pod as PodInformation;
      const all = handle.cache.nodeList();
      if (all.length === 0) return status(Code.Skip);
      const constraints = constraintsFor(p, 'ScheduleAnyway', defaults, handle.listers);
      if (constraints.length === 0) return status(Code.Skip);
      // Only the system defaults tolerate nodes without every topology label.
      const requireAll =
        (Array.isArray(p.spec.topologySpreadConstraints) && p.spec.topologySpreadConstraints.length > 0) ||
        !systemDefaulted;
      const s = initState(p, nodes as NodeInformation[], constraints, requireAll);
      countAll(s, p, all, requireAll);
      state.write(KEY, s);
      return undefined;
    },
    score(state, _pod, node) {
      const s = state.read<ScoreState>(KEY);
      const n = node as NodeInformation;
      if (!s || s.ignored.has(n.name)) return 0;
      let score = 0;
      for (let i = 0; i < s.constraints.length; i++) {
        const c = s.constraints[i]!;
        const v = n.labels[c.topologyKey];
        if (v === undefined) continue;
        const count =
          c.topologyKey === HOSTNAME ? countMatching(n.pods, c.selector, s.namespace) : (s.counts[i]!.get(v) ?? 0);
        score += count * s.weights[i]! + (c.maxSkew - 1);
      }
      return Math.round(score);
    },
    normalizeScore(state, _pod, nodes, scores) {
      const s = state.read<ScoreState>(KEY);
      if (!s) return;
      let min = Number.POSITIVE_INFINITY;
      let max = 0;
      for (let i = 0; i < scores.length; i++) {
        if (s.ignored.has(nodes[i]!.name)) continue;
        min = Math.min(min, scores[i]!);
        max = Math.max(max, scores[i]!);
      }
      for (let i = 0; i < scores.length; i++) {
        if (s.ignored.has(nodes[i]!.name)) scores[i] = 0;
        else if (max === 0) scores[i] = MAX_NODE_SCORE;
        else scores[i] = Math.trunc((MAX_NODE_SCORE * (max + min - scores[i]!)) / max);
      }
    },
  };
}
