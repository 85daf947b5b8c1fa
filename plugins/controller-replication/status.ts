/**
 * A replica controller's status, as upstream's calculateStatus: how many active pods it controls,
 * how many carry every label of its template, how many are ready and how many available (ready for
 * minReadySeconds), the generation it saw, and the ReplicaFailure condition while creating or
 * deleting pods fails (a quota refusal's message, for one), removed once a sync succeeds.
 */
import type { KubeObject } from 'skiff/sdk';
import { isPodAvailable, isPodReady, matchesLabels, selectorFromSet } from 'skiff/sdk/controller';

export interface ReplicaCondition {
  type: string;
  status: string;
  lastTransitionTime?: string;
  reason?: string;
  message?: string;
}

export interface ReplicaStatus {
  replicas: number;
  fullyLabeledReplicas?: number;
  readyReplicas?: number;
  availableReplicas?: number;
  observedGeneration?: number;
  conditions?: ReplicaCondition[];
}

const record = (v: unknown) => (v !== null && typeof v === 'object' ? (v as Record<string, unknown>) : {});

export const specOf = (obj: KubeObject) =>
  record(obj.spec) as {
    replicas?: number;
    minReadySeconds?: number;
    template?: { metadata?: { labels?: Record<string, string> } };
  };

export function statusOf(obj: KubeObject): ReplicaStatus {
  return { replicas: 0, ...(record(obj.status) as Partial<ReplicaStatus>) };
}

/** The failure a sync ran into, with the direction it was going (upstream's FailedCreate / FailedDelete). */
export interface SyncFailure {
  reason: 'FailedCreate' | 'FailedDelete';
  message: string;
}

export function calculateStatus(
  obj: KubeObject,
  pods: readonly KubeObject[],
  failure: SyncFailure | undefined,
  now = Date.now(),
): ReplicaStatus {
  const spec = specOf(obj);
  const templateLabels = selectorFromSet(spec.template?.metadata?.labels);
  const minReady = spec.minReadySeconds ?? 0;
  const old = statusOf(obj);
  const next: ReplicaStatus = {
    replicas: pods.length,
    fullyLabeledReplicas: pods.filter((p) => matchesLabels(templateLabels, p.metadata.labels)).length,
    readyReplicas: pods.filter(isPodReady).length,
    availableReplicas: pods.filter((p) => isPodAvailable(p, minReady, now)).length,
    observedGeneration: obj.metadata.generation,
  };
  let conditions = (old.conditions ?? []).filter((c) => c.type !== 'ReplicaFailure');
  const existing = old.conditions?.find((c) => c.type === 'ReplicaFailure');
  if (failure && !existing) {
    const condition: ReplicaCondition = {
      type: 'ReplicaFailure',
      status: 'True',
      lastTransitionTime: new Date(now).toISOString().replace(/\.\d+Z$/, 'Z'),
      reason: failure.reason,
      message: failure.message,
    };
    conditions = [...conditions, condition];
  } else if (failure && existing) {
    conditions = old.conditions ?? [];
  }
  if (conditions.length) next.conditions = conditions;
  return next;
}

const NUMBERS = [
  'replicas',
  'fullyLabeledReplicas',
  'readyReplicas',
  'availableReplicas',
  'observedGeneration',
] as const;

/** Whether `next` says something the stored status does not (upstream skips the write otherwise). */
export function statusChanged(obj: KubeObject, next: ReplicaStatus): boolean {
  const old = statusOf(obj);
  if (NUMBERS.some((k) => (old[k] ?? 0) !== (next[k] ?? 0))) return true;
  return JSON.stringify(old.conditions ?? []) !== JSON.stringify(next.conditions ?? []);
}
