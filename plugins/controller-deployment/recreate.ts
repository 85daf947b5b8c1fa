/**
 * The Recreate strategy (upstream's recreate.go): every old ReplicaSet is scaled to 0; only when no
 * old pod is left running is the new ReplicaSet created (or found) and scaled to the full count.
 */
import { controllerRefOf, podPhase } from 'skiff/sdk/controller';
import type { SyncContext } from './context.js';
import { calculateStatus, deploymentComplete, syncRolloutStatus } from './progress.js';
import { cleanupDeployment, replicaSetsAndRevision, scaleReplicaSet } from './replicasets.js';
import type { Deployment, ReplicaSet } from './types.js';
import { active, desiredReplicas, totalActual } from './util.js';

export async function rolloutRecreate(ctx: SyncContext, d: Deployment, list: ReplicaSet[]): Promise<void> {
  let { newRS, oldRSs } = await replicaSetsAndRevision(ctx, d, list, false);
  const all = () => [...oldRSs, ...(newRS ? [newRS] : [])];
  let scaledDown = false;
  for (const rs of active(oldRSs)) {
    const written = await scaleReplicaSet(ctx, d, rs, 0);
    oldRSs = oldRSs.map((x) => (x === rs ? written : x));
    scaledDown = true;
  }
  if (scaledDown || oldPodsRunning(ctx, newRS, oldRSs)) return syncRolloutStatus(ctx, all(), newRS, d);
  if (!newRS) ({ newRS, oldRSs } = await replicaSetsAndRevision(ctx, d, list, true));
  if (newRS) newRS = await scaleReplicaSet(ctx, d, newRS, desiredReplicas(d));
  if (deploymentComplete(d, calculateStatus(all(), newRS, d))) await cleanupDeployment(ctx, d, oldRSs);
  await syncRolloutStatus(ctx, all(), newRS, d);
}

/** Upstream's oldPodsRunning: an old ReplicaSet still counts pods, or one of its pods has not finished. */
function oldPodsRunning(ctx: SyncContext, newRS: ReplicaSet | undefined, oldRSs: ReplicaSet[]): boolean {
  if (totalActual(oldRSs) > 0) return true;
  const old = new Set(oldRSs.map((rs) => rs.metadata.uid));
  const namespace = (newRS ?? oldRSs[0])?.metadata.namespace ?? '';
  return ctx.podsIn(namespace).some((pod) => {
    const owner = controllerRefOf(pod)?.uid;
    if (!owner || !old.has(owner)) return false;
    const phase = podPhase(pod);
    return phase !== 'Failed' && phase !== 'Succeeded';
  });
}
