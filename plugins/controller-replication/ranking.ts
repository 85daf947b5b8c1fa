/**
 * Which pods go first when a controller scales down: upstream's ActivePodsWithRanks order
 * (pkg/controller), the first pods being the cheapest to lose:
 *
 *  1. not yet scheduled before scheduled;
 *  2. Pending before Unknown before Running;
 *  3. not ready before ready;
 *  4. a lower controller.kubernetes.io/pod-deletion-cost before a higher one;
 *  5. more pods of the same owner on the pod's node before fewer (spreads what stays);
 *  6. ready for less time before ready for longer;
 *  7. more container restarts before fewer;
 *  8. newer before older.
 *
 * Times compare as upstream's LogarithmicScaleDown does (on by default since 1.22): by the base-2
 * logarithm of their age in nanoseconds, pods of the same rank broken by uid, so that among pods
 * of about the same age which one goes is random rather than always the newest.
 */
import type { KubeObject } from 'skiff/sdk';
import { isPodActive, isPodReady, maxContainerRestarts, podPhase, podReadySince } from 'skiff/sdk/controller';

const PHASE_ORDER: Record<string, number> = { Pending: 0, Unknown: 1, Running: 2 };
const DELETION_COST = 'controller.kubernetes.io/pod-deletion-cost';
const INT32 = 2 ** 31;

const nodeOf = (pod: KubeObject) => String((pod.spec as { nodeName?: string } | undefined)?.nodeName ?? '');

function deletionCost(pod: KubeObject): number {
  const raw = pod.metadata.annotations?.[DELETION_COST];
  if (raw === undefined || !/^-?\d+$/.test(raw)) return 0;
  const cost = Number(raw);
  return cost >= -INT32 && cost < INT32 ? cost : 0;
}

/** Upstream's logarithmicRankDiff: compares floor(log2(age in ns)); -1 for a time not in the past. */
function logRank(at: number, now: number): number {
  const ns = (now - at) * 1e6;
  return ns > 0 ? Math.floor(Math.log2(ns)) : -1;
}

/** Upstream's afterOrZero ordering for two times that differ: a missing time first, then the later. */
function compareTimes(a: number | undefined, b: number | undefined, now: number, uidA: string, uidB: string): number {
  if (a === undefined || b === undefined) return a === undefined ? -1 : 1;
  const diff = logRank(a, now) - logRank(b, now);
  if (diff !== 0) return diff;
  return uidA < uidB ? -1 : uidA > uidB ? 1 : 0;
}

const created = (pod: KubeObject) => {
  const at = Date.parse(pod.metadata.creationTimestamp ?? '');
  return Number.isNaN(at) ? undefined : at;
};

/**
 * `pods` ordered for deletion (first = deleted first). `related` are the active pods of the owner's
 * siblings (ReplicaSets of one Deployment) and its own, for rule 5.
 */
export function rankForDeletion(
  pods: readonly KubeObject[],
  related: readonly KubeObject[],
  now = Date.now(),
): KubeObject[] {
  const onNode = new Map<string, number>();
  for (const pod of related) if (isPodActive(pod)) onNode.set(nodeOf(pod), (onNode.get(nodeOf(pod)) ?? 0) + 1);
  const rank = (pod: KubeObject) => onNode.get(nodeOf(pod)) ?? 0;
  return [...pods].sort((a, b) => comparePods(a, b, rank, now));
}

function comparePods(a: KubeObject, b: KubeObject, rank: (p: KubeObject) => number, now: number): number {
  const [nodeA, nodeB] = [nodeOf(a), nodeOf(b)];
  if (nodeA !== nodeB && (nodeA === '' || nodeB === '')) return nodeA === '' ? -1 : 1;
  const phase = (PHASE_ORDER[podPhase(a)] ?? 0) - (PHASE_ORDER[podPhase(b)] ?? 0);
  if (phase !== 0) return phase;
  const [readyA, readyB] = [isPodReady(a), isPodReady(b)];
  if (readyA !== readyB) return readyA ? 1 : -1;
  const cost = deletionCost(a) - deletionCost(b);
  if (cost !== 0) return cost;
  if (rank(a) !== rank(b)) return rank(b) - rank(a);
  const [uidA, uidB] = [a.metadata.uid ?? '', b.metadata.uid ?? ''];
  if (readyA && readyB) {
    const [sinceA, sinceB] = [podReadySince(a), podReadySince(b)];
    if (sinceA !== sinceB) return compareTimes(sinceA, sinceB, now, uidA, uidB);
  }
  const restarts = maxContainerRestarts(b) - maxContainerRestarts(a);
  if (restarts !== 0) return restarts;
  const [createdA, createdB] = [created(a), created(b)];
  if (createdA !== createdB) return compareTimes(createdA, createdB, now, uidA, uidB);
  return 0;
}
