/**
 * One sync of one Deployment (upstream's syncDeployment): claim its ReplicaSets (adopt matching
 * orphans, release those its selector stopped matching), then: a Deployment being deleted only
 * gets its status; paused or resumed shows in the Progressing condition; a paused one, or one whose
 * replica count changed, is scaled proportionally; otherwise it rolls out with its strategy.
 */
import { clone } from 'skiff/sdk/api';
import { claimDependents, type LabelSelectorObject, labelSelectorFromObject, recheckOwner } from 'skiff/sdk/controller';
import { event, type SyncContext, updateStatus } from './context.js';
import { checkPausedConditions, syncDeploymentStatus } from './progress.js';
import { rolloutRecreate } from './recreate.js';
import { replicaSetsAndRevision } from './replicasets.js';
import { rolloutRolling } from './rolling.js';
import { isScalingEvent, syncScaling } from './scale.js';
import { DEPLOYMENT_KIND, DEPLOYMENTS, type Deployment, REPLICA_SETS, type ReplicaSet } from './types.js';

export interface DeploymentSources {
  deployment(key: string): Deployment | undefined;
  replicaSetsIn(namespace: string): ReplicaSet[];
}

const isEmpty = (selector: LabelSelectorObject | undefined) =>
  !selector || (Object.keys(selector.matchLabels ?? {}).length === 0 && (selector.matchExpressions ?? []).length === 0);

export async function syncDeployment(ctx: SyncContext, sources: DeploymentSources, key: string): Promise<void> {
  const cached = sources.deployment(key);
  if (!cached) return;
  const d = clone(cached) as Deployment;
  d.status ??= {};
  if (isEmpty(d.spec.selector)) {
    event(
      ctx,
      d,
      'Warning',
      'SelectingAll',
      'This deployment is selecting all pods. A non-empty selector is required.',
    );
    if ((d.status.observedGeneration ?? 0) < (d.metadata.generation ?? 0)) {
      d.status.observedGeneration = d.metadata.generation;
      await updateStatus(ctx, d);
    }
    return;
  }
  const list = await claimReplicaSets(ctx, d, sources.replicaSetsIn(d.metadata.namespace ?? ''));
  if (d.metadata.deletionTimestamp) {
    const { newRS, oldRSs } = await replicaSetsAndRevision(ctx, d, list, false);
    return syncDeploymentStatus(ctx, [...oldRSs, ...(newRS ? [newRS] : [])], newRS, d);
  }
  await checkPausedConditions(ctx, d);
  if (d.spec.paused || (await isScalingEvent(ctx, d, list))) return syncScaling(ctx, d, list);
  if (d.spec.strategy?.type === 'Recreate') return rolloutRecreate(ctx, d, list);
  return rolloutRolling(ctx, d, list);
}

/** Upstream's getReplicaSetsForDeployment: ControllerRefManager.ClaimReplicaSets over the namespace's ReplicaSets. */
async function claimReplicaSets(ctx: SyncContext, d: Deployment, candidates: ReplicaSet[]): Promise<ReplicaSet[]> {
  const claimed = await claimDependents(
    {
      client: ctx.client,
      owner: d,
      ownerKind: DEPLOYMENT_KIND,
      selector: labelSelectorFromObject(d.spec.selector as LabelSelectorObject),
      dependents: REPLICA_SETS,
      canAdopt: recheckOwner(ctx.client, DEPLOYMENTS, d),
    },
    candidates,
  );
  return claimed as ReplicaSet[];
}
