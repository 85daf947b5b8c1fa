/**
 * Scaling a Deployment without rolling it (upstream's sync and scale): when its replica count
 * changed, or while it is paused, every active ReplicaSet is resized in proportion to its share
 * (newer ReplicaSets first when adding, older first when removing), so a rollout in progress keeps
 * its ratio of old to new pods.
 */
import type { SyncContext } from './context.js';
import { syncDeploymentStatus } from './progress.js';
import { cleanupDeployment, replicaSetsAndRevision, scaleReplicaSet } from './replicasets.js';
import { activeOrLatest, isSaturated, proportion } from './rolling-math.js';
import type { Deployment, ReplicaSet } from './types.js';
import {
  active,
  bySize,
  DESIRED_REPLICAS,
  desiredReplicas,
  isRollingUpdate,
  maxSurge,
  specReplicas,
  totalSpec,
} from './util.js';

/** Upstream's isScalingEvent: a ReplicaSet's desired-replicas annotation no longer matches the Deployment. */
export async function isScalingEvent(ctx: SyncContext, d: Deployment, list: ReplicaSet[]): Promise<boolean> {
  const { newRS, oldRSs } = await replicaSetsAndRevision(ctx, d, list, false);
  return active([...oldRSs, ...(newRS ? [newRS] : [])]).some((rs) => {
    const desired = rs.metadata.annotations?.[DESIRED_REPLICAS];
    return desired !== undefined && Number(desired) !== desiredReplicas(d);
  });
}

/** Upstream's sync: scale, clean up when paused, write the status. */
export async function syncScaling(ctx: SyncContext, d: Deployment, list: ReplicaSet[]): Promise<void> {
  const { newRS, oldRSs } = await replicaSetsAndRevision(ctx, d, list, false);
  const scaled = await scale(ctx, d, newRS, oldRSs);
  const latest = (rs: ReplicaSet) => scaled.get(rs) ?? rs;
  const olds = oldRSs.map(latest);
  if (d.spec.paused) await cleanupDeployment(ctx, d, olds);
  await syncDeploymentStatus(ctx, [...olds, ...(newRS ? [latest(newRS)] : [])], newRS && latest(newRS), d);
}

/** Upstream's scale. Returns the ReplicaSets it rewrote (old copy → written copy). */
async function scale(
  ctx: SyncContext,
  d: Deployment,
  newRS: ReplicaSet | undefined,
  oldRSs: ReplicaSet[],
): Promise<Map<ReplicaSet, ReplicaSet>> {
  const written = new Map<ReplicaSet, ReplicaSet>();
  const resize = async (rs: ReplicaSet, size: number) => written.set(rs, await scaleReplicaSet(ctx, d, rs, size));
  const only = activeOrLatest(newRS, oldRSs);
  if (only) {
    if (specReplicas(only) !== desiredReplicas(d)) await resize(only, desiredReplicas(d));
    return written;
  }
  if (isSaturated(d, newRS)) {
    for (const rs of active(oldRSs)) await resize(rs, 0);
    return written;
  }
  if (!isRollingUpdate(d)) return written;
  const all = active([...oldRSs, ...(newRS ? [newRS] : [])]);
  const allowed = desiredReplicas(d) > 0 ? desiredReplicas(d) + maxSurge(d) : 0;
  const toAdd = allowed - totalSpec(all);
  if (toAdd === 0) return written;
  all.sort(bySize(toAdd > 0));
  const sizes = new Map<ReplicaSet, number>();
  let added = 0;
  for (const rs of all) {
    const share = proportion(rs, d, toAdd, added);
    sizes.set(rs, specReplicas(rs) + share);
    added += share;
  }
  // The rounding leftover goes to the first (largest) ReplicaSet.
  const first = all[0]!;
  sizes.set(first, Math.max(0, (sizes.get(first) ?? 0) + toAdd - added));
  for (const rs of all) await resize(rs, sizes.get(rs) ?? specReplicas(rs));
  return written;
}
