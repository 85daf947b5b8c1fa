/**
 * One sync of one ReplicationController or ReplicaSet (upstream's syncReplicaSet and
 * manageReplicas): claim the active pods of its namespace (adopt orphans its selector matches,
 * release its pods that stopped matching), then, unless its expectations are still outstanding or
 * it is being deleted, create or delete the difference (at most burstReplicas per sync; the pods
 * least worth keeping go first), then write the status. A failed create or delete is thrown after
 * the status records it, so the key is retried with a back-off.
 */
import { CORE_V1, isStatusError, type KubeObject } from 'skiff/sdk';
import { claimDependents, controllerRefOf, isPodActive, recheckOwner } from 'skiff/sdk/controller';
import { slowStartBatch } from './pod-control.js';
import { podKey } from './pod-index.js';
import { rankForDeletion } from './ranking.js';
import type { ReplicaManager } from './replica-manager.js';
import { calculateStatus, type ReplicaStatus, type SyncFailure, specOf, statusChanged } from './status.js';

const PODS = CORE_V1('pods');

export async function syncReplicas(m: ReplicaManager, key: string): Promise<void> {
  const owner = m.owners.items.get(key);
  if (!owner) {
    m.expectations.delete(key);
    return;
  }
  const needsSync = m.expectations.satisfied(key);
  const selector = m.kind.selector(owner);
  if (!selector) return;
  const active = m.pods.inNamespace(owner.metadata.namespace ?? '').filter(isPodActive);
  const pods = await claimDependents(
    {
      client: m.c.client,
      owner,
      ownerKind: m.kind,
      selector,
      dependents: PODS,
      canAdopt: recheckOwner(m.c.client, m.kind.ref, owner),
    },
    active,
  );
  let failure: (SyncFailure & { error: unknown }) | undefined;
  if (needsSync && !owner.metadata.deletionTimestamp) failure = await manageReplicas(m, key, owner, pods);
  const status = calculateStatus(owner, pods, failure);
  const written = await writeStatus(m, owner, status);
  const minReady = specOf(owner).minReadySeconds ?? 0;
  const desired = specOf(owner).replicas ?? 1;
  // A last look once the ready pods have been ready long enough to count as available.
  if (!failure && minReady > 0 && written.readyReplicas === desired && written.availableReplicas !== desired) {
    m.queue.addAfter(key, minReady * 1000);
  }
  if (failure) throw failure.error;
}

async function manageReplicas(
  m: ReplicaManager,
  key: string,
  owner: KubeObject,
  pods: KubeObject[],
): Promise<(SyncFailure & { error: unknown }) | undefined> {
  const diff = pods.length - (specOf(owner).replicas ?? 1);
  if (diff < 0) {
    const count = Math.min(-diff, m.options.burstReplicas);
    m.expectations.expectCreations(key, count);
    const { successes, error } = await slowStartBatch(count, () => m.podControl.create(owner));
    // Creations never made (or refused) will never be seen: stop expecting them.
    for (let i = successes; i < count; i++) m.expectations.creationObserved(key);
    return error === undefined ? undefined : { reason: 'FailedCreate', message: messageOf(error), error };
  }
  if (diff === 0) return undefined;
  const count = Math.min(diff, m.options.burstReplicas);
  const doomed = count < pods.length ? rankForDeletion(pods, relatedPods(m, owner)).slice(0, count) : pods;
  m.expectations.expectDeletions(key, doomed.map(podKey));
  let error: unknown;
  await Promise.all(
    doomed.map(async (pod) => {
      try {
        await m.podControl.delete(owner, pod);
      } catch (err) {
        m.expectations.deletionObserved(key, podKey(pod));
        if (!isStatusError(err) || err.code !== 404) error ??= err;
      }
    }),
  );
  return error === undefined ? undefined : { reason: 'FailedDelete', message: messageOf(error), error };
}

const messageOf = (err: unknown) => (err instanceof Error ? err.message : String(err));

/**
 * Upstream's getIndirectlyRelatedPods: the active pods of every owner with the same controller as
 * this one (the ReplicaSets of one Deployment), for the "more pods on the same node" rule. An owner
 * without a controller has none.
 */
function relatedPods(m: ReplicaManager, owner: KubeObject): KubeObject[] {
  const controller = controllerRefOf(owner)?.uid;
  if (!controller) return [];
  const siblings = new Set<string>();
  for (const other of m.owners.items.values()) {
    if (other.metadata.namespace === owner.metadata.namespace && controllerRefOf(other)?.uid === controller) {
      siblings.add(other.metadata.uid ?? '');
    }
  }
  return m.pods
    .inNamespace(owner.metadata.namespace ?? '')
    .filter((p) => isPodActive(p) && siblings.has(controllerRefOf(p)?.uid ?? ''));
}

/** Upstream's updateReplicaSetStatus: nothing new, no write; a conflict is retried once with a fresh read. */
async function writeStatus(m: ReplicaManager, owner: KubeObject, status: ReplicaStatus): Promise<ReplicaStatus> {
  if (!statusChanged(owner, status)) return status;
  const { namespace = '', name = '' } = owner.metadata;
  let current = owner;
  for (let attempt = 0; ; attempt++) {
    const next = { ...status, observedGeneration: current.metadata.generation };
    try {
      await m.c.client.update(m.kind.ref, namespace, { ...current, status: compact(next) }, { subresource: 'status' });
      return next;
    } catch (err) {
      if (attempt >= 1 || !isStatusError(err) || ![409, 404].includes(err.code)) throw err;
      if (err.code === 404) return next;
      current = await m.c.client.get(m.kind.ref, namespace, name);
    }
  }
}

/** The status as upstream encodes it: counts that are 0 left out (omitempty), replicas always there. */
function compact(status: ReplicaStatus): ReplicaStatus {
  const out: ReplicaStatus = { replicas: status.replicas };
  for (const key of ['fullyLabeledReplicas', 'readyReplicas', 'availableReplicas', 'observedGeneration'] as const) {
    if (status[key]) out[key] = status[key];
  }
  if (status.conditions?.length) out.conditions = status.conditions;
  return out;
}
