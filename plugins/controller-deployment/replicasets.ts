/**
 * A Deployment's ReplicaSets (upstream's sync.go): the new one (its template is the Deployment's)
 * found or created with the pod-template-hash label and the next revision, the annotations copied
 * from the Deployment, scaling with the ScalingReplicaSet Event, and the cleanup of old ReplicaSets
 * beyond revisionHistoryLimit.
 */
import { isStatusError } from 'skiff/sdk';
import { clone } from 'skiff/sdk/api';
import { newControllerRef } from 'skiff/sdk/controller';
import { event, type SyncContext, updateRevisionAnnotation, updateStatus } from './context.js';
import { newReplicasFor } from './rolling-math.js';
import { DEPLOYMENT_KIND, type Deployment, REPLICA_SETS, type ReplicaSet } from './types.js';
import {
  byRevision,
  computeHash,
  DESIRED_REPLICAS,
  desiredReplicas,
  equalIgnoreHash,
  findNewReplicaSet,
  getCondition,
  hasProgressDeadline,
  LAST_APPLIED,
  MAX_REPLICAS,
  MAX_REVISION_HISTORY_CHARS,
  maxRevision,
  maxSurge,
  newCondition,
  POD_TEMPLATE_HASH,
  REVISION,
  REVISION_HISTORY,
  ROLLBACK_TO,
  setCondition,
  specReplicas,
} from './util.js';

const SKIPPED = new Set([LAST_APPLIED, REVISION, REVISION_HISTORY, DESIRED_REPLICAS, MAX_REPLICAS, ROLLBACK_TO]);

/** Upstream's copyDeploymentAnnotationsToReplicaSet. */
function copyAnnotations(d: Deployment, rs: ReplicaSet): boolean {
  let changed = false;
  const annotations = { ...rs.metadata.annotations };
  for (const [k, v] of Object.entries(d.metadata.annotations ?? {})) {
    if (SKIPPED.has(k) || annotations[k] === v) continue;
    annotations[k] = v;
    changed = true;
  }
  rs.metadata.annotations = annotations;
  return changed;
}

/** Upstream's SetReplicasAnnotations: desired-replicas and max-replicas (replicas + maxSurge). */
export function setReplicasAnnotations(rs: ReplicaSet, d: Deployment): boolean {
  const desired = String(desiredReplicas(d));
  const max = String(desiredReplicas(d) + maxSurge(d));
  const annotations = { ...rs.metadata.annotations };
  if (annotations[DESIRED_REPLICAS] === desired && annotations[MAX_REPLICAS] === max) return false;
  rs.metadata.annotations = { ...annotations, [DESIRED_REPLICAS]: desired, [MAX_REPLICAS]: max };
  return true;
}

/** Upstream's SetNewReplicaSetAnnotations: the revision, the revisions it had before, and (new) the replica counts. */
function setNewAnnotations(d: Deployment, rs: ReplicaSet, revision: number, exists: boolean): boolean {
  let changed = copyAnnotations(d, rs);
  const annotations = rs.metadata.annotations ?? {};
  const old = annotations[REVISION];
  const oldRevision = old === undefined ? 0 : Number(old);
  if (!Number.isInteger(oldRevision)) return false;
  if (oldRevision < revision) {
    annotations[REVISION] = String(revision);
    changed = true;
    // Rolled back to: the revisions it had are kept, within 2,000 characters.
    if (old !== undefined) {
      const history = (annotations[REVISION_HISTORY] ?? '').split(',').filter(Boolean);
      history.push(old);
      while (history.join(',').length > MAX_REVISION_HISTORY_CHARS) history.shift();
      annotations[REVISION_HISTORY] = history.join(',');
    }
  }
  rs.metadata.annotations = annotations;
  if (!exists && setReplicasAnnotations(rs, d)) changed = true;
  return changed;
}

/**
 * Upstream's getAllReplicaSetsAndSyncRevision: the new ReplicaSet (created when `create` and it
 * does not exist yet) and every other one.
 */
export async function replicaSetsAndRevision(
  ctx: SyncContext,
  d: Deployment,
  list: ReplicaSet[],
  create: boolean,
): Promise<{ newRS?: ReplicaSet; oldRSs: ReplicaSet[] }> {
  const found = findNewReplicaSet(d, list);
  const oldRSs = list.filter((rs) => rs !== found);
  const revision = maxRevision(oldRSs) + 1;
  if (found) return { newRS: await syncExisting(ctx, d, found, revision), oldRSs };
  if (!create) return { oldRSs };
  return { newRS: await createNew(ctx, d, oldRSs, revision), oldRSs };
}

async function syncExisting(ctx: SyncContext, d: Deployment, found: ReplicaSet, revision: number): Promise<ReplicaSet> {
  const rs = clone(found);
  const annotationsChanged = setNewAnnotations(d, rs, revision, true);
  if (annotationsChanged || specOfRS(rs).minReadySeconds !== (d.spec.minReadySeconds ?? 0)) {
    rs.spec.minReadySeconds = d.spec.minReadySeconds ?? 0;
    return ctx.client.update<ReplicaSet>(REPLICA_SETS, rs.metadata.namespace ?? '', rs);
  }
  const current = rs.metadata.annotations?.[REVISION] ?? '';
  if (d.metadata.annotations?.[REVISION] !== current) await updateRevisionAnnotation(ctx, d, current);
  if (hasProgressDeadline(d) && !getCondition(d.status, 'Progressing')) {
    const message = `Found new replica set "${rs.metadata.name}"`;
    setCondition(d.status, newCondition('Progressing', 'True', 'FoundNewReplicaSet', message));
    await updateStatus(ctx, d);
  }
  return rs;
}

const specOfRS = (rs: ReplicaSet) => rs.spec;

/** The new ReplicaSet, named `<deployment>-<pod-template-hash>`; a hash collision bumps status.collisionCount. */
async function createNew(
  ctx: SyncContext,
  d: Deployment,
  oldRSs: ReplicaSet[],
  revision: number,
): Promise<ReplicaSet | undefined> {
  const hash = computeHash(d.spec.template, d.status.collisionCount);
  const template = clone(d.spec.template ?? {});
  template.metadata = { ...template.metadata, labels: { ...template.metadata?.labels, [POD_TEMPLATE_HASH]: hash } };
  const selector = clone(d.spec.selector ?? {});
  selector.matchLabels = { ...selector.matchLabels, [POD_TEMPLATE_HASH]: hash };
  const rs: ReplicaSet = {
    apiVersion: 'apps/v1',
    kind: 'ReplicaSet',
    metadata: {
      name: `${d.metadata.name}-${hash}`,
      namespace: d.metadata.namespace,
      ownerReferences: [newControllerRef(d, DEPLOYMENT_KIND)],
      labels: { ...template.metadata.labels },
    },
    spec: { replicas: 0, minReadySeconds: d.spec.minReadySeconds ?? 0, selector, template },
  };
  rs.spec.replicas = newReplicasFor(d, [...oldRSs, rs], rs);
  setNewAnnotations(d, rs, revision, false);
  let created: ReplicaSet;
  try {
    created = await ctx.client.create<ReplicaSet>(REPLICA_SETS, d.metadata.namespace ?? '', rs);
  } catch (err) {
    return handleCreateError(ctx, d, rs, err);
  }
  if (specReplicas(created) > 0) {
    event(
      ctx,
      d,
      'Normal',
      'ScalingReplicaSet',
      `Scaled up replica set ${created.metadata.name} from 0 to ${specReplicas(created)}`,
    );
  }
  if (d.metadata.annotations?.[REVISION] !== String(revision)) await updateRevisionAnnotation(ctx, d, String(revision));
  if (hasProgressDeadline(d)) {
    setCondition(
      d.status,
      newCondition('Progressing', 'True', 'NewReplicaSetCreated', `Created new replica set "${created.metadata.name}"`),
    );
    await updateStatus(ctx, d);
  }
  return created;
}

async function handleCreateError(ctx: SyncContext, d: Deployment, rs: ReplicaSet, err: unknown): Promise<ReplicaSet> {
  if (isStatusError(err) && err.code === 409) {
    // The name is taken: ours already (a slow cache), or a hash collision with another template.
    const existing = await ctx.client.get<ReplicaSet>(
      REPLICA_SETS,
      rs.metadata.namespace ?? '',
      rs.metadata.name ?? '',
    );
    const ref = existing.metadata.ownerReferences?.find((o) => o.controller);
    if (ref?.uid === d.metadata.uid && equalIgnoreHash(d.spec.template, existing.spec.template)) return existing;
    d.status.collisionCount = (d.status.collisionCount ?? 0) + 1;
    await updateStatus(ctx, d);
    throw err;
  }
  if (isStatusError(err) && err.details?.causes?.some((c) => c.reason === 'NamespaceTerminating')) throw err;
  const message = `Failed to create new replica set "${rs.metadata.name}": ${(err as Error).message}`;
  if (hasProgressDeadline(d)) {
    setCondition(d.status, newCondition('Progressing', 'False', 'ReplicaSetCreateError', message));
    await updateStatus(ctx, d).catch(() => undefined);
  }
  event(ctx, d, 'Warning', 'ReplicaSetCreateError', message);
  throw err;
}

/**
 * Upstream's scaleReplicaSet: sets the size and the replica annotations; records ScalingReplicaSet
 * when the size changed. Returns the ReplicaSet as written (or unchanged).
 */
export async function scaleReplicaSet(
  ctx: SyncContext,
  d: Deployment,
  rs: ReplicaSet,
  size: number,
): Promise<ReplicaSet> {
  const before = specReplicas(rs);
  const copy = clone(rs);
  copy.spec.replicas = size;
  const annotationsChanged = setReplicasAnnotations(copy, d);
  if (before === size && !annotationsChanged) return rs;
  const written = await ctx.client.update<ReplicaSet>(REPLICA_SETS, rs.metadata.namespace ?? '', copy);
  if (before !== size) {
    const direction = before < size ? 'up' : 'down';
    event(
      ctx,
      d,
      'Normal',
      'ScalingReplicaSet',
      `Scaled ${direction} replica set ${rs.metadata.name} from ${before} to ${size}`,
    );
  }
  return written;
}

/** Upstream's cleanupDeployment: old ReplicaSets beyond revisionHistoryLimit go, lowest revision first, if empty. */
export async function cleanupDeployment(ctx: SyncContext, d: Deployment, oldRSs: ReplicaSet[]): Promise<void> {
  const limit = d.spec.revisionHistoryLimit;
  if (limit === undefined) return;
  const cleanable = oldRSs.filter((rs) => !rs.metadata.deletionTimestamp).sort(byRevision);
  const excess = cleanable.length - limit;
  for (const rs of cleanable.slice(0, Math.max(0, excess))) {
    const status = rs.status ?? {};
    if ((status.replicas ?? 0) !== 0 || specReplicas(rs) !== 0) continue;
    if ((rs.metadata.generation ?? 0) > (status.observedGeneration ?? 0)) continue;
    try {
      await ctx.client.delete(REPLICA_SETS, rs.metadata.namespace ?? '', rs.metadata.name ?? '', {
        preconditions: { uid: rs.metadata.uid },
      });
    } catch (err) {
      if (!isStatusError(err) || err.code !== 404) throw err;
    }
  }
}
