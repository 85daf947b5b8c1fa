/**
 * A Deployment's status and conditions (upstream's progress.go and calculateStatus): counts summed
 * over its ReplicaSets; Available (MinimumReplicasAvailable while at least replicas −
 * maxUnavailable pods are available); Progressing (NewReplicaSetCreated, FoundNewReplicaSet,
 * ReplicaSetUpdated while pods move, NewReplicaSetAvailable once complete, ProgressDeadlineExceeded
 * when nothing moved for progressDeadlineSeconds, DeploymentPaused and DeploymentResumed); and
 * ReplicaFailure copied from a ReplicaSet that cannot create pods.
 */

import { keyOf, type SyncContext, updateStatus } from './context.js';
import { canonicalJson } from './json.js';
import type { Deployment, DeploymentCondition, DeploymentStatus, ReplicaSet } from './types.js';
import {
  desiredReplicas,
  getCondition,
  hasProgressDeadline,
  maxUnavailable,
  newCondition,
  removeCondition,
  setCondition,
  totalActual,
  totalAvailable,
  totalReady,
  totalSpec,
} from './util.js';

/** Upstream's calculateStatus. */
export function calculateStatus(all: ReplicaSet[], newRS: ReplicaSet | undefined, d: Deployment): DeploymentStatus {
  const available = totalAvailable(all);
  const status: DeploymentStatus = {
    observedGeneration: d.metadata.generation,
    replicas: totalActual(all),
    updatedReplicas: newRS ? totalActual([newRS]) : 0,
    readyReplicas: totalReady(all),
    availableReplicas: available,
    unavailableReplicas: Math.max(0, totalSpec(all) - available),
  };
  // Upstream encodes these counts with omitempty: a 0 is left out.
  for (const key of Object.keys(status) as (keyof DeploymentStatus)[]) if (status[key] === 0) delete status[key];
  if (d.status.collisionCount !== undefined) status.collisionCount = d.status.collisionCount;
  if (d.status.conditions) status.conditions = d.status.conditions.map((c) => ({ ...c }));
  const condition =
    available >= desiredReplicas(d) - maxUnavailable(d)
      ? newCondition('Available', 'True', 'MinimumReplicasAvailable', 'Deployment has minimum availability.')
      : newCondition(
          'Available',
          'False',
          'MinimumReplicasUnavailable',
          'Deployment does not have minimum availability.',
        );
  setCondition(status, condition);
  return status;
}

/** Upstream's DeploymentComplete: every desired pod updated and available, and this generation seen. */
export function deploymentComplete(d: Deployment, status: DeploymentStatus): boolean {
  const desired = desiredReplicas(d);
  return (
    (status.updatedReplicas ?? 0) === desired &&
    (status.replicas ?? 0) === desired &&
    (status.availableReplicas ?? 0) === desired &&
    (status.observedGeneration ?? 0) >= (d.metadata.generation ?? 0)
  );
}

/** Upstream's DeploymentProgressing: more pods updated, ready or available, or fewer old ones, than last time. */
function deploymentProgressing(d: Deployment, next: DeploymentStatus): boolean {
  const old = d.status;
  const oldOld = (old.replicas ?? 0) - (old.updatedReplicas ?? 0);
  const newOld = (next.replicas ?? 0) - (next.updatedReplicas ?? 0);
  return (
    (next.updatedReplicas ?? 0) > (old.updatedReplicas ?? 0) ||
    newOld < oldOld ||
    (next.readyReplicas ?? 0) > (old.readyReplicas ?? 0) ||
    (next.availableReplicas ?? 0) > (old.availableReplicas ?? 0)
  );
}

function deploymentTimedOut(d: Deployment, status: DeploymentStatus, now = Date.now()): boolean {
  if (!hasProgressDeadline(d)) return false;
  const condition = getCondition(status, 'Progressing');
  if (!condition || condition.reason === 'NewReplicaSetAvailable') return false;
  if (condition.reason === 'ProgressDeadlineExceeded') return true;
  const from = Date.parse(condition.lastUpdateTime ?? '');
  return !Number.isNaN(from) && from + (d.spec.progressDeadlineSeconds ?? 0) * 1000 < now;
}

function progressCondition(
  d: Deployment,
  newRS: ReplicaSet | undefined,
  next: DeploymentStatus,
): DeploymentCondition | undefined {
  const what = newRS ? `ReplicaSet "${newRS.metadata.name}"` : `Deployment "${d.metadata.name}"`;
  if (deploymentComplete(d, next)) {
    return newCondition('Progressing', 'True', 'NewReplicaSetAvailable', `${what} has successfully progressed.`);
  }
  if (deploymentProgressing(d, next)) {
    const condition = newCondition('Progressing', 'True', 'ReplicaSetUpdated', `${what} is progressing.`);
    const current = getCondition(d.status, 'Progressing');
    // Progress moves lastUpdateTime even when the reason stays: replace rather than set.
    if (current?.status === 'True') condition.lastTransitionTime = current.lastTransitionTime;
    removeCondition(next, 'Progressing');
    return condition;
  }
  if (deploymentTimedOut(d, next)) {
    return newCondition('Progressing', 'False', 'ProgressDeadlineExceeded', `${what} has timed out progressing.`);
  }
  return undefined;
}

/** Upstream's syncRolloutStatus: status, the Progressing estimate, ReplicaFailure; writes only when something changed. */
export async function syncRolloutStatus(
  ctx: SyncContext,
  all: ReplicaSet[],
  newRS: ReplicaSet | undefined,
  d: Deployment,
): Promise<void> {
  const next = calculateStatus(all, newRS, d);
  if (!hasProgressDeadline(d)) removeCondition(next, 'Progressing');
  const current = getCondition(d.status, 'Progressing');
  const complete = (next.replicas ?? 0) === (next.updatedReplicas ?? 0) && current?.reason === 'NewReplicaSetAvailable';
  if (hasProgressDeadline(d) && !complete) {
    const condition = progressCondition(d, newRS, next);
    if (condition) setCondition(next, condition);
  }
  const failure = replicaFailure(all, newRS);
  if (failure) setCondition(next, failure);
  else removeCondition(next, 'ReplicaFailure');
  if (canonicalJson(d.status) === canonicalJson(next)) return requeueStuck(ctx, d, next);
  d.status = next;
  await updateStatus(ctx, d);
}

/** Upstream's getReplicaFailures: the new ReplicaSet's ReplicaFailure first, else an old one's. */
function replicaFailure(all: ReplicaSet[], newRS: ReplicaSet | undefined): DeploymentCondition | undefined {
  const ordered = newRS ? [newRS, ...all.filter((rs) => rs !== newRS)] : all;
  for (const rs of ordered) {
    const c = rs.status?.conditions?.find((x) => x.type === 'ReplicaFailure');
    if (c) {
      const at = c.lastTransitionTime;
      return {
        type: 'ReplicaFailure',
        status: c.status,
        lastUpdateTime: at,
        lastTransitionTime: at,
        reason: c.reason,
        message: c.message,
      };
    }
  }
  return undefined;
}

/** Upstream's requeueStuckDeployment: look again when the progress deadline would pass. */
function requeueStuck(ctx: SyncContext, d: Deployment, next: DeploymentStatus): void {
  const condition = getCondition(d.status, 'Progressing');
  if (!hasProgressDeadline(d) || !condition) return;
  if (deploymentComplete(d, next) || condition.reason === 'ProgressDeadlineExceeded') return;
  const due = Date.parse(condition.lastUpdateTime ?? '') + (d.spec.progressDeadlineSeconds ?? 0) * 1000 - Date.now();
  if (Number.isNaN(due)) return;
  ctx.queue.addAfter(keyOf(d), due < 1000 ? 1000 : due + 1000);
}

/** Upstream's syncDeploymentStatus (scaling and paused syncs): counts and Available only. */
export async function syncDeploymentStatus(
  ctx: SyncContext,
  all: ReplicaSet[],
  newRS: ReplicaSet | undefined,
  d: Deployment,
): Promise<void> {
  const next = calculateStatus(all, newRS, d);
  if (canonicalJson(d.status) === canonicalJson(next)) return;
  d.status = next;
  await updateStatus(ctx, d);
}

/** Upstream's checkPausedConditions: Progressing Unknown with DeploymentPaused / DeploymentResumed. */
export async function checkPausedConditions(ctx: SyncContext, d: Deployment): Promise<void> {
  if (!hasProgressDeadline(d)) return;
  const condition = getCondition(d.status, 'Progressing');
  if (condition?.reason === 'ProgressDeadlineExceeded') return;
  const pausedShown = condition?.reason === 'DeploymentPaused';
  if (d.spec.paused && !pausedShown) {
    setCondition(d.status, newCondition('Progressing', 'Unknown', 'DeploymentPaused', 'Deployment is paused'));
  } else if (!d.spec.paused && pausedShown) {
    setCondition(d.status, newCondition('Progressing', 'Unknown', 'DeploymentResumed', 'Deployment is resumed'));
  } else return;
  await updateStatus(ctx, d);
}
