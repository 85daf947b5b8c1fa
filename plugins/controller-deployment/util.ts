/**
 * Upstream's deploymentutil, the arithmetic a Deployment controller needs: maxSurge and
 * maxUnavailable resolved against the replica count, the pod-template-hash, revisions, which
 * ReplicaSet is the new one, replica counts summed over ReplicaSets, and the conditions.
 */
import { canonicalJson } from './json.js';
import type { Deployment, DeploymentCondition, DeploymentStatus, PodTemplate, ReplicaSet } from './types.js';

export const POD_TEMPLATE_HASH = 'pod-template-hash';
export const REVISION = 'deployment.kubernetes.io/revision';
export const REVISION_HISTORY = 'deployment.kubernetes.io/revision-history';
export const DESIRED_REPLICAS = 'deployment.kubernetes.io/desired-replicas';
export const MAX_REPLICAS = 'deployment.kubernetes.io/max-replicas';
export const LAST_APPLIED = 'kubectl.kubernetes.io/last-applied-configuration';
export const ROLLBACK_TO = 'deprecated.deployment.rollback.to';
/** Upstream's maxRevHistoryLengthInChars. */
export const MAX_REVISION_HISTORY_CHARS = 2000;

export const specReplicas = (obj: { spec?: { replicas?: number } }) => obj.spec?.replicas ?? 0;
export const desiredReplicas = (d: Deployment) => d.spec.replicas ?? 1;

/** Upstream's GetScaledValueFromIntOrPercent. */
export function scaledValue(value: number | string | undefined, total: number, roundUp: boolean): number {
  if (value === undefined) return 0;
  if (typeof value === 'number') return value;
  const percent = Number(value.replace(/%$/, ''));
  const scaled = (percent * total) / 100;
  return roundUp ? Math.ceil(scaled) : Math.floor(scaled);
}

/** Upstream's ResolveFenceposts: surge rounds up, unavailability down, and both 0 means 1 unavailable. */
export function resolveFenceposts(d: Deployment): { surge: number; unavailable: number } {
  const rolling = d.spec.strategy?.rollingUpdate;
  const desired = desiredReplicas(d);
  const surge = scaledValue(rolling?.maxSurge, desired, true);
  const unavailable = scaledValue(rolling?.maxUnavailable, desired, false);
  return surge === 0 && unavailable === 0 ? { surge, unavailable: 1 } : { surge, unavailable };
}

export const isRollingUpdate = (d: Deployment) => d.spec.strategy?.type === 'RollingUpdate';

export function maxSurge(d: Deployment): number {
  return isRollingUpdate(d) ? resolveFenceposts(d).surge : 0;
}

export function maxUnavailable(d: Deployment): number {
  const desired = desiredReplicas(d);
  if (!isRollingUpdate(d) || desired === 0) return 0;
  return Math.min(resolveFenceposts(d).unavailable, desired);
}

/** The template without the pod-template-hash label, for comparing a Deployment's with a ReplicaSet's. */
function withoutHash(template: PodTemplate | undefined): unknown {
  const metadata = { ...template?.metadata };
  if (metadata.labels) {
    const { [POD_TEMPLATE_HASH]: _h, ...labels } = metadata.labels;
    metadata.labels = labels;
  }
  return { ...template, metadata };
}

/** Upstream's EqualIgnoreHash (semantic: empty maps and lists count as absent). */
export function equalIgnoreHash(a: PodTemplate | undefined, b: PodTemplate | undefined): boolean {
  return canonicalJson(withoutHash(a)) === canonicalJson(withoutHash(b));
}

const SAFE_ALPHABET = 'bcdfghjklmnpqrstvwxz2456789';

/**
 * The pod-template-hash: FNV-32a of the template (here its canonical JSON; upstream hashes the Go
 * struct) and of the collision count, encoded with upstream's SafeEncodeString.
 */
export function computeHash(template: PodTemplate | undefined, collisionCount?: number): string {
  let hash = 0x811c9dc5;
  const feed = (bytes: Uint8Array) => {
    for (const b of bytes) hash = Math.imul(hash ^ b, 0x01000193) >>> 0;
  };
  feed(new TextEncoder().encode(canonicalJson(template)));
  if (collisionCount !== undefined) {
    const count = new Uint8Array(4);
    new DataView(count.buffer).setUint32(0, collisionCount >>> 0, true);
    feed(count);
  }
  return [...String(hash)].map((c) => SAFE_ALPHABET[c.charCodeAt(0) % SAFE_ALPHABET.length]).join('');
}

export function revisionOf(rs: ReplicaSet): number {
  const value = rs.metadata.annotations?.[REVISION];
  const n = value === undefined ? 0 : Number(value);
  return Number.isInteger(n) ? n : 0;
}

export const maxRevision = (list: ReplicaSet[]) => list.reduce((max, rs) => Math.max(max, revisionOf(rs)), 0);

const created = (rs: ReplicaSet) => Date.parse(rs.metadata.creationTimestamp ?? '') || 0;

/** Oldest first, names breaking ties (upstream's ReplicaSetsByCreationTimestamp). */
export function byCreation(a: ReplicaSet, b: ReplicaSet): number {
  const diff = created(a) - created(b);
  if (diff !== 0) return diff;
  return (a.metadata.name ?? '') < (b.metadata.name ?? '') ? -1 : 1;
}

/** Larger first; of equal size the newer (`newer`) or the older first (upstream's ReplicaSetsBySize*). */
export const bySize = (newer: boolean) => (a: ReplicaSet, b: ReplicaSet) =>
  specReplicas(b) - specReplicas(a) || (newer ? byCreation(b, a) : byCreation(a, b));

/** Lowest revision first, then oldest (upstream's ReplicaSetsByRevision). */
export const byRevision = (a: ReplicaSet, b: ReplicaSet) => revisionOf(a) - revisionOf(b) || byCreation(a, b);

export const sum = (list: ReplicaSet[], of: (rs: ReplicaSet) => number | undefined) =>
  list.reduce((n, rs) => n + (of(rs) ?? 0), 0);
export const totalSpec = (list: ReplicaSet[]) => sum(list, specReplicas);
export const totalActual = (list: ReplicaSet[]) => sum(list, (rs) => rs.status?.replicas);
export const totalReady = (list: ReplicaSet[]) => sum(list, (rs) => rs.status?.readyReplicas);
export const totalAvailable = (list: ReplicaSet[]) => sum(list, (rs) => rs.status?.availableReplicas);
export const active = (list: ReplicaSet[]) => list.filter((rs) => specReplicas(rs) > 0);

/** Upstream's FindNewReplicaSet: the oldest ReplicaSet whose template is the Deployment's. */
export function findNewReplicaSet(d: Deployment, list: ReplicaSet[]): ReplicaSet | undefined {
  return [...list].sort(byCreation).find((rs) => equalIgnoreHash(rs.spec.template, d.spec.template));
}

export function nowTime(): string {
  return new Date().toISOString().replace(/\.\d+Z$/, 'Z');
}

export function newCondition(type: string, status: string, reason: string, message: string): DeploymentCondition {
  const now = nowTime();
  return { type, status, lastUpdateTime: now, lastTransitionTime: now, reason, message };
}

export function getCondition(status: DeploymentStatus, type: string): DeploymentCondition | undefined {
  return status.conditions?.find((c) => c.type === type);
}

/** Upstream's SetDeploymentCondition: same status and reason changes nothing; same status keeps the transition time. */
export function setCondition(status: DeploymentStatus, condition: DeploymentCondition): void {
  const current = getCondition(status, condition.type);
  if (current && current.status === condition.status && current.reason === condition.reason) return;
  const next = { ...condition };
  if (current && current.status === condition.status) next.lastTransitionTime = current.lastTransitionTime;
  status.conditions = [...(status.conditions ?? []).filter((c) => c.type !== condition.type), next];
}

export function removeCondition(status: DeploymentStatus, type: string): void {
  if (!status.conditions) return;
  status.conditions = status.conditions.filter((c) => c.type !== type);
  if (status.conditions.length === 0) delete status.conditions;
}

export const hasProgressDeadline = (d: Deployment) =>
  d.spec.progressDeadlineSeconds !== undefined && d.spec.progressDeadlineSeconds !== 2147483647;
