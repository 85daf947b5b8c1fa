/**
 * The two writes a simulated node makes to a pod, as the real kubelet's status manager makes them:
 * its status through pods/status with the uid as a precondition (a pod re-created under the same
 * name never gets another's status), and, once a deleted pod has stopped, the delete with grace 0.
 */
import type { Pod } from 'kubernetes-types/core/v1.js';
import { isStatusError } from 'skiff/sdk';
import { type ApiClient, CORE_V1 } from 'skiff/sdk/client';

const PODS = CORE_V1('pods');

const gone = (err: unknown) => isStatusError(err) && (err.code === 404 || err.code === 409);

/** The resourceVersion the write made, or undefined when the pod is gone (or is another pod now). */
export async function patchPodStatus(client: ApiClient, pod: Pod, status: object): Promise<string | undefined> {
  const { metadata } = pod;
  try {
    const patch = { metadata: { uid: metadata?.uid }, status };
    const written = await client.patch(PODS, metadata?.namespace ?? 'default', metadata?.name ?? '', 'merge', patch, {
      subresource: 'status',
    });
    return written.metadata.resourceVersion ?? '';
  } catch (err) {
    if (gone(err)) return undefined;
    throw err;
  }
}

export async function deleteFinishedPod(client: ApiClient, pod: Pod): Promise<void> {
  const { metadata } = pod;
  try {
    await client.delete(PODS, metadata?.namespace ?? 'default', metadata?.name ?? '', {
      gracePeriodSeconds: 0,
      preconditions: { uid: metadata?.uid ?? '' },
    });
  } catch (err) {
    if (!gone(err)) throw err;
  }
}
