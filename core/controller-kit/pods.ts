/**
 * What controllers read from a pod's status, as upstream's podutil: readiness (the Ready
 * condition), availability (ready for at least minReadySeconds), and whether a pod still counts
 * (not finished, not being deleted).
 */
import type { KubeObject } from '../api/types.js';

interface Condition {
  type?: string;
  status?: string;
  lastTransitionTime?: string;
}

const record = (v: unknown): Record<string, unknown> =>
  v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : {};

function readyCondition(pod: KubeObject): Condition | undefined {
  const conditions = record(pod.status).conditions;
  if (!Array.isArray(conditions)) return undefined;
  return (conditions as Condition[]).find((c) => c?.type === 'Ready');
}

export function podPhase(pod: KubeObject): string {
  const phase = record(pod.status).phase;
  return typeof phase === 'string' ? phase : '';
}

/** Upstream's IsPodReady: the Ready condition is True. */
export function isPodReady(pod: KubeObject): boolean {
  return readyCondition(pod)?.status === 'True';
}

/** When the pod last became Ready (ms since the epoch), or undefined when it is not ready. */
export function podReadySince(pod: KubeObject): number | undefined {
  const condition = readyCondition(pod);
  if (condition?.status !== 'True' || !condition.lastTransitionTime) return undefined;
  const at = Date.parse(condition.lastTransitionTime);
  return Number.isNaN(at) ? undefined : at;
}

/**
 * Upstream's IsPodAvailable: ready, and (with minReadySeconds) ready since at least that long
 * before `now`.
 */
export function isPodAvailable(pod: KubeObject, minReadySeconds: number, now = Date.now()): boolean {
  if (!isPodReady(pod)) return false;
  if (minReadySeconds <= 0) return true;
  const since = podReadySince(pod);
  return since !== undefined && since + minReadySeconds * 1000 <= now;
}

/** Upstream's IsPodActive: not Succeeded or Failed, and not being deleted. */
export function isPodActive(pod: KubeObject): boolean {
  const phase = podPhase(pod);
  return phase !== 'Succeeded' && phase !== 'Failed' && !pod.metadata.deletionTimestamp;
}

/** The highest restart count among the pod's (regular) containers. */
export function maxContainerRestarts(pod: KubeObject): number {
  const statuses = record(pod.status).containerStatuses;
  let max = 0;
  for (const s of Array.isArray(statuses) ? statuses : []) {
    const count = record(s).restartCount;
    if (typeof count === 'number' && count > max) max = count;
  }
  return max;
}
