/**
 * Writing pod conditions the way upstream's controllers do: MarkPodsNotReady (a pod on a node that
 * stopped reporting is not ready) and the DisruptionTarget condition set before a controller
 * deletes a pod (taint manager, pod GC).
 */
import type { PodCondition } from 'kubernetes-types/core/v1.js';
import { type ApiClient, CORE_V1, isStatusError, type KubeObject } from 'skiff/sdk';
import { nowTimestamp } from 'skiff/sdk/api';
import type { EventRecorder } from 'skiff/sdk/controller';

export const PODS = CORE_V1('pods');

function conditionsOf(pod: KubeObject): PodCondition[] {
  const conditions = (pod.status as { conditions?: unknown } | undefined)?.conditions;
  return Array.isArray(conditions) ? (conditions as PodCondition[]) : [];
}

/**
 * Upstream's UpdatePodCondition: the condition replaces the one of its type, keeping its
 * lastTransitionTime when the status stays; undefined when nothing changes.
 */
export function withCondition(pod: KubeObject, condition: PodCondition): PodCondition[] | undefined {
  const conditions = conditionsOf(pod);
  const old = conditions.find((c) => c.type === condition.type);
  const next = {
    ...condition,
    lastTransitionTime: old && old.status === condition.status ? old.lastTransitionTime : nowTimestamp(),
  };
  if (
    old &&
    ['status', 'reason', 'message'].every((k) => old[k as keyof PodCondition] === next[k as keyof PodCondition])
  ) {
    return undefined;
  }
  return old ? conditions.map((c) => (c === old ? next : c)) : [...conditions, next];
}

/** Upstream's MarkPodsNotReady for the pods of one node; the first error is thrown after trying all. */
export async function markPodsNotReady(
  client: ApiClient,
  recorder: EventRecorder,
  pods: readonly KubeObject[],
  nodeName: string,
): Promise<void> {
  let failure: unknown;
  for (const pod of pods) {
    if ((pod.spec as { nodeName?: string } | undefined)?.nodeName !== nodeName) continue;
    const ready = conditionsOf(pod).find((c) => c.type === 'Ready');
    if (!ready) continue;
    const conditions = withCondition(pod, { ...ready, status: 'False' });
    if (!conditions) continue;
    try {
      const status = { ...(pod.status as Record<string, unknown>), conditions };
      await client.update(PODS, pod.metadata.namespace ?? '', { ...pod, status }, { subresource: 'status' });
      recorder.event(pod, 'Warning', 'NodeNotReady', 'Node is not ready', { apiVersion: 'v1', kind: 'Pod' });
    } catch (err) {
      if (!isStatusError(err) || err.code !== 404) failure ??= err;
    }
  }
  if (failure) throw failure;
}

/**
 * Adds a DisruptionTarget condition (and, for pod GC, phase Failed) through the status
 * subresource, then deletes the pod. The patch carries the pod's uid: a pod deleted and created
 * again under the same name is left alone.
 */
export async function markAndDelete(
  client: ApiClient,
  pod: KubeObject,
  condition: PodCondition | undefined,
  options: { failed?: boolean; gracePeriodSeconds?: number } = {},
): Promise<void> {
  const { namespace = '', name = '', uid } = pod.metadata;
  const status: Record<string, unknown> = {};
  const phase = (pod.status as { phase?: string } | undefined)?.phase;
  if (options.failed && phase !== 'Succeeded' && phase !== 'Failed') status.phase = 'Failed';
  const conditions = condition ? withCondition(pod, condition) : undefined;
  if (conditions) status.conditions = conditions;
  if (Object.keys(status).length) {
    await client.patch(PODS, namespace, name, 'merge', { metadata: { uid }, status }, { subresource: 'status' });
  }
  await client.delete(PODS, namespace, name, {
    preconditions: { uid },
    ...(options.gracePeriodSeconds !== undefined ? { gracePeriodSeconds: options.gracePeriodSeconds } : {}),
  });
}
