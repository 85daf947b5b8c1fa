/**
 * The scheduling algorithm for one pod (upstream's schedulePod): PreFilter, the nominated node
 * first, Filter over the nodes from where the last search stopped until enough feasible nodes are
 * found (percentageOfNodesToScore), then PreScore, Score and the best node, ties broken at random.
 * Synchronous: the cache cannot change under it.
 */
import { Code, isRejection } from 'skiff/sdk/scheduler';
import type { SchedulerCache } from '../cache/cache.js';
import type { SchedulingCycleState } from '../framework/cycle-state.js';
import { Diagnosis, FitError } from '../framework/diagnosis.js';
import type { Framework, PluginScores } from '../framework/framework.js';
import type { NodeInformation } from '../model/node-info.js';
import type { PodInformation } from '../model/pod-info.js';

export const NO_NODES_AVAILABLE = 'no nodes available to schedule pods';
const MIN_FEASIBLE_NODES = 100;
const MIN_FEASIBLE_PERCENTAGE = 5;

/** Upstream's numFeasibleNodesToFind: all of a small cluster, else a share (adaptive when 0). */
export function numFeasibleNodesToFind(percentage: number, numAllNodes: number): number {
  if (numAllNodes < MIN_FEASIBLE_NODES) return numAllNodes;
  let pct = percentage;
  if (pct === 0) pct = Math.max(Math.trunc(50 - numAllNodes / 125), MIN_FEASIBLE_PERCENTAGE);
  const n = Math.trunc((numAllNodes * pct) / 100);
  return Math.max(n, MIN_FEASIBLE_NODES);
}

export interface ScheduleResult {
  node: string;
  evaluatedNodes: number;
  feasibleNodes: number;
}

export interface AlgorithmContext {
  cache: SchedulerCache;
  /** The global percentageOfNodesToScore (a profile's own takes precedence). */
  percentageOfNodesToScore: number;
  /** Where the next search starts (upstream's nextStartNodeIndex); updated here. */
  nextStart: number;
  /** When set, every node's filter verdict and every score is reported (`simulate`). */
  explain?: Explanation;
}

export interface Explanation {
  filtered: Map<string, { plugin?: string; reasons: readonly string[] }>;
  feasible: string[];
  scores?: { nodes: string[]; plugins: PluginScores[]; totals: Float64Array };
}

function evaluateNominated(
  ctx: AlgorithmContext,
  fwk: Framework,
  state: SchedulingCycleState,
  pod: PodInformation,
  d: Diagnosis,
): NodeInformation | undefined {
  const name = String((pod.pod.status as { nominatedNodeName?: string } | undefined)?.nominatedNodeName ?? '');
  const node = name ? ctx.cache.nodes.get(name) : undefined;
  if (!node?.hasNode) return undefined;
  const s = fwk.runFilterWithNominatedPods(state, pod, node);
  if (!s) return node;
  if (isRejection(s)) d.nodeToStatus.set(name, s);
  return undefined;
}

/** Filter: walks the nodes from nextStart, stopping once `wanted` feasible ones are found. */
function findFeasible(
  ctx: AlgorithmContext,
  fwk: Framework,
  state: SchedulingCycleState,
  pod: PodInformation,
  nodes: readonly NodeInformation[],
  d: Diagnosis,
): NodeInformation[] {
  const n = nodes.length;
  const wanted = ctx.explain
    ? n
    : numFeasibleNodesToFind(fwk.percentageOfNodesToScore ?? ctx.percentageOfNodesToScore, n);
  const feasible: NodeInformation[] = [];
  const start = ctx.nextStart % n;
  let processed = 0;
  for (let i = 0; i < n && feasible.length < wanted; i++) {
    const node = nodes[(start + i) % n]!;
    processed++;
    const s = fwk.hasFilterPlugins ? fwk.runFilterWithNominatedPods(state, pod, node) : undefined;
    if (!s) {
      feasible.push(node);
      continue;
    }
    if (!isRejection(s)) throw new Error(s.reasons.join(', '));
    d.nodeToStatus.set(node.name, s);
    d.addPluginStatus(s);
    ctx.explain?.filtered.set(node.name, { plugin: s.plugin, reasons: s.reasons });
  }
  ctx.nextStart = (start + processed) % Math.max(ctx.cache.nodeList().length, 1);
  return feasible;
}

/** The best node; equal totals share the win at random (reservoir sampling, as upstream). */
export function selectHost(nodes: readonly NodeInformation[], totals: Float64Array): NodeInformation {
  let best = 0;
  let ties = 1;
  for (let i = 1; i < nodes.length; i++) {
    if (totals[i]! > totals[best]!) {
      best = i;
      ties = 1;
    } else if (totals[i] === totals[best] && Math.random() * ++ties < 1) best = i;
  }
  return nodes[best]!;
}

function prioritize(
  ctx: AlgorithmContext,
  fwk: Framework,
  state: SchedulingCycleState,
  pod: PodInformation,
  feasible: NodeInformation[],
): NodeInformation {
  const pre = fwk.runPreScore(state, pod, feasible);
  if (pre) throw new Error(`running PreScore plugin "${pre.plugin}": ${pre.reasons.join(', ')}`);
  const breakdown: PluginScores[] | undefined = ctx.explain ? [] : undefined;
  const totals = fwk.hasScorePlugins
    ? fwk.runScore(state, pod, feasible, breakdown)
    : new Float64Array(feasible.length).fill(1);
  if (ctx.explain)
    ctx.explain.scores = { nodes: feasible.map((n) => n.name), plugins: breakdown ?? [], totals: totals.slice() };
  return selectHost(feasible, totals);
}

/** Schedules one pod: the chosen node, or throws a FitError (no node fits) or another Error. */
export function schedulePod(
  ctx: AlgorithmContext,
  fwk: Framework,
  state: SchedulingCycleState,
  pod: PodInformation,
): ScheduleResult {
  const all = ctx.cache.nodeList();
  if (all.length === 0) throw new Error(NO_NODES_AVAILABLE);
  const d = new Diagnosis();
  const pre = fwk.runPreFilter(state, pod, all);
  if (pre.status && !isRejection(pre.status)) throw new Error(pre.status.reasons.join(', '));
  if (pre.status) {
    d.nodeToStatus.absent = pre.status;
    d.preFilterMsg = pre.status.reasons.join(', ');
    d.addPluginStatus(pre.status);
    for (const p of pre.narrowedBy) d.unschedulablePlugins.add(p);
    throw new FitError(all.length, d);
  }
  if (!ctx.explain) {
    const nominated = evaluateNominated(ctx, fwk, state, pod, d);
    if (nominated) return { node: nominated.name, evaluatedNodes: 1, feasibleNodes: 1 };
  }
  let nodes = all;
  if (pre.nodeNames) {
    nodes = [...pre.nodeNames]
      .map((n) => ctx.cache.nodes.get(n))
      .filter((n): n is NodeInformation => n?.hasNode === true);
    d.nodeToStatus.absent = {
      code: Code.UnschedulableAndUnresolvable,
      reasons: [`node(s) didn't satisfy plugin(s) [${pre.narrowedBy.join(' ')}]`],
    };
    for (const p of pre.narrowedBy) d.unschedulablePlugins.add(p);
  }
  const feasible = nodes.length ? findFeasible(ctx, fwk, state, pod, nodes, d) : [];
  if (ctx.explain) ctx.explain.feasible = feasible.map((n) => n.name);
  if (feasible.length === 0) throw new FitError(all.length, d);
  const evaluatedNodes = feasible.length + d.nodeToStatus.size;
  if (feasible.length === 1 && !ctx.explain) return { node: feasible[0]!.name, evaluatedNodes, feasibleNodes: 1 };
  return { node: prioritize(ctx, fwk, state, pod, feasible).name, evaluatedNodes, feasibleNodes: feasible.length };
}
