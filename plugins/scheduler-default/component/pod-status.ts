/**
 * The pod's PodScheduled condition and nominatedNodeName after a failed attempt, written as
 * upstream's updatePod writes them: only when something changes (the same message again is no
 * write), through a strategic merge patch of pods/status (conditions merge by type).
 */
import { type ApiClient, CORE_V1, type KubeObject } from 'skiff/sdk';

const PODS = CORE_V1('pods');

type Condition = { type?: string; status?: string; reason?: string; message?: string; lastTransitionTime?: string };

export async function patchScheduledCondition(
  client: ApiClient,
  pod: KubeObject,
  reason: string,
  message: string,
  nominatedNodeName?: string,
): Promise<void> {
  const status = (pod.status ?? {}) as { conditions?: Condition[]; nominatedNodeName?: string };
  const old = status.conditions?.find((c) => c.type === 'PodScheduled');
  const conditionChanged = old?.status !== 'False' || old.reason !== reason || old.message !== message;
  const nominationChanged = nominatedNodeName !== undefined && (status.nominatedNodeName ?? '') !== nominatedNodeName;
  if (!conditionChanged && !nominationChanged) return;
  const patch: Record<string, unknown> = {};
  if (conditionChanged) {
    const transition =
      old?.status === 'False' ? old.lastTransitionTime : new Date().toISOString().replace(/\.\d+Z$/, 'Z');
    patch.conditions = [
      { type: 'PodScheduled', status: 'False', lastProbeTime: null, lastTransitionTime: transition, reason, message },
    ];
  }
  if (nominationChanged) patch.nominatedNodeName = nominatedNodeName || null;
  await client.patch(
    PODS,
    pod.metadata.namespace ?? '',
    pod.metadata.name ?? '',
    'strategic',
    { status: patch },
    { subresource: 'status' },
  );
}
