/**
 * How many pods each ReplicaSet of a Deployment should have, as upstream's deploymentutil computes
 * it: the new ReplicaSet's next size within maxSurge, whether it is saturated, which ReplicaSet is
 * the only active one, and each ReplicaSet's share of a proportional scale.
 */
import type { Deployment, ReplicaSet } from './types.js';
import {
  active,
  byCreation,
  DESIRED_REPLICAS,
  desiredReplicas,
  isRollingUpdate,
  MAX_REPLICAS,
  maxSurge,
  scaledValue,
  specReplicas,
  totalSpec,
} from './util.js';

/** Upstream's NewRSNewReplicas: grow the new ReplicaSet as far as maxSurge allows (Recreate: all at once). */
export function newReplicasFor(d: Deployment, all: ReplicaSet[], newRS: ReplicaSet): number {
  const desired = desiredReplicas(d);
  if (!isRollingUpdate(d)) return desired;
  const surge = scaledValue(d.spec.strategy?.rollingUpdate?.maxSurge, desired, true);
  const current = totalSpec(all);
  const maxTotal = desired + surge;
  if (current >= maxTotal) return specReplicas(newRS);
  return specReplicas(newRS) + Math.min(maxTotal - current, desired - specReplicas(newRS));
}

/** Upstream's IsSaturated: the new ReplicaSet has every desired pod, all available. */
export function isSaturated(d: Deployment, rs: ReplicaSet | undefined): boolean {
  if (!rs) return false;
  const desired = desiredReplicas(d);
  return (
    rs.metadata.annotations?.[DESIRED_REPLICAS] === String(desired) &&
    specReplicas(rs) === desired &&
    (rs.status?.availableReplicas ?? 0) === desired
  );
}

/** Upstream's FindActiveOrLatest: the one active ReplicaSet, else the newest when none is active; undefined when several are. */
export function activeOrLatest(newRS: ReplicaSet | undefined, oldRSs: ReplicaSet[]): ReplicaSet | undefined {
  if (!newRS && oldRSs.length === 0) return undefined;
  const newestFirst = [...oldRSs].sort((a, b) => byCreation(b, a));
  const all = active([...newestFirst, ...(newRS ? [newRS] : [])]);
  if (all.length === 0) return newRS ?? newestFirst[0];
  return all.length === 1 ? all[0] : undefined;
}

/** Upstream's getReplicaSetFraction: this ReplicaSet's share of the new total, from its max-replicas annotation. */
function fraction(rs: ReplicaSet, d: Deployment): number {
  if (desiredReplicas(d) === 0) return -specReplicas(rs);
  const total = desiredReplicas(d) + maxSurge(d);
  const annotated = Number(rs.metadata.annotations?.[MAX_REPLICAS]);
  const base = Number.isInteger(annotated) && annotated > 0 ? annotated : (d.status.replicas ?? 0);
  if (base === 0) return 0;
  const exact = (specReplicas(rs) * total) / base;
  // Go's math.Round: halves away from zero.
  return Math.sign(exact) * Math.round(Math.abs(exact)) - specReplicas(rs);
}

/** Upstream's GetProportion: how many of the replicas still to add (or remove) this ReplicaSet takes. */
export function proportion(rs: ReplicaSet, d: Deployment, toAdd: number, added: number): number {
  if (specReplicas(rs) === 0 || toAdd === 0 || toAdd === added) return 0;
  const share = fraction(rs, d);
  const allowed = toAdd - added;
  return toAdd > 0 ? Math.min(share, allowed) : Math.max(share, allowed);
}
