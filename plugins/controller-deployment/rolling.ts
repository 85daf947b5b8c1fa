/**
 * The RollingUpdate strategy (upstream's rolling.go): each sync first grows the new ReplicaSet as
 * far as maxSurge allows, else shrinks old ReplicaSets as far as maxUnavailable allows (their
 * unavailable pods first, oldest ReplicaSet first), else, once complete, cleans up old revisions;
 * then the status and the Progressing condition are written.
 */
import type { SyncContext } from './context.js';
import { calculateStatus, deploymentComplete, syncRolloutStatus } from './progress.js';
import { cleanupDeployment, replicaSetsAndRevision, scaleReplicaSet } from './replicasets.js';
import { newReplicasFor } from './rolling-math.js';
import type { Deployment, ReplicaSet } from './types.js';
import {
  active,
  byCreation,
  desiredReplicas,
  maxUnavailable,
  specReplicas,
  totalAvailable,
  totalSpec,
} from './util.js';

export async function rolloutRolling(ctx: SyncContext, d: Deployment, list: ReplicaSet[]): Promise<void> {
  const found = await replicaSetsAndRevision(ctx, d, list, true);
  let newRS = found.newRS;
  const oldRSs = found.oldRSs;
  const all = () => [...oldRSs, ...(newRS ? [newRS] : [])];
  if (newRS) {
    const grown = await reconcileNew(ctx, d, all(), newRS);
    if (grown !== newRS) {
      newRS = grown;
      return syncRolloutStatus(ctx, all(), newRS, d);
    }
  }
  if (await reconcileOld(ctx, d, oldRSs, newRS)) return syncRolloutStatus(ctx, all(), newRS, d);
  if (deploymentComplete(d, calculateStatus(all(), newRS, d))) await cleanupDeployment(ctx, d, oldRSs);
  await syncRolloutStatus(ctx, all(), newRS, d);
}

/** Upstream's reconcileNewReplicaSet: the new ReplicaSet's next size (shrunk if above the desired count). */
async function reconcileNew(
  ctx: SyncContext,
  d: Deployment,
  all: ReplicaSet[],
  newRS: ReplicaSet,
): Promise<ReplicaSet> {
  const desired = desiredReplicas(d);
  if (specReplicas(newRS) === desired) return newRS;
  const size = specReplicas(newRS) > desired ? desired : newReplicasFor(d, all, newRS);
  return scaleReplicaSet(ctx, d, newRS, size);
}

/**
 * Upstream's reconcileOldReplicaSets: old ReplicaSets shrink by at most what keeps replicas −
 * maxUnavailable pods available, counting the new ReplicaSet's unavailable pods against it.
 * Replaces the old ReplicaSets it rewrites in `oldRSs`; true when it scaled anything.
 */
async function reconcileOld(
  ctx: SyncContext,
  d: Deployment,
  oldRSs: ReplicaSet[],
  newRS: ReplicaSet | undefined,
): Promise<boolean> {
  if (totalSpec(oldRSs) === 0) return false;
  const all = [...oldRSs, ...(newRS ? [newRS] : [])];
  const minAvailable = desiredReplicas(d) - maxUnavailable(d);
  const newUnavailable = newRS ? specReplicas(newRS) - (newRS.status?.availableReplicas ?? 0) : 0;
  const maxScaledDown = totalSpec(all) - minAvailable - newUnavailable;
  if (maxScaledDown <= 0) return false;
  const cleaned = await cleanupUnhealthy(ctx, d, oldRSs, maxScaledDown);
  const scaled = await scaleDownOld(ctx, d, oldRSs, newRS);
  return cleaned + scaled > 0;
}

const replace = (list: ReplicaSet[], from: ReplicaSet, to: ReplicaSet) => {
  const i = list.indexOf(from);
  if (i >= 0) list[i] = to;
};

/** Upstream's cleanupUnhealthyReplicas: the old ReplicaSets' unavailable pods go first. */
async function cleanupUnhealthy(ctx: SyncContext, d: Deployment, oldRSs: ReplicaSet[], most: number): Promise<number> {
  let total = 0;
  for (const rs of active([...oldRSs]).sort(byCreation)) {
    if (total >= most) break;
    const unavailable = specReplicas(rs) - (rs.status?.availableReplicas ?? 0);
    if (unavailable <= 0) continue;
    const count = Math.min(most - total, unavailable);
    replace(oldRSs, rs, await scaleReplicaSet(ctx, d, rs, specReplicas(rs) - count));
    total += count;
  }
  return total;
}

/** Upstream's scaleDownOldReplicaSetsForRollingUpdate: available pods above the minimum go, oldest ReplicaSet first. */
async function scaleDownOld(
  ctx: SyncContext,
  d: Deployment,
  oldRSs: ReplicaSet[],
  newRS: ReplicaSet | undefined,
): Promise<number> {
  const minAvailable = desiredReplicas(d) - maxUnavailable(d);
  const available = totalAvailable([...oldRSs, ...(newRS ? [newRS] : [])]);
  if (available <= minAvailable) return 0;
  const budget = available - minAvailable;
  let total = 0;
  for (const rs of active([...oldRSs]).sort(byCreation)) {
    if (total >= budget) break;
    const count = Math.min(specReplicas(rs), budget - total);
    replace(oldRSs, rs, await scaleReplicaSet(ctx, d, rs, specReplicas(rs) - count));
    total += count;
  }
  return total;
}
